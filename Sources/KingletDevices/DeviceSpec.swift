/// KingletDevices: the devices wired to the board, as KubeEdge `devices.kubeedge.io/v1beta1`
/// Devices and DeviceModels describe them, and their twins (desired and reported values).
///
/// The same specs come from the relay (docs/protocol.md, `desired/devices/<uid>`) and from
/// the board's YAML config when it runs headless. A driver per protocol (Modbus RTU, BLE,
/// ZigBee, MQTT) reads and writes the device on the agent's loop; `DeviceManager` owns the
/// drivers, collects on each property's cycle and keeps the twins.
import KingletDocument
import KingletPod

/// The bus a device is on: the Device's `spec.protocol.protocolName`.
public enum DeviceProtocolKind: String, Sendable {
    case modbus
    case ble
    case zigbee
    case mqtt

    public static let names = "modbus, ble, zigbee, mqtt"
}

/// A property's value type: the DeviceModel's `properties[].type`.
public enum DevicePropertyType: String, Sendable {
    case int = "INT"
    case float = "FLOAT"
    case double = "DOUBLE"
    case string = "STRING"
    case boolean = "BOOLEAN"
    case bytes = "BYTES"

    /// KubeEdge writes these upper case; older samples use lower case.
    static func parse(_ text: String) -> DevicePropertyType? {
        DevicePropertyType(rawValue: text.uppercased())
    }
}

/// Free-form `configData` (protocol or visitor), read with positions for errors.
public struct DeviceConfigData {
    public let object: ObjectReader?
    /// The field path prefix for errors when absent ("spec.protocol.configData").
    public let path: String
    public let file: String

    public init(_ object: ObjectReader?, path: String, file: String) {
        self.object = object
        self.path = path
        self.file = file
    }

    public func field(_ key: String) -> FieldReader? { object?.field(key) }

    /// A string; numbers and booleans are accepted and spelled out, as mappers do.
    public func string(_ key: String) throws(DocumentError) -> String? {
        guard let field = field(key) else { return nil }
        switch field.node.value {
        case .string(let text): return text
        case .integer(let value): return String(value)
        case .double(let value): return String(value)
        case .bool(let value): return value ? "true" : "false"
        default: throw field.mismatch("a string")
        }
    }

    /// An integer; a string holding one is accepted ("9600"), as KubeEdge samples write both.
    public func integer(_ key: String) throws(DocumentError) -> Int64? {
        guard let field = field(key) else { return nil }
        if case .string(let text) = field.node.value {
            guard let value = Int64(text) else { throw field.error("expected an integer, found \"\(text)\"") }
            return value
        }
        return try field.integer()
    }

    public func double(_ key: String) throws(DocumentError) -> Double? {
        guard let field = field(key) else { return nil }
        switch field.node.value {
        case .integer(let value): return Double(value)
        case .double(let value): return value
        case .string(let text):
            guard let value = DecimalText.double(text) else { throw field.error("expected a number, found \"\(text)\"") }
            return value
        default: throw field.mismatch("a number")
        }
    }

    public func bool(_ key: String) throws(DocumentError) -> Bool? {
        guard let field = field(key) else { return nil }
        if case .string(let text) = field.node.value {
            switch text.lowercased() {
            case "true": return true
            case "false": return false
            default: throw field.error("expected true or false, found \"\(text)\"")
            }
        }
        return try field.bool()
    }

    /// Hex digits, optionally separated by ':' or ' '.
    public static func hexBytes(_ text: String) -> [UInt8]? {
        var digits: [UInt8] = []
        for unit in text.utf8 where unit != UInt8(ascii: ":") && unit != UInt8(ascii: " ") {
            switch unit {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digits.append(unit - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digits.append(unit - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digits.append(unit - UInt8(ascii: "A") + 10)
            default: return nil
            }
        }
        guard !digits.isEmpty, digits.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        var index = 0
        while index < digits.count {
            bytes.append(digits[index] << 4 | digits[index + 1])
            index += 2
        }
        return bytes
    }

    public func error(_ key: String, _ message: String) -> DocumentError {
        if let field = field(key) { return field.error(message) }
        return DocumentError(file: file, position: object?.reader.node.position, path: path.isEmpty ? key : path + "." + key,
                             message: message)
    }

    /// Rejects keys outside `allowed`, naming the unknown one and the expected ones.
    public func rejectUnknown(_ allowed: [String]) throws(DocumentError) {
        guard let object else { return }
        for member in object.members where !allowed.contains(member.key) {
            let fieldPath = path.isEmpty ? member.key : path + "." + member.key
            throw DocumentError(file: file, position: member.keyPosition, path: fieldPath,
                                message: "unknown field '\(member.key)' (expected one of: \(allowed.joined(separator: ", ")))")
        }
    }
}

/// One property of a device: the Device's entry joined with its DeviceModel's.
public struct DevicePropertySpec {
    public var name: String
    public var type: DevicePropertyType
    public var writable: Bool
    public var unit: String
    /// `desired.value`, as the API spells it (a string); nil when none is set.
    public var desired: String?
    /// How often the value is read, and how often it is reported (milliseconds).
    public var collectCycleMilliseconds: Int64
    public var reportCycleMilliseconds: Int64
    /// The visitor's `configData`: where the value lives on the bus.
    public var visitor: DeviceConfigData

    public init(name: String, type: DevicePropertyType, writable: Bool, unit: String, desired: String?,
                collectCycleMilliseconds: Int64, reportCycleMilliseconds: Int64, visitor: DeviceConfigData) {
        self.name = name
        self.type = type
        self.writable = writable
        self.unit = unit
        self.desired = desired
        self.collectCycleMilliseconds = collectCycleMilliseconds
        self.reportCycleMilliseconds = reportCycleMilliseconds
        self.visitor = visitor
    }
}

/// One device, ready for a driver: the Device and its DeviceModel, validated.
public struct DeviceSpec {
    public var uid: String
    public var namespace: String
    public var name: String
    public var kind: DeviceProtocolKind
    /// `spec.protocol.configData`.
    public var protocolConfig: DeviceConfigData
    public var properties: [DevicePropertySpec]
    /// The relay's hash (or the config's): equal hashes, nothing to do.
    public var specHash: UInt64
    /// The hash without desired values: equal means the driver keeps its port open and
    /// only desired values are written.
    public var connectionHash: UInt64
    /// The message or manifest it came from, kept in the cache's twin record.
    public var sourceJSON: [UInt8]

    public var fullName: String { namespace + "/" + name }

    public func propertyIndex(_ name: String) -> Int? { properties.firstIndex { $0.name == name } }
}
