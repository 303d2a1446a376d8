/// An MT command as its two header bytes: CMD0 = (type << 5) | subsystem, CMD1 = command id.
/// The constants are the commands this target speaks; ids from zigpy-znp commands/{sys,af,
/// zdo,util,app_config,rpc_error}.py, checked against the Z-Stack MT API document.
public struct ZNPCommandID: Hashable, Sendable {
    public let cmd0: UInt8
    public let cmd1: UInt8

    public init(cmd0: UInt8, cmd1: UInt8) {
        self.cmd0 = cmd0
        self.cmd1 = cmd1
    }

    public init(_ type: ZNPCommandType, _ subsystem: ZNPSubsystem, _ id: UInt8) {
        cmd0 = (type.rawValue << 5) | subsystem.rawValue
        cmd1 = id
    }

    public var type: ZNPCommandType? { ZNPCommandType(rawValue: cmd0 >> 5) }
    public var subsystem: ZNPSubsystem? { ZNPSubsystem(rawValue: cmd0 & 0x1F) }
    public var id: UInt8 { cmd1 }

    /// The SRSP that answers this SREQ: same subsystem and id, type 3 (TI SWRA198 "Z-Stack Monitor and
    /// Test API", Command Field; numerically CMD0 + 0x40).
    public var response: ZNPCommandID {
        ZNPCommandID(cmd0: (ZNPCommandType.srsp.rawValue << 5) | (cmd0 & 0x1F), cmd1: cmd1)
    }

    // SYS
    public static let sysResetRequest = ZNPCommandID(.areq, .sys, 0x00)
    public static let sysPing = ZNPCommandID(.sreq, .sys, 0x01)
    public static let sysVersion = ZNPCommandID(.sreq, .sys, 0x02)
    public static let sysNVItemInit = ZNPCommandID(.sreq, .sys, 0x07)
    public static let sysNVRead = ZNPCommandID(.sreq, .sys, 0x08)
    public static let sysNVWrite = ZNPCommandID(.sreq, .sys, 0x09)
    public static let sysResetIndication = ZNPCommandID(.areq, .sys, 0x80)
    // UTIL
    public static let utilGetDeviceInfo = ZNPCommandID(.sreq, .util, 0x00)
    // APP_CNF (Z-Stack 3.x base device behaviour)
    public static let appConfigBDBStartCommissioning = ZNPCommandID(.sreq, .appConfig, 0x05)
    public static let appConfigBDBSetChannel = ZNPCommandID(.sreq, .appConfig, 0x08)
    public static let appConfigBDBCommissioningNotification = ZNPCommandID(.areq, .appConfig, 0x80)
    // ZDO
    public static let zdoActiveEndpointsRequest = ZNPCommandID(.sreq, .zdo, 0x05)
    public static let zdoBindRequest = ZNPCommandID(.sreq, .zdo, 0x21)
    public static let zdoMgmtPermitJoinRequest = ZNPCommandID(.sreq, .zdo, 0x36)
    public static let zdoStartupFromApp = ZNPCommandID(.sreq, .zdo, 0x40)
    public static let zdoActiveEndpointsResponse = ZNPCommandID(.areq, .zdo, 0x85)
    public static let zdoBindResponse = ZNPCommandID(.areq, .zdo, 0xA1)
    public static let zdoMgmtPermitJoinResponse = ZNPCommandID(.areq, .zdo, 0xB6)
    public static let zdoStateChangeIndication = ZNPCommandID(.areq, .zdo, 0xC0)
    public static let zdoEndDeviceAnnounceIndication = ZNPCommandID(.areq, .zdo, 0xC1)
    public static let zdoLeaveIndication = ZNPCommandID(.areq, .zdo, 0xC9)
    public static let zdoTrustCenterDeviceIndication = ZNPCommandID(.areq, .zdo, 0xCA)
    // AF
    public static let afRegister = ZNPCommandID(.sreq, .af, 0x00)
    public static let afDataRequest = ZNPCommandID(.sreq, .af, 0x01)
    public static let afDataConfirm = ZNPCommandID(.areq, .af, 0x80)
    public static let afIncomingMessage = ZNPCommandID(.areq, .af, 0x81)
    // The SRSP a stick sends for an SREQ it cannot parse or does not know.
    public static let rpcError = ZNPCommandID(.srsp, .rpcError, 0x00)

    private static let names: [(ZNPCommandID, String)] = [
        (.sysResetRequest, "SYS_RESET_REQ"), (.sysPing, "SYS_PING"), (.sysVersion, "SYS_VERSION"),
        (.sysNVItemInit, "SYS_OSAL_NV_ITEM_INIT"), (.sysNVRead, "SYS_OSAL_NV_READ"),
        (.sysNVWrite, "SYS_OSAL_NV_WRITE"), (.sysResetIndication, "SYS_RESET_IND"),
        (.utilGetDeviceInfo, "UTIL_GET_DEVICE_INFO"),
        (.appConfigBDBStartCommissioning, "APP_CNF_BDB_START_COMMISSIONING"),
        (.appConfigBDBSetChannel, "APP_CNF_BDB_SET_CHANNEL"),
        (.appConfigBDBCommissioningNotification, "APP_CNF_BDB_COMMISSIONING_NOTIFICATION"),
        (.zdoActiveEndpointsRequest, "ZDO_ACTIVE_EP_REQ"), (.zdoBindRequest, "ZDO_BIND_REQ"),
        (.zdoMgmtPermitJoinRequest, "ZDO_MGMT_PERMIT_JOIN_REQ"),
        (.zdoStartupFromApp, "ZDO_STARTUP_FROM_APP"), (.zdoActiveEndpointsResponse, "ZDO_ACTIVE_EP_RSP"),
        (.zdoBindResponse, "ZDO_BIND_RSP"), (.zdoMgmtPermitJoinResponse, "ZDO_MGMT_PERMIT_JOIN_RSP"),
        (.zdoStateChangeIndication, "ZDO_STATE_CHANGE_IND"),
        (.zdoEndDeviceAnnounceIndication, "ZDO_END_DEVICE_ANNCE_IND"),
        (.zdoLeaveIndication, "ZDO_LEAVE_IND"), (.zdoTrustCenterDeviceIndication, "ZDO_TC_DEV_IND"),
        (.afRegister, "AF_REGISTER"), (.afDataRequest, "AF_DATA_REQUEST"),
        (.afDataConfirm, "AF_DATA_CONFIRM"), (.afIncomingMessage, "AF_INCOMING_MSG"),
        (.rpcError, "RPC_ERROR"),
    ]

    /// The MT name (an SRSP is named after its SREQ with "_SRSP"), or the raw header bytes.
    public var description: String {
        for (command, name) in ZNPCommandID.names where command == self { return name }
        if type == .srsp {
            let request = ZNPCommandID(cmd0: (ZNPCommandType.sreq.rawValue << 5) | (cmd0 & 0x1F), cmd1: cmd1)
            for (command, name) in ZNPCommandID.names where command == request { return name + "_SRSP" }
        }
        return "MT " + ZigbeeHex.format(cmd0) + " " + ZigbeeHex.format(cmd1)
    }
}
