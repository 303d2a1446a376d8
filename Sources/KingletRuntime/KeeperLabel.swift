import CKingletSystem
import KingletCore

/// What the agent writes on a kept container's record so that a later agent can take it
/// over: the pod spec it was started for, when, where its log goes, and what limits were
/// applied. One field per line; the keeper never reads it.
struct KeeperLabel: Equatable {
    var specHash: UInt64
    /// Wall-clock nanoseconds (status's startedAt).
    var startedAt: Int64
    /// The pod's terminationGracePeriodSeconds: how long it gets to stop if its pod is gone
    /// when the next agent starts.
    var graceSeconds: Int64
    var logPath: String
    var limits: String
    /// A runtime's own note (the OCI root's mode).
    var extra: String = ""

    static let marker = "kinglet-label-1"

    /// For a record whose label this agent cannot read.
    static let unknown = KeeperLabel(specHash: 0, startedAt: 0, graceSeconds: 30, logPath: "/dev/null", limits: "")

    /// Log limits for a held container being stopped: its log's, or none at all for
    /// /dev/null (never rotated: a rename there would replace the device).
    var stoppingLogLimits: LogLimits {
        logPath.isEmpty || logPath == "/dev/null" ? LogLimits(maxBytesPerFile: Int64.max, maxFiles: 1) : LogLimits()
    }

    /// When the container started, on the loop's clock (`ranFor` counts from it).
    func startInstant(now: Instant) -> Instant {
        Instant(nanoseconds: now.nanoseconds - max(0, kinglet_realtime_ns() - startedAt))
    }

    /// How long a held container no pod adopted gets after SIGTERM.
    var gracePeriod: Duration { .seconds(graceSeconds) }

    var text: String {
        KeeperLabel.marker + "\n" + String(specHash, radix: 16) + "\n" + String(startedAt) + "\n" + String(graceSeconds)
            + "\n" + logPath + "\n" + limits + "\n" + extra
    }

    /// nil for a label this agent does not understand (from another version).
    init?(_ text: String) {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.count == 7, lines[0] == Substring(KeeperLabel.marker), let hash = UInt64(lines[1], radix: 16),
              let startedAt = Int64(lines[2]), let grace = Int64(lines[3]) else { return nil }
        self.init(specHash: hash, startedAt: startedAt, graceSeconds: grace, logPath: String(lines[4]),
                  limits: String(lines[5]), extra: String(lines[6]))
    }

    init(specHash: UInt64, startedAt: Int64, graceSeconds: Int64, logPath: String, limits: String, extra: String = "") {
        self.specHash = specHash
        self.startedAt = startedAt
        self.graceSeconds = max(0, graceSeconds)
        self.logPath = logPath
        self.limits = limits
        // One field per line: a newline inside one would shift the others.
        self.extra = extra
        if logPath.utf8.contains(10) { self.logPath = "" }
        if limits.utf8.contains(10) { self.limits = "" }
        if extra.utf8.contains(10) { self.extra = "" }
    }
}

/// A container an earlier agent started, taken over by this one.
public struct AdoptedContainer: Sendable {
    public let pid: Int32
    /// Wall-clock nanoseconds, as first reported.
    public let startedAt: Int64
    /// The applied limits, as first described.
    public let limits: String

    public init(pid: Int32, startedAt: Int64, limits: String) {
        self.pid = pid
        self.startedAt = startedAt
        self.limits = limits
    }
}
