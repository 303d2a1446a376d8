/// BTHome v2 (bthome.io/format): sensor objects in service data for UUID 0xFCD2.

/// The first service data byte (bthome.io "BTHome Device Information").
public struct BTHomeDeviceInfo: Equatable, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// Bit 0.
    public var encrypted: Bool { rawValue & 0x01 != 0 }
    /// Bit 1: the device's MAC follows this byte (least significant byte first).
    public var macIncluded: Bool { rawValue & 0x02 != 0 }
    /// Bit 2: the device sends on events, not at a steady interval.
    public var triggerBased: Bool { rawValue & 0x04 != 0 }
    /// Bits 5–7: 2 for BTHome v2.
    public var version: UInt8 { rawValue >> 5 }
}

public enum BTHomeError: Error, Equatable, Sendable, CustomStringConvertible {
    case empty
    case unsupportedVersion(UInt8)
    /// An object id this decoder does not know: its length is unknown, so decoding stops.
    case unknownObject(id: UInt8)
    case truncatedObject(id: UInt8)
    case missingBindKey
    case invalidBindKey
    /// Too short to hold the 4-byte counter and 4-byte MIC.
    case truncatedEncryption
    /// Wrong key, tampered payload or wrong address: the MIC did not verify.
    case decryptionFailed

    public var description: String {
        switch self {
        case .empty: return "BTHome service data is empty"
        case .unsupportedVersion(let v): return "BTHome version " + String(v) + " is not supported (only v2)"
        case .unknownObject(let id): return "BTHome object id 0x" + BLEHex.byte(id) + " is unknown; decoding stopped"
        case .truncatedObject(let id): return "BTHome object 0x" + BLEHex.byte(id) + " runs past the end of the data"
        case .missingBindKey: return "encrypted BTHome data and no bind key for this device"
        case .invalidBindKey: return "a BTHome bind key must be 16 bytes"
        case .truncatedEncryption: return "encrypted BTHome data too short for counter and MIC"
        case .decryptionFailed: return "BTHome decryption failed (wrong bind key or tampered data)"
        }
    }
}

/// One decoded BTHome advertisement.
public struct BTHomePacket: Equatable, Sendable {
    public let deviceInfo: BTHomeDeviceInfo
    /// The MAC in the payload, when the device includes it.
    public let includedAddress: BLEAddress?
    /// The encryption counter, for encrypted packets.
    public let counter: UInt32?
    /// Object 0x00, which lets receivers drop repeats of one measurement.
    public let packetID: UInt8?
    public let readings: [BLEReading]
    /// Why decoding stopped early (readings before it are kept).
    public let problem: BTHomeError?
}

/// How one object id is laid out and what it means (bthome.io/format).
struct BTHomeObjectFormat {
    enum Kind {
        /// A little-endian number: value = raw × numerator / denominator.
        case number(signed: Bool)
        /// 0 = off/normal, 1 = on/problem.
        case binary
        /// Button event: 0 none, 1 press, 2 double press, 3 triple, 4 long, 5 long double,
        /// 6 long triple, 0x80 hold.
        case button
        /// Dimmer: event (1 rotate left, 2 rotate right) and steps; read as signed steps.
        case dimmer
        /// A length byte, then that many bytes (text, raw); no reading.
        case lengthPrefixed
        /// A byte whose low 5 bits count the arguments after an opcode byte; no reading.
        case command
        /// Device information (type id, firmware version); no reading.
        case skip
    }

    let name: String
    let unit: String
    let length: Int
    let kind: Kind
    let numerator: Int64
    let denominator: Int64

    init(_ name: String, _ unit: String, _ length: Int, _ kind: Kind = .number(signed: false), _ numerator: Int64 = 1, _ denominator: Int64 = 1) {
        self.name = name
        self.unit = unit
        self.length = length
        self.kind = kind
        self.numerator = numerator
        self.denominator = denominator
    }

    static func signed(_ name: String, _ unit: String, _ length: Int, _ numerator: Int64 = 1, _ denominator: Int64 = 1) -> BTHomeObjectFormat {
        BTHomeObjectFormat(name, unit, length, .number(signed: true), numerator, denominator)
    }

    static func binary(_ name: String) -> BTHomeObjectFormat { BTHomeObjectFormat(name, "", 1, .binary) }

