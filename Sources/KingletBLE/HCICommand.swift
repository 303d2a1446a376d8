/// An HCI command opcode: OGF in the top 6 bits, OCF in the low 10 (Core Vol 4 Part E §5.4.1).
public struct HCIOpcode: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt16

    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public init(ogf: UInt8, ocf: UInt16) { rawValue = UInt16(ogf & 0x3F) << 10 | (ocf & 0x03FF) }

    public var ogf: UInt8 { UInt8(rawValue >> 10) }
    public var ocf: UInt16 { rawValue & 0x03FF }

    /// Sent by controllers in a Command Complete that only returns command credits.
    public static let noOperation = HCIOpcode(rawValue: 0x0000)
    /// Link Control (OGF 0x01), Core Vol 4 Part E §7.1.6.
    public static let disconnect = HCIOpcode(ogf: 0x01, ocf: 0x0006)
    /// Controller & Baseband (OGF 0x03), §7.3.1 and §7.3.2.
    public static let setEventMask = HCIOpcode(ogf: 0x03, ocf: 0x0001)
    public static let reset = HCIOpcode(ogf: 0x03, ocf: 0x0003)
    /// Informational (OGF 0x04), §7.4.1, §7.4.5, §7.4.6.
    public static let readLocalVersion = HCIOpcode(ogf: 0x04, ocf: 0x0001)
    public static let readBufferSize = HCIOpcode(ogf: 0x04, ocf: 0x0005)
    public static let readBDAddr = HCIOpcode(ogf: 0x04, ocf: 0x0009)
    /// LE Controller (OGF 0x08), §7.8.
    public static let leSetEventMask = HCIOpcode(ogf: 0x08, ocf: 0x0001)
    public static let leReadBufferSize = HCIOpcode(ogf: 0x08, ocf: 0x0002)
    public static let leSetScanParameters = HCIOpcode(ogf: 0x08, ocf: 0x000B)
    public static let leSetScanEnable = HCIOpcode(ogf: 0x08, ocf: 0x000C)
    public static let leCreateConnection = HCIOpcode(ogf: 0x08, ocf: 0x000D)
    public static let leCreateConnectionCancel = HCIOpcode(ogf: 0x08, ocf: 0x000E)
    /// The Filter Accept List (called White List before Core 5.3), §7.8.14 to §7.8.16.
    public static let leReadFilterAcceptListSize = HCIOpcode(ogf: 0x08, ocf: 0x000F)
    public static let leClearFilterAcceptList = HCIOpcode(ogf: 0x08, ocf: 0x0010)
    public static let leAddDeviceToFilterAcceptList = HCIOpcode(ogf: 0x08, ocf: 0x0011)

    public var description: String {
        switch self {
        case .noOperation: return "HCI_NOP"
        case .disconnect: return "HCI_Disconnect"
        case .setEventMask: return "HCI_Set_Event_Mask"
        case .reset: return "HCI_Reset"
        case .readLocalVersion: return "HCI_Read_Local_Version_Information"
        case .readBufferSize: return "HCI_Read_Buffer_Size"
        case .readBDAddr: return "HCI_Read_BD_ADDR"
        case .leSetEventMask: return "HCI_LE_Set_Event_Mask"
        case .leReadBufferSize: return "HCI_LE_Read_Buffer_Size"
        case .leSetScanParameters: return "HCI_LE_Set_Scan_Parameters"
        case .leSetScanEnable: return "HCI_LE_Set_Scan_Enable"
        case .leCreateConnection: return "HCI_LE_Create_Connection"
        case .leCreateConnectionCancel: return "HCI_LE_Create_Connection_Cancel"
        case .leReadFilterAcceptListSize: return "HCI_LE_Read_Filter_Accept_List_Size"
        case .leClearFilterAcceptList: return "HCI_LE_Clear_Filter_Accept_List"
        case .leAddDeviceToFilterAcceptList: return "HCI_LE_Add_Device_To_Filter_Accept_List"
        default: return "HCI opcode 0x" + BLEHex.byte(UInt8(rawValue >> 8)) + BLEHex.byte(UInt8(rawValue & 0xFF))
        }
    }
}

/// LE_Scan_Type of LE Set Scan Parameters.
public enum HCIScanType: UInt8, Sendable {
    /// Listen only: no scan requests, no scan responses.
    case passive = 0x00
    /// Send scan requests, so scan responses (names, more service data) arrive too.
    case active = 0x01
}

/// LE Set Scan Parameters (Core Vol 4 Part E §7.8.10). Interval and window are in units of
/// 0.625 ms, 0x0004...0x4000, window ≤ interval.
public struct HCIScanParameters: Equatable, Sendable {
    public var scanType: HCIScanType
    public var interval: UInt16
    public var window: UInt16
    /// 0x00 public, 0x01 random, 0x02/0x03 resolvable private with fallback.
    public var ownAddressType: UInt8
    /// 0x00 accept all advertisements (except directed ones not to us); 0x01 only those from
    /// devices on the Filter Accept List.
    public var filterPolicy: UInt8

    public init(scanType: HCIScanType = .passive, interval: UInt16 = 0x0010, window: UInt16 = 0x0010,
                ownAddressType: UInt8 = 0x00, filterPolicy: UInt8 = 0x00) {
        self.scanType = scanType
        self.interval = interval
        self.window = window
        self.ownAddressType = ownAddressType
        self.filterPolicy = filterPolicy
    }

    public var isValid: Bool {
        (0x0004...0x4000).contains(interval) && (0x0004...0x4000).contains(window) && window <= interval
            && ownAddressType <= 0x03 && filterPolicy <= 0x03
    }
}

