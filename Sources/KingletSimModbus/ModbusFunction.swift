/// The Modbus function codes this simulator names in its log and frames in the shuttle
/// (Modbus Application Protocol V1.1b3 §6; protocols.md §3).
enum ModbusFunction: UInt8 {
    case readCoils = 0x01
    case readDiscreteInputs = 0x02
    case readHoldingRegisters = 0x03
    case readInputRegisters = 0x04
    case writeSingleCoil = 0x05
    case writeSingleRegister = 0x06
    case readExceptionStatus = 0x07
    case writeMultipleCoils = 0x0F
    case writeMultipleRegisters = 0x10
    case reportServerID = 0x11
    case maskWriteRegister = 0x16
    case readWriteMultipleRegisters = 0x17

    /// The response's function code has this bit set when it carries an exception code.
    static let exceptionFlag: UInt8 = 0x80

    /// Requests that change coils or holding registers (they trigger a `--state` write).
    var writes: Bool {
        switch self {
        case .writeSingleCoil, .writeSingleRegister, .writeMultipleCoils, .writeMultipleRegisters,
             .maskWriteRegister, .readWriteMultipleRegisters:
            return true
        default:
            return false
        }
    }

    var name: String {
        switch self {
        case .readCoils: return "read coils"
        case .readDiscreteInputs: return "read discrete inputs"
        case .readHoldingRegisters: return "read holding registers"
        case .readInputRegisters: return "read input registers"
        case .writeSingleCoil: return "write single coil"
        case .writeSingleRegister: return "write single register"
        case .readExceptionStatus: return "read exception status"
        case .writeMultipleCoils: return "write multiple coils"
        case .writeMultipleRegisters: return "write multiple registers"
        case .reportServerID: return "report server id"
        case .maskWriteRegister: return "mask write register"
        case .readWriteMultipleRegisters: return "read/write multiple registers"
        }
    }
}

/// Where a response frame ends. libmodbus writes each response with one write(2), but a
/// read on the pty master may still see it split or (never in practice) joined, so the
/// shuttle frames responses by their RTU length and falls back to the idle gap only for
/// functions whose response length it does not know.
enum ResponseFrame: Equatable {
    /// The frame is this many bytes long (address … CRC).
    case length(Int)
    /// Not enough bytes yet to tell.
    case needMore
    /// A function whose response length is not known here: end the frame at the idle gap.
    case unknown

    static func measure(_ bytes: ArraySlice<UInt8>) -> ResponseFrame {
        guard bytes.count >= 2 else { return .needMore }
        let function = bytes[bytes.startIndex + 1]
        // Exception: address, function|0x80, code, CRC(2).
        if function & ModbusFunction.exceptionFlag != 0 { return .length(5) }
        switch ModbusFunction(rawValue: function) {
        case .readCoils, .readDiscreteInputs, .readHoldingRegisters, .readInputRegisters,
             .reportServerID, .readWriteMultipleRegisters:
            // Address, function, byte count, data, CRC(2).
            guard bytes.count >= 3 else { return .needMore }
            return .length(5 + Int(bytes[bytes.startIndex + 2]))
        case .writeSingleCoil, .writeSingleRegister, .writeMultipleCoils, .writeMultipleRegisters:
            // Address, function, address/start, value/quantity, CRC(2).
            return .length(8)
        case .maskWriteRegister:
            return .length(10)
        case .readExceptionStatus:
            return .length(5)
        case nil:
            return .unknown
        }
    }
}

/// One line describing a request for `--verbose`: the function, its address and quantity
/// or value when the function has them, and the bytes.
func describeRequest(_ bytes: ArraySlice<UInt8>) -> String {
    let hex = bytes.map { byte in String(byte, radix: 16, uppercase: true).leftPadded(2) }.joined(separator: " ")
    guard bytes.count >= 2 else { return "[\(hex)]" }
    let base = bytes.startIndex
    let slave = bytes[base]
    let code = bytes[base + 1]
    guard let function = ModbusFunction(rawValue: code) else {
        return "slave \(slave) function 0x\(String(code, radix: 16)) [\(hex)]"
    }
    var text = "slave \(slave) \(function.name)"
    if bytes.count >= 6 {
        let first = Int(bytes[base + 2]) << 8 | Int(bytes[base + 3])
        let second = Int(bytes[base + 4]) << 8 | Int(bytes[base + 5])
        switch function {
        case .writeSingleCoil: text += " addr \(first) \(second == 0xFF00 ? "on" : "off")"
        case .writeSingleRegister: text += " addr \(first) value \(second)"
        case .readExceptionStatus, .reportServerID: break
        default: text += " addr \(first) qty \(second)"
        }
    }
    return text + " [\(hex)]"
}

extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
