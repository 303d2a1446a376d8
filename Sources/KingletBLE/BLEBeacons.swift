/// Beacon formats carried in advertisements: Apple iBeacon, Google Eddystone, Ruuvi RAWv2.

public enum BLEBeaconError: Error, Equatable, Sendable, CustomStringConvertible {
    case iBeaconMalformed
    case eddystoneTruncated(frameType: UInt8)
    case eddystoneUnknownFrame(UInt8)
    case eddystoneURLReservedByte(UInt8)
    case eddystoneTLMVersion(UInt8)
    case ruuviMalformed
    case ruuviUnsupportedFormat(UInt8)

    public var description: String {
        switch self {
        case .iBeaconMalformed: return "iBeacon data is not 02 15 + 21 bytes"
        case .eddystoneTruncated(let type): return "Eddystone frame 0x" + BLEHex.byte(type) + " is too short"
        case .eddystoneUnknownFrame(let type): return "Eddystone frame type 0x" + BLEHex.byte(type) + " is not supported"
        case .eddystoneURLReservedByte(let byte): return "Eddystone URL holds reserved byte 0x" + BLEHex.byte(byte)
        case .eddystoneTLMVersion(let version): return "Eddystone TLM version 0x" + BLEHex.byte(version) + " is not supported (encrypted TLM needs the EID key)"
        case .ruuviMalformed: return "Ruuvi RAWv2 data must be 24 bytes"
        case .ruuviUnsupportedFormat(let format): return "Ruuvi data format " + String(format) + " is not supported (only 5, RAWv2)"
        }
    }
}

// MARK: - iBeacon

/// Apple iBeacon: manufacturer data for company 0x004C, `02 15`, proximity UUID (16),
/// major and minor (big-endian), measured power at 1 m (int8 dBm).
public struct BLEIBeacon: Equatable, Sendable {
    public static let company: UInt16 = 0x004C
    /// The proximity UUID's 16 bytes, kept in the value.
    public let uuid: BLEInlineBytes
    public let major: UInt16
    public let minor: UInt16
    public let measuredPower: Int8

    /// `data` is the manufacturer data after the company id.
    public init(manufacturerData data: ArraySlice<UInt8>) throws(BLEBeaconError) {
        var c = BLEByteCursor(data)
        guard c.u8() == 0x02, c.u8() == 0x15, let uuid = c.take(16).flatMap({ BLEInlineBytes($0) }), let major = c.u16be(),
              let minor = c.u16be(), let power = c.i8(), c.isAtEnd else { throw .iBeaconMalformed }
        self.uuid = uuid
        self.major = major
        self.minor = minor
        measuredPower = power
    }

    /// `E2C56DB5-DFFB-48D2-B060-D0F5A71096E0` style.
    public var uuidString: String { BLEUUIDText.format(Array(uuid)) }

    public var readings: [BLEReading] {
        var out: [BLEReading] = []
        appendReadings(to: &out)
        return out
    }

    func appendReadings(to readings: inout [BLEReading]) {
        readings.append(BLEReading(name: "major", unit: "", value: Double(major)))
        readings.append(BLEReading(name: "minor", unit: "", value: Double(minor)))
        readings.append(BLEReading(name: "measured_power", unit: "dBm", value: Double(measuredPower)))
    }
}

enum BLEUUIDText {
    static func format(_ bytes: [UInt8]) -> String {
        guard bytes.count == 16 else { return BLEHex.string(bytes) }
        return BLEHex.string(bytes[0..<4]) + "-" + BLEHex.string(bytes[4..<6]) + "-" + BLEHex.string(bytes[6..<8]) + "-"
            + BLEHex.string(bytes[8..<10]) + "-" + BLEHex.string(bytes[10..<16])
    }
}

// MARK: - Eddystone

/// Google Eddystone frames, service data for UUID 0xFEAA (github.com/google/eddystone,
/// protocol-specification.md). All multi-byte fields are big-endian.
public enum BLEEddystone: Equatable, Sendable {
    public static let serviceUUID: UInt16 = 0xFEAA

    /// Frame 0x00: ranging data (tx power at 0 m), 10-byte namespace, 6-byte instance.
    case uid(txPower: Int8, namespace: [UInt8], instance: [UInt8])
    /// Frame 0x10: tx power at 0 m and the expanded URL.
    case url(txPower: Int8, url: String)
    /// Frame 0x20 version 0 (unencrypted telemetry).
    case tlm(BLEEddystoneTLM)

    /// `data` is the service data after the UUID.
    public init(serviceData data: ArraySlice<UInt8>) throws(BLEBeaconError) {
        switch try BLEEddystoneFrame(serviceData: data) {
        case .uid(let power, let namespace, let instance):
            self = .uid(txPower: power, namespace: Array(namespace), instance: Array(instance))
        case .url(let power, let scheme, let encoded):
            self = .url(txPower: power, url: BLEEddystone.urlText(scheme: scheme, encoded: encoded))
        case .tlm(let tlm):
            self = .tlm(tlm)
        }
    }

