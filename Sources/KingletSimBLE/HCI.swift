/// HCI names and the events the controller builds (Core Vol 4 Part E §5, §7).

/// The commands this controller implements. Opcode = OGF << 10 | OCF (Core Vol 4 Part E §5.4.1).
public enum HCICommand: UInt16, CaseIterable, Sendable {
    /// Link Control (OGF 0x01) Disconnect (§7.1.6).
    case disconnect = 0x0406
    /// Controller & Baseband (OGF 0x03) Set Event Mask (§7.3.1).
    case setEventMask = 0x0C01
    /// Controller & Baseband Reset (§7.3.2).
    case reset = 0x0C03
    /// Informational (OGF 0x04) Read Local Version Information (§7.4.1).
    case readLocalVersionInformation = 0x1001
    /// Read Local Supported Commands (§7.4.2).
    case readLocalSupportedCommands = 0x1002
    /// Read Local Supported Features (§7.4.3).
    case readLocalSupportedFeatures = 0x1003
    /// Read Buffer Size (§7.4.5).
    case readBufferSize = 0x1005
    /// Read BD_ADDR (§7.4.6).
    case readBDAddr = 0x1009
    /// LE (OGF 0x08) Set Event Mask (§7.8.1).
    case leSetEventMask = 0x2001
    /// LE Read Buffer Size [v1] (§7.8.2).
    case leReadBufferSize = 0x2002
    /// LE Read Local Supported Features (§7.8.3).
    case leReadLocalSupportedFeatures = 0x2003
    /// LE Set Random Address (§7.8.4).
    case leSetRandomAddress = 0x2005
    /// LE Set Scan Parameters (§7.8.10).
    case leSetScanParameters = 0x200B
    /// LE Set Scan Enable (§7.8.11).
    case leSetScanEnable = 0x200C
    /// LE Create Connection (§7.8.12).
    case leCreateConnection = 0x200D
    /// LE Create Connection Cancel (§7.8.13).
    case leCreateConnectionCancel = 0x200E
    /// LE Read Filter Accept List Size (§7.8.14).
    case leReadFilterAcceptListSize = 0x200F
    /// LE Clear Filter Accept List (§7.8.15).
    case leClearFilterAcceptList = 0x2010
    /// LE Add Device To Filter Accept List (§7.8.16).
    case leAddDeviceToFilterAcceptList = 0x2011
    /// LE Remove Device From Filter Accept List (§7.8.17).
    case leRemoveDeviceFromFilterAcceptList = 0x2012
    /// LE Rand (§7.8.23).
    case leRand = 0x2018

    /// Octet and bit of the command in the Supported_Commands bit mask (§6.27);
    /// nil for Read Local Supported Commands, which has no bit of its own.
    var supportedCommandsBit: (octet: Int, bit: Int)? {
        switch self {
        case .disconnect: return (0, 5)
        case .setEventMask: return (5, 6)
        case .reset: return (5, 7)
        case .readLocalVersionInformation: return (14, 3)
        case .readLocalSupportedCommands: return nil
        case .readLocalSupportedFeatures: return (14, 5)
        case .readBufferSize: return (14, 7)
        case .readBDAddr: return (15, 1)
        case .leSetEventMask: return (25, 0)
        case .leReadBufferSize: return (25, 1)
        case .leReadLocalSupportedFeatures: return (25, 2)
        case .leSetRandomAddress: return (25, 4)
        case .leSetScanParameters: return (26, 2)
        case .leSetScanEnable: return (26, 3)
        case .leCreateConnection: return (26, 4)
        case .leCreateConnectionCancel: return (26, 5)
        case .leReadFilterAcceptListSize: return (26, 6)
        case .leClearFilterAcceptList: return (26, 7)
        case .leAddDeviceToFilterAcceptList: return (27, 0)
        case .leRemoveDeviceFromFilterAcceptList: return (27, 1)
        case .leRand: return (27, 7)
        }
    }

    /// The exact Parameter_Total_Length each command takes.
    var parameterLength: Int {
        switch self {
        case .disconnect: return 3
        case .setEventMask, .leSetEventMask: return 8
        case .leSetRandomAddress: return 6
        case .leSetScanParameters: return 7
        case .leSetScanEnable: return 2
        case .leCreateConnection: return 25
        case .leAddDeviceToFilterAcceptList, .leRemoveDeviceFromFilterAcceptList: return 7
        default: return 0
        }
    }

    /// Commands answered by Command Status, then a later event; the rest by Command Complete.
    var completesWithStatus: Bool { self == .disconnect || self == .leCreateConnection }

    /// The 64-octet Supported_Commands mask of exactly these commands.
    static var supportedCommandsMask: [UInt8] {
        var mask = [UInt8](repeating: 0, count: 64)
        for c in allCases {
            if let (octet, bit) = c.supportedCommandsBit { mask[octet] |= 1 << bit }
        }
        return mask
    }
}

/// Error codes (Core Vol 1 Part F §1.3).
public enum HCIStatus: UInt8, Sendable {
    case success = 0x00
    case unknownCommand = 0x01
    case unknownConnectionIdentifier = 0x02
    case memoryCapacityExceeded = 0x07
    case connectionLimitExceeded = 0x09
    case connectionAlreadyExists = 0x0B
    case commandDisallowed = 0x0C
    case unsupportedFeatureOrParameterValue = 0x11
    case invalidParameters = 0x12
    case remoteUserTerminatedConnection = 0x13
    case connectionTerminatedByLocalHost = 0x16
}

