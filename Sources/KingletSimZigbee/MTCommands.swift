/// MT command ids, status codes and device states the simulator speaks.
///
/// Every id below was checked against zigpy-znp 1.1.1: zigpy_znp/commands/{sys,af,zdo,util,
/// app_config,sapi,rpc_error}.py (the `CommandDef` ids), types/named.py (`Status`),
/// types/commands.py (`DeviceState`, `MTCapabilities`).

/// SYS subsystem (0x01), commands/sys.py.
enum SYSCommand: UInt8 {
    /// SYS_RESET_REQ, AREQ: Type (0 hard/watchdog, 1 soft).
    case resetReq = 0x00
    /// SYS_PING: → Capabilities u16.
    case ping = 0x01
    /// SYS_VERSION: → TransportRev, ProductId, Major, Minor, Maint, [CodeRevision u32, BootloaderBuildType, BootloaderRevision u32].
    case version = 0x02
    /// SYS_GET_EXTADDR: → IEEE.
    case getExtAddr = 0x04
    /// SYS_OSAL_NV_ITEM_INIT: Id u16, ItemLen u16, InitData (u8 length) → Status.
    case osalNVItemInit = 0x07
    /// SYS_OSAL_NV_READ: Id u16, Offset u8 → Status, Value (u8 length).
    case osalNVRead = 0x08
    /// SYS_OSAL_NV_WRITE: Id u16, Offset u8, Value (u8 length) → Status.
    case osalNVWrite = 0x09
    /// SYS_RANDOM: → u16.
    case random = 0x0C
    /// SYS_OSAL_NV_DELETE: Id u16, ItemLen u16 → Status.
    case osalNVDelete = 0x12
    /// SYS_OSAL_NV_LENGTH: Id u16 → ItemLen u16 (0 when missing).
    case osalNVLength = 0x13
    /// SYS_SET_TX_POWER: TxPower i8 → Status (3.x.0) or applied power (3.0.x).
    case setTxPower = 0x14
    /// SYS_OSAL_NV_READ_EXT: Id u16, Offset u16 → Status, Value (u8 length).
    case osalNVReadExt = 0x1C
    /// SYS_OSAL_NV_WRITE_EXT: Id u16, Offset u16, Value (u16 length) → Status.
    case osalNVWriteExt = 0x1D
    /// SYS_NV_CREATE (3.x.0 NV): SysId, ItemId u16, SubId u16, Length u32 → Status.
    case nvCreate = 0x30
    /// SYS_NV_DELETE: SysId, ItemId u16, SubId u16 → Status.
    case nvDelete = 0x31
    /// SYS_NV_LENGTH: SysId, ItemId u16, SubId u16 → Length u32.
    case nvLength = 0x32
    /// SYS_NV_READ: SysId, ItemId u16, SubId u16, Offset u16, Length u8 → Status, Value (u8 length).
    case nvRead = 0x33
    /// SYS_NV_WRITE: SysId, ItemId u16, SubId u16, Offset u16, Value (u8 length) → Status.
    case nvWrite = 0x34
    /// SYS_RESET_IND, AREQ callback: Reason, TransportRev, ProductId, Major, Minor, Maint.
    case resetInd = 0x80
}

/// AF subsystem (0x04), commands/af.py.
enum AFCommand: UInt8 {
    /// AF_REGISTER: Endpoint, ProfileId, DeviceId, DeviceVersion, LatencyReq, in-clusters, out-clusters → Status.
    case register = 0x00
    /// AF_DATA_REQUEST: DstAddr, DstEndpoint, SrcEndpoint, ClusterId, TSN, Options, Radius, Data (u8 length) → Status.
    case dataRequest = 0x01
    /// AF_DATA_REQUEST_EXT: DstAddrMode + 8-byte address, DstEndpoint, DstPanId, SrcEndpoint, ClusterId, TSN, Options, Radius, Data (u16 length).
    case dataRequestExt = 0x02
    /// AF_DELETE: Endpoint → Status.
    case delete = 0x04
    /// AF_DATA_CONFIRM callback: Status, Endpoint, TSN.
    case dataConfirm = 0x80
    /// AF_INCOMING_MSG callback: GroupId, ClusterId, SrcAddr, SrcEndpoint, DstEndpoint, WasBroadcast,
    /// LQI, SecurityUse, TimeStamp u32, TSN, Data (u8 length), MacSrcAddr, MsgResultRadius.
    case incomingMsg = 0x81
}

