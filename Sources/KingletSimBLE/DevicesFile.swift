import Foundation

/// The devices file: the simulated controller and the peripherals in its range, as JSON.
/// README.md documents every key; `BLESimulation.exampleJSON` is a complete example.

/// A devices file that cannot be used: where (a JSON path such as `devices[1].bthome.bindKey`)
/// and why.
public struct DevicesFileError: Error, CustomStringConvertible, Equatable {
    public let path: String
    public let message: String

    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }

    public var description: String { path.isEmpty ? message : "\(path): \(message)" }
}

/// Which event answers an opcode the controller does not know. Core Vol 4 Part E §4.5 leaves
/// the choice to the implementation; either carries Unknown HCI Command (0x01).
public enum UnknownCommandEvent: String, Sendable {
    case commandComplete
    case commandStatus
}

public struct ControllerConfig: Sendable {
    public var address = BDAddress("00:1A:7D:4B:4C:54")!
    /// LE_ACL_Data_Packet_Length of LE Read Buffer Size: the longest ACL packet the Host may send.
    public var aclDataPacketLength: UInt16 = 27
    /// Total_Num_LE_ACL_Data_Packets: the Host's credit of ACL packets in flight.
    public var totalNumACLDataPackets: UInt8 = 8
    /// ACL data from peripherals reaches the Host in fragments of at most this many octets,
    /// as a controller forwards each 27-octet link-layer PDU without data length extension.
    public var aclFragmentSize = 27
    public var unknownCommandEvent = UnknownCommandEvent.commandComplete
    public var maxConnections = 4

    public init() {}
}

/// A value that wanders within ± `drift` of `value` (a bounded random walk).
public struct DriftSpec: Equatable, Sendable {
    public var value: Double
    public var drift: Double

    public init(value: Double, drift: Double) {
        self.value = value
        self.drift = drift
    }
}

public struct BTHomeConfig: Sendable {
    public var measurements: [(BTHomeObject, DriftSpec)]
    public var bindKey: [UInt8]?
    public var trigger: Bool
    public var packetId: Bool
}

public struct IBeaconConfig: Sendable {
    public var uuid: BLEUUID
    public var major: UInt16
    public var minor: UInt16
    public var measuredPower: Int8
}

public struct EddystoneConfig: Sendable {
    public var txPower: Int8
    public var uid: (namespace: [UInt8], instance: [UInt8])?
    public var url: String?
    public var tlm: (batteryMillivolts: UInt16, temperature: DriftSpec?)?
}

public struct RuuviConfig: Sendable {
    public var temperature: DriftSpec
    public var humidity: DriftSpec
    /// hPa in the file, like BTHome; Pascals on the wire.
    public var pressure: DriftSpec
    public var acceleration: [DriftSpec]
    public var batteryVolts: DriftSpec
    public var txPower: Int
    public var movementCounter: UInt8
}

public enum AdvertisingPayloadConfig: Sendable {
    case bthome(BTHomeConfig)
    case ibeacon(IBeaconConfig)
    case eddystone(EddystoneConfig)
    case ruuvi(RuuviConfig)
}

public enum CharacteristicKind: String, Sendable {
    /// One octet, 0x00 off or 0x01 on; read, write and write without response.
    case `switch`
    /// Temperature characteristic (0x2A6E format): sint16, 0.01 °C, little-endian; read and notify.
    case temperature
    /// UTF-8 text; read (and write when `writable`).
    case text
    /// Raw octets from hex; properties as listed.
    case bytes
}

public struct CharacteristicConfig: Sendable {
    public var uuid: BLEUUID
    public var kind: CharacteristicKind
    public var properties: CharacteristicProperties
    public var initialValue: [UInt8]
    public var drift: DriftSpec?
    public var notifyIntervalMs: UInt64
    public var description: String?
    /// Longest value a write may store.
    public var maxLength: Int
}

