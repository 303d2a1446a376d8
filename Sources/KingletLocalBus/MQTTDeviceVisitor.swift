import KingletDevices
import KingletDocument

/// Where an MQTT-native device's property lives: the visitor's `configData`
/// (docs/devices.md, "MQTT devices and the local bus").
public struct MQTTDeviceVisitor: Equatable {
    /// How a desired value is written to `commandTopic`.
    public enum CommandFormat: String, Sendable {
        /// The value as JSON (a number, true/false or a string), inside `{"<field>": ...}`
        /// objects when `field` names one.
        case json
        /// The twin's text of the value ("21.5", "true", "on"), nothing around it.
        case raw
    }

    /// The topic (filter) whose messages carry readings; nil for a write-only property.
    public var topic: String?
    /// The dotted path into the JSON payload (`a.b.0`); empty: the whole payload.
    public var field: [String]
    public var commandTopic: String?
    public var commandFormat: CommandFormat
    /// For the subscription and the command publishes.
    public var qos: Int32
    /// Whether commands are published retained (a device that connects later gets the
    /// last command).
    public var retain: Bool

    /// `dataType` is accepted because KubeEdge's mapper samples write it; the DeviceModel's
    /// `type` decides how a value is read.
    public static let keys = ["topic", "field", "jsonPath", "commandTopic", "commandFormat", "qos", "retain", "dataType"]

    public static func decode(_ config: DeviceConfigData, property: DevicePropertySpec) throws(DocumentError) -> MQTTDeviceVisitor {
        try config.rejectUnknown(keys)
        let topic = try config.string("topic")
        if let topic { try checkFilter(topic, config, "topic") }
        let commandTopic = try config.string("commandTopic")
        if let commandTopic {
            try checkFilter(commandTopic, config, "commandTopic")
            if commandTopic.utf8.contains(UInt8(ascii: "+")) || commandTopic.utf8.contains(UInt8(ascii: "#")) {
                throw config.error("commandTopic", "a topic to publish to cannot hold the wildcards + or #")
            }
            if !property.writable {
                throw config.error("commandTopic", "property '\(property.name)' is ReadOnly in its DeviceModel: it has no command to publish")
            }
        }
        if topic == nil && commandTopic == nil {
            throw config.error("topic", "an MQTT property needs a topic (readings), a commandTopic (writes), or both")
        }
        var field: [String] = []
        if let text = try config.string("field") {
            if config.field("jsonPath") != nil { throw config.error("jsonPath", "give either field or jsonPath, not both") }
            field = try dotted(text, config, "field")
        } else if let text = try config.string("jsonPath") {
            field = try jsonPath(text, config)
        }
        var format: CommandFormat = field.isEmpty ? .raw : .json
        if let text = try config.string("commandFormat") {
            guard let given = CommandFormat(rawValue: text) else { throw config.error("commandFormat", "expected json or raw") }
            format = given
        }
        var qos: Int32 = 1
        if let value = try config.integer("qos") {
            guard value >= 0 && value <= 2 else { throw config.error("qos", "must be 0, 1 or 2") }
            qos = Int32(value)
        }
        _ = try config.string("dataType")
        return MQTTDeviceVisitor(topic: topic, field: field, commandTopic: commandTopic, commandFormat: format, qos: qos,
                                 retain: try config.bool("retain") ?? false)
    }

    /// MQTT 3.1.1, 4.7: not empty, no NUL, `#` only as the last level, wildcards alone in
    /// their level.
    static func checkFilter(_ text: String, _ config: DeviceConfigData, _ key: String) throws(DocumentError) {
        if text.isEmpty { throw config.error(key, "must not be empty") }
        if text.utf8.count > 65535 { throw config.error(key, "is longer than MQTT allows (65535 bytes)") }
        let levels = text.split(separator: "/", omittingEmptySubsequences: false)
        for (index, level) in levels.enumerated() {
            if level.utf8.contains(0) { throw config.error(key, "must not contain NUL") }
            if level.contains("#") && (level != "#" || index != levels.count - 1) {
                throw config.error(key, "'#' must be a whole level, and the last one")
            }
            if level.contains("+") && level != "+" { throw config.error(key, "'+' must be a whole level") }
        }
    }