/// ZDO subsystem (0x05), commands/zdo.py.
enum ZDOCommand: UInt8 {
    /// ZDO_NODE_DESC_REQ: DstAddr, NWKAddrOfInterest → Status.
    case nodeDescReq = 0x02
    /// ZDO_SIMPLE_DESC_REQ: DstAddr, NWKAddrOfInterest, Endpoint → Status.
    case simpleDescReq = 0x04
    /// ZDO_ACTIVE_EP_REQ: DstAddr, NWKAddrOfInterest → Status.
    case activeEpReq = 0x05
    /// ZDO_BIND_REQ: Dst, Src IEEE, SrcEndpoint, ClusterId, DstAddrMode, DstAddress, [DstEndpoint] → Status.
    case bindReq = 0x21
    /// ZDO_UNBIND_REQ: same fields as ZDO_BIND_REQ → Status.
    case unbindReq = 0x22
    /// ZDO_MGMT_PERMIT_JOIN_REQ: AddrMode, Dst, Duration, TCSignificance → Status.
    case mgmtPermitJoinReq = 0x36
    /// ZDO_MSG_CB_REGISTER: ClusterId → Status.
    case msgCallbackRegister = 0x3E
    /// ZDO_STARTUP_FROM_APP: StartDelay u16 → State (StartupState).
    case startupFromApp = 0x40
    /// ZDO_NODE_DESC_RSP callback: Src, Status, NWK, NodeDescriptor (13 bytes).
    case nodeDescRsp = 0x82
    /// ZDO_SIMPLE_DESC_RSP callback: Src, Status, NWK, Len + SimpleDescriptor.
    case simpleDescRsp = 0x84
    /// ZDO_ACTIVE_EP_RSP callback: Src, Status, NWK, count + endpoints.
    case activeEpRsp = 0x85
    /// ZDO_BIND_RSP callback: Src, Status.
    case bindRsp = 0xA1
    /// ZDO_UNBIND_RSP callback: Src, Status.
    case unbindRsp = 0xA2
    /// ZDO_MGMT_PERMIT_JOIN_RSP callback: Src, Status.
    case mgmtPermitJoinRsp = 0xB6
    /// ZDO_STATE_CHANGE_IND callback: State (DeviceState).
    case stateChangeInd = 0xC0
    /// ZDO_END_DEVICE_ANNCE_IND callback: Src, NWK, IEEE, Capabilities.
    case endDeviceAnnceInd = 0xC1
    /// ZDO_TC_DEV_IND callback: SrcNwk, SrcIEEE, ParentNwk.
    case tcDevInd = 0xCA
}

/// UTIL subsystem (0x07), commands/util.py.
enum UTILCommand: UInt8 {
    /// UTIL_GET_DEVICE_INFO: → Status, IEEE, NWK, DeviceType, DeviceState, count + NWK list.
    case getDeviceInfo = 0x00
    /// UTIL_LED_CONTROL: LED, Mode → Status.
    case ledControl = 0x0A
    /// UTIL_ASSOC_FIND_DEVICE: Index → the raw `associated_devices_t` (28 bytes packed, 36 aligned).
    case assocFindDevice = 0x49
}

