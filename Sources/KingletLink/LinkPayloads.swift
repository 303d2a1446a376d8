import KingletCore
import KingletDocument
import KingletPod

/// The agent's payloads (docs/protocol.md, "Status"), written with one reused writer.
public enum LinkPayloads {
    public static func online(since nanoseconds: Int64, agentVersion: String, into writer: inout JSONWriter) {
        writer.reset()
        writer.beginObject()
        writer.key("v"); writer.integer(1)
        writer.key("online"); writer.bool(true)
        writer.key("since"); writer.string(UTCTimestamp.format(nanoseconds: nanoseconds, fractionDigits: 0))
        writer.key("agentVersion"); writer.string(agentVersion)
        writer.endObject()
    }

    /// The will, and what a clean stop publishes.
    public static let offline: [UInt8] = Array(#"{"v":1,"online":false}"#.utf8)

    public static func heartbeat(time nanoseconds: Int64, into writer: inout JSONWriter) {
        writer.reset()
        writer.beginObject()
        writer.key("v"); writer.integer(1)
        writer.key("time"); writer.string(UTCTimestamp.format(nanoseconds: nanoseconds, fractionDigits: 0))
        writer.endObject()
    }

    public static func pod(uid: String, report: PodReport, into writer: inout JSONWriter) {
        writer.reset()
        writer.beginObject()
        writer.key("v"); writer.integer(1)
        writer.key("uid"); writer.string(uid)
        switch report {
        case .status(let namespace, let name, let specHash, let status):
            writer.key("namespace"); writer.string(namespace)
            writer.key("name"); writer.string(name)
            writer.key("specHash"); writer.string(hex(specHash))
            writer.key("status")
            PodStatusJSON.write(status, to: &writer)
        case .removed(let namespace, let name):
            writer.key("namespace"); writer.string(namespace)
            writer.key("name"); writer.string(name)
            writer.key("removed"); writer.bool(true)
        }
        writer.endObject()
    }

    /// 16 lower-case hex digits, as the relay writes spec hashes.
    public static func hex(_ value: UInt64) -> String {
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        for shift in stride(from: 60, through: 0, by: -4) { text.append(digits[Int((value >> UInt64(shift)) & 0xF)]) }
        return String(decoding: text, as: UTF8.self)
    }
}
