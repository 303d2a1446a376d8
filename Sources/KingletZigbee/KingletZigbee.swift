/// KingletZigbee: the agent's side of a TI Z-Stack ZNP coordinator stick (CC2652/CC1352 and
/// CC253x sticks running Z-Stack 3.x). Pure protocol logic with no I/O: the owner feeds the
/// bytes read from the serial port and the time, writes the bytes the coordinator wants
/// written, and wakes it at `nextDeadline`.
///
/// - MT framing (`ZNPFrame`, `ZNPFrameReader`): `FE | LEN | CMD0 | CMD1 | DATA | FCS`,
///   resynchronising on the next 0xFE after noise or a bad FCS.
/// - MT commands (`ZNPRequest` out, `ZNPIncoming` in): the SYS, UTIL, APP_CNF, ZDO and AF
///   commands a coordinator needs.
/// - ZCL (`ZCLHeader`, `ZCLCommand`, `ZCLGlobalRecords`, `ZCLValue`, `ZigbeeReading`):
///   reading attributes and reports, writing, reporting configuration, On/Off and Level.
/// - `ZNPCoordinator`: the state machine that starts the stick as the coordinator of the
///   configured network and then carries requests and device events, with the device table
///   (`ZigbeeDeviceTable`) the owner keeps in its cache.
import KingletCore

/// What the coordinator counted and threw away (beyond the frame reader's counters).
public struct ZNPCoordinatorCounters: Equatable, Sendable {
    /// Frames with a good FCS whose payload was too short for their command.
    public var malformedFrames: UInt64 = 0
    /// Well-formed frames of commands this target does not handle (route indications, ...).
    public var unhandledCommands: UInt64 = 0
    /// SRSPs that answered no SREQ in flight (late after a timeout, or spurious).
    public var unexpectedResponses: UInt64 = 0
    public var requestTimeouts: UInt64 = 0
    /// AF_INCOMING_MSG payloads that were not readable ZCL.
    public var malformedZCL: UInt64 = 0
    /// Readable messages we do not act on (cluster-specific commands from devices, ...).
    public var ignoredMessages: UInt64 = 0
    /// Devices not added because the table was full.
    public var devicesNotRecorded: UInt64 = 0
    /// Events dropped because the owner did not drain them.
    public var droppedEvents: UInt64 = 0

    public init() {}
}
