/// The Zigbee Cluster Library pieces the simulated devices speak.
///
/// Sources: ZCL specification rev. 8 (07-5123) §2.4 (frame format), §2.5 (general commands),
/// §2.6.2 (data types); checked against zigpy zigpy/zcl/foundation.py (`DataTypeId`,
/// `GeneralCommand`, `Status`, `FrameControl`) and zigpy/zcl/clusters/* for each attribute's type.

/// ZCL attribute data types used here (foundation.py `DataTypeId`).
public enum ZCLDataType: UInt8, Sendable {
    case bool = 0x10
    case bitmap8 = 0x18
    case bitmap16 = 0x19
    case uint8 = 0x20
    case uint16 = 0x21
    case uint24 = 0x22
    case uint32 = 0x23
    case int8 = 0x28
    case int16 = 0x29
    case int24 = 0x2A
    case int32 = 0x2B
    case enum8 = 0x30
    case enum16 = 0x31
    case octetString = 0x41
    case characterString = 0x42
    case ieeeAddress = 0xF0

    /// Fixed size in bytes, nil for length-prefixed strings.
    var size: Int? {
        switch self {
        case .bool, .bitmap8, .uint8, .int8, .enum8: return 1
        case .bitmap16, .uint16, .int16, .enum16: return 2
        case .uint24, .int24: return 3
        case .uint32, .int32: return 4
        case .ieeeAddress: return 8
        case .octetString, .characterString: return nil
        }
    }

    var isSigned: Bool {
        switch self {
        case .int8, .int16, .int24, .int32: return true
        default: return false
        }
    }

    /// Analog types carry a Reportable Change field in Configure Reporting (ZCL §2.5.7.1.7).
    var isAnalog: Bool {
        switch self {
        case .uint8, .uint16, .uint24, .uint32, .int8, .int16, .int24, .int32: return true
        default: return false
        }
    }

    /// The values the type can hold (strings hold none as integers).
    var range: ClosedRange<Int64> {
        switch self {
        case .bool: return 0...1
        case .bitmap8, .uint8, .enum8: return 0...0xFF
        case .bitmap16, .uint16, .enum16: return 0...0xFFFF
        case .uint24: return 0...0xFF_FFFF
        case .uint32: return 0...0xFFFF_FFFF
        case .int8: return -0x80...0x7F
        case .int16: return -0x8000...0x7FFF
        case .int24: return -0x80_0000...0x7F_FFFF
        case .int32: return -0x8000_0000...0x7FFF_FFFF
        case .ieeeAddress: return Int64.min...Int64.max
        case .octetString, .characterString: return 0...0
        }
    }
}

/// An attribute value: an integer (booleans, bitmaps, enums and numbers alike) or a string.
public enum ZCLValue: Equatable, Sendable {
    case integer(Int64)
    case string(String)
    case octets([UInt8])

    var integer: Int64? {
        if case .integer(let value) = self { return value }
        return nil
    }

    func encoded(as type: ZCLDataType) -> [UInt8] {
        switch (self, type) {
        case (.string(let text), .characterString):
            let utf8 = Array(text.utf8.prefix(254))
            return [UInt8(utf8.count)] + utf8
        case (.octets(let bytes), .octetString):
            return [UInt8(min(bytes.count, 254))] + bytes.prefix(254)
        case (.integer(let value), _):
            let size = type.size ?? 0
            let bits = UInt64(bitPattern: value)
            return (0..<size).map { UInt8(truncatingIfNeeded: bits >> UInt64(8 * $0)) }
        default:
            return type == .characterString || type == .octetString ? [0] : [UInt8](repeating: 0, count: type.size ?? 0)
        }
    }

    /// Reads one value of `type`; nil when the bytes run out.
    static func decode(_ type: ZCLDataType, from reader: inout ByteReader) -> ZCLValue? {
        switch type {
        case .characterString:
            guard let bytes = reader.shortBytes() else { return nil }
            return .string(String(decoding: bytes, as: UTF8.self))
        case .octetString:
            return reader.shortBytes().map { .octets($0) }
        default:
            guard let size = type.size, let bytes = reader.take(size) else { return nil }
            var bits: UInt64 = 0
            for (index, byte) in bytes.enumerated() { bits |= UInt64(byte) << UInt64(8 * index) }
            if type.isSigned && size < 8 {
                let shift = UInt64(64 - 8 * size)
                return .integer(Int64(bitPattern: bits << shift) >> Int64(shift))
            }
            return .integer(Int64(bitPattern: bits))
        }
    }
}

