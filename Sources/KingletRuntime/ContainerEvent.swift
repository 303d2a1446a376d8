import KingletCore

/// A container's lifecycle, as the runtime reports it to the pod manager.
public enum ContainerEvent: Sendable {
    case started(ContainerStarted)
    case exited(ContainerExited)
    case failedToStart(ContainerStartFailure)

    public var id: ContainerID {
        switch self {
        case .started(let event): return event.id
        case .exited(let event): return event.id
        case .failedToStart(let event): return event.id
        }
    }
}

/// The process is running.
public struct ContainerStarted: Sendable {
    public let id: ContainerID
    public let pid: Int32
    /// Wall-clock time, nanoseconds since the Unix epoch (status's startedAt).
    public let startedAt: Int64
    public let limits: AppliedLimits

    public init(id: ContainerID, pid: Int32, startedAt: Int64, limits: AppliedLimits) {
        self.id = id
        self.pid = pid
        self.startedAt = startedAt
        self.limits = limits
    }
}

/// The process has exited and been reaped; its output is in the log file.
public struct ContainerExited: Sendable {
    public let id: ContainerID
    public let pid: Int32
    public let status: ProcessExitStatus
    /// Wall-clock time, nanoseconds since the Unix epoch (status's finishedAt).
    public let finishedAt: Int64
    /// How long it ran, on the loop's monotonic clock (for the back-off reset).
    public let ranFor: Duration
    /// Kubernetes' terminated reason: "Completed", "Error" or "OOMKilled".
    public let reason: String
    /// Whether `stop` had been called for it.
    public let stopRequested: Bool
    /// The last failure writing its log (e.g. a full disk), if records were dropped.
    public let logError: String?

    public init(id: ContainerID, pid: Int32, status: ProcessExitStatus, finishedAt: Int64, ranFor: Duration,
                reason: String, stopRequested: Bool, logError: String? = nil) {
        self.id = id
        self.pid = pid
        self.status = status
        self.finishedAt = finishedAt
        self.ranFor = ranFor
        self.reason = reason
        self.stopRequested = stopRequested
        self.logError = logError
    }
}

/// The process could not be started.
public struct ContainerStartFailure: Sendable {
    public let id: ContainerID
    /// Kubernetes' reason: "StartError" when exec failed (missing executable, bad working
    /// directory), "CreateContainerError" when the runtime could not prepare it (log file,
    /// pipes).
    public let reason: String
    /// What went wrong, for the container's status message.
    public let message: String

    public init(id: ContainerID, reason: String, message: String) {
        self.id = id
        self.reason = reason
        self.message = message
    }
}