    // swiftlint:disable:next cyclomatic_complexity function_body_length
    static func lookup(_ id: UInt8) -> BTHomeObjectFormat? {
        switch id {
        case 0x00: return .init("packet_id", "", 1)
        case 0x01: return .init("battery", "%", 1)
        case 0x02: return .signed("temperature", "°C", 2, 1, 100)
        case 0x03: return .init("humidity", "%", 2, .number(signed: false), 1, 100)
        case 0x04: return .init("pressure", "hPa", 3, .number(signed: false), 1, 100)
        case 0x05: return .init("illuminance", "lx", 3, .number(signed: false), 1, 100)
        case 0x06: return .init("mass", "kg", 2, .number(signed: false), 1, 100)
        case 0x07: return .init("mass", "lb", 2, .number(signed: false), 1, 100)
        case 0x08: return .signed("dew_point", "°C", 2, 1, 100)
        case 0x09: return .init("count", "", 1)
        case 0x0A: return .init("energy", "kWh", 3, .number(signed: false), 1, 1000)
        case 0x0B: return .init("power", "W", 3, .number(signed: false), 1, 100)
        case 0x0C: return .init("voltage", "V", 2, .number(signed: false), 1, 1000)
        case 0x0D: return .init("pm2_5", "µg/m³", 2)
        case 0x0E: return .init("pm10", "µg/m³", 2)
        case 0x0F: return .binary("generic_boolean")
        case 0x10: return .binary("power_state")
        case 0x11: return .binary("opening")
        case 0x12: return .init("co2", "ppm", 2)
        case 0x13: return .init("tvoc", "µg/m³", 2)
        case 0x14: return .init("moisture", "%", 2, .number(signed: false), 1, 100)
        case 0x15: return .binary("battery_low")
        case 0x16: return .binary("battery_charging")
        case 0x17: return .binary("carbon_monoxide")
        case 0x18: return .binary("cold")
        case 0x19: return .binary("connectivity")
        case 0x1A: return .binary("door")
        case 0x1B: return .binary("garage_door")
        case 0x1C: return .binary("gas_detected")
        case 0x1D: return .binary("heat")
        case 0x1E: return .binary("light")
        case 0x1F: return .binary("lock")
        case 0x20: return .binary("moisture_detected")
        case 0x21: return .binary("motion")
        case 0x22: return .binary("moving")
        case 0x23: return .binary("occupancy")
        case 0x24: return .binary("plug")
        case 0x25: return .binary("presence")
        case 0x26: return .binary("problem")
        case 0x27: return .binary("running")
        case 0x28: return .binary("safety")
        case 0x29: return .binary("smoke")
        case 0x2A: return .binary("sound")
        case 0x2B: return .binary("tamper")
        case 0x2C: return .binary("vibration")
        case 0x2D: return .binary("window")
        case 0x2E: return .init("humidity", "%", 1)
        case 0x2F: return .init("moisture", "%", 1)
        case 0x3A: return .init("button", "", 1, .button)
        case 0x3B: return .init("command", "", 0, .command)
        case 0x3C: return .init("dimmer", "", 2, .dimmer)
        case 0x3D: return .init("count", "", 2)
        case 0x3E: return .init("count", "", 4)
        case 0x3F: return .signed("rotation", "°", 2, 1, 10)
        case 0x40: return .init("distance", "mm", 2)
        case 0x41: return .init("distance", "m", 2, .number(signed: false), 1, 10)
        case 0x42: return .init("duration", "s", 3, .number(signed: false), 1, 1000)
        case 0x43: return .init("current", "A", 2, .number(signed: false), 1, 1000)
        case 0x44: return .init("speed", "m/s", 2, .number(signed: false), 1, 100)
        case 0x45: return .signed("temperature", "°C", 2, 1, 10)
        case 0x46: return .init("uv_index", "", 1, .number(signed: false), 1, 10)
        case 0x47: return .init("volume", "L", 2, .number(signed: false), 1, 10)
        case 0x48: return .init("volume", "mL", 2)
        case 0x49: return .init("volume_flow_rate", "m³/h", 2, .number(signed: false), 1, 1000)
        case 0x4A: return .init("voltage", "V", 2, .number(signed: false), 1, 10)
        case 0x4B: return .init("gas", "m³", 3, .number(signed: false), 1, 1000)
        case 0x4C: return .init("gas", "m³", 4, .number(signed: false), 1, 1000)
        case 0x4D: return .init("energy", "kWh", 4, .number(signed: false), 1, 1000)
        case 0x4E: return .init("volume", "L", 4, .number(signed: false), 1, 1000)
        case 0x4F: return .init("water", "L", 4, .number(signed: false), 1, 1000)
        case 0x50: return .init("timestamp", "s", 4)
        case 0x51: return .init("acceleration", "m/s²", 2, .number(signed: false), 1, 1000)
        case 0x52: return .init("gyroscope", "°/s", 2, .number(signed: false), 1, 1000)
        case 0x53: return .init("text", "", 0, .lengthPrefixed)
        case 0x54: return .init("raw", "", 0, .lengthPrefixed)
        case 0x55: return .init("volume_storage", "L", 4, .number(signed: false), 1, 1000)
        case 0x56: return .init("conductivity", "µS/cm", 2)
        case 0x57: return .signed("temperature", "°C", 1)
        case 0x58: return .signed("temperature", "°C", 1, 35, 100)
        case 0x59: return .signed("count", "", 1)
        case 0x5A: return .signed("count", "", 2)
        case 0x5B: return .signed("count", "", 4)
        case 0x5C: return .signed("power", "W", 4, 1, 100)
        case 0x5D: return .signed("current", "A", 2, 1, 1000)
        case 0x5E: return .init("direction", "°", 2, .number(signed: false), 1, 100)
        case 0x5F: return .init("precipitation", "mm", 2, .number(signed: false), 1, 10)
        case 0x60: return .init("channel", "", 1)
        case 0x61: return .init("rotational_speed", "rpm", 2)
        case 0x62: return .signed("speed", "m/s", 4, 1, 1_000_000)
        case 0x63: return .signed("acceleration", "m/s²", 4, 1, 1_000_000)
        case 0x64: return .init("light_level", "", 1)
        case 0x65: return .init("settings_revision", "", 1)
        case 0xF0: return .init("device_type_id", "", 2, .skip)
        case 0xF1: return .init("firmware_version", "", 4, .skip)
        case 0xF2: return .init("firmware_version", "", 3, .skip)
        default: return nil
        }
    }
}

