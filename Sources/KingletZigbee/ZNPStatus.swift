/// A Z-Stack status byte (`ZStatus_t`), as found in SRSPs, AF_DATA_CONFIRM and ZDO
/// responses. One namespace covers the general, NV, APS, NWK and MAC codes (zigpy-znp
/// types/named.py `Status`), so this is a raw value with names for the ones we act on.
public struct ZNPStatus: Hashable, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let success = ZNPStatus(rawValue: 0x00)
    public static let failure = ZNPStatus(rawValue: 0x01)
    public static let invalidParameter = ZNPStatus(rawValue: 0x02)
    /// From SYS_OSAL_NV_ITEM_INIT: the item did not exist and was created (a success).
    /// From SYS_OSAL_NV_READ/WRITE: the item does not exist.
    public static let nvItemUninitialized = ZNPStatus(rawValue: 0x09)
    public static let nvOperationFailed = ZNPStatus(rawValue: 0x0A)
    public static let nvBadItemLength = ZNPStatus(rawValue: 0x0C)
    public static let memoryError = ZNPStatus(rawValue: 0x10)
    public static let bufferFull = ZNPStatus(rawValue: 0x11)
    public static let apsFailure = ZNPStatus(rawValue: 0xB1)
    public static let apsNoAck = ZNPStatus(rawValue: 0xB7)
    /// From AF_REGISTER: the endpoint is registered already.
    public static let apsDuplicateEntry = ZNPStatus(rawValue: 0xB8)
    public static let nwkNoRoute = ZNPStatus(rawValue: 0xCD)
    public static let macChannelAccessFailure = ZNPStatus(rawValue: 0xE1)
    public static let macNoAck = ZNPStatus(rawValue: 0xE9)
    public static let macTransactionExpired = ZNPStatus(rawValue: 0xF0)

    public var isSuccess: Bool { rawValue == 0 }

    public var description: String {
        switch rawValue {
        case 0x00: return "success"
        case 0x01: return "failure"
        case 0x02: return "invalid parameter"
        case 0x09: return "NV item not initialised"
        case 0x0A: return "NV operation failed"
        case 0x0C: return "NV bad item length"
        case 0x10: return "memory error"
        case 0x11: return "buffer full"
        case 0xB1: return "APS failure"
        case 0xB7: return "no APS acknowledgement"
        case 0xB8: return "APS duplicate entry"
        case 0xCD: return "no route to the device"
        case 0xE1: return "MAC channel access failure"
        case 0xE9: return "no MAC acknowledgement"
        case 0xF0: return "MAC transaction expired"
        default: return "status " + ZigbeeHex.format(rawValue)
        }
    }
}

/// Z-Stack NV item ids the start-up reads and writes (Z-Stack ZComDef.h `ZCD_NV_*`;
/// zigpy-znp types/nvids.py `OsalNvIds`).
public enum ZNPNVItem {
    /// Bits applied at the next reset: 0x01 clear config, 0x02 clear network state.
    public static let startupOption: UInt16 = 0x0003
    public static let extendedPANID: UInt16 = 0x002D
    public static let apsUseExtendedPANID: UInt16 = 0x0047
    /// Not a Z-Stack item: the "this stick was configured by a host" flag that zigpy-znp
    /// and zigbee-herdsman both keep at this id, value 0x55. Sharing it means a stick
    /// formed by either of them is recognised (and vice versa).
    public static let hasConfiguredZStack3: UInt16 = 0x0060
    public static let precfgKey: UInt16 = 0x0062
    public static let precfgKeysEnable: UInt16 = 0x0063
    public static let panID: UInt16 = 0x0083
    public static let channelList: UInt16 = 0x0084
    public static let logicalType: UInt16 = 0x0087
    /// When 1, ZDO responses are passed to the host as MT callbacks (ZDO_BIND_RSP, ...).
    public static let zdoDirectCallback: UInt16 = 0x008F

    /// The value written at `hasConfiguredZStack3` once a network is formed.
    public static let configuredMarker: UInt8 = 0x55
}
