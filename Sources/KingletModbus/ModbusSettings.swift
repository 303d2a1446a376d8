/// KingletModbus: Modbus RTU devices over RS-485, through libmodbus, on the agent's loop.
///
/// libmodbus frames, checks CRCs and drives the serial port; the loop decides when. A
/// request goes out with `modbus_send_raw_request`, the loop waits for the port to become
/// readable (with the response timeout as a timer), and only then `modbus_receive_confirmation`
/// reads the frame: the loop is held for at most one frame's time, never for a timeout.
import KingletDevices
import KingletDocument
import KingletPod

/// The serial line and slave of a Modbus device: the Device's `spec.protocol.configData`
/// (KubeEdge's keys, plus ours for RS-485, timeouts and retries).
public struct ModbusLineSettings: Equatable {
    public var serialPort: String
    public var baudRate: Int32 = 9600
    public var dataBits: Int32 = 8
    /// 'N', 'E' or 'O', as libmodbus takes it.
    public var parity: UInt8 = UInt8(ascii: "N")
    public var stopBits: Int32 = 1
    public var slaveID: Int32 = 1
    /// TIOCSRS485 on the port (boards whose UART drives the transceiver itself).
    public var rs485 = false
    /// RTS drives the transceiver's direction: "none", "up" or "down" (active level).
    public var rts = ModbusRTSMode.none
    public var responseTimeoutMilliseconds: Int64 = 500
    /// The longest silence inside one response before it counts as broken.
    public var byteTimeoutMilliseconds: Int64 = 20
    /// Retries of a timed-out or corrupt request before the device counts as offline.
    public var retries = 2

    public static let keys = ["serialPort", "baudRate", "dataBits", "parity", "stopBits", "slaveID", "rs485", "rts",
                              "responseTimeout", "byteTimeout", "retries"]

    public init(serialPort: String) { self.serialPort = serialPort }

    /// The line's side of the settings, which every device on one port must share:
    /// "9600 8N1", plus RS-485, RTS and the byte timeout when set.
    public var serialDescription: String {
        var text = "\(baudRate) \(dataBits)\(String(decoding: [parity], as: UTF8.self))\(stopBits)"
        if rs485 { text += ", RS-485" }
        if rts != .none { text += ", RTS \(rts.rawValue)" }
        if byteTimeoutMilliseconds != 20 { text += ", byte timeout \(byteTimeoutMilliseconds) ms" }
        return text
    }

    public static func decode(_ config: DeviceConfigData) throws(DocumentError) -> ModbusLineSettings {
        try config.rejectUnknown(keys)
        guard let port = try config.string("serialPort"), !port.isEmpty else {
            throw config.error("serialPort", "required for a modbus device (the serial device, e.g. /dev/ttyUSB0)")
        }
        var settings = ModbusLineSettings(serialPort: port)
        if let baud = try config.integer("baudRate") {
            guard [1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400].contains(baud) else {
                throw config.error("baudRate", "unsupported baud rate \(baud)")
            }
            settings.baudRate = Int32(baud)
        }
        if let bits = try config.integer("dataBits") {
            guard (5...8).contains(bits) else { throw config.error("dataBits", "must be 5 to 8") }
            settings.dataBits = Int32(bits)
        }
        if let parity = try config.string("parity") {
            switch parity.lowercased() {
            case "none", "n": settings.parity = UInt8(ascii: "N")
            case "even", "e": settings.parity = UInt8(ascii: "E")
            case "odd", "o": settings.parity = UInt8(ascii: "O")
            default: throw config.error("parity", "expected none, even or odd")
            }
        }
        if let bits = try config.integer("stopBits") {
            guard bits == 1 || bits == 2 else { throw config.error("stopBits", "must be 1 or 2") }
            settings.stopBits = Int32(bits)
        }
        if let slave = try config.integer("slaveID") {
            // 0 is broadcast (no answer comes back); 248-255 are reserved (Modbus over Serial Line 2.2).
            guard (1...247).contains(slave) else { throw config.error("slaveID", "must be 1 to 247") }
            settings.slaveID = Int32(slave)
        }
        settings.rs485 = try config.bool("rs485") ?? false
        if let rts = try config.string("rts") {
            guard let mode = ModbusRTSMode(rawValue: rts) else { throw config.error("rts", "expected none, up or down") }
            settings.rts = mode
        }
        if let timeout = try config.integer("responseTimeout") {
            guard (10...10_000).contains(timeout) else { throw config.error("responseTimeout", "must be 10 to 10000 milliseconds") }
            settings.responseTimeoutMilliseconds = timeout
        }
        if let timeout = try config.integer("byteTimeout") {
            guard (1...1_000).contains(timeout) else { throw config.error("byteTimeout", "must be 1 to 1000 milliseconds") }
            settings.byteTimeoutMilliseconds = timeout
        }
        if let retries = try config.integer("retries") {
            guard (0...10).contains(retries) else { throw config.error("retries", "must be 0 to 10") }
            settings.retries = Int(retries)
        }
        return settings
    }
}

public enum ModbusRTSMode: String, Sendable {
    case none
    case up
    case down
}
