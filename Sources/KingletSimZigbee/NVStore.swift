/// The stick's non-volatile memory: OSAL NV items (Z-Stack 3.0.x and the LEGACY table of
/// 3.x.0's NV driver) and the 3.x.0 extended tables, kept in memory for the process's life.
///
/// Item ids: zigpy-znp types/nvids.py (`OsalNvIds`, `ExNvIds`). Item semantics follow OSAL's
/// NV API (osal_nv_item_init / read / write / delete) as TI documents it; where zigpy-znp's
/// recorded device behaviour (tests/conftest.py) is more specific, that is used and noted.

/// OSAL NV item ids the simulator knows by name (types/nvids.py `OsalNvIds`).
public enum NVItemID {
    public static let extAddr: UInt16 = 0x0001
    public static let startupOption: UInt16 = 0x0003
    public static let nib: UInt16 = 0x0021
    public static let extendedPANID: UInt16 = 0x002D
    public static let nwkActiveKeyInfo: UInt16 = 0x003A
    public static let nwkAlternKeyInfo: UInt16 = 0x003B
    public static let apsUseExtPANID: UInt16 = 0x0047
    public static let bdbNodeIsOnANetwork: UInt16 = 0x0055
    public static let preconfiguredKey: UInt16 = 0x0062
    public static let preconfiguredKeysEnable: UInt16 = 0x0063
    public static let networkKey: UInt16 = 0x0082
    public static let panID: UInt16 = 0x0083
    public static let channelList: UInt16 = 0x0084
    public static let logicalType: UInt16 = 0x0087
    public static let zdoDirectCallback: UInt16 = 0x008F
    public static let tclkSeed: UInt16 = 0x0101
    /// Z-Stack 3.0.x keeps the network frame counters in OSAL items 0x0075 ... 0x0080.
    public static let legacySecurityMaterialStart: UInt16 = 0x0075
    public static let legacySecurityMaterialEnd: UInt16 = 0x0080
    /// Z-Stack 3.x.0 keeps them in extended item 0x0007 (`ExNvIds.NWK_SEC_MATERIAL_TABLE`).
    public static let securityMaterialTable: UInt16 = 0x0007
}

/// STARTUP_OPTION bits (types/named.py `StartupOptions`), applied at the next reset.
struct StartupOptions: OptionSet {
    let rawValue: UInt8
    /// Bit 0: restore every configuration item to its default.
    static let clearConfig = StartupOptions(rawValue: 1 << 0)
    /// Bit 1: forget the network (the stick is no longer on one).
    static let clearState = StartupOptions(rawValue: 1 << 1)
}

/// One NV item address. OSAL id N is (item 0 = LEGACY, sub N) in 3.x.0's NV driver, so both
/// command families see the same bytes (zigpy-znp nvram.py, `NVRAMHelper.read`).
struct NVKey: Hashable {
    var item: UInt16
    var sub: UInt16

    static func osal(_ id: UInt16) -> NVKey { NVKey(item: 0x0000, sub: id) }
}

struct NVStore {
    private(set) var items: [NVKey: [UInt8]] = [:]

    init(ieee: IEEEAddress, alignedStructs: Bool) {
        restoreConfigDefaults(ieee: ieee, alignedStructs: alignedStructs)
        items[.osal(NVItemID.bdbNodeIsOnANetwork)] = [0x00]
    }

    /// Z-Stack's compiled-in defaults (ZGlobals / f8wConfig): PAN 0xFFFF (pick one at
    /// formation), channel 11, extended PAN id unset (use the IEEE address), coordinator.
    mutating func restoreConfigDefaults(ieee: IEEEAddress, alignedStructs: Bool) {
        items[.osal(NVItemID.extAddr)] = ieee.littleEndianBytes
        items[.osal(NVItemID.startupOption)] = [0x00]
        items[.osal(NVItemID.panID)] = [0xFF, 0xFF]
        items[.osal(NVItemID.channelList)] = [0x00, 0x08, 0x00, 0x00]
        items[.osal(NVItemID.extendedPANID)] = [UInt8](repeating: 0x00, count: 8)
        items[.osal(NVItemID.apsUseExtPANID)] = [UInt8](repeating: 0x00, count: 8)
        items[.osal(NVItemID.logicalType)] = [0x00]
        items[.osal(NVItemID.preconfiguredKey)] = NetworkParameters.defaultNetworkKey
        items[.osal(NVItemID.preconfiguredKeysEnable)] = [0x00]
        items[.osal(NVItemID.zdoDirectCallback)] = [0x00]
        items[.osal(NVItemID.tclkSeed)] = [UInt8](repeating: 0x00, count: 16)
        let noKey = [UInt8](repeating: 0x00, count: 17)
        items[.osal(NVItemID.nwkActiveKeyInfo)] = noKey
        items[.osal(NVItemID.nwkAlternKeyInfo)] = noKey
        items[.osal(NVItemID.networkKey)] = Self.networkKeyItem(key: noKey, frameCounter: 0, aligned: alignedStructs)
    }

    func value(_ key: NVKey) -> [UInt8]? { items[key] }
    func osal(_ id: UInt16) -> [UInt8]? { items[.osal(id)] }