/// APP_CNF subsystem (0x0F), commands/app_config.py.
enum AppConfigCommand: UInt8 {
    /// APP_CNF_SET_ALLOWREJOIN_TC_POLICY: AllowRejoin → Status.
    case setAllowRejoinTCPolicy = 0x03
    /// APP_CNF_BDB_START_COMMISSIONING: Mode (bitmap) → Status.
    case bdbStartCommissioning = 0x05
    /// APP_CNF_BDB_SET_CHANNEL: IsPrimary, Channel mask u32 → Status.
    case bdbSetChannel = 0x08
    /// APP_CNF_BDB_SET_TC_REQUIRE_KEY_EXCHANGE: Bool → Status.
    case bdbSetTCRequireKeyExchange = 0x09
    /// APP_CNF_BDB_COMMISSIONING_NOTIFICATION callback: Status, Mode, RemainingModes.
    case bdbCommissioningNotification = 0x80
}

/// SAPI subsystem (0x06), commands/sapi.py.
enum SAPICommand: UInt8 {
    /// ZB_READ_CONFIGURATION: ConfigId → Status, ConfigId, Value (u8 length).
    case readConfiguration = 0x04
    /// ZB_WRITE_CONFIGURATION: ConfigId, Value (u8 length) → Status. (TI's MT API; zigpy-znp's
    /// request schema puts a Status byte first, which the firmware's MT_SapiWriteCfg does not read.)
    case writeConfiguration = 0x05
}

/// RPC error codes of the SRSP on subsystem 0, command 0 (commands/rpc_error.py).
enum RPCErrorCode: UInt8 {
    case invalidSubsystem = 0x01
    case invalidCommandID = 0x02
    case invalidParameter = 0x03
    case invalidLength = 0x04
}

/// Z-Stack status codes (types/named.py `Status`).
enum ZStatus: UInt8 {
    case success = 0x00
    case failure = 0x01
    case invalidParameter = 0x02
    case nvItemUninitialized = 0x09
    case nvOperationFailed = 0x0A
    case nvBadItemLength = 0x0C
    case apsNoAck = 0xB7
    case apsDuplicateEntry = 0xB8
    case nwkInvalidRequest = 0xC2
    case nwkNoRoute = 0xCD
    case macNoAck = 0xE9
}

/// ZDO status codes (zigpy zdo/types.py `Status`).
enum ZDOStatus: UInt8 {
    case success = 0x00
    case deviceNotFound = 0x81
    case invalidEndpoint = 0x82
    case notActive = 0x83
    case notSupported = 0x84
    case noEntry = 0x88
}

/// ZDO device states reported by ZDO_STATE_CHANGE_IND and UTIL_GET_DEVICE_INFO.
public enum DeviceState: UInt8, Sendable {
    case initializedNotStarted = 0x00
    case initializedNotConnected = 0x01
    case discoveringPANs = 0x02
    case startingAsCoordinator = 0x08
    case startedAsCoordinator = 0x09
}

/// APP_CNF BDB commissioning modes (app_config.py `BDBCommissioningMode`).
struct BDBCommissioningMode: OptionSet {
    let rawValue: UInt8
    /// Bit 1: network steering (open the network for joining).
    static let networkSteering = BDBCommissioningMode(rawValue: 1 << 1)
    /// Bit 2: network formation.
    static let networkFormation = BDBCommissioningMode(rawValue: 1 << 2)
    /// Bit 3: finding and binding.
    static let findingBinding = BDBCommissioningMode(rawValue: 1 << 3)
}

/// APP_CNF BDB commissioning status (app_config.py `BDBCommissioningStatus`).
enum BDBCommissioningStatus: UInt8 {
    case success = 0x00
    case inProgress = 0x01
    case noNetwork = 0x02
    case formationFailure = 0x08
    case networkRestored = 0x0D
    case failure = 0x0E
}

