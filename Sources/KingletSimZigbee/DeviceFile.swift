/// The devices file: a small JSON document naming the simulated devices (and optionally a
/// network the stick already runs). README.md documents the format with an example.
import Foundation

/// A devices-file error: where in the document (a path like `devices[1].endpoints[0]`) and what.
public struct DeviceFileError: Error, Equatable, CustomStringConvertible {
    public var path: String
    public var message: String

    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }

    public var description: String { path.isEmpty ? message : "\(path): \(message)" }
}

/// What a devices file describes.
public struct DeviceFile: Sendable {
    public var devices: [SimulatedDevice]
    /// A network already formed in the stick's NV at start, if the file has a "network" object.
    public var formedNetwork: NetworkParameters?
    public var coordinatorIEEE: IEEEAddress?

    public init(devices: [SimulatedDevice], formedNetwork: NetworkParameters? = nil, coordinatorIEEE: IEEEAddress? = nil) {
        self.devices = devices
        self.formedNetwork = formedNetwork
        self.coordinatorIEEE = coordinatorIEEE
    }

    public static func load(path: String) throws(DeviceFileError) -> DeviceFile {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw DeviceFileError(path: "", message: "cannot read \(path)")
        }
        return try parse(data)
    }

    public static func parse(_ data: Data) throws(DeviceFileError) -> DeviceFile {
        let root: JSONValue
        do {
            root = try JSONDecoder().decode(JSONValue.self, from: data)
        } catch let error as DecodingError {
            if case .dataCorrupted(let context) = error {
                let detail = (context.underlyingError as NSError?)?.userInfo[NSDebugDescriptionErrorKey] as? String
                throw DeviceFileError(path: "", message: "not valid JSON: \(detail ?? context.debugDescription)")
            }
            throw DeviceFileError(path: "", message: "not valid JSON: \(error)")
        } catch {
            throw DeviceFileError(path: "", message: "not valid JSON: \(error)")
        }
        var parser = Parser()
        return try parser.file(root)
    }
}

/// A JSON value, decoded strictly (true/false are never numbers).
enum JSONValue: Decodable, Equatable {
    case bool(Bool)
    case integer(Int64)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])
    case null

    init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .integer(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }
}

private struct Parser {
    private var usedNWK: Set<UInt16> = []
    private var usedIEEE: Set<IEEEAddress> = []

    mutating func file(_ root: JSONValue) throws(DeviceFileError) -> DeviceFile {
        let top = try object(root, "")
        try allowOnly(top, ["devices", "network", "coordinator"], "")
        var file = DeviceFile(devices: [])
        if let network = top["network"] { file.formedNetwork = try self.network(network, "network") }
        if let coordinator = top["coordinator"] {
            let fields = try object(coordinator, "coordinator")
            try allowOnly(fields, ["ieee"], "coordinator")
            if let ieee = fields["ieee"] { file.coordinatorIEEE = try self.ieee(ieee, "coordinator.ieee") }
        }
        guard let list = top["devices"] else { throw DeviceFileError(path: "", message: "missing \"devices\" list") }
        guard case .array(let entries) = list else { throw DeviceFileError(path: "devices", message: "must be a list") }
        for (index, entry) in entries.enumerated() {
            file.devices.append(try device(entry, "devices[\(index)]"))
        }
        return file
    }

    func network(_ value: JSONValue, _ path: String) throws(DeviceFileError) -> NetworkParameters {
        let fields = try object(value, path)
        try allowOnly(fields, ["panId", "extendedPanId", "channel", "networkKey"], path)
        let pan = try integer(required(fields, "panId", path), "\(path).panId", in: 0x0001...0xFFF7)
        let epid = try ieee(required(fields, "extendedPanId", path), "\(path).extendedPanId")
        let channel = try integer(fields["channel"] ?? .integer(11), "\(path).channel", in: 11...26)
        var key = NetworkParameters.defaultNetworkKey
        if let keyValue = fields["networkKey"] {
            guard case .string(let text) = keyValue, let bytes = hexBytes(text), bytes.count == 16 else {
                throw DeviceFileError(path: "\(path).networkKey", message: "must be 16 bytes of hex")
            }
            key = bytes
        }
        return NetworkParameters(panID: UInt16(pan), extendedPANID: epid, channel: UInt8(channel),
                                 channelMask: 1 << UInt32(channel), networkKey: key)
    }

