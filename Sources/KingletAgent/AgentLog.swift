import CKingletSystem

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
        let milliseconds = nanoseconds / 1_000_000
        let days = milliseconds / 86_400_000
        let inDay = milliseconds % 86_400_000
        let (year, month, day) = civilDate(daysSinceEpoch: days)
        var text = ""
        text += padded(year, 4) + "-" + padded(month, 2) + "-" + padded(day, 2)
        text += "T" + padded(inDay / 3_600_000, 2) + ":" + padded(inDay / 60_000 % 60, 2)
        text += ":" + padded(inDay / 1000 % 60, 2) + "." + padded(inDay % 1000, 3) + "Z"
        return text
    }

    /// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's civil_from_days).
    static func civilDate(daysSinceEpoch: Int64) -> (Int64, Int64, Int64) {
        let z = daysSinceEpoch + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    private static func padded(_ value: Int64, _ width: Int) -> String {
        var digits = String(value)
        while digits.count < width { digits = "0" + digits }
        return digits
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