/// What a BTHome packet says besides its readings (which go to the caller's buffer).
struct BTHomeFields {
    let deviceInfo: BTHomeDeviceInfo
    let includedAddress: BLEAddress?
    let counter: UInt32?
    let packetID: UInt8?
    let problem: BTHomeError?
}

public enum BTHome {
    public static let serviceUUID: UInt16 = 0xFCD2

    /// Decodes BTHome v2 service data (the bytes after the `D2 FC` UUID). `address` is the
    /// advertiser's address, used in the nonce when the payload carries no MAC; `bindKey`
    /// is needed only for encrypted data. Errors that leave nothing to report are thrown;
    /// an unknown or truncated object after some good ones is kept in `problem`.
    public static func decode(serviceData: ArraySlice<UInt8>, address: BLEAddress, bindKey: [UInt8]?) throws(BTHomeError) -> BTHomePacket {
        var readings: [BLEReading] = []
        let fields = try decode(serviceData: serviceData, address: address, bindKey: bindKey,
                                decryptor: BLEAESCCMDecryptor(), appendingTo: &readings)
        return BTHomePacket(deviceInfo: fields.deviceInfo, includedAddress: fields.includedAddress, counter: fields.counter,
                            packetID: fields.packetID, readings: readings, problem: fields.problem)
    }

    /// The decoder's path, which allocates nothing: readings are appended to the caller's
    /// reused buffer (only when nothing is thrown) and decryption uses the caller's context.
    static func decode(serviceData: ArraySlice<UInt8>, address: BLEAddress, bindKey: [UInt8]?, decryptor: BLEAESCCMDecryptor,
                       appendingTo readings: inout [BLEReading]) throws(BTHomeError) -> BTHomeFields {
        var c = BLEByteCursor(serviceData)
        guard let infoByte = c.u8() else { throw .empty }
        let info = BTHomeDeviceInfo(rawValue: infoByte)
        guard info.version == 2 else { throw .unsupportedVersion(info.version) }
        var included: BLEAddress? = nil
        if info.macIncluded {
            guard let mac = c.take(6) else { throw .truncatedObject(id: infoByte) }
            included = BLEAddress(hciBytes: mac)
        }
        var payload = c.rest()
        var counter: UInt32? = nil
        if info.encrypted {
            guard let key = bindKey else { throw .missingBindKey }
            guard key.count == 16 else { throw .invalidBindKey }
            guard payload.count >= 8 else { throw .truncatedEncryption }
            let end = payload.endIndex
            let counterBytes = payload[(end - 8)..<(end - 4)]
            var cc = BLEByteCursor(counterBytes)
            counter = cc.u32le()
            let nonce = self.nonce(address: included ?? address, deviceInfo: infoByte, counter: counterBytes)
            guard let plain = decryptor.open(key: key, nonce: nonce, ciphertext: payload[..<(end - 8)], tag: payload[(end - 4)...]) else {
                throw .decryptionFailed
            }
            payload = plain
        }
        let objects = decodeObjects(payload, appendingTo: &readings)
        return BTHomeFields(deviceInfo: info, includedAddress: included, counter: counter, packetID: objects.packetID,
                            problem: objects.problem)
    }

