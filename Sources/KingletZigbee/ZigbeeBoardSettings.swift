import KingletDevices
import KingletDocument
import KingletPod

/// The board's ZigBee coordinator (`devices.zigbee` in the config): the serial port of its
/// ZNP stick and the network it forms or resumes. One coordinator serves every ZigBee
/// Device of the board; a Device names its end device by IEEE address.
public struct ZigbeeBoardSettings: Equatable {
    public var serialPort: String
    public var baudRate: Int32 = 115_200
    /// Hardware flow control (CC2652 sticks with RTS/CTS wired; most USB sticks need none).
    public var flowControl = false
    public var network: ZigbeeNetworkConfig
    /// Join is permitted for this long after the network is up (0: never by itself).
    public var permitJoinSeconds: UInt8 = 0

    public static let keys = ["serialPort", "baudRate", "flowControl", "panID", "extendedPanID", "channel", "networkKey",
                              "permitJoinSeconds"]

    public static func decode(_ config: DeviceConfigData) throws(DocumentError) -> ZigbeeBoardSettings {
        try config.rejectUnknown(keys)
        guard let port = try config.string("serialPort"), !port.isEmpty else {
            throw config.error("serialPort", "required: the ZNP coordinator's serial device, e.g. /dev/ttyUSB0")
        }
        let panID = try number(config, "panID", default: 0x1A62, limit: 0xFFFF)
        let extended = try number(config, "extendedPanID", default: 0xDDDD_DDDD_DDDD_DDDD, limit: UInt64.max)
        let channel = try number(config, "channel", default: 15, limit: 26)
        guard let keyText = try config.string("networkKey") else {
            throw config.error("networkKey", "required: 16 bytes as 32 hex digits (keep it secret: it encrypts the network)")
        }
        guard let key = DeviceConfigData.hexBytes(keyText), key.count == 16 else {
            throw config.error("networkKey", "expected 32 hex digits (16 bytes)")
        }
        let network: ZigbeeNetworkConfig
        do {
            network = try ZigbeeNetworkConfig(panID: UInt16(panID), extendedPANID: extended, channel: UInt8(channel), networkKey: key)
        } catch {
            throw config.error("panID", error.description)
        }
        var settings = ZigbeeBoardSettings(serialPort: port, network: network)
        if let baud = try config.integer("baudRate") {
            guard [9600, 19200, 38400, 57600, 115_200, 230_400, 460_800].contains(baud) else {
                throw config.error("baudRate", "unsupported baud rate \(baud)")
            }
            settings.baudRate = Int32(baud)
        }
        settings.flowControl = try config.bool("flowControl") ?? false
        settings.permitJoinSeconds = UInt8(try number(config, "permitJoinSeconds", default: 0, limit: 254))
        return settings
    }

    /// A number written as an integer or as "0x..." hex.
    static func number(_ config: DeviceConfigData, _ key: String, default value: UInt64, limit: UInt64) throws(DocumentError) -> UInt64 {
        guard let field = config.field(key) else { return value }
        var parsed: UInt64?
        switch field.node.value {
        case .integer(let number): parsed = number >= 0 ? UInt64(number) : nil
        case .string(let text): parsed = parseNumber(text)
        default: parsed = nil
        }
        guard let parsed, parsed <= limit else { throw field.error("expected a number from 0 to \(limit) (decimal or 0x hex)") }
        return parsed
    }

    /// "0x1a62", "6754" or "dd:dd:..:dd".
    static func parseNumber(_ text: String) -> UInt64? {
        if text.hasPrefix("0x") || text.hasPrefix("0X") { return UInt64(text.dropFirst(2), radix: 16) }
        if text.contains(":") {
            guard let bytes = DeviceConfigData.hexBytes(text), bytes.count <= 8 else { return nil }
            var value: UInt64 = 0
            for byte in bytes { value = value << 8 | UInt64(byte) }
            return value
        }
        return UInt64(text)
    }
}

/// Where one property of a ZigBee device lives: the visitor's `configData`.
public struct ZigbeeVisitor: Equatable {
    public var endpoint: UInt8
    public var cluster: UInt16
    public var attribute: UInt16
    /// Reports the device is asked for (nil: its own defaults, and reads on the cycle).
    public var reporting: ZigbeeReporting? = nil

    public static let keys = ["endpoint", "cluster", "attribute", "reporting"]

    /// Cluster names Kinglet knows, for readable manifests.
    static let clusterNames: [(String, UInt16)] = [
        ("powerConfiguration", 0x0001), ("onOff", 0x0006), ("levelControl", 0x0008), ("temperature", 0x0402),
        ("humidity", 0x0405), ("occupancy", 0x0406), ("electricalMeasurement", 0x0B04),
    ]

    public static func decode(_ config: DeviceConfigData, defaultEndpoint: UInt8) throws(DocumentError) -> ZigbeeVisitor {
        try config.rejectUnknown(keys)
        guard let field = config.field("cluster") else {
            throw config.error("cluster", "required: a cluster id (0x0402) or name (temperature, onOff, levelControl, ...)")
        }
        var cluster: UInt16?
        switch field.node.value {
        case .integer(let number): cluster = UInt16(exactly: number)
        case .string(let text):
            cluster = clusterNames.first { $0.0 == text }?.1 ?? ZigbeeBoardSettings.parseNumber(text).flatMap { UInt16(exactly: $0) }
        default: cluster = nil
        }
        guard let cluster else { throw field.error("unknown cluster (a 16-bit id, or one of: \(clusterNames.map { $0.0 }.joined(separator: ", ")))") }
        let attribute = try ZigbeeBoardSettings.number(config, "attribute", default: 0, limit: 0xFFFF)
        let endpoint = try ZigbeeBoardSettings.number(config, "endpoint", default: UInt64(defaultEndpoint), limit: 240)
        var visitor = ZigbeeVisitor(endpoint: UInt8(endpoint), cluster: cluster, attribute: UInt16(attribute))
        if let object = try config.object?.object("reporting") {
            let reporting = try ZigbeeReporting.decode(DeviceConfigData(object, path: config.path + ".reporting", file: config.file))
            guard ZigbeeReporting.knownAttribute(cluster: cluster, attribute: visitor.attribute) != nil else {
                throw config.error("reporting", "reporting can be configured only for attributes Kinglet knows the type of "
                    + "(onOff, levelControl, temperature, humidity, occupancy, battery 0x0020/0x0021, electrical 0x0505/0x0508/0x050B)")
            }
            visitor.reporting = reporting
        }
        return visitor
    }
}