    static let schemes = ["http://www.", "https://www.", "http://", "https://"]
    static let expansions = [".com/", ".org/", ".edu/", ".net/", ".info/", ".biz/", ".gov/",
                             ".com", ".org", ".edu", ".net", ".info", ".biz", ".gov"]

    /// Throws what `urlText` would meet: a reserved scheme or byte, or too many bytes.
    static func checkURL(scheme: UInt8, encoded: ArraySlice<UInt8>) throws(BLEBeaconError) {
        guard Int(scheme) < schemes.count else { throw .eddystoneURLReservedByte(scheme) }
        guard encoded.count <= 17 else { throw .eddystoneTruncated(frameType: 0x10) }
        for byte in encoded where Int(byte) >= expansions.count && !(byte > 0x20 && byte < 0x7F) {
            throw .eddystoneURLReservedByte(byte)
        }
    }

    /// The URL a checked frame encodes.
    static func urlText(scheme: UInt8, encoded: ArraySlice<UInt8>) -> String {
        var url = schemes[Int(scheme)]
        for byte in encoded {
            if Int(byte) < expansions.count {
                url += expansions[Int(byte)]
            } else {
                url += String(decoding: [byte], as: UTF8.self)
            }
        }
        return url
    }

    public var readings: [BLEReading] {
        switch self {
        case .uid(let power, _, _), .url(let power, _):
            return [BLEReading(name: "tx_power", unit: "dBm", value: Double(power))]
        case .tlm(let tlm):
            return tlm.readings
        }
    }
}

/// An Eddystone frame read in place, its fields slices of the service data: what the
/// decoder's readings need, without building the URL or the UID's arrays.
enum BLEEddystoneFrame {
    case uid(txPower: Int8, namespace: ArraySlice<UInt8>, instance: ArraySlice<UInt8>)
    case url(txPower: Int8, scheme: UInt8, encoded: ArraySlice<UInt8>)
    case tlm(BLEEddystoneTLM)

    init(serviceData data: ArraySlice<UInt8>) throws(BLEBeaconError) {
        var c = BLEByteCursor(data)
        guard let frame = c.u8() else { throw .eddystoneTruncated(frameType: 0) }
        switch frame {
        case 0x00:
            // The two RFU bytes at the end are optional in practice.
            guard let power = c.i8(), let namespace = c.take(10), let instance = c.take(6), c.remaining == 0 || c.remaining == 2
            else { throw .eddystoneTruncated(frameType: frame) }
            self = .uid(txPower: power, namespace: namespace, instance: instance)
        case 0x10:
            guard let power = c.i8(), let scheme = c.u8() else { throw .eddystoneTruncated(frameType: frame) }
            let encoded = c.rest()
            try BLEEddystone.checkURL(scheme: scheme, encoded: encoded)
            self = .url(txPower: power, scheme: scheme, encoded: encoded)
        case 0x20:
            guard let version = c.u8() else { throw .eddystoneTruncated(frameType: frame) }
            guard version == 0x00 else { throw .eddystoneTLMVersion(version) }
            guard let battery = c.u16be(), let temperature = c.u16be(), let count = c.u32be(), let seconds = c.u32be(), c.isAtEnd
            else { throw .eddystoneTruncated(frameType: frame) }
            self = .tlm(BLEEddystoneTLM(batteryRaw: battery, temperatureRaw: temperature, advertisementCount: count, uptimeTenths: seconds))
        default:
            throw .eddystoneUnknownFrame(frame)
        }
    }

    /// The same readings as `BLEEddystone.readings`.
    func appendReadings(to readings: inout [BLEReading]) {
        switch self {
        case .uid(let power, _, _), .url(let power, _, _):
            readings.append(BLEReading(name: "tx_power", unit: "dBm", value: Double(power)))
        case .tlm(let tlm):
            tlm.appendReadings(to: &readings)
        }
    }
}

/// Eddystone-TLM version 0 (eddystone-tlm/tlm-plain.md).
public struct BLEEddystoneTLM: Equatable, Sendable {
    /// mV; 0 when the beacon is not battery powered.
    public let batteryRaw: UInt16
    /// Signed 8.8 fixed point °C; 0x8000 when not supported.
    public let temperatureRaw: UInt16
    public let advertisementCount: UInt32
    /// Time since power-on in 0.1 s units.
    public let uptimeTenths: UInt32

    public var batteryVoltage: Double? { batteryRaw == 0 ? nil : Double(batteryRaw) / 1000 }
    public var temperature: Double? {
        temperatureRaw == 0x8000 ? nil : Double(Int16(bitPattern: temperatureRaw)) / 256
    }
    public var uptimeSeconds: Double { Double(uptimeTenths) / 10 }