/// ZCL status codes (foundation.py `Status`).
enum ZCLStatus: UInt8 {
    case success = 0x00
    case failure = 0x01
    case malformedCommand = 0x80
    case unsupportedClusterCommand = 0x81
    case unsupportedGeneralCommand = 0x82
    case unsupportedManufacturerClusterCommand = 0x83
    case unsupportedManufacturerGeneralCommand = 0x84
    case invalidField = 0x85
    case unsupportedAttribute = 0x86
    case invalidValue = 0x87
    case readOnly = 0x88
    case unreportableAttribute = 0x8C
    case invalidDataType = 0x8D
    case unsupportedCluster = 0xC3
}

/// ZCL general (profile-wide) command ids (foundation.py `GeneralCommand`).
enum ZCLGeneralCommand: UInt8 {
    case readAttributes = 0x00
    case readAttributesResponse = 0x01
    case writeAttributes = 0x02
    case writeAttributesUndivided = 0x03
    case writeAttributesResponse = 0x04
    case writeAttributesNoResponse = 0x05
    case configureReporting = 0x06
    case configureReportingResponse = 0x07
    case reportAttributes = 0x0A
    case defaultResponse = 0x0B
    case discoverAttributes = 0x0C
    case discoverAttributesResponse = 0x0D
}

/// A ZCL frame (ZCL §2.4.1): frame control, optional manufacturer code, sequence, command.
struct ZCLFrame: Equatable {
    /// Frame control bits 0–1: 0 = profile-wide (general) command, 1 = cluster-specific.
    var isClusterSpecific: Bool
    /// Bit 2: a manufacturer code follows the frame control.
    var manufacturerCode: UInt16?
    /// Bit 3: set on server-to-client frames (responses and reports from a device).
    var serverToClient: Bool
    /// Bit 4: the receiver must not send a Default Response on success.
    var disableDefaultResponse: Bool
    var sequence: UInt8
    var command: UInt8
    var payload: [UInt8]

    init(isClusterSpecific: Bool = false, manufacturerCode: UInt16? = nil, serverToClient: Bool,
         disableDefaultResponse: Bool, sequence: UInt8, command: UInt8, payload: [UInt8]) {
        self.isClusterSpecific = isClusterSpecific
        self.manufacturerCode = manufacturerCode
        self.serverToClient = serverToClient
        self.disableDefaultResponse = disableDefaultResponse
        self.sequence = sequence
        self.command = command
        self.payload = payload
    }

    init?(parsing bytes: [UInt8]) {
        var reader = ByteReader(bytes)
        guard let control = reader.u8() else { return nil }
        guard control & 0x03 <= 1 else { return nil }
        isClusterSpecific = control & 0x03 == 1
        serverToClient = control & 0x08 != 0
        disableDefaultResponse = control & 0x10 != 0
        if control & 0x04 != 0 {
            guard let code = reader.u16() else { return nil }
            manufacturerCode = code
        } else {
            manufacturerCode = nil
        }
        guard let sequence = reader.u8(), let command = reader.u8() else { return nil }
        self.sequence = sequence
        self.command = command
        payload = reader.rest()
    }

    var encoded: [UInt8] {
        var control: UInt8 = isClusterSpecific ? 0x01 : 0x00
        if manufacturerCode != nil { control |= 0x04 }
        if serverToClient { control |= 0x08 }
        if disableDefaultResponse { control |= 0x10 }
        var writer = ByteWriter()
        writer.u8(control)
        if let manufacturerCode { writer.u16(manufacturerCode) }
        writer.u8(sequence)
        writer.u8(command)
        writer.append(payload)
        return writer.bytes
    }
}

/// Cluster ids and the attributes the simulator knows by name, with their ZCL types
/// (zigpy zcl/clusters: general.py, measurement.py, homeautomation.py).
public enum ZCLCluster {
    public static let basic: UInt16 = 0x0000
    public static let powerConfiguration: UInt16 = 0x0001
    public static let onOff: UInt16 = 0x0006
    public static let levelControl: UInt16 = 0x0008
    public static let temperatureMeasurement: UInt16 = 0x0402
    public static let relativeHumidity: UInt16 = 0x0405
    public static let occupancySensing: UInt16 = 0x0406
    public static let electricalMeasurement: UInt16 = 0x0B04

