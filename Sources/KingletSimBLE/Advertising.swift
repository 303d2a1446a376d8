/// Advertising data: AD structures (Core Supplement Part A) and the payload formats the
/// simulated peripherals broadcast: BTHome v2, iBeacon, Eddystone UID/URL/TLM and Ruuvi RAWv2.

/// AD types used here (Bluetooth Assigned Numbers §2.3).
enum ADType: UInt8 {
    /// Flags (Supplement Part A §1.3).
    case flags = 0x01
    /// Complete List of 16-bit Service UUIDs (§1.1).
    case completeList16BitUUIDs = 0x03
    /// Shortened Local Name (§1.2).
    case shortenedLocalName = 0x08
    /// Complete Local Name (§1.2).
    case completeLocalName = 0x09
    /// Service Data - 16-bit UUID (§1.11).
    case serviceData16 = 0x16
    /// Manufacturer Specific Data (§1.4): company identifier, little-endian, first.
    case manufacturerSpecificData = 0xFF
}

/// Legacy advertising and scan response data hold at most 31 octets (Core Vol 6 Part B §2.3.1).
public let maxLegacyAdvertisingData = 31

/// One AD structure: length (type + data), type, data.
func adStructure(_ type: ADType, _ data: [UInt8]) -> [UInt8] {
    [UInt8(data.count + 1), type.rawValue] + data
}

/// LE General Discoverable Mode | BR/EDR Not Supported.
let generalDiscoverableFlags = adStructure(.flags, [0x06])

// MARK: - BTHome v2

/// BTHome v2 object ids with their wire size, sign and factor (bthome.io format; the same
/// table as bthome-ble's const.py). Objects are sent in ascending id order.
public enum BTHomeObject: String, CaseIterable, Sendable {
    case packetId, battery, temperature, humidity, pressure, illuminance, dewPoint, count, power, voltage
    case pm25, pm10, powerOn, opening, co2, tvoc, moisture, window, humidityCoarse, moistureCoarse
    case temperatureCoarse

    public var id: UInt8 {
        switch self {
        case .packetId: return 0x00
        case .battery: return 0x01
        case .temperature: return 0x02
        case .humidity: return 0x03
        case .pressure: return 0x04
        case .illuminance: return 0x05
        case .dewPoint: return 0x08
        case .count: return 0x09
        case .power: return 0x0B
        case .voltage: return 0x0C
        case .pm25: return 0x0D
        case .pm10: return 0x0E
        case .powerOn: return 0x10
        case .opening: return 0x11
        case .co2: return 0x12
        case .tvoc: return 0x13
        case .moisture: return 0x14
        case .window: return 0x2D
        case .humidityCoarse: return 0x2E
        case .moistureCoarse: return 0x2F
        case .temperatureCoarse: return 0x45
        }
    }

    /// Octets of the value.
    public var length: Int {
        switch self {
        case .packetId, .battery, .count, .powerOn, .opening, .window, .humidityCoarse, .moistureCoarse: return 1
        case .pressure, .illuminance, .power: return 3
        default: return 2
        }
    }

    public var signed: Bool { self == .temperature || self == .dewPoint || self == .temperatureCoarse }

    /// Value = raw × factor.
    public var factor: Double {
        switch self {
        case .temperature, .humidity, .pressure, .illuminance, .dewPoint, .power, .moisture: return 0.01
        case .voltage: return 0.001
        case .temperatureCoarse: return 0.1
        default: return 1
        }
    }

    public var binary: Bool { self == .powerOn || self == .opening || self == .window }

    /// How far a value wanders from its configured value when the devices file gives no drift.
    public var defaultDrift: Double {
        switch self {
        case .temperature, .temperatureCoarse, .dewPoint: return 0.5
        case .humidity, .humidityCoarse, .moisture, .moistureCoarse: return 2
        case .pressure: return 1.5
        case .illuminance: return 20
        case .power: return 5
        case .voltage: return 0.02
        case .co2: return 40
        case .tvoc, .pm25, .pm10: return 5
        default: return 0
        }
    }

    /// The raw integer for a value, or nil when it does not fit the object's field.
    public func raw(for value: Double) -> Int64? {
        guard value.isFinite else { return nil }
        let r = (value / factor).rounded()
        let bits = Double(length * 8)
        let lo: Double = signed ? -pow2(bits - 1) : 0
        let hi: Double = signed ? pow2(bits - 1) - 1 : pow2(bits) - 1
        guard r >= lo, r <= hi else { return nil }
        if binary, r != 0, r != 1 { return nil }
        return Int64(r)
    }

