import KingletCore

/// What every protocol driver offers the device manager. A driver owns its port or
/// connection, runs on the agent's loop and never blocks it; results come back through
/// `DeviceDriverEvents`.
public protocol DeviceDriver: AnyObject {
    /// Opens the port (or joins the bus) and keeps it open, reopening with back-off when it
    /// fails or vanishes.
    func start()
    /// Closes everything; no event follows.
    func stop()
    /// Reads property `index` now (the manager calls it on the property's collect cycle).
    /// Drivers whose values arrive by themselves (advertisements, reports) may ignore it.
    func collect(property index: Int)
    /// Writes `value` to property `index`; the outcome comes back as `written`.
    func write(property index: Int, value: DeviceValue)
    /// Per-device counters of bad input and failures, for `kinglet status`.
    var counters: DeviceCounters { get }
}

/// The driver's side of the conversation with the manager.
public final class DeviceDriverEvents {
    /// A property's value was read (or arrived).
    public var reported: (_ property: Int, _ value: DeviceValue) -> Void = { _, _ in }
    /// A write finished: nil on success, else why it failed.
    public var written: (_ property: Int, _ failure: String?) -> Void = { _, _ in }
    /// The device answers again, or stopped answering (with the reason).
    public var stateChanged: (_ state: DeviceState, _ reason: String) -> Void = { _, _ in }
    /// A line for the agent's log (logged once per distinct problem by the driver).
    public var log: (_ message: String) -> Void = { _ in }

    public init() {}
}

/// Bad input and failures seen on one device, counted and skipped.
public struct DeviceCounters: Sendable, Equatable {
    public var reads: UInt64 = 0
    public var writes: UInt64 = 0
    public var timeouts: UInt64 = 0
    /// Frames with a bad CRC/FCS, truncated or malformed frames, garbage bytes.
    public var badFrames: UInt64 = 0
    /// Protocol-level refusals: Modbus exceptions, ATT errors, ZCL failure statuses.
    public var deviceErrors: UInt64 = 0
    /// The port vanished or failed and was reopened.
    public var reopens: UInt64 = 0

    public init() {}
}
