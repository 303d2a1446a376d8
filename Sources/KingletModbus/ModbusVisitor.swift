import KingletDevices
import KingletDocument
import KingletPod

/// The four Modbus data tables (Modbus Application Protocol V1.1b3, 4.3).
public enum ModbusTable: String, Sendable {
    case coil = "CoilRegister"
    case discreteInput = "DiscreteInputRegister"
    case holdingRegister = "HoldingRegister"
    case inputRegister = "InputRegister"

    var isBits: Bool { self == .coil || self == .discreteInput }
    var isWritable: Bool { self == .coil || self == .holdingRegister }

    var readFunction: ModbusFunction {
        switch self {
        case .coil: return .readCoils
        case .discreteInput: return .readDiscreteInputs
        case .holdingRegister: return .readHoldingRegisters
        case .inputRegister: return .readInputRegisters
        }
    }
}

/// How a property's value sits in the registers.
public enum ModbusDataType: String, Sendable {
    case bool
    case int16
    case uint16
    case int32
    case uint32
    case float32

    var registerCount: Int {
        switch self {
        case .bool, .int16, .uint16: return 1
        case .int32, .uint32, .float32: return 2
        }
    }
}

/// Where a property lives: the visitor's `configData` (KubeEdge's `register`, `offset`,
/// `limit`, `scale`, `isSwap`, `isRegisterSwap`; ours: `dataType`, `valueOffset`).
public struct ModbusVisitor: Equatable {
    public var table: ModbusTable
    /// The first register or bit (KubeEdge's `offset`), 0-based as on the wire.
    public var address: UInt16
    public var dataType: ModbusDataType
    /// value = raw × scale + valueOffset (and the inverse for writes).
    public var scale: Double = 1
    public var valueOffset: Double = 0
    /// Swap the two bytes of each register.
    public var byteSwap = false
    /// Swap the two registers of a 32-bit value (low word first).
    public var wordSwap = false

    public static let keys = ["register", "offset", "limit", "scale", "isSwap", "isRegisterSwap", "dataType", "valueOffset"]

    public static func decode(_ config: DeviceConfigData, property: DevicePropertySpec) throws(DocumentError) -> ModbusVisitor {
        try config.rejectUnknown(keys)
        guard let tableName = try config.string("register") else {
            throw config.error("register", "required (CoilRegister, DiscreteInputRegister, HoldingRegister or InputRegister)")
        }
        guard let table = ModbusTable(rawValue: tableName) else {
            throw config.error("register", "unknown register table '\(tableName)' (expected CoilRegister, DiscreteInputRegister, HoldingRegister or InputRegister)")
        }
        guard let address = try config.integer("offset") else { throw config.error("offset", "required (the first register's address)") }
        guard (0...65_535).contains(address) else { throw config.error("offset", "must be 0 to 65535") }
        let limit = try config.integer("limit")
        var dataType: ModbusDataType
        if let name = try config.string("dataType") {
            guard let type = ModbusDataType(rawValue: name.lowercased()) else {
                throw config.error("dataType", "unknown data type '\(name)' (expected bool, int16, uint16, int32, uint32 or float32)")
            }
            dataType = type
        } else if table.isBits || property.type == .boolean {
            dataType = .bool
        } else if (property.type == .float || property.type == .double) && limit == 2 {
            dataType = .float32
        } else {
            dataType = limit == 2 ? .int32 : .int16
        }
        if table.isBits && dataType != .bool { throw config.error("dataType", "a \(tableName) holds single bits: use bool") }
        if let limit, !table.isBits, Int(limit) != dataType.registerCount {
            throw config.error("limit", "\(dataType.rawValue) takes \(dataType.registerCount) register(s), not \(limit)")
        }
        if Int(address) + dataType.registerCount > 65_536 { throw config.error("offset", "the value runs past register 65535") }
        if property.writable && !table.isWritable {
            throw config.error("register", "property '\(property.name)' is ReadWrite but a \(tableName) is read-only")
        }
        var visitor = ModbusVisitor(table: table, address: UInt16(address), dataType: dataType)
        if let scale = try config.double("scale") {
            guard scale != 0 && scale.isFinite else { throw config.error("scale", "must be a non-zero number") }
            visitor.scale = scale
        }
        visitor.valueOffset = try config.double("valueOffset") ?? 0
        visitor.byteSwap = try config.bool("isSwap") ?? false
        visitor.wordSwap = try config.bool("isRegisterSwap") ?? false
        return visitor
    }