/// Characteristic Properties bits (Core Vol 3 Part G §3.3.1.1).
public struct CharacteristicProperties: OptionSet, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    /// Broadcast (0x01) is not used here.
    public static let read = CharacteristicProperties(rawValue: 0x02)
    public static let writeWithoutResponse = CharacteristicProperties(rawValue: 0x04)
    public static let write = CharacteristicProperties(rawValue: 0x08)
    public static let notify = CharacteristicProperties(rawValue: 0x10)
    public static let indicate = CharacteristicProperties(rawValue: 0x20)
}

public struct GATTConfig: Sendable {
    public var deviceName: String
    public var appearance: UInt16
    public var mtu: UInt16
    public var service: BLEUUID
    public var characteristics: [CharacteristicConfig]
}

public struct PeripheralConfig: Sendable {
    public var name: String
    public var address: BDAddress
    public var addressType: AddressType
    public var intervalMs: UInt64
    public var measurementIntervalMs: UInt64
    public var rssi: Int
    public var localName: String?
    public var connectable: Bool
    public var payload: AdvertisingPayloadConfig?
    public var gatt: GATTConfig?
}

/// Everything a controller is made from.
public struct SimulationConfig: Sendable {
    public var seed: UInt64 = 1
    public var controller = ControllerConfig()
    public var devices: [PeripheralConfig] = []

    public init() {}

    public static func load(path: String) throws(DevicesFileError) -> SimulationConfig {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw DevicesFileError(path: "", message: "cannot read devices file \(path)")
        }
        return try parse(data)
    }

    public static func parse(_ text: String) throws(DevicesFileError) -> SimulationConfig {
        try parse(Data(text.utf8))
    }

    public static func parse(_ data: Data) throws(DevicesFileError) -> SimulationConfig {
        let root: JSONValue
        do {
            root = try JSONDecoder().decode(JSONValue.self, from: data)
        } catch let DecodingError.dataCorrupted(context) {
            let underlying = (context.underlyingError as NSError?)?.userInfo["NSDebugDescription"] as? String
            throw DevicesFileError(path: "", message: "not valid JSON: \(underlying ?? context.debugDescription)")
        } catch {
            throw DevicesFileError(path: "", message: "not valid JSON: \(error)")
        }
        return try ConfigParser.simulation(JSONField(value: root, path: ""))
    }
}

// MARK: - JSON reading with paths

enum JSONValue: Decodable {
    case object([String: JSONValue])
    case array([JSONValue])
    case string(String)
    case number(Double)
    case bool(Bool)
    case null

    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let n = try? c.decode(Double.self) { self = .number(n) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONValue].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSONValue].self)) }
    }
}

/// A JSON value and where it sits, so every error names its place.
struct JSONField {
    let value: JSONValue
    let path: String

    func fail(_ message: String) -> DevicesFileError { DevicesFileError(path: path, message: message) }

    func object(allowed: Set<String>) throws(DevicesFileError) -> [String: JSONField] {
        guard case let .object(o) = value else { throw fail("expected an object") }
        var out: [String: JSONField] = [:]
        for (k, v) in o {
            let p = path.isEmpty ? k : "\(path).\(k)"
            guard allowed.contains(k) else {
                throw DevicesFileError(path: p, message: "unknown key (known: \(allowed.sorted().joined(separator: ", ")))")
            }
            out[k] = JSONField(value: v, path: p)
        }
        return out
    }

    func array() throws(DevicesFileError) -> [JSONField] {
        guard case let .array(a) = value else { throw fail("expected an array") }
        return a.enumerated().map { JSONField(value: $0.element, path: "\(path)[\($0.offset)]") }
    }

    func string() throws(DevicesFileError) -> String {
        guard case let .string(s) = value else { throw fail("expected a string") }
        return s
    }

    func number() throws(DevicesFileError) -> Double {
        guard case let .number(n) = value else { throw fail("expected a number") }
        return n
    }

    func bool() throws(DevicesFileError) -> Bool {
        guard case let .bool(b) = value else { throw fail("expected true or false") }
        return b
    }

    func integer(_ range: ClosedRange<Int64>) throws(DevicesFileError) -> Int64 {
        let n = try number()
        guard n == n.rounded(), n >= Double(range.lowerBound), n <= Double(range.upperBound) else {
            throw fail("expected an integer from \(range.lowerBound) to \(range.upperBound)")
        }
        return Int64(n)
    }