    mutating func device(_ value: JSONValue, _ path: String) throws(DeviceFileError) -> SimulatedDevice {
        let fields = try object(value, path)
        try allowOnly(fields, ["name", "ieee", "nwk", "type", "manufacturerCode", "joinsOnPermit", "joinDelay",
                               "reportInterval", "lqi", "endpoints"], path)
        let ieee = try self.ieee(required(fields, "ieee", path), "\(path).ieee")
        guard usedIEEE.insert(ieee).inserted else {
            throw DeviceFileError(path: "\(path).ieee", message: "\(ieee) is already used by another device")
        }
        let nwk = UInt16(try integer(required(fields, "nwk", path), "\(path).nwk", in: 0x0001...0xFFF7))
        guard usedNWK.insert(nwk).inserted else {
            throw DeviceFileError(path: "\(path).nwk", message: "\(hex4(nwk)) is already used by another device")
        }
        var name = "device-\(hex4(nwk))"
        if let nameValue = fields["name"] { name = try string(nameValue, "\(path).name") }
        var type = LogicalType.router
        if let typeValue = fields["type"] {
            let text = try string(typeValue, "\(path).type")
            guard let parsed = LogicalType(rawValue: text) else {
                throw DeviceFileError(path: "\(path).type", message: "must be \"router\" or \"end-device\"")
            }
            type = parsed
        }
        var device = SimulatedDevice(name: name, ieee: ieee, nwk: nwk, logicalType: type, endpoints: [])
        if let code = fields["manufacturerCode"] {
            device.manufacturerCode = UInt16(try integer(code, "\(path).manufacturerCode", in: 0...0xFFFF))
        }
        if let joins = fields["joinsOnPermit"] { device.joinsOnPermit = try bool(joins, "\(path).joinsOnPermit") }
        if let delay = fields["joinDelay"] { device.joinDelay = try seconds(delay, "\(path).joinDelay", allowZero: true) }
        if let interval = fields["reportInterval"] { device.reportInterval = try seconds(interval, "\(path).reportInterval", allowZero: false) }
        if let lqi = fields["lqi"] { device.linkQuality = UInt8(try integer(lqi, "\(path).lqi", in: 0...255)) }
        guard case .array(let endpoints) = try required(fields, "endpoints", path), !endpoints.isEmpty else {
            throw DeviceFileError(path: "\(path).endpoints", message: "must be a non-empty list")
        }
        for (index, entry) in endpoints.enumerated() {
            let endpoint = try self.endpoint(entry, "\(path).endpoints[\(index)]")
            guard device.endpointIndex(endpoint.id) == nil else {
                throw DeviceFileError(path: "\(path).endpoints[\(index)].id", message: "endpoint \(endpoint.id) appears twice")
            }
            device.endpoints.append(endpoint)
        }
        return device
    }

    func endpoint(_ value: JSONValue, _ path: String) throws(DeviceFileError) -> SimulatedEndpoint {
        let fields = try object(value, path)
        try allowOnly(fields, ["id", "profile", "deviceId", "deviceVersion", "clusters", "outputClusters"], path)
        let id = UInt8(try integer(required(fields, "id", path), "\(path).id", in: 1...240))
        let profile = UInt16(try integer(fields["profile"] ?? .integer(0x0104), "\(path).profile", in: 0...0xFFFF))
        let deviceID = UInt16(try integer(fields["deviceId"] ?? .integer(0x0000), "\(path).deviceId", in: 0...0xFFFF))
        let version = UInt8(try integer(fields["deviceVersion"] ?? .integer(1), "\(path).deviceVersion", in: 0...255))
        let clusterFields = try object(required(fields, "clusters", path), "\(path).clusters")
        var clusters: [SimulatedCluster] = []
        for key in clusterFields.keys.sorted() {
            let clusterPath = "\(path).clusters.\(key)"
            guard let clusterID = ZCLCluster.names[key] ?? parseHex(key) else {
                throw DeviceFileError(path: clusterPath, message: "unknown cluster (use a name such as \"onOff\" or a hex id such as \"0x0006\")")
            }
            guard !clusters.contains(where: { $0.id == clusterID }) else {
                throw DeviceFileError(path: clusterPath, message: "cluster \(hex4(clusterID)) appears twice")
            }
            clusters.append(try cluster(clusterID, clusterFields[key] ?? .null, clusterPath))
        }
        var outputs: [UInt16] = []
        if let list = fields["outputClusters"] {
            guard case .array(let entries) = list else {
                throw DeviceFileError(path: "\(path).outputClusters", message: "must be a list of cluster ids")
            }
            for (index, entry) in entries.enumerated() {
                let entryPath = "\(path).outputClusters[\(index)]"
                if case .string(let name) = entry, let known = ZCLCluster.names[name] {
                    outputs.append(known)
                } else {
                    outputs.append(UInt16(try integer(entry, entryPath, in: 0...0xFFFF)))
                }
            }
        }
        return SimulatedEndpoint(id: id, profileID: profile, deviceID: deviceID, deviceVersion: version,
                                 inputClusters: clusters, outputClusters: outputs)
    }

