/// A ZCL attribute data type id (ZCL spec §2.6.2, Table 2-10; zigpy zcl/foundation.py
/// `DataTypeId`). A raw value, because devices send types this target does not decode; it
/// still knows their sizes, so a record after one can be read.
public struct ZCLDataType: Hashable, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let noData = ZCLDataType(rawValue: 0x00)
    public static let bool = ZCLDataType(rawValue: 0x10)
    public static let bitmap8 = ZCLDataType(rawValue: 0x18)
    public static let bitmap16 = ZCLDataType(rawValue: 0x19)
    public static let uint8 = ZCLDataType(rawValue: 0x20)
    public static let uint16 = ZCLDataType(rawValue: 0x21)
    public static let uint24 = ZCLDataType(rawValue: 0x22)
    public static let uint32 = ZCLDataType(rawValue: 0x23)
    public static let int8 = ZCLDataType(rawValue: 0x28)
    public static let int16 = ZCLDataType(rawValue: 0x29)
    public static let int24 = ZCLDataType(rawValue: 0x2A)
    public static let int32 = ZCLDataType(rawValue: 0x2B)
    public static let enum8 = ZCLDataType(rawValue: 0x30)
    public static let enum16 = ZCLDataType(rawValue: 0x31)
    public static let floatSingle = ZCLDataType(rawValue: 0x39)
    public static let octetString = ZCLDataType(rawValue: 0x41)
    public static let characterString = ZCLDataType(rawValue: 0x42)

    /// The value's size in bytes when it is fixed, nil for strings and collections.
    public var fixedSize: Int? {
        let id = rawValue
        switch id {
        case 0x00: return 0
        case 0x08...0x0F: return Int(id - 0x07)  // data8...data64
        case 0x10: return 1  // boolean
        case 0x18...0x1F: return Int(id - 0x17)  // bitmap8...bitmap64
        case 0x20...0x27: return Int(id - 0x1F)  // uint8...uint64
        case 0x28...0x2F: return Int(id - 0x27)  // int8...int64
        case 0x30: return 1
        case 0x31: return 2
        case 0x38: return 2  // semi-precision float
        case 0x39: return 4
        case 0x3A: return 8
        case 0xE0, 0xE1, 0xE2: return 4  // time of day, date, UTC time
        case 0xE8, 0xE9: return 2  // cluster id, attribute id
        case 0xEA: return 4  // BACnet OID
        case 0xF0: return 8  // IEEE address
        case 0xF1: return 16  // 128-bit security key
        default: return nil
        }
    }

    /// Analog types carry a "reportable change" in Configure Reporting; discrete ones
    /// (bool, bitmaps, enums, strings) do not (ZCL spec §2.5.7.1.7; zigpy `Analog`).
    public var isAnalog: Bool {
        switch rawValue {
        case 0x20...0x2F, 0x38...0x3A, 0xE0...0xE2: return true
        default: return false
        }
    }

    public var description: String {
        switch rawValue {
        case 0x10: return "bool"
        case 0x18: return "bitmap8"
        case 0x19: return "bitmap16"
        case 0x20: return "uint8"
        case 0x21: return "uint16"
        case 0x22: return "uint24"
        case 0x23: return "uint32"
        case 0x28: return "int8"
        case 0x29: return "int16"
        case 0x2A: return "int24"
        case 0x2B: return "int32"
        case 0x30: return "enum8"
        case 0x31: return "enum16"
        case 0x39: return "single"
        case 0x41: return "octstr"
        case 0x42: return "string"
        default: return "type " + ZigbeeHex.format(rawValue)
        }
    }
}

/// A ZCL attribute value with its type.
public enum ZCLValue: Equatable, Sendable {
    case bool(Bool)
    case uint8(UInt8)
    case uint16(UInt16)
    case uint24(UInt32)
    case uint32(UInt32)
    case int8(Int8)
    case int16(Int16)
    case int24(Int32)
    case int32(Int32)
    case enum8(UInt8)
    case enum16(UInt16)
    case bitmap8(UInt8)
    case bitmap16(UInt16)
    case float(Float)
    /// Character string bytes (UTF-8 by ZCL spec §2.6.2.12), kept as bytes: decoding
    /// text is the reader's choice.
    case characterString([UInt8])
    case octetString([UInt8])
    /// Any other fixed-size type up to 8 bytes, as its little-endian number.
    case other(ZCLDataType, UInt64)