    /// Object id followed by the value, little-endian.
    func encode(_ value: Double) -> [UInt8]? {
        guard let r = raw(for: value) else { return nil }
        let u = UInt64(bitPattern: r)
        return [id] + (0..<length).map { UInt8((u >> (8 * UInt64($0))) & 0xFF) }
    }
}

private func pow2(_ e: Double) -> Double {
    var v = 1.0
    var i = 0.0
    while i < e { v *= 2; i += 1 }
    return v
}

public enum BTHome {
    /// Service data UUID 0xFCD2, assigned to BTHome.
    public static let uuid: UInt16 = 0xFCD2

    /// Device information octet: bit 0 encryption, bit 2 trigger-based, bits 5–7 version (2).
    static func deviceInfo(encrypted: Bool, trigger: Bool) -> UInt8 {
        (2 << 5) | (encrypted ? 0x01 : 0) | (trigger ? 0x04 : 0)
    }

    /// The objects, sorted by id as the format requires.
    static func objects(_ values: [(BTHomeObject, Double)]) -> [UInt8]? {
        var out: [UInt8] = []
        for (object, value) in values.sorted(by: { $0.0.id < $1.0.id }) {
            guard let bytes = object.encode(value) else { return nil }
            out += bytes
        }
        return out
    }

    /// Service data (after the AD type): UUID, device information, objects; encrypted when a
    /// bind key is given. Encryption (bthome.io/encryption): AES-CCM, nonce = MAC (display
    /// order) ‖ UUID (as sent) ‖ device information ‖ counter (4 octets, little-endian),
    /// no associated data, 4-octet MIC; then counter and MIC follow the ciphertext.
    static func serviceData(objects: [UInt8], address: BDAddress, bindKey: [UInt8]?, counter: UInt32,
                            trigger: Bool) throws(AESCCM.Failure) -> [UInt8] {
        let uuidBytes: [UInt8] = [UInt8(uuid & 0xFF), UInt8(uuid >> 8)]
        guard let key = bindKey else {
            return uuidBytes + [deviceInfo(encrypted: false, trigger: trigger)] + objects
        }
        let info = deviceInfo(encrypted: true, trigger: trigger)
        var c = ByteWriter()
        c.u32(counter)
        let nonce = address.bytes + uuidBytes + [info] + c.bytes
        let sealed = try AESCCM.seal(key: key, nonce: nonce, plaintext: objects, tagLength: 4)
        return uuidBytes + [info] + sealed.ciphertext + c.bytes + sealed.tag
    }
}

// MARK: - iBeacon

public enum IBeacon {
    /// Manufacturer data: Apple (0x004C), type 0x02, length 0x15, proximity UUID, major and
    /// minor (big-endian), measured power at 1 m (signed dBm).
    static func manufacturerData(uuid: BLEUUID, major: UInt16, minor: UInt16, measuredPower: Int8) -> [UInt8] {
        var w = ByteWriter()
        w.u16(0x004C)
        w.u8(0x02)
        w.u8(0x15)
        w.append(uuid.bytes128)
        w.u16be(major)
        w.u16be(minor)
        w.i8(measuredPower)
        return w.bytes
    }
}

// MARK: - Eddystone (github.com/google/eddystone protocol-specification.md)

public enum Eddystone {
    /// Service UUID 0xFEAA, assigned to Google for Eddystone.
    public static let uuid: UInt16 = 0xFEAA

    /// UID frame: 0x00, calibrated Tx power at 0 m, 10-octet namespace, 6-octet instance, 2 RFU.
    static func uidFrame(txPower: Int8, namespace: [UInt8], instance: [UInt8]) -> [UInt8] {
        [0x00, UInt8(bitPattern: txPower)] + namespace + instance + [0x00, 0x00]
    }

    /// URL frame: 0x10, Tx power at 0 m, scheme prefix, encoded URL.
    static func urlFrame(txPower: Int8, encodedURL: [UInt8]) -> [UInt8] {
        [0x10, UInt8(bitPattern: txPower)] + encodedURL
    }