    /// The value held by `registers` (big-endian registers, high word first unless swapped).
    public func decode(registers: UnsafeBufferPointer<UInt16>, as type: DevicePropertyType) -> DeviceValue? {
        guard registers.count >= dataType.registerCount else { return nil }
        var first = registers[0]
        var second: UInt16 = dataType.registerCount == 2 ? registers[1] : 0
        if byteSwap {
            first = first.byteSwapped
            second = second.byteSwapped
        }
        if wordSwap { swap(&first, &second) }
        let raw: Double
        switch dataType {
        case .bool: return .bool(first != 0)
        case .int16: raw = Double(Int16(bitPattern: first))
        case .uint16: raw = Double(first)
        case .int32: raw = Double(Int32(bitPattern: UInt32(first) << 16 | UInt32(second)))
        case .uint32: raw = Double(UInt32(first) << 16 | UInt32(second))
        case .float32: raw = Double(Float(bitPattern: UInt32(first) << 16 | UInt32(second)))
        }
        let value = raw * scale + valueOffset
        switch type {
        case .int:
            guard value.isFinite, let whole = Int64(exactly: value.rounded()) else { return nil }
            return .integer(whole)
        case .boolean: return .bool(value != 0)
        case .string, .bytes: return .text(DeviceValue.double(value).twinText)
        case .float, .double: return .double(value)
        }
    }

    public func decode(bit: Bool) -> DeviceValue { .bool(bit) }

    /// The registers for `value`, or nil when it does not fit the data type.
    public func encode(_ value: DeviceValue) -> (UInt16, UInt16)? {
        guard let number = value.asDouble else { return nil }
        let raw = ((number - valueOffset) / scale)
        var first: UInt16
        var second: UInt16 = 0
        switch dataType {
        case .bool: first = number != 0 ? 1 : 0
        case .int16:
            guard let v = Int16(exactly: raw.rounded()) else { return nil }
            first = UInt16(bitPattern: v)
        case .uint16:
            guard let v = UInt16(exactly: raw.rounded()) else { return nil }
            first = v
        case .int32:
            guard let v = Int32(exactly: raw.rounded()) else { return nil }
            first = UInt16(truncatingIfNeeded: UInt32(bitPattern: v) >> 16)
            second = UInt16(truncatingIfNeeded: UInt32(bitPattern: v))
        case .uint32:
            guard let v = UInt32(exactly: raw.rounded()) else { return nil }
            first = UInt16(truncatingIfNeeded: v >> 16)
            second = UInt16(truncatingIfNeeded: v)
        case .float32:
            let bits = Float(raw).bitPattern
            first = UInt16(truncatingIfNeeded: bits >> 16)
            second = UInt16(truncatingIfNeeded: bits)
        }
        if wordSwap { swap(&first, &second) }
        if byteSwap {
            first = first.byteSwapped
            second = second.byteSwapped
        }
        return (first, second)
    }
}

/// The function codes Kinglet sends (Modbus Application Protocol V1.1b3, 6).
public enum ModbusFunction: UInt8, Sendable {
    case readCoils = 0x01
    case readDiscreteInputs = 0x02
    case readHoldingRegisters = 0x03
    case readInputRegisters = 0x04
    case writeSingleCoil = 0x05
    case writeSingleRegister = 0x06
    case writeMultipleRegisters = 0x10
}
