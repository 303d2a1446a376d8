/// Cluster ids this target knows the meaning of (ZCL spec chapters 3 and 4).
public enum ZCLClusterID {
    public static let basic: UInt16 = 0x0000
    public static let powerConfiguration: UInt16 = 0x0001
    public static let onOff: UInt16 = 0x0006
    public static let levelControl: UInt16 = 0x0008
    public static let temperatureMeasurement: UInt16 = 0x0402
    public static let relativeHumidity: UInt16 = 0x0405
    public static let occupancySensing: UInt16 = 0x0406
    public static let electricalMeasurement: UInt16 = 0x0B04
}

/// On/Off cluster (0x0006) commands, ZCL spec §3.8.2.3. No payload.
public enum ZCLOnOffCommand: UInt8, Sendable {
    case off = 0x00
    case on = 0x01
    case toggle = 0x02
}

/// Level Control cluster (0x0008) commands, ZCL spec §3.10.2.4.
public enum ZCLLevelCommand: Equatable, Sendable {
    /// Move to `level` (0–254) over `transitionTime` tenths of a second. The "with On/Off"
    /// form also switches the device on when the level rises above the minimum and off at
    /// the minimum (§3.10.2.4.1, command 0x04).
    case moveToLevel(level: UInt8, transitionTime: UInt16, withOnOff: Bool)

    public var commandID: UInt8 {
        switch self {
        case .moveToLevel(_, _, let withOnOff): return withOnOff ? 0x04 : 0x00
        }
    }

    func writePayload(into w: inout ZigbeeByteWriter) {
        switch self {
        case .moveToLevel(let level, let transitionTime, _):
            // The Options fields added in ZCL 6 are optional; devices before it reject
            // longer payloads, so they are left out.
            w.u8(level)
            w.u16(transitionTime)
        }
    }
}

/// What a reported attribute measures, for the attributes this target interprets.
public enum ZigbeeQuantity: Sendable {
    /// On/Off 0x0006 attribute 0x0000: 1 on, 0 off.
    case onOff
    /// Level Control 0x0008 attribute 0x0000 CurrentLevel, 0–254.
    case level
    /// Temperature 0x0402 attribute 0x0000 MeasuredValue: int16, hundredths of °C.
    case temperature
    /// Relative humidity 0x0405 attribute 0x0000 MeasuredValue: uint16, hundredths of %.
    case humidity
    /// Occupancy 0x0406 attribute 0x0000: bitmap8, bit 0 occupied.
    case occupancy
    /// Power Configuration 0x0001 attribute 0x0020 BatteryVoltage: uint8, tenths of V.
    case batteryVoltage
    /// Power Configuration 0x0001 attribute 0x0021 BatteryPercentageRemaining: uint8,
    /// halves of a percent (200 = 100 %).
    case batteryPercentage
    /// Electrical Measurement 0x0B04 attribute 0x0505 RMSVoltage, raw (scale with the
    /// cluster's ACVoltageMultiplier/Divisor, 0x0600/0x0601).
    case rmsVoltage
    /// 0x0B04 attribute 0x0508 RMSCurrent, raw (ACCurrentMultiplier/Divisor 0x0602/0x0603).
    case rmsCurrent
    /// 0x0B04 attribute 0x050B ActivePower, raw int16 (ACPowerMultiplier/Divisor 0x0604/0x0605).
    case activePower

    /// The unit of `ZigbeeReading.value`; empty for counts and states, "raw" when the
    /// cluster's own multiplier and divisor still apply.
    public var unit: String {
        switch self {
        case .onOff, .level, .occupancy: return ""
        case .temperature: return "°C"
        case .humidity, .batteryPercentage: return "%"
        case .batteryVoltage: return "V"
        case .rmsVoltage, .rmsCurrent, .activePower: return "raw"
        }
    }

    public var description: String {
        switch self {
        case .onOff: return "on/off"
        case .level: return "level"
        case .temperature: return "temperature"
        case .humidity: return "humidity"
        case .occupancy: return "occupancy"
        case .batteryVoltage: return "battery voltage"
        case .batteryPercentage: return "battery percentage"
        case .rmsVoltage: return "RMS voltage"
        case .rmsCurrent: return "RMS current"
        case .activePower: return "active power"
        }
    }
}

/// An attribute value read in its cluster's terms: 2506 from 0x0402/0x0000 is 25.06 °C.
public struct ZigbeeReading: Equatable, Sendable {
    public var quantity: ZigbeeQuantity
    /// The value in `quantity.unit`.
    public var value: Double
    /// The attribute's number before scaling.
    public var raw: Int64

    /// The reading an attribute value stands for, or nil when the attribute is not one
    /// this target interprets or holds its "invalid"/"unknown" value (0x8000 for
    /// int16 measurements, 0xFFFF for uint16, 0xFF for battery fields; ZCL spec
    /// §4.4.2.2.1.1, §4.7.2.1.1, §3.3.2.2.3).
    public static func interpret(cluster: UInt16, attribute: UInt16, value: ZCLValue) -> ZigbeeReading? {
        guard let raw = value.integerValue else { return nil }
        switch (cluster, attribute) {
        case (ZCLClusterID.onOff, 0x0000):
            return ZigbeeReading(quantity: .onOff, value: Double(raw), raw: raw)
        case (ZCLClusterID.levelControl, 0x0000):
            return ZigbeeReading(quantity: .level, value: Double(raw), raw: raw)
        case (ZCLClusterID.temperatureMeasurement, 0x0000):
            guard raw != -0x8000 else { return nil }
            return ZigbeeReading(quantity: .temperature, value: Double(raw) / 100, raw: raw)
        case (ZCLClusterID.relativeHumidity, 0x0000):
            guard raw != 0xFFFF else { return nil }
            return ZigbeeReading(quantity: .humidity, value: Double(raw) / 100, raw: raw)
        case (ZCLClusterID.occupancySensing, 0x0000):
            return ZigbeeReading(quantity: .occupancy, value: Double(raw & 1), raw: raw)
        case (ZCLClusterID.powerConfiguration, 0x0020):
            guard raw != 0xFF else { return nil }
            return ZigbeeReading(quantity: .batteryVoltage, value: Double(raw) / 10, raw: raw)
        case (ZCLClusterID.powerConfiguration, 0x0021):
            guard raw != 0xFF else { return nil }
            return ZigbeeReading(quantity: .batteryPercentage, value: Double(raw) / 2, raw: raw)
        case (ZCLClusterID.electricalMeasurement, 0x0505):
            guard raw != 0xFFFF else { return nil }
            return ZigbeeReading(quantity: .rmsVoltage, value: Double(raw), raw: raw)
        case (ZCLClusterID.electricalMeasurement, 0x0508):
            guard raw != 0xFFFF else { return nil }
            return ZigbeeReading(quantity: .rmsCurrent, value: Double(raw), raw: raw)
        case (ZCLClusterID.electricalMeasurement, 0x050B):
            guard raw != -0x8000 else { return nil }
            return ZigbeeReading(quantity: .activePower, value: Double(raw), raw: raw)
        default:
            return nil
        }
    }
}