    func hex(count: Int) throws(DevicesFileError) -> [UInt8] {
        guard let b = parseHex(try string()), b.count == count else {
            throw fail("expected \(count) octets as \(count * 2) hex digits")
        }
        return b
    }
}

enum ConfigParser {
    static func simulation(_ root: JSONField) throws(DevicesFileError) -> SimulationConfig {
        let o = try root.object(allowed: ["seed", "controller", "devices"])
        var config = SimulationConfig()
        if let s = o["seed"] { config.seed = UInt64(try s.integer(0...Int64.max)) }
        if let c = o["controller"] { config.controller = try controller(c) }
        guard let devices = o["devices"] else { throw root.fail("missing key \"devices\"") }
        var seen: Set<BDAddress> = []
        for d in try devices.array() {
            let p = try peripheral(d)
            guard seen.insert(p.address).inserted else {
                throw d.fail("address \(p.address) is used by another device")
            }
            config.devices.append(p)
        }
        return config
    }

    static func controller(_ f: JSONField) throws(DevicesFileError) -> ControllerConfig {
        let o = try f.object(allowed: ["address", "aclDataPacketLength", "totalNumACLDataPackets", "aclFragmentSize",
                                        "unknownCommandEvent", "maxConnections"])
        var c = ControllerConfig()
        if let a = o["address"] { c.address = try address(a) }
        // 27 octets is the smallest LE ACL buffer a controller may report (§7.8.2).
        if let v = o["aclDataPacketLength"] { c.aclDataPacketLength = UInt16(try v.integer(27...1024)) }
        if let v = o["totalNumACLDataPackets"] { c.totalNumACLDataPackets = UInt8(try v.integer(1...255)) }
        if let v = o["aclFragmentSize"] { c.aclFragmentSize = Int(try v.integer(27...1024)) }
        if let v = o["maxConnections"] { c.maxConnections = Int(try v.integer(1...16)) }
        if let v = o["unknownCommandEvent"] {
            guard let e = UnknownCommandEvent(rawValue: try v.string()) else {
                throw v.fail("expected \"commandComplete\" or \"commandStatus\"")
            }
            c.unknownCommandEvent = e
        }
        return c
    }

    static func address(_ f: JSONField) throws(DevicesFileError) -> BDAddress {
        guard let a = BDAddress(try f.string()) else { throw f.fail("expected an address like A4:C1:38:01:02:03") }
        return a
    }

