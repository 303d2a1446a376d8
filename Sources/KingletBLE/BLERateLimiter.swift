import KingletCore

/// Our own per-device limit on advertising reports, so one chatty device (or a flood of
/// random addresses) cannot flood the agent's loop. Advertisements and scan responses are
/// limited separately: a scan response arrives milliseconds after its advertisement and
/// carries different data.
public struct BLERateLimiter: Sendable {
    public let minimumInterval: Duration
    public let maximumTrackedDevices: Int
    private var lastAccepted: [UInt64: Instant] = [:]

    public private(set) var accepted = 0
    /// Reports that came sooner than `minimumInterval` after the last accepted one.
    public private(set) var limited = 0
    /// Reports dropped because more than `maximumTrackedDevices` devices spoke within one
    /// interval (a flood of rotating addresses).
    public private(set) var droppedTableFull = 0

    public init(minimumInterval: Duration, maximumTrackedDevices: Int = 512) {
        self.minimumInterval = minimumInterval
        self.maximumTrackedDevices = max(1, maximumTrackedDevices)
    }

    public var trackedDevices: Int { lastAccepted.count }

    /// True when the report should be passed on; records it as accepted.
    public mutating func admit(address: BLEAddress, scanResponse: Bool, now: Instant) -> Bool {
        if minimumInterval <= .zero {
            accepted += 1
            return true
        }
        let key = address.rawValue | (scanResponse ? 1 << 48 : 0)
        if let last = lastAccepted[key], now.since(last) < minimumInterval {
            limited += 1
            return false
        }
        if lastAccepted[key] == nil && lastAccepted.count >= maximumTrackedDevices {
            // Entries older than the interval would be admitted anyway: forget them.
            lastAccepted = lastAccepted.filter { now.since($0.value) < minimumInterval }
            if lastAccepted.count >= maximumTrackedDevices {
                droppedTableFull += 1
                return false
            }
        }
        lastAccepted[key] = now
        accepted += 1
        return true
    }

    public mutating func reset() { lastAccepted.removeAll() }
}