    /// Unencrypted TLM frame (version 0x00); all fields big-endian. Temperature is signed
    /// 8.8 fixed point, 0x8000 when not supported; SEC_CNT counts 0.1 s since power-up.
    static func tlmFrame(batteryMillivolts: UInt16, temperature: Double?, advertisingCount: UInt32,
                         tenthsOfSecondsSincePowerUp: UInt32) -> [UInt8] {
        var w = ByteWriter()
        w.u8(0x20)
        w.u8(0x00)
        w.u16be(batteryMillivolts)
        if let t = temperature {
            let fixed = Int16(clamping: Int((t * 256).rounded()))
            w.u16be(UInt16(bitPattern: fixed))
        } else {
            w.u16be(0x8000)
        }
        w.u32be(advertisingCount)
        w.u32be(tenthsOfSecondsSincePowerUp)
        return w.bytes
    }

    static let schemes: [(String, UInt8)] = [("http://www.", 0x00), ("https://www.", 0x01), ("http://", 0x02), ("https://", 0x03)]
    static let expansions: [String] = [".com/", ".org/", ".edu/", ".net/", ".info/", ".biz/", ".gov/",
                                       ".com", ".org", ".edu", ".net", ".info", ".biz", ".gov"]

    /// Scheme prefix and encoded URL (at most 17 octets after the scheme), or nil when the
    /// URL has no known scheme, a character outside 0x21–0x7E, or is too long.
    public static func encodeURL(_ url: String) -> [UInt8]? {
        // Longest scheme first, so "https://www." wins over "https://".
        guard let (prefix, code) = schemes.sorted(by: { $0.0.count > $1.0.count }).first(where: { url.hasPrefix($0.0) })
        else { return nil }
        var rest = Substring(url.dropFirst(prefix.count))
        var out: [UInt8] = [code]
        var steps = 0
        while !rest.isEmpty, steps < 256 {
            steps += 1
            // Expansions are listed with the slash forms first, so the longer match wins.
            if let i = expansions.firstIndex(where: { rest.hasPrefix($0) }) {
                out.append(UInt8(i))
                rest = rest.dropFirst(expansions[i].count)
                continue
            }
            guard let c = rest.first, let a = c.asciiValue, (0x21...0x7E).contains(a) else { return nil }
            out.append(a)
            rest = rest.dropFirst()
        }
        return out.count <= 18 ? out : nil
    }
}

// MARK: - Ruuvi RAWv2 (data format 5, docs.ruuvi.com)

public enum RuuviRAWv2 {
    /// Ruuvi Innovations Ltd.'s company identifier.
    public static let companyID: UInt16 = 0x0499

    public struct Sample: Equatable, Sendable {
        public var temperature: Double
        public var humidity: Double
        /// Pascals.
        public var pressure: Double
        /// Acceleration in g, x y z.
        public var acceleration: [Double]
        public var batteryVolts: Double
        public var txPower: Int
        public var movementCounter: UInt8
        public var sequence: UInt16
    }

    /// Manufacturer data: company id, then the 24 octets of format 5. Out-of-range values are
    /// sent as the format's "not available" markers (0x8000, 0xFFFF, ...).
    static func manufacturerData(_ s: Sample, address: BDAddress) -> [UInt8] {
        var w = ByteWriter()
        w.u16(companyID)
        w.u8(0x05)
        let t = (s.temperature / 0.005).rounded()
        w.u16be(t >= -32767 && t <= 32767 ? UInt16(bitPattern: Int16(t)) : 0x8000)
        let h = (s.humidity / 0.0025).rounded()
        w.u16be(h >= 0 && h <= 40000 ? UInt16(h) : 0xFFFF)
        let p = (s.pressure - 50000).rounded()
        w.u16be(p >= 0 && p <= 65534 ? UInt16(p) : 0xFFFF)
        for axis in 0..<3 {
            let a = ((axis < s.acceleration.count ? s.acceleration[axis] : 0) * 1000).rounded()
            w.u16be(a >= -32767 && a <= 32767 ? UInt16(bitPattern: Int16(a)) : 0x8000)
        }
        // Power info: 11 bits of battery voltage above 1.6 V in mV, 5 bits of Tx power
        // above -40 dBm in 2 dBm steps.
        let mv = (s.batteryVolts * 1000).rounded() - 1600
        let battery: UInt16 = mv >= 0 && mv <= 2046 ? UInt16(mv) : 2047
        let tx = s.txPower + 40
        let txField: UInt16 = tx >= 0 && tx <= 60 && tx % 2 == 0 ? UInt16(tx / 2) : 31
        w.u16be(battery << 5 | txField)
        w.u8(s.movementCounter)
        w.u16be(s.sequence)
        w.append(address.bytes)
        return w.bytes
    }
}