    static func peripheral(_ f: JSONField) throws(DevicesFileError) -> PeripheralConfig {
        let o = try f.object(allowed: ["name", "address", "addressType", "intervalMs", "measurementIntervalMs", "rssi",
                                        "localName", "connectable", "bthome", "ibeacon", "eddystone", "ruuvi", "gatt"])
        guard let a = o["address"] else { throw f.fail("missing key \"address\"") }
        let addr = try address(a)
        var type = AddressType.publicDevice
        if let t = o["addressType"] {
            switch try t.string() {
            case "public": type = .publicDevice
            case "random":
                type = .randomDevice
                // A static random address has its two most significant bits set (Core Vol 6 Part B §1.3.2.1).
                guard addr.bytes[0] & 0xC0 == 0xC0 else {
                    throw a.fail("a static random address starts with C0–FF (two top bits set)")
                }
            default: throw t.fail("expected \"public\" or \"random\"")
            }
        }
        // advInterval for undirected advertising: 20 ms to 10.24 s (Core Vol 6 Part B §4.4.2.2.1).
        let interval = UInt64(try o["intervalMs"]?.integer(20...10_240) ?? 1000)
        let measurement = UInt64(try o["measurementIntervalMs"]?.integer(Int64(interval)...3_600_000) ?? Int64(max(interval, 5000)))
        let payloadKeys = ["bthome", "ibeacon", "eddystone", "ruuvi"].filter { o[$0] != nil }
        guard payloadKeys.count <= 1 else { throw f.fail("a device advertises one format; found \(payloadKeys.joined(separator: ", "))") }
        var payload: AdvertisingPayloadConfig?
        if let b = o["bthome"] { payload = .bthome(try bthome(b)) }
        if let b = o["ibeacon"] { payload = .ibeacon(try ibeacon(b)) }
        if let b = o["eddystone"] { payload = .eddystone(try eddystone(b)) }
        if let b = o["ruuvi"] { payload = .ruuvi(try ruuvi(b)) }
        let name = try o["name"]?.string() ?? addr.description
        let localName = try o["localName"]?.string()
        if let n = localName, n.utf8.count > maxLegacyAdvertisingData - 2 {
            throw o["localName"]!.fail("at most \(maxLegacyAdvertisingData - 2) octets of UTF-8")
        }
        let g = try o["gatt"].map { (g: JSONField) throws(DevicesFileError) -> GATTConfig in try gatt(g, defaultName: localName ?? name) }
        let connectable = try o["connectable"]?.bool() ?? (g != nil)
        if g != nil, !connectable { throw f.fail("a device with a GATT table must be connectable") }
        let config = PeripheralConfig(name: name, address: addr, addressType: type, intervalMs: interval,
                                      measurementIntervalMs: measurement, rssi: Int(try o["rssi"]?.integer(-127...20) ?? -60),
                                      localName: localName, connectable: connectable, payload: payload, gatt: g)
        // Build the first advertisement now, so a payload that cannot fit fails at load.
        do {
            for frame in 0..<AdvertisingBuilder.frameCount(config) {
                _ = try AdvertisingBuilder.build(config, sample: PeripheralSample(config), advertisingCount: 0,
                                                 tenths: 0, eddystoneFrame: frame)
            }
        } catch let e as DevicesFileError {
            throw DevicesFileError(path: f.path, message: e.message)
        } catch {
            throw f.fail("\(error)")
        }
        return config
    }

    static func drift(_ f: JSONField, value: Double, defaultDrift: Double) throws(DevicesFileError) -> DriftSpec {
        guard let d = try f.object(allowed: ["drift"])["drift"] else { return DriftSpec(value: value, drift: defaultDrift) }
        let v = try d.number()
        guard v >= 0 else { throw d.fail("drift must not be negative") }
        return DriftSpec(value: value, drift: v)
    }

    static func bthome(_ f: JSONField) throws(DevicesFileError) -> BTHomeConfig {
        let o = try f.object(allowed: ["measurements", "bindKey", "trigger", "packetId"])
        guard let m = o["measurements"] else { throw f.fail("missing key \"measurements\"") }
        var list: [(BTHomeObject, DriftSpec)] = []
        for item in try m.array() {
            let io = try item.object(allowed: ["type", "value", "drift"])
            guard let t = io["type"] else { throw item.fail("missing key \"type\"") }
            let name = try t.string()
            guard let object = BTHomeObject(rawValue: name), object != .packetId else {
                let known = BTHomeObject.allCases.filter { $0 != .packetId }.map(\.rawValue).joined(separator: ", ")
                throw t.fail("unknown measurement type \"\(name)\" (known: \(known))")
            }
            guard !list.contains(where: { $0.0 == object }) else { throw t.fail("\(name) is listed twice") }
            guard let vf = io["value"] else { throw item.fail("missing key \"value\"") }
            let value: Double
            if case let .bool(b) = vf.value { value = b ? 1 : 0 } else { value = try vf.number() }
            let d = try io["drift"]?.number() ?? object.defaultDrift
            guard d >= 0 else { throw io["drift"]!.fail("drift must not be negative") }
            guard object.raw(for: value - d) != nil, object.raw(for: value + d) != nil else {
                throw vf.fail("\(value) ± \(d) does not fit a BTHome \(name) field")
            }
            list.append((object, DriftSpec(value: value, drift: object.binary ? 0 : d)))
        }
        guard !list.isEmpty else { throw m.fail("list at least one measurement") }
        let key = try o["bindKey"].map { (k: JSONField) throws(DevicesFileError) -> [UInt8] in try k.hex(count: 16) }
        return BTHomeConfig(measurements: list, bindKey: key, trigger: try o["trigger"]?.bool() ?? false,
                            packetId: try o["packetId"]?.bool() ?? true)
    }