    public var readings: [BLEReading] {
        var out: [BLEReading] = []
        appendReadings(to: &out)
        return out
    }

    func appendReadings(to out: inout [BLEReading]) {
        if let volts = batteryVoltage { out.append(BLEReading(name: "voltage", unit: "V", value: volts)) }
        if let celsius = temperature { out.append(BLEReading(name: "temperature", unit: "°C", value: celsius)) }
        out.append(BLEReading(name: "advertisement_count", unit: "", value: Double(advertisementCount)))
        out.append(BLEReading(name: "uptime", unit: "s", value: uptimeSeconds))
    }
}

// MARK: - Ruuvi

/// RuuviTag data format 5 (RAWv2), manufacturer data for company 0x0499
/// (docs.ruuvi.com/communication/bluetooth-advertisements/data-format-5-rawv2). Fields are
/// big-endian; each has a "not available" value, which leaves the reading out.
public struct BLERuuviRAWv2: Equatable, Sendable {
    public static let company: UInt16 = 0x0499

    /// °C (raw int16 × 0.005).
    public let temperature: Double?
    /// % (raw uint16 × 0.0025).
    public let humidity: Double?
    /// Pa (raw uint16 + 50000).
    public let pressure: Int?
    /// mg, per axis.
    public let accelerationX: Int16?
    public let accelerationY: Int16?
    public let accelerationZ: Int16?
    /// mV (11 bits + 1600).
    public let batteryVoltage: Int?
    /// dBm (5 bits × 2 − 40).
    public let txPower: Int?
    public let movementCounter: UInt8?
    public let sequence: UInt16?
    public let address: BLEAddress?

    /// `data` is the manufacturer data after the company id.
    public init(manufacturerData data: ArraySlice<UInt8>) throws(BLEBeaconError) {
        var c = BLEByteCursor(data)
        guard let format = c.u8() else { throw .ruuviMalformed }
        guard format == 5 else { throw .ruuviUnsupportedFormat(format) }
        guard data.count == 24, let t = c.u16be(), let h = c.u16be(), let p = c.u16be(), let ax = c.u16be(),
              let ay = c.u16be(), let az = c.u16be(), let power = c.u16be(), let movement = c.u8(), let sequence = c.u16be(),
              let mac = c.take(6)
        else { throw .ruuviMalformed }
        temperature = t == 0x8000 ? nil : Double(Int16(bitPattern: t)) * 5 / 1000
        humidity = h == 0xFFFF ? nil : Double(h) * 25 / 10000
        pressure = p == 0xFFFF ? nil : Int(p) + 50000
        accelerationX = ax == 0x8000 ? nil : Int16(bitPattern: ax)
        accelerationY = ay == 0x8000 ? nil : Int16(bitPattern: ay)
        accelerationZ = az == 0x8000 ? nil : Int16(bitPattern: az)
        let batteryBits = power >> 5
        let txBits = power & 0x1F
        batteryVoltage = batteryBits == 0x7FF ? nil : Int(batteryBits) + 1600
        txPower = txBits == 0x1F ? nil : Int(txBits) * 2 - 40
        movementCounter = movement == 0xFF ? nil : movement
        self.sequence = sequence == 0xFFFF ? nil : sequence
        let macAddress = BLEAddress(displayBytes: mac)
        address = macAddress?.rawValue == 0xFFFF_FFFF_FFFF ? nil : macAddress
    }

    public var readings: [BLEReading] {
        var out: [BLEReading] = []
        appendReadings(to: &out)
        return out
    }

    func appendReadings(to out: inout [BLEReading]) {
        if let v = temperature { out.append(BLEReading(name: "temperature", unit: "°C", value: v)) }
        if let v = humidity { out.append(BLEReading(name: "humidity", unit: "%", value: v)) }
        if let v = pressure { out.append(BLEReading(name: "pressure", unit: "Pa", value: Double(v))) }
        if let v = accelerationX { out.append(BLEReading(name: "acceleration_x", unit: "mg", value: Double(v))) }
        if let v = accelerationY { out.append(BLEReading(name: "acceleration_y", unit: "mg", value: Double(v))) }
        if let v = accelerationZ { out.append(BLEReading(name: "acceleration_z", unit: "mg", value: Double(v))) }
        if let v = batteryVoltage { out.append(BLEReading(name: "battery_voltage", unit: "mV", value: Double(v))) }
        if let v = txPower { out.append(BLEReading(name: "tx_power", unit: "dBm", value: Double(v))) }
        if let v = movementCounter { out.append(BLEReading(name: "movement_counter", unit: "", value: Double(v))) }
        if let v = sequence { out.append(BLEReading(name: "sequence", unit: "", value: Double(v))) }
    }
}