    /// nonce = MAC (6, as written) + UUID16 `D2 FC` + device-info byte + counter (4, LE).
    static func nonce(address: BLEAddress, deviceInfo: UInt8, counter: some Collection<UInt8>) -> BLEInlineBytes {
        var nonce = BLEInlineBytes()
        for index in 0..<6 { nonce.append(UInt8(truncatingIfNeeded: address.rawValue >> UInt64(40 - 8 * index))) }
        nonce.append(0xD2)
        nonce.append(0xFC)
        nonce.append(deviceInfo)
        nonce.append(contentsOf: counter)
        return nonce
    }

    /// Builds encrypted service data (after the UUID) from plain objects, for tests and
    /// tools; nil on a bad key.
    public static func encrypt(objects: [UInt8], address: BLEAddress, counter: UInt32, bindKey: [UInt8],
                               includeMAC: Bool = false, triggerBased: Bool = false) -> [UInt8]? {
        let info: UInt8 = 0x40 | 0x01 | (includeMAC ? 0x02 : 0) | (triggerBased ? 0x04 : 0)
        let counterBytes: [UInt8] = (0..<4).map { UInt8(truncatingIfNeeded: counter >> (8 * UInt32($0))) }
        let nonce = self.nonce(address: address, deviceInfo: info, counter: counterBytes)
        guard let sealed = BLEAESCCM.seal(key: bindKey, nonce: Array(nonce), plaintext: objects, tagLength: 4) else { return nil }
        return [info] + (includeMAC ? address.hciBytes : []) + sealed.ciphertext + counterBytes + sealed.tag
    }

    /// Walks `[object id][value]...`; stops at the first unknown or truncated object.
    public static func decodeObjects(_ payload: ArraySlice<UInt8>) -> (readings: [BLEReading], packetID: UInt8?, problem: BTHomeError?) {
        var readings: [BLEReading] = []
        let objects = decodeObjects(payload, appendingTo: &readings)
        return (readings, objects.packetID, objects.problem)
    }

    /// `decodeObjects`, appending to the caller's buffer; a repeated name is numbered among
    /// this packet's readings only (those appended here).
    static func decodeObjects(_ payload: ArraySlice<UInt8>, appendingTo readings: inout [BLEReading]) -> (packetID: UInt8?, problem: BTHomeError?) {
        let first = readings.count
        var c = BLEByteCursor(payload)
        var packetID: UInt8? = nil
        while let id = c.u8() {
            guard let format = BTHomeObjectFormat.lookup(id) else { return (packetID, .unknownObject(id: id)) }
            switch format.kind {
            case .number(let signed):
                guard let raw = c.uintLE(format.length) else { return (packetID, .truncatedObject(id: id)) }
                var value = Int64(raw)
                if signed {
                    let bits = Int64(format.length * 8)
                    if raw & (1 << UInt64(bits - 1)) != 0 { value -= 1 << bits }
                }
                if id == 0x00 { packetID = UInt8(truncatingIfNeeded: raw) }
                let scaled = Double(value * format.numerator) / Double(format.denominator)
                append(&readings, since: first, format, scaled)
            case .binary, .button:
                guard let raw = c.u8() else { return (packetID, .truncatedObject(id: id)) }
                append(&readings, since: first, format, Double(raw))
            case .dimmer:
                guard let event = c.u8(), let steps = c.u8() else { return (packetID, .truncatedObject(id: id)) }
                let signedSteps = event == 1 ? -Double(steps) : event == 2 ? Double(steps) : 0
                append(&readings, since: first, format, signedSteps)
            case .lengthPrefixed:
                guard let length = c.u8(), c.take(Int(length)) != nil else { return (packetID, .truncatedObject(id: id)) }
            case .command:
                guard let length = c.u8(), c.take(1 + Int(length & 0x1F)) != nil else { return (packetID, .truncatedObject(id: id)) }
            case .skip:
                guard c.take(format.length) != nil else { return (packetID, .truncatedObject(id: id)) }
            }
        }
        return (packetID, nil)
    }

    /// A second object of the same name becomes `name_2`, and so on, so that a device with
    /// two buttons or two temperature probes maps to distinct properties.
    private static func append(_ readings: inout [BLEReading], since first: Int, _ format: BTHomeObjectFormat, _ value: Double) {
        var seen = 0
        for index in first..<readings.count where readings[index].baseName == format.name { seen += 1 }
        readings.append(BLEReading(baseName: format.name, occurrence: seen + 1, unit: format.unit, value: value))
    }
}
