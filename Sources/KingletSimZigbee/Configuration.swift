/// What kind of stick is simulated, its timings and the faults to inject.

/// The firmware the simulated stick runs. Version numbers are those zigpy-znp recorded from
/// real sticks (tests/conftest.py, `BaseLaunchpadCC26X2R1` and `BaseZStack3CC2531`).
public enum FirmwareProfile: String, CaseIterable, Sendable {
    /// CC2652 with Z-Stack 3.x.0: SYS_VERSION 2/1/2.7.1, 32-bit struct layout, the extended
    /// NV driver (SYS_NV_*).
    case cc2652
    /// CC2531 with Z-Stack 3.0.x: SYS_VERSION 2/2/2.7.2, packed structs, OSAL NV only.
    case cc2531

    var productID: UInt8 { self == .cc2652 ? 1 : 2 }
    var maintenanceRelease: UInt8 { self == .cc2652 ? 1 : 2 }
    var codeRevision: UInt32 { self == .cc2652 ? 20_230_507 : 20_190_425 }
    /// BootloaderBuildType: 0 not a bootloader build (CC2652), 1 built as .bin (CC2531).
    var bootloaderBuildType: UInt8 { self == .cc2652 ? 0 : 1 }
    var bootloaderRevision: UInt32 { self == .cc2652 ? 0xFFFF_FFFF : 0 }
    /// The CC2652 is a 32-bit part: structs MT copies out are aligned (zigpy-znp nvram.py).
    var alignedStructs: Bool { self == .cc2652 }
    var hasExtendedNV: Bool { self == .cc2652 }
}

/// Delays of the simulated stick, in milliseconds.
public struct ZNPTiming: Sendable {
    /// SYS_RESET_REQ to SYS_RESET_IND (the stick reboots; frames in between are lost).
    public var resetMilliseconds: UInt64 = 250
    /// AF_DATA_REQUEST's SRSP to AF_DATA_CONFIRM for a reachable device.
    public var confirmMilliseconds: UInt64 = 15
    /// To AF_DATA_CONFIRM when the destination does not answer (no route, no MAC ack).
    public var failedConfirmMilliseconds: UInt64 = 400
    /// From a request to the device's answer (AF_INCOMING_MSG, ZDO callbacks).
    public var responseMilliseconds: UInt64 = 40
    /// Each step of network formation (ZDO_STATE_CHANGE_IND 0x08 ... 0x09).
    public var formationStepMilliseconds: UInt64 = 120

    public init() {}
}

/// Faults for the agent's robustness tests; each is counted and logged when it fires.
public struct FaultPlan: Equatable, Sendable {
    /// Every Nth frame sent carries a wrong FCS.
    public var badChecksumEvery: Int?
    /// Every Nth frame sent is preceded by garbage bytes (never 0xFE, so a parser that skips
    /// to the next SOF resynchronises on the real frame).
    public var garbageEvery: Int?
    /// After N request frames the stick answers nothing and sends nothing (a hung firmware).
    public var silenceAfter: Int?

    public init(badChecksumEvery: Int? = nil, garbageEvery: Int? = nil, silenceAfter: Int? = nil) {
        self.badChecksumEvery = badChecksumEvery
        self.garbageEvery = garbageEvery
        self.silenceAfter = silenceAfter
    }
}

public struct ZNPConfiguration: Sendable {
    public var firmware: FirmwareProfile = .cc2652
    /// Whether the MT SAPI subsystem (ZB_READ/WRITE_CONFIGURATION) is built in. zigpy-znp's
    /// recordings of Z-Stack 3 sticks report no SAPI (capabilities 0x0659); it is on by default
    /// so hosts can use ZB_*_CONFIGURATION, and --no-sapi reproduces the recordings exactly.
    public var sapiEnabled = true
    /// The coordinator's IEEE address (TI's OUI 00:12:4b).
    public var coordinatorIEEE = IEEEAddress(0x0012_4B00_2A3B_4C5D)
    /// Seconds between a device's reports when its own entry names no interval.
    public var defaultReportInterval: Double = 10
    public var timing = ZNPTiming()
    public var faults = FaultPlan()
    public var seed: UInt64 = 0x5EED
    /// When set, the stick starts with this network already formed in NV (a paired stick).
    public var formedNetwork: NetworkParameters?

    public init() {}
}

enum ZNPLimits {
    /// The largest ZCL frame a device sends in one unfragmented APS frame (Z-Stack's
    /// default maximum ASDU with NWK security is about 82 bytes).
    static let maxZCLPayload = 82
    /// Broadcast NWK addresses: all devices, rx-on-when-idle, routers and coordinator.
    static let broadcastAddresses: Set<UInt16> = [0xFFFF, 0xFFFD, 0xFFFC]
    /// Valid 2.4 GHz channels 11–26 as a mask.
    static let channelMask: UInt32 = 0x07FF_F800
    /// bdbcMinCommissioningTime: network steering opens joining for 180 s (BDB spec §5.1).
    static let steeringSeconds: Double = 180
}