    mutating func set(_ key: NVKey, _ value: [UInt8]) { items[key] = value }
    mutating func setOSAL(_ id: UInt16, _ value: [UInt8]) { items[.osal(id)] = value }

    mutating func remove(_ key: NVKey) { items[key] = nil }

    /// osal_nv_item_init: SUCCESS when the item already exists (left untouched),
    /// NV_ITEM_UNINIT when it was created; the part past InitData reads as erased flash (0xFF).
    mutating func initialize(_ key: NVKey, length: Int, initialData: [UInt8]) -> ZStatus {
        if items[key] != nil { return .success }
        guard initialData.count <= length else { return .invalidParameter }
        items[key] = initialData + [UInt8](repeating: 0xFF, count: length - initialData.count)
        return .nvItemUninitialized
    }

    /// Writes `data` at `offset`; a missing item is INVALID_PARAMETER (as zigpy-znp recorded for
    /// MT), a write past the item's end NV_OPER_FAILED (osal_nv_write).
    mutating func write(_ key: NVKey, offset: Int, data: [UInt8]) -> ZStatus {
        guard var value = items[key] else { return .invalidParameter }
        guard offset + data.count <= value.count else { return .nvOperationFailed }
        value.replaceSubrange(offset..<offset + data.count, with: data)
        items[key] = value
        return .success
    }

    /// The NWKKEY item: `nwkActiveKeyItems_t` (key descriptor, then a u32 frame counter that
    /// the CC2652's 32-bit layout aligns with three 0xFF bytes; types/structs.py).
    static func networkKeyItem(key descriptor: [UInt8], frameCounter: UInt32, aligned: Bool) -> [UInt8] {
        var writer = ByteWriter(aligned: aligned, padding: 0xFF)
        writer.append(descriptor)
        writer.u32(frameCounter)
        writer.finishStruct()
        return writer.bytes
    }
}

/// The network the stick runs once formed.
public struct NetworkParameters: Equatable, Sendable {
    /// Z-Stack's DEFAULT_KEY (and zigbee-herdsman's default network key).
    public static let defaultNetworkKey: [UInt8] = [0x01, 0x03, 0x05, 0x07, 0x09, 0x0B, 0x0D, 0x0F,
                                                    0x00, 0x02, 0x04, 0x06, 0x08, 0x0A, 0x0C, 0x0D]
    public var panID: UInt16
    public var extendedPANID: IEEEAddress
    public var channel: UInt8
    public var channelMask: UInt32
    public var networkKey: [UInt8]

    public init(panID: UInt16, extendedPANID: IEEEAddress, channel: UInt8, channelMask: UInt32, networkKey: [UInt8]) {
        self.panID = panID
        self.extendedPANID = extendedPANID
        self.channel = channel
        self.channelMask = channelMask
        self.networkKey = networkKey
    }
}

/// The NIB (`nwkIB_t`) as Z-Stack stores it in NV item 0x0021, field for field as zigpy-znp
/// types/structs.py `NIB` reads it. Constant fields carry the values zigpy-znp recorded from
/// real coordinators (tests/conftest.py `_default_nib`).
enum NetworkInformationBase {
    /// `nwkState` NWK_ROUTER: the coordinator is up (types/structs.py `NwkState`).
    static let nwkStateRouter: UInt8 = 8

    static func encode(_ network: NetworkParameters, aligned: Bool) -> [UInt8] {
        var nib = ByteWriter(aligned: aligned, padding: 0x00)
        // SequenceNum .. CapabilityFlags
        for value: UInt8 in [0, 5, 2, 0, 20, 0, 0, 30, 0, 0, 0, 1, 5, 1, 143] { nib.u8(value) }
        nib.u16(7)                       // TransactionPersistenceTime
        for value: UInt8 in [2, 5, 30] { nib.u8(value) } // protocol version, route discovery/expiry time
        nib.u16(0x0000)                  // nwkDevAddress: the coordinator
        nib.u8(network.channel)          // nwkLogicalChannel
        nib.u16(0x0000)                  // nwkCoordAddress
        nib.append([UInt8](repeating: 0, count: 8)) // nwkCoordExtAddress
        nib.u16(network.panID)           // nwkPanId
        nib.u8(nwkStateRouter)           // nwkState
        nib.u32(network.channelMask)     // channelList
        for value: UInt8 in [15, 15, 0, 0] { nib.u8(value) } // beacon/superframe order, scan duration, battLifeExt
        nib.u32(0)                       // allocatedRouterAddresses
        nib.u32(0)                       // allocatedEndDeviceAddresses
        nib.u8(0)                        // nodeDepth
        nib.ieee(network.extendedPANID)  // extendedPANID
        nib.u8(1)                        // nwkKeyLoaded
        nib.append([UInt8](repeating: 0, count: 34)) // spare1, spare2 (key descriptors)
        for value: UInt8 in [0, 0, 60, 3, 0, 1, 120, 10, 1] { nib.u8(value) } // spare3 .. nwkAllFresh
        nib.u16(0x0000)                  // nwkManagerAddr
        nib.u16(0)                       // nwkTotalTransmissions
        nib.u8(0)                        // nwkUpdateId
        nib.finishStruct()
        return nib.bytes
    }
}