    static func ibeacon(_ f: JSONField) throws(DevicesFileError) -> IBeaconConfig {
        let o = try f.object(allowed: ["uuid", "major", "minor", "measuredPower"])
        guard let u = o["uuid"] else { throw f.fail("missing key \"uuid\"") }
        guard let uuid = BLEUUID(try u.string()), uuid.short == nil else { throw u.fail("expected a 128-bit UUID") }
        return IBeaconConfig(uuid: uuid, major: UInt16(try o["major"]?.integer(0...65535) ?? 0),
                             minor: UInt16(try o["minor"]?.integer(0...65535) ?? 0),
                             measuredPower: Int8(try o["measuredPower"]?.integer(-127...20) ?? -59))
    }

    static func eddystone(_ f: JSONField) throws(DevicesFileError) -> EddystoneConfig {
        let o = try f.object(allowed: ["txPower", "uid", "url", "tlm"])
        var c = EddystoneConfig(txPower: Int8(try o["txPower"]?.integer(-100...20) ?? -20), uid: nil, url: nil, tlm: nil)
        if let u = o["uid"] {
            let uo = try u.object(allowed: ["namespace", "instance"])
            guard let n = uo["namespace"], let i = uo["instance"] else { throw u.fail("needs \"namespace\" and \"instance\"") }
            c.uid = (try n.hex(count: 10), try i.hex(count: 6))
        }
        if let u = o["url"] {
            let s = try u.string()
            guard Eddystone.encodeURL(s) != nil else {
                throw u.fail("not an Eddystone URL: http(s)://, printable ASCII, at most 17 octets once encoded")
            }
            c.url = s
        }
        if let t = o["tlm"] {
            let to = try t.object(allowed: ["batteryMv", "temperature", "drift"])
            let mv = UInt16(try to["batteryMv"]?.integer(0...65535) ?? 0)
            var temp: DriftSpec?
            if let tf = to["temperature"] {
                let v = try tf.number()
                guard v > -128, v < 128 else { throw tf.fail("expected -128 < °C < 128") }
                let d = try to["drift"]?.number() ?? 0.5
                temp = DriftSpec(value: v, drift: d)
            }
            c.tlm = (mv, temp)
        }
        guard c.uid != nil || c.url != nil || c.tlm != nil else { throw f.fail("list at least one of uid, url, tlm") }
        return c
    }

    static func ruuvi(_ f: JSONField) throws(DevicesFileError) -> RuuviConfig {
        let o = try f.object(allowed: ["temperature", "humidity", "pressure", "acceleration", "batteryVoltage",
                                        "txPower", "movementCounter", "drift"])
        let scale = try o["drift"]?.number() ?? 1
        guard scale >= 0 else { throw o["drift"]!.fail("drift must not be negative") }
        func value(_ key: String, _ def: Double, _ range: ClosedRange<Double>, _ drift: Double) throws(DevicesFileError) -> DriftSpec {
            let v = try o[key]?.number() ?? def
            guard range.contains(v) else { throw (o[key] ?? f).fail("\(key) must be within \(range)") }
            return DriftSpec(value: v, drift: drift * scale)
        }
        var acc: [DriftSpec] = [DriftSpec(value: 0, drift: 0.02 * scale), DriftSpec(value: 0, drift: 0.02 * scale),
                                DriftSpec(value: 1, drift: 0.02 * scale)]
        if let a = o["acceleration"] {
            let items = try a.array()
            guard items.count == 3 else { throw a.fail("expected [x, y, z] in g") }
            for (i, item) in items.enumerated() {
                let v = try item.number()
                guard abs(v) < 32 else { throw item.fail("acceleration within ±32 g") }
                acc[i].value = v
            }
        }
        let tx = Int(try o["txPower"]?.integer(-40...20) ?? 4)
        guard tx % 2 == 0 else { throw o["txPower"]!.fail("Ruuvi sends Tx power in 2 dBm steps; use an even value") }
        return RuuviConfig(temperature: try value("temperature", 21, -163...163, 0.5),
                           humidity: try value("humidity", 45, 0...100, 2),
                           pressure: try value("pressure", 1013.25, 500...1155, 1),
                           acceleration: acc,
                           batteryVolts: try value("batteryVoltage", 2.95, 1.6...3.646, 0.01),
                           txPower: tx, movementCounter: UInt8(try o["movementCounter"]?.integer(0...254) ?? 0))
    }