/// LE Create Connection (Core Vol 4 Part E §7.8.12). Intervals in 1.25 ms units, the
/// supervision timeout in 10 ms units, scan timing in 0.625 ms units.
public struct HCIConnectionParameters: Equatable, Sendable {
    public var peer: BLEAddress
    public var peerAddressType: BLEAddressType
    public var scanInterval: UInt16 = 0x0060
    public var scanWindow: UInt16 = 0x0030
    public var ownAddressType: UInt8 = 0x00
    public var connectionIntervalMin: UInt16 = 0x0018
    public var connectionIntervalMax: UInt16 = 0x0028
    public var maxLatency: UInt16 = 0
    public var supervisionTimeout: UInt16 = 0x01F4
    public var minCELength: UInt16 = 0
    public var maxCELength: UInt16 = 0

    public init(peer: BLEAddress, peerAddressType: BLEAddressType) {
        self.peer = peer
        self.peerAddressType = peerAddressType
    }
}

/// The commands this host sends, with their parameters encoded per Core Vol 4 Part E §7.
public enum HCICommand: Equatable, Sendable {
    case reset
    case setEventMask(UInt64)
    case leSetEventMask(UInt64)
    case readBDAddr
    case readLocalVersion
    case readBufferSize
    case leReadBufferSize
    case leSetScanParameters(HCIScanParameters)
    case leSetScanEnable(enable: Bool, filterDuplicates: Bool)
    case leCreateConnection(HCIConnectionParameters)
    case leCreateConnectionCancel
    case disconnect(handle: UInt16, reason: UInt8)
    case leReadFilterAcceptListSize
    case leClearFilterAcceptList
    case leAddDeviceToFilterAcceptList(BLEAddressType, BLEAddress)

    /// Event mask bits this host needs (Core Vol 4 Part E §7.3.1): Disconnection Complete
    /// (bit 4), Hardware Error (bit 15), LE Meta (bit 61).
    public static let hostEventMask: UInt64 = 1 << 4 | 1 << 15 | 1 << 61
    /// LE event mask bits (§7.8.1): LE Connection Complete (bit 0), LE Advertising Report (bit 1).
    public static let hostLEEventMask: UInt64 = 1 << 0 | 1 << 1
    /// Reason for a host-initiated disconnect: Remote User Terminated Connection.
    public static let remoteUserTerminated: UInt8 = 0x13

    public var opcode: HCIOpcode {
        switch self {
        case .reset: return .reset
        case .setEventMask: return .setEventMask
        case .leSetEventMask: return .leSetEventMask
        case .readBDAddr: return .readBDAddr
        case .readLocalVersion: return .readLocalVersion
        case .readBufferSize: return .readBufferSize
        case .leReadBufferSize: return .leReadBufferSize
        case .leSetScanParameters: return .leSetScanParameters
        case .leSetScanEnable: return .leSetScanEnable
        case .leCreateConnection: return .leCreateConnection
        case .leCreateConnectionCancel: return .leCreateConnectionCancel
        case .disconnect: return .disconnect
        case .leReadFilterAcceptListSize: return .leReadFilterAcceptListSize
        case .leClearFilterAcceptList: return .leClearFilterAcceptList
        case .leAddDeviceToFilterAcceptList: return .leAddDeviceToFilterAcceptList
        }
    }

    public var parameters: [UInt8] {
        var out: [UInt8] = []
        switch self {
        case .reset, .readBDAddr, .readLocalVersion, .readBufferSize, .leReadBufferSize, .leCreateConnectionCancel,
             .leReadFilterAcceptListSize, .leClearFilterAcceptList:
            break
        case .leAddDeviceToFilterAcceptList(let type, let address):
            out.append(type.rawValue)
            out.append(contentsOf: address.hciBytes)
        case .setEventMask(let mask), .leSetEventMask(let mask):
            out.bleAppendLE64(mask)
        case .leSetScanParameters(let p):
            out.append(p.scanType.rawValue)
            out.bleAppendLE16(p.interval)
            out.bleAppendLE16(p.window)
            out.append(p.ownAddressType)
            out.append(p.filterPolicy)
        case .leSetScanEnable(let enable, let filterDuplicates):
            out.append(enable ? 1 : 0)
            out.append(filterDuplicates ? 1 : 0)
        case .leCreateConnection(let p):
            out.bleAppendLE16(p.scanInterval)
            out.bleAppendLE16(p.scanWindow)
            out.append(0x00) // Initiator_Filter_Policy: use the peer address below
            out.append(p.peerAddressType.rawValue)
            out.append(contentsOf: p.peer.hciBytes)
            out.append(p.ownAddressType)
            out.bleAppendLE16(p.connectionIntervalMin)
            out.bleAppendLE16(p.connectionIntervalMax)
            out.bleAppendLE16(p.maxLatency)
            out.bleAppendLE16(p.supervisionTimeout)
            out.bleAppendLE16(p.minCELength)
            out.bleAppendLE16(p.maxCELength)
        case .disconnect(let handle, let reason):
            out.bleAppendLE16(handle & 0x0FFF)
            out.append(reason)
        }
        return out
    }

    /// The command as written to the controller, H4 indicator first.
    public var h4Bytes: [UInt8] { HCIH4.command(opcode, parameters: parameters) }

    /// Commands the controller answers with Command Status, finishing later with another
    /// event; the rest are answered with Command Complete (Core Vol 4 Part E §7).
    public var completesWithStatus: Bool {
        switch self {
        case .leCreateConnection, .disconnect: return true
        default: return false
        }
    }
}