/// Event codes (Core Vol 4 Part E §7.7).
public enum HCIEventCode: UInt8, Sendable {
    case disconnectionComplete = 0x05
    case commandComplete = 0x0E
    case commandStatus = 0x0F
    case hardwareError = 0x10
    case numberOfCompletedPackets = 0x13
    case dataBufferOverflow = 0x1A
    case leMeta = 0x3E

    /// Bit in the Set Event Mask mask, or nil for events that cannot be masked
    /// (Command Complete, Command Status, Number Of Completed Packets; §7.3.1).
    var maskBit: Int? {
        switch self {
        case .commandComplete, .commandStatus, .numberOfCompletedPackets: return nil
        default: return Int(rawValue) - 1
        }
    }
}

/// LE Meta subevent codes (Core Vol 4 Part E §7.7.65); the LE event mask bit is code − 1.
public enum LESubevent: UInt8, Sendable {
    case connectionComplete = 0x01
    case advertisingReport = 0x02
}

/// Legacy advertising report event types (Core Vol 4 Part E §7.7.65.2).
public enum AdvertisingEventType: UInt8, Sendable {
    /// Connectable and scannable undirected (ADV_IND).
    case advInd = 0x00
    /// Connectable directed (ADV_DIRECT_IND).
    case advDirectInd = 0x01
    /// Scannable undirected (ADV_SCAN_IND).
    case advScanInd = 0x02
    /// Non-connectable undirected (ADV_NONCONN_IND).
    case advNonconnInd = 0x03
    /// Scan Response (SCAN_RSP).
    case scanRsp = 0x04
}

/// Builders for the events this controller sends.
enum HCIEvent {
    /// Command Complete (§7.7.14). Num_HCI_Command_Packets is 1: the Host may send one more.
    static func commandComplete(_ opcode: UInt16, _ returnParameters: [UInt8]) -> H4Packet {
        var w = ByteWriter()
        w.u8(1)
        w.u16(opcode)
        w.append(returnParameters)
        return .event(code: HCIEventCode.commandComplete.rawValue, parameters: w.bytes)
    }

    static func commandComplete(_ opcode: UInt16, status: HCIStatus, _ rest: [UInt8] = []) -> H4Packet {
        commandComplete(opcode, [status.rawValue] + rest)
    }

    /// Command Status (§7.7.15).
    static func commandStatus(_ opcode: UInt16, status: HCIStatus) -> H4Packet {
        var w = ByteWriter()
        w.u8(status.rawValue)
        w.u8(1)
        w.u16(opcode)
        return .event(code: HCIEventCode.commandStatus.rawValue, parameters: w.bytes)
    }

    /// Disconnection Complete (§7.7.5).
    static func disconnectionComplete(handle: UInt16, reason: HCIStatus) -> H4Packet {
        var w = ByteWriter()
        w.u8(HCIStatus.success.rawValue)
        w.u16(handle)
        w.u8(reason.rawValue)
        return .event(code: HCIEventCode.disconnectionComplete.rawValue, parameters: w.bytes)
    }

    /// Hardware Error (§7.7.16); the code is ours to choose.
    static func hardwareError(code: UInt8) -> H4Packet {
        .event(code: HCIEventCode.hardwareError.rawValue, parameters: [code])
    }

    /// Number Of Completed Packets (§7.7.19), one handle.
    static func numberOfCompletedPackets(handle: UInt16, count: UInt16) -> H4Packet {
        var w = ByteWriter()
        w.u8(1)
        w.u16(handle)
        w.u16(count)
        return .event(code: HCIEventCode.numberOfCompletedPackets.rawValue, parameters: w.bytes)
    }

    /// Data Buffer Overflow (§7.7.26), Link_Type 0x01 = ACL.
    static func dataBufferOverflow() -> H4Packet {
        .event(code: HCIEventCode.dataBufferOverflow.rawValue, parameters: [0x01])
    }

    /// LE Connection Complete (§7.7.65.1), Role 0x00 = Central.
    static func leConnectionComplete(status: HCIStatus, handle: UInt16, peerType: UInt8, peer: BDAddress,
                                     interval: UInt16, latency: UInt16, timeout: UInt16) -> H4Packet {
        var w = ByteWriter()
        w.u8(LESubevent.connectionComplete.rawValue)
        w.u8(status.rawValue)
        w.u16(handle)
        w.u8(0x00)
        w.u8(peerType)
        w.append(peer.wireOrder)
        w.u16(interval)
        w.u16(latency)
        w.u16(timeout)
        // Central_Clock_Accuracy is only meaningful on a Peripheral; a Central reports 0x00.
        w.u8(0x00)
        return .event(code: HCIEventCode.leMeta.rawValue, parameters: w.bytes)
    }

    /// LE Advertising Report (§7.7.65.2) with one report.
    static func leAdvertisingReport(type: AdvertisingEventType, addressType: AddressType, address: BDAddress,
                                    data: [UInt8], rssi: Int8) -> H4Packet {
        var w = ByteWriter()
        w.u8(LESubevent.advertisingReport.rawValue)
        w.u8(1)
        w.u8(type.rawValue)
        w.u8(addressType.rawValue)
        w.append(address.wireOrder)
        w.u8(UInt8(data.count))
        w.append(data)
        w.i8(rssi)
        return .event(code: HCIEventCode.leMeta.rawValue, parameters: w.bytes)
    }
}