    func cluster(_ id: UInt16, _ value: JSONValue, _ path: String) throws(DeviceFileError) -> SimulatedCluster {
        let fields = try object(value, path)
        let known = ZCLCluster.known[id] ?? [:]
        var attributes: [SimulatedAttribute] = []
        for key in fields.keys.sorted() {
            let attributePath = "\(path).\(key)"
            let byName = known.first { $0.value.name == key }?.key
            guard let attributeID = byName ?? parseHex(key) else {
                let names = known.values.map(\.name).sorted().joined(separator: ", ")
                throw DeviceFileError(path: attributePath, message: "unknown attribute (known here: \(names.isEmpty ? "none" : names); or use a hex id)")
            }
            guard !attributes.contains(where: { $0.id == attributeID }) else {
                throw DeviceFileError(path: attributePath, message: "attribute \(hex4(attributeID)) appears twice")
            }
            attributes.append(try attribute(attributeID, known[attributeID], fields[key] ?? .null, attributePath))
        }
        return SimulatedCluster(id: id, attributes: attributes)
    }

    func attribute(_ id: UInt16, _ known: ZCLCluster.KnownAttribute?, _ value: JSONValue,
                   _ path: String) throws(DeviceFileError) -> SimulatedAttribute {
        var type = known?.type
        var writable = known?.writable ?? false
        var reported = known?.reported ?? false
        var drift = known?.drift ?? 0
        var mode = defaultDriftMode(known)
        var bounds: ClosedRange<Int64>?
        var raw = value
        if case .object(let fields) = value {
            try allowOnly(fields, ["type", "value", "writable", "report", "drift", "driftMode", "min", "max"], path)
            if let typeValue = fields["type"] { type = try dataType(typeValue, "\(path).type") }
            if let flag = fields["writable"] { writable = try bool(flag, "\(path).writable") }
            if let flag = fields["report"] { reported = try bool(flag, "\(path).report") }
            if let step = fields["drift"] { drift = try integer(step, "\(path).drift", in: 0...1_000_000) }
            if let modeValue = fields["driftMode"] {
                let text = try string(modeValue, "\(path).driftMode")
                guard let parsed = DriftMode(rawValue: text) else {
                    throw DeviceFileError(path: "\(path).driftMode", message: "must be walk, decay or flip")
                }
                mode = parsed
            }
            if fields["min"] != nil || fields["max"] != nil {
                let low = try integer(fields["min"] ?? .integer(Int64.min), "\(path).min", in: Int64.min...Int64.max)
                let high = try integer(fields["max"] ?? .integer(Int64.max), "\(path).max", in: Int64.min...Int64.max)
                guard low <= high else { throw DeviceFileError(path: path, message: "min is above max") }
                bounds = low...high
            }
            raw = try required(fields, "value", path)
        }
        guard let type else {
            throw DeviceFileError(path: path, message: "attribute \(hex4(id)) is not a known one: give {\"type\": ..., \"value\": ...}")
        }
        let parsed: ZCLValue
        switch (type, raw) {
        case (.characterString, .string(let text)):
            parsed = .string(text)
        case (.octetString, .string(let text)):
            guard let bytes = hexBytes(text) else { throw DeviceFileError(path: path, message: "octet string must be hex") }
            parsed = .octets(bytes)
        case (.ieeeAddress, _):
            parsed = .integer(Int64(bitPattern: try ieee(raw, path).value))
        case (.bool, .bool(let flag)):
            parsed = .integer(flag ? 1 : 0)
        case (.characterString, _), (.octetString, _):
            throw DeviceFileError(path: path, message: "must be a string")
        default:
            parsed = .integer(try integer(raw, path, in: type.range))
        }
        return SimulatedAttribute(id: id, type: type, value: parsed, writable: writable, reported: reported,
                                  drift: drift, driftMode: mode, bounds: bounds)
    }

    func defaultDriftMode(_ known: ZCLCluster.KnownAttribute?) -> DriftMode {
        switch known?.name {
        case "occupancy": return .flip
        case "batteryVoltage", "batteryPercentageRemaining": return .decay
        default: return .walk
        }
    }

