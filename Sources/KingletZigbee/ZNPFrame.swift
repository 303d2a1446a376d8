/// The kind of an MT command, the top three bits of CMD0 (TI SWRA198, Command Field).
public enum ZNPCommandType: UInt8, Sendable {
    /// Host polls for queued data (SPI only; never seen on a UART).
    case poll = 0
    /// Synchronous request: the stick answers with exactly one SRSP before the next SREQ.
    case sreq = 1
    /// Asynchronous request or indication: no answer expected.
    case areq = 2
    /// Synchronous response to an SREQ.
    case srsp = 3

    public var description: String {
        switch self {
        case .poll: return "POLL"
        case .sreq: return "SREQ"
        case .areq: return "AREQ"
        case .srsp: return "SRSP"
        }
    }
}

/// The MT subsystem, the low five bits of CMD0 (zigpy-znp types/commands.py `Subsystem`).
public enum ZNPSubsystem: UInt8, Sendable {
    /// SRSP with this subsystem and command 0 is the RPC error: the stick did not
    /// understand an SREQ.
    case rpcError = 0x00
    case sys = 0x01
    case mac = 0x02
    case nwk = 0x03
    case af = 0x04
    case zdo = 0x05
    case sapi = 0x06
    case util = 0x07
    case debug = 0x08
    case app = 0x09
    case ota = 0x0A
    case znp = 0x0B
    case ubl = 0x0D
    case appConfig = 0x0F
    case zgp = 0x15

    public var description: String {
        switch self {
        case .rpcError: return "RPC_ERROR"
        case .sys: return "SYS"
        case .mac: return "MAC"
        case .nwk: return "NWK"
        case .af: return "AF"
        case .zdo: return "ZDO"
        case .sapi: return "SAPI"
        case .util: return "UTIL"
        case .debug: return "DEBUG"
        case .app: return "APP"
        case .ota: return "OTA"
        case .znp: return "ZNP"
        case .ubl: return "UBL"
        case .appConfig: return "APP_CNF"
        case .zgp: return "ZGP"
        }
    }
}

/// One MT frame on the UART: `FE | LEN | CMD0 | CMD1 | DATA | FCS` (SWRA198 General Serial Packet; zigpy-znp
/// frames.py). FCS is the XOR of LEN, CMD0, CMD1 and DATA; LEN counts DATA only, at most 250.
public struct ZNPFrame: Equatable, Sendable {
    public static let startOfFrame: UInt8 = 0xFE
    public static let maximumDataLength = 250
    /// SOF, LEN, CMD0, CMD1 and FCS around the data.
    public static let overhead = 5

    public var cmd0: UInt8
    public var cmd1: UInt8
    public var data: [UInt8]

    public init(cmd0: UInt8, cmd1: UInt8, data: [UInt8] = []) {
        self.cmd0 = cmd0
        self.cmd1 = cmd1
        self.data = data
    }

    public init(_ command: ZNPCommandID, data: [UInt8] = []) {
        self.init(cmd0: command.cmd0, cmd1: command.cmd1, data: data)
    }

    /// The command this frame carries, whether or not this target knows it.
    public var command: ZNPCommandID { ZNPCommandID(cmd0: cmd0, cmd1: cmd1) }
    public var type: ZNPCommandType? { command.type }
    public var subsystem: ZNPSubsystem? { command.subsystem }

    /// The frame on the wire. Fails only when DATA is longer than 250 bytes.
    public func encoded() throws(ZNPError) -> [UInt8] {
        var bytes: [UInt8] = []
        try encode(appendingTo: &bytes)
        return bytes
    }

    /// Appends the frame on the wire to `bytes` (the coordinator's reused output buffer).
    public func encode(appendingTo bytes: inout [UInt8]) throws(ZNPError) {
        try ZNPFrame.encode(command: command, data: data[...], appendingTo: &bytes)
    }

    static func encode(
        command: ZNPCommandID, data: ArraySlice<UInt8>, appendingTo bytes: inout [UInt8]
    ) throws(ZNPError) {
        guard data.count <= maximumDataLength else {
            throw .dataTooLong(command: command, length: data.count)
        }
        let length = UInt8(truncatingIfNeeded: data.count)
        var fcs = length ^ command.cmd0 ^ command.cmd1
        bytes.append(startOfFrame)
        bytes.append(length)
        bytes.append(command.cmd0)
        bytes.append(command.cmd1)
        for byte in data {
            bytes.append(byte)
            fcs ^= byte
        }
        bytes.append(fcs)
    }
}