    static func gatt(_ f: JSONField, defaultName: String) throws(DevicesFileError) -> GATTConfig {
        let o = try f.object(allowed: ["deviceName", "appearance", "mtu", "service", "characteristics"])
        guard let s = o["service"] else { throw f.fail("missing key \"service\"") }
        guard let service = BLEUUID(try s.string()) else { throw s.fail("expected a UUID (2A6E or 128-bit)") }
        guard let cs = o["characteristics"] else { throw f.fail("missing key \"characteristics\"") }
        var chars: [CharacteristicConfig] = []
        for c in try cs.array() { chars.append(try characteristic(c)) }
        guard !chars.isEmpty else { throw cs.fail("list at least one characteristic") }
        // ATT_MTU is at least 23 on LE (Core Vol 3 Part F §3.2.8); 517 bounds any attribute PDU.
        return GATTConfig(deviceName: try o["deviceName"]?.string() ?? defaultName,
                          appearance: UInt16(try o["appearance"]?.integer(0...65535) ?? 0),
                          mtu: UInt16(try o["mtu"]?.integer(23...517) ?? 247), service: service, characteristics: chars)
    }

    static func characteristic(_ f: JSONField) throws(DevicesFileError) -> CharacteristicConfig {
        let o = try f.object(allowed: ["uuid", "kind", "value", "drift", "notifyMs", "description", "properties", "writable", "maxLength"])
        guard let u = o["uuid"], let uuid = BLEUUID(try u.string()) else { throw (o["uuid"] ?? f).fail("expected a UUID") }
        guard let k = o["kind"], let kind = CharacteristicKind(rawValue: try k.string()) else {
            throw (o["kind"] ?? f).fail("expected kind switch, temperature, text or bytes")
        }
        var c = CharacteristicConfig(uuid: uuid, kind: kind, properties: [], initialValue: [], drift: nil,
                                     notifyIntervalMs: UInt64(try o["notifyMs"]?.integer(10...3_600_000) ?? 1000),
                                     description: try o["description"]?.string(), maxLength: 1)
        switch kind {
        case .switch:
            c.properties = [.read, .write, .writeWithoutResponse]
            c.initialValue = [try o["value"]?.bool() == true ? 1 : 0]
        case .temperature:
            c.properties = [.read, .notify]
            let v = try o["value"]?.number() ?? 21
            guard v > -273, v < 327 else { throw o["value"]!.fail("expected °C within the sint16 × 0.01 range") }
            c.drift = DriftSpec(value: v, drift: try o["drift"]?.number() ?? 0.5)
            c.maxLength = 2
        case .text:
            let text = try o["value"]?.string() ?? ""
            c.initialValue = Array(text.utf8)
            c.properties = try o["writable"]?.bool() == true ? [.read, .write] : [.read]
            c.maxLength = Int(try o["maxLength"]?.integer(1...512) ?? Int64(max(20, text.utf8.count)))
        case .bytes:
            guard let v = o["value"], let b = parseHex(try v.string()) else { throw (o["value"] ?? f).fail("expected hex octets") }
            c.initialValue = b
            c.maxLength = Int(try o["maxLength"]?.integer(1...512) ?? Int64(max(1, b.count)))
            c.properties = [.read]
        }
        if let p = o["properties"] {
            var props: CharacteristicProperties = []
            for item in try p.array() {
                switch try item.string() {
                case "read": props.insert(.read)
                case "write": props.insert(.write)
                case "writeWithoutResponse": props.insert(.writeWithoutResponse)
                case "notify": props.insert(.notify)
                default: throw item.fail("expected read, write, writeWithoutResponse or notify")
                }
            }
            c.properties = props
        }
        if c.initialValue.count > c.maxLength { throw f.fail("value is longer than maxLength") }
        return c
    }
}