    public var dataType: ZCLDataType {
        switch self {
        case .bool: return .bool
        case .uint8: return .uint8
        case .uint16: return .uint16
        case .uint24: return .uint24
        case .uint32: return .uint32
        case .int8: return .int8
        case .int16: return .int16
        case .int24: return .int24
        case .int32: return .int32
        case .enum8: return .enum8
        case .enum16: return .enum16
        case .bitmap8: return .bitmap8
        case .bitmap16: return .bitmap16
        case .float: return .floatSingle
        case .characterString: return .characterString
        case .octetString: return .octetString
        case .other(let type, _): return type
        }
    }

    /// The value as a whole number when it is one (bool as 0/1), for scaling.
    public var integerValue: Int64? {
        switch self {
        case .bool(let v): return v ? 1 : 0
        case .uint8(let v), .enum8(let v), .bitmap8(let v): return Int64(v)
        case .uint16(let v), .enum16(let v), .bitmap16(let v): return Int64(v)
        case .uint24(let v), .uint32(let v): return Int64(v)
        case .int8(let v): return Int64(v)
        case .int16(let v): return Int64(v)
        case .int24(let v), .int32(let v): return Int64(v)
        case .float, .characterString, .octetString: return nil
        case .other(_, let v): return v <= UInt64(Int64.max) ? Int64(v) : nil
        }
    }

    /// Decodes one value of `type`; nil when the bytes run out or the type's size is
    /// unknown (arrays, structures), in which case the rest of the frame is unreadable.
    static func read(_ type: ZCLDataType, from r: inout ZigbeeByteReader) -> ZCLValue? {
        let value: ZCLValue
        switch type {
        case .bool: value = .bool(r.u8() != 0)
        case .uint8: value = .uint8(r.u8())
        case .uint16: value = .uint16(r.u16())
        case .uint24: value = .uint24(r.u24())
        case .uint32: value = .uint32(r.u32())
        case .int8: value = .int8(Int8(bitPattern: r.u8()))
        case .int16: value = .int16(Int16(bitPattern: r.u16()))
        case .int24:
            // Sign-extend the 24-bit two's complement value.
            value = .int24(Int32(bitPattern: r.u24() << 8) >> 8)
        case .int32: value = .int32(Int32(bitPattern: r.u32()))
        case .enum8: value = .enum8(r.u8())
        case .enum16: value = .enum16(r.u16())
        case .bitmap8: value = .bitmap8(r.u8())
        case .bitmap16: value = .bitmap16(r.u16())
        case .floatSingle: value = .float(Float(bitPattern: r.u32()))
        case .characterString, .octetString:
            let length = r.u8()
            // 0xFF is the "invalid string" value (ZCL spec §2.6.2.11): no bytes follow.
            let bytes = length == 0xFF ? [] : Array(r.take(Int(length)))
            value = type == .characterString ? .characterString(bytes) : .octetString(bytes)
        default:
            guard let size = type.fixedSize else { return nil }
            if size <= 8 {
                value = .other(type, r.unsigned(size))
            } else {
                _ = r.take(size)
                value = .other(type, 0)
            }
        }
        return r.isTruncated ? nil : value
    }

    /// Appends the value's bytes (without its type id).
    func write(into w: inout ZigbeeByteWriter) {
        switch self {
        case .bool(let v): w.bool(v)
        case .uint8(let v), .enum8(let v), .bitmap8(let v): w.u8(v)
        case .uint16(let v), .enum16(let v), .bitmap16(let v): w.u16(v)
        case .uint24(let v): w.u24(v)
        case .uint32(let v): w.u32(v)
        case .int8(let v): w.u8(UInt8(bitPattern: v))
        case .int16(let v): w.u16(UInt16(bitPattern: v))
        case .int24(let v): w.u24(UInt32(bitPattern: v) & 0xFF_FFFF)
        case .int32(let v): w.u32(UInt32(bitPattern: v))
        case .float(let v): w.u32(v.bitPattern)
        case .characterString(let bytes), .octetString(let bytes):
            let count = min(bytes.count, 0xFE)
            w.u8(UInt8(count))
            w.append(bytes[0..<count])
        case .other(let type, let v):
            // Types wider than 8 bytes (a 128-bit key) keep only the low 8; the rest is zero.
            let size = type.fixedSize ?? 0
            w.unsigned(v, count: min(size, 8))
            if size > 8 { w.append(repeatElement(UInt8(0), count: size - 8)) }
        }
    }
}