    func dataType(_ value: JSONValue, _ path: String) throws(DeviceFileError) -> ZCLDataType {
        let names: [String: ZCLDataType] = [
            "bool": .bool, "bitmap8": .bitmap8, "bitmap16": .bitmap16, "uint8": .uint8, "uint16": .uint16,
            "uint24": .uint24, "uint32": .uint32, "int8": .int8, "int16": .int16, "int24": .int24, "int32": .int32,
            "enum8": .enum8, "enum16": .enum16, "octstr": .octetString, "string": .characterString, "ieee": .ieeeAddress,
        ]
        if case .string(let text) = value, let type = names[text] { return type }
        if let number = try? integer(value, path, in: 0...0xFF), let type = ZCLDataType(rawValue: UInt8(number)) { return type }
        throw DeviceFileError(path: path, message: "unknown ZCL type (one of \(names.keys.sorted().joined(separator: ", ")), or its id)")
    }

    // MARK: - Scalars

    func object(_ value: JSONValue, _ path: String) throws(DeviceFileError) -> [String: JSONValue] {
        guard case .object(let fields) = value else { throw DeviceFileError(path: path, message: "must be an object") }
        return fields
    }

    func allowOnly(_ fields: [String: JSONValue], _ allowed: Set<String>, _ path: String) throws(DeviceFileError) {
        if let unknown = fields.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw DeviceFileError(path: path.isEmpty ? unknown : "\(path).\(unknown)",
                                  message: "unknown field (allowed: \(allowed.sorted().joined(separator: ", ")))")
        }
    }

    func required(_ fields: [String: JSONValue], _ key: String, _ path: String) throws(DeviceFileError) -> JSONValue {
        guard let value = fields[key] else {
            throw DeviceFileError(path: path, message: "missing \"\(key)\"")
        }
        return value
    }

    func string(_ value: JSONValue, _ path: String) throws(DeviceFileError) -> String {
        guard case .string(let text) = value else { throw DeviceFileError(path: path, message: "must be a string") }
        return text
    }

    func bool(_ value: JSONValue, _ path: String) throws(DeviceFileError) -> Bool {
        guard case .bool(let flag) = value else { throw DeviceFileError(path: path, message: "must be true or false") }
        return flag
    }

    /// An integer, written as a JSON number or a "0x…" string.
    func integer(_ value: JSONValue, _ path: String, in range: ClosedRange<Int64>) throws(DeviceFileError) -> Int64 {
        let number: Int64?
        switch value {
        case .integer(let n): number = n
        case .string(let text): number = parseHex(text).map(Int64.init) ?? Int64(text)
        case .bool(let flag): number = flag ? 1 : 0
        default: number = nil
        }
        guard let number else { throw DeviceFileError(path: path, message: "must be an integer (or a \"0x…\" string)") }
        guard range.contains(number) else {
            throw DeviceFileError(path: path, message: "\(number) is outside \(range.lowerBound)...\(range.upperBound)")
        }
        return number
    }

    func seconds(_ value: JSONValue, _ path: String, allowZero: Bool) throws(DeviceFileError) -> Double {
        let number: Double
        switch value {
        case .integer(let n): number = Double(n)
        case .number(let n): number = n
        default: throw DeviceFileError(path: path, message: "must be a number of seconds")
        }
        guard number.isFinite, allowZero ? number >= 0 : number > 0, number <= 86_400 else {
            throw DeviceFileError(path: path, message: "must be \(allowZero ? "0" : "above 0") to 86400 seconds")
        }
        return number
    }

    func ieee(_ value: JSONValue, _ path: String) throws(DeviceFileError) -> IEEEAddress {
        guard case .string(let text) = value, let address = IEEEAddress(parsing: text) else {
            throw DeviceFileError(path: path, message: "must be an IEEE address like \"00:12:4b:00:01:02:03:04\"")
        }
        return address
    }
}

/// "0x1a2b" → 0x1a2b (at most 16 bits).
private func parseHex(_ text: String) -> UInt16? {
    guard text.lowercased().hasPrefix("0x") else { return nil }
    return UInt16(text.dropFirst(2), radix: 16)
}

/// "01 03 05 …" or "010305…" → bytes.
private func hexBytes(_ text: String) -> [UInt8]? {
    let digits = text.filter { !$0.isWhitespace && $0 != ":" }
    guard digits.count % 2 == 0 else { return nil }
    var bytes: [UInt8] = []
    var index = digits.startIndex
    while index < digits.endIndex {
        let next = digits.index(index, offsetBy: 2)
        guard let byte = UInt8(digits[index..<next], radix: 16) else { return nil }
        bytes.append(byte)
        index = next
    }
    return bytes
}