    /// Names accepted in the devices file for clusters.
    static let names: [String: UInt16] = [
        "basic": basic, "powerConfiguration": powerConfiguration, "power": powerConfiguration,
        "onOff": onOff, "levelControl": levelControl, "level": levelControl,
        "temperatureMeasurement": temperatureMeasurement, "temperature": temperatureMeasurement,
        "relativeHumidity": relativeHumidity, "humidity": relativeHumidity,
        "occupancySensing": occupancySensing, "occupancy": occupancySensing,
        "electricalMeasurement": electricalMeasurement, "electrical": electricalMeasurement,
    ]

    /// A known attribute: its type, whether a client may write it, whether it is reported by
    /// default, and the largest step it drifts by at each report (0 = constant).
    struct KnownAttribute {
        var name: String
        var type: ZCLDataType
        var writable = false
        var reported = false
        var drift: Int64 = 0
    }

    static let known: [UInt16: [UInt16: KnownAttribute]] = [
        basic: [
            0x0000: KnownAttribute(name: "zclVersion", type: .uint8),
            0x0004: KnownAttribute(name: "manufacturerName", type: .characterString),
            0x0005: KnownAttribute(name: "modelIdentifier", type: .characterString),
            0x0007: KnownAttribute(name: "powerSource", type: .enum8),
        ],
        powerConfiguration: [
            // Battery voltage in units of 100 mV; percentage in half-percent units (200 = 100%).
            0x0020: KnownAttribute(name: "batteryVoltage", type: .uint8, reported: true, drift: 1),
            0x0021: KnownAttribute(name: "batteryPercentageRemaining", type: .uint8, reported: true, drift: 1),
        ],
        onOff: [
            0x0000: KnownAttribute(name: "onOff", type: .bool, reported: true),
            0x4003: KnownAttribute(name: "startUpOnOff", type: .enum8, writable: true),
        ],
        levelControl: [
            0x0000: KnownAttribute(name: "currentLevel", type: .uint8, reported: true),
            0x0010: KnownAttribute(name: "onOffTransitionTime", type: .uint16, writable: true),
            0x0011: KnownAttribute(name: "onLevel", type: .uint8, writable: true),
        ],
        temperatureMeasurement: [
            // Hundredths of a degree Celsius.
            0x0000: KnownAttribute(name: "measuredValue", type: .int16, reported: true, drift: 15),
            0x0001: KnownAttribute(name: "minMeasuredValue", type: .int16),
            0x0002: KnownAttribute(name: "maxMeasuredValue", type: .int16),
            0x0003: KnownAttribute(name: "tolerance", type: .uint16),
        ],
        relativeHumidity: [
            // Hundredths of a percent.
            0x0000: KnownAttribute(name: "measuredValue", type: .uint16, reported: true, drift: 40),
            0x0001: KnownAttribute(name: "minMeasuredValue", type: .uint16),
            0x0002: KnownAttribute(name: "maxMeasuredValue", type: .uint16),
        ],
        occupancySensing: [
            // Bit 0: occupied. Drift 1 lets it flip now and then.
            0x0000: KnownAttribute(name: "occupancy", type: .bitmap8, reported: true, drift: 1),
            0x0001: KnownAttribute(name: "occupancySensorType", type: .enum8),
        ],
        electricalMeasurement: [
            0x0505: KnownAttribute(name: "rmsVoltage", type: .uint16, reported: true, drift: 2),
            0x0508: KnownAttribute(name: "rmsCurrent", type: .uint16, reported: true, drift: 20),
            0x050B: KnownAttribute(name: "activePower", type: .int16, reported: true, drift: 5),
            0x0600: KnownAttribute(name: "acVoltageMultiplier", type: .uint16),
            0x0601: KnownAttribute(name: "acVoltageDivisor", type: .uint16),
            0x0602: KnownAttribute(name: "acCurrentMultiplier", type: .uint16),
            0x0603: KnownAttribute(name: "acCurrentDivisor", type: .uint16),
            0x0604: KnownAttribute(name: "acPowerMultiplier", type: .uint16),
            0x0605: KnownAttribute(name: "acPowerDivisor", type: .uint16),
        ],
    ]
}
