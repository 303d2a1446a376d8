import CKingletSystem
import KingletCore

/// Log lines on standard error: "<RFC 3339 UTC time> <level> <message>", as a unit's
/// journal or `kubectl logs` would show them. Built by hand: the agent has no Foundation.
public struct AgentLog {
    public enum Level: String {
        case info = "INFO"
        case warning = "WARN"
        case error = "ERROR"
    }

    public init() {}

    public func info(_ message: String) { write(.info, message) }
    public func warning(_ message: String) { write(.warning, message) }
    public func error(_ message: String) { write(.error, message) }

    public func write(_ level: Level, _ message: String) {
        var line = AgentLog.timestamp(nanoseconds: kinglet_realtime_ns())
        line += " "
        line += level.rawValue
        line += " "
        line += message
        line += "\n"
        StandardStream.error.write(line)
    }

    /// RFC 3339 UTC with milliseconds, e.g. 2026-11-24T23:59:01.123Z.
    public static func timestamp(nanoseconds: Int64) -> String {
        UTCTimestamp.format(nanoseconds: nanoseconds, fractionDigits: 3)
    }
}

/// Standard output and error as raw file descriptors, written whole.
public enum StandardStream {
    case output
    case error

    public func write(_ text: String) {
        let fd: Int32 = self == .output ? 1 : 2
        var text = text
        text.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = CKingletSystem.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
                if written < 0 {
                    if kinglet_errno() == EINTR { continue }
                    return
                }
                offset += written
            }
        }
    }
}