/// SYS_PING capability bits (types/commands.py `MTCapabilities`).
struct MTCapabilities: OptionSet {
    let rawValue: UInt16
    static let sys = MTCapabilities(rawValue: 1 << 0)
    static let af = MTCapabilities(rawValue: 1 << 3)
    static let zdo = MTCapabilities(rawValue: 1 << 4)
    static let sapi = MTCapabilities(rawValue: 1 << 5)
    static let util = MTCapabilities(rawValue: 1 << 6)
    static let gp = MTCapabilities(rawValue: 1 << 9)
    static let appConfig = MTCapabilities(rawValue: 1 << 10)
}

/// Names for the stderr log.
enum MTCommandNames {
    static func name(cmd0: UInt8, cmd1: UInt8) -> String {
        let subsystem = cmd0 & 0x1F
        let table: [UInt8: String]
        let prefix: String
        switch subsystem {
        case MTSubsystem.rpcError.rawValue: return "RPC_ERROR"
        case MTSubsystem.sys.rawValue:
            prefix = "SYS_"
            table = [0x00: "RESET_REQ", 0x01: "PING", 0x02: "VERSION", 0x04: "GET_EXTADDR", 0x07: "OSAL_NV_ITEM_INIT",
                     0x08: "OSAL_NV_READ", 0x09: "OSAL_NV_WRITE", 0x0C: "RANDOM", 0x12: "OSAL_NV_DELETE",
                     0x13: "OSAL_NV_LENGTH", 0x14: "SET_TX_POWER", 0x1C: "OSAL_NV_READ_EXT", 0x1D: "OSAL_NV_WRITE_EXT",
                     0x30: "NV_CREATE", 0x31: "NV_DELETE", 0x32: "NV_LENGTH", 0x33: "NV_READ", 0x34: "NV_WRITE",
                     0x80: "RESET_IND"]
        case MTSubsystem.af.rawValue:
            prefix = "AF_"
            table = [0x00: "REGISTER", 0x01: "DATA_REQUEST", 0x02: "DATA_REQUEST_EXT", 0x04: "DELETE",
                     0x80: "DATA_CONFIRM", 0x81: "INCOMING_MSG"]
        case MTSubsystem.zdo.rawValue:
            prefix = "ZDO_"
            table = [0x02: "NODE_DESC_REQ", 0x04: "SIMPLE_DESC_REQ", 0x05: "ACTIVE_EP_REQ", 0x21: "BIND_REQ",
                     0x22: "UNBIND_REQ", 0x36: "MGMT_PERMIT_JOIN_REQ", 0x3E: "MSG_CB_REGISTER", 0x40: "STARTUP_FROM_APP",
                     0x82: "NODE_DESC_RSP", 0x84: "SIMPLE_DESC_RSP", 0x85: "ACTIVE_EP_RSP", 0xA1: "BIND_RSP",
                     0xA2: "UNBIND_RSP", 0xB6: "MGMT_PERMIT_JOIN_RSP", 0xC0: "STATE_CHANGE_IND",
                     0xC1: "END_DEVICE_ANNCE_IND", 0xCA: "TC_DEV_IND"]
        case MTSubsystem.sapi.rawValue:
            prefix = "ZB_"
            table = [0x04: "READ_CONFIGURATION", 0x05: "WRITE_CONFIGURATION"]
        case MTSubsystem.util.rawValue:
            prefix = "UTIL_"
            table = [0x00: "GET_DEVICE_INFO", 0x0A: "LED_CONTROL", 0x49: "ASSOC_FIND_DEVICE"]
        case MTSubsystem.appConfig.rawValue:
            prefix = "APP_CNF_"
            table = [0x03: "SET_ALLOWREJOIN_TC_POLICY", 0x05: "BDB_START_COMMISSIONING", 0x08: "BDB_SET_CHANNEL",
                     0x09: "BDB_SET_TC_REQUIRE_KEY_EXCHANGE", 0x80: "BDB_COMMISSIONING_NOTIFICATION"]
        default:
            return "SUBSYS_\(hex2(subsystem))_\(hex2(cmd1))"
        }
        return prefix + (table[cmd1] ?? "CMD_\(hex2(cmd1))")
    }
}