    static func dotted(_ text: String, _ config: DeviceConfigData, _ key: String) throws(DocumentError) -> [String] {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false).map { String($0) }
        if parts.contains(where: { $0.isEmpty }) { throw config.error(key, "'\(text)' has an empty step (expected e.g. a.b.0)") }
        return parts
    }

    /// The simple JSONPath forms mappers use: `$` (the whole payload), `$.a.b`, `$.a[0].b`,
    /// `$['a']`. Filters, slices and wildcards are refused.
    static func jsonPath(_ text: String, _ config: DeviceConfigData) throws(DocumentError) -> [String] {
        guard text.hasPrefix("$") else { throw config.error("jsonPath", "expected a path starting with $ (e.g. $.sensor.t)") }
        var steps: [String] = []
        var rest = Substring(text.dropFirst())
        while let first = rest.first {
            if first == "." {
                rest = rest.dropFirst()
                var name = ""
                while let next = rest.first, next != ".", next != "[" {
                    name.append(next)
                    rest = rest.dropFirst()
                }
                if name.isEmpty || name == "*" { throw config.error("jsonPath", "'\(text)': expected a member name after '.'") }
                steps.append(name)
            } else if first == "[" {
                guard let close = rest.firstIndex(of: "]") else { throw config.error("jsonPath", "'\(text)': unclosed '['") }
                var inside = rest[rest.index(after: rest.startIndex)..<close]
                rest = rest[rest.index(after: close)...]
                if inside.count >= 2, let quote = inside.first, quote == "'" || quote == "\"", inside.last == quote {
                    inside = inside.dropFirst().dropLast()
                    steps.append(String(inside))
                } else if !inside.isEmpty, inside.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) {
                    steps.append(String(inside))
                } else {
                    throw config.error("jsonPath", "'\(text)': only [index] and ['name'] steps are supported")
                }
            } else {
                throw config.error("jsonPath", "'\(text)': expected '.' or '[' after '$'")
            }
        }
        return steps
    }
}

/// Reads a property's value out of an MQTT payload.
enum MQTTDevicePayload {
    /// The value at `path` as `type`, or nil with why in `problem`.
    static func value(_ payload: [UInt8], path: [String], type: DevicePropertyType, problem: inout String) -> DeviceValue? {
        if path.isEmpty && !looksLikeJSON(payload) {
            let text = trimmed(payload)
            if text.isEmpty {
                problem = "empty payload"
                return nil
            }
            if let value = DeviceValue.parse(text, as: type) { return value }
            problem = "'\(clip(text))' is not a \(type.rawValue)"
            return nil
        }
        let found: Value?
        do throws(DocumentError) {
            // Only the field is looked up: no tree is built for a message.
            found = try JSONReader(maxDepth: 32).value(at: path, in: payload)
        } catch {
            if path.isEmpty && (type == .string || type == .bytes) { return .text(trimmed(payload)) }
            problem = "not JSON: \(error.message)"
            return nil
        }
        guard let found else {
            problem = "no field '\(path.joined(separator: "."))'"
            return nil
        }
        if let value = convert(found, to: type) { return value }
        problem = "\(path.isEmpty ? "the payload" : "field '" + path.joined(separator: ".") + "'") holds \(found.kindDescription), not a \(type.rawValue)"
        return nil
    }

    static func convert(_ value: Value, to type: DevicePropertyType) -> DeviceValue? {
        switch (value, type) {
        case (.integer(let number), .int): return .integer(number)
        case (.integer(let number), .float), (.integer(let number), .double): return .double(Double(number))
        case (.integer(let number), .boolean): return number == 0 ? .bool(false) : number == 1 ? .bool(true) : nil
        case (.integer(let number), .string), (.integer(let number), .bytes): return .text(String(number))
        case (.double(let number), .int): return Int64(exactly: number).map { .integer($0) }
        case (.double(let number), .float), (.double(let number), .double): return number.isFinite ? .double(number) : nil
        case (.double(let number), .string), (.double(let number), .bytes): return .text(DeviceValue.double(number).twinText)
        case (.bool(let flag), .boolean): return .bool(flag)
        case (.bool(let flag), .string), (.bool(let flag), .bytes): return .text(flag ? "true" : "false")
        case (.string(let text), _): return DeviceValue.parse(text, as: type)
        default: return nil
        }
    }

    static func looksLikeJSON(_ payload: [UInt8]) -> Bool {
        for byte in payload {
            switch byte {
            case 0x20, 0x09, 0x0A, 0x0D: continue
            case UInt8(ascii: "{"), UInt8(ascii: "["), UInt8(ascii: "\""): return true
            default: return false
            }
        }
        return false
    }

    static func trimmed(_ payload: [UInt8]) -> String {
        var start = 0
        var end = payload.count
        func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D }
        while start < end && isSpace(payload[start]) { start += 1 }
        while end > start && isSpace(payload[end - 1]) { end -= 1 }
        return String(decoding: payload[start..<end], as: UTF8.self)
    }

    static func clip(_ text: String) -> String { text.utf8.count <= 40 ? text : String(text.prefix(40)) + "..." }
}
