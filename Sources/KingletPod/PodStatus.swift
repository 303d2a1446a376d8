/// A pod's status as the agent reports it (Kubernetes' PodStatus). Times are Unix
/// nanoseconds (wall clock); 0 means unset.
public struct PodStatus: Equatable {
    public var phase: PodPhase
    public var conditions: [PodCondition]
    public var initContainerStatuses: [ContainerStatus]
    public var containerStatuses: [ContainerStatus]
    public var startTime: Int64
    public var hostIP: String
    public var podIP: String
    public var reason: String
    public var message: String

    public init(phase: PodPhase = .pending, conditions: [PodCondition] = [], initContainerStatuses: [ContainerStatus] = [],
                containerStatuses: [ContainerStatus] = [], startTime: Int64 = 0, hostIP: String = "", podIP: String = "",
                reason: String = "", message: String = "") {
        self.phase = phase
        self.conditions = conditions
        self.initContainerStatuses = initContainerStatuses
        self.containerStatuses = containerStatuses
        self.startTime = startTime
        self.hostIP = hostIP
        self.podIP = podIP
        self.reason = reason
        self.message = message
    }
}

public enum PodPhase: String, Equatable {
    case pending = "Pending"
    case running = "Running"
    case succeeded = "Succeeded"
    case failed = "Failed"
    case unknown = "Unknown"
}

public struct PodCondition: Equatable {
    /// PodScheduled, Initialized, ContainersReady, Ready.
    public var type: String
    public var isTrue: Bool
    public var lastTransitionTime: Int64
    public var reason: String
    public var message: String

    public init(type: String, isTrue: Bool, lastTransitionTime: Int64, reason: String = "", message: String = "") {
        self.type = type
        self.isTrue = isTrue
        self.lastTransitionTime = lastTransitionTime
        self.reason = reason
        self.message = message
    }
}

/// Exactly one of waiting, running or terminated, as in the API.
public enum ContainerState: Equatable {
    case waiting(reason: String, message: String)
    case running(startedAt: Int64)
    case terminated(exitCode: Int32, signal: Int32, reason: String, message: String, startedAt: Int64, finishedAt: Int64)

    public var isRunning: Bool {
        if case .running = self { return true }
        return false
    }
}

public struct ContainerStatus: Equatable {
    public var name: String
    public var image: String
    /// "exec://<pid>" for the exec runtime; empty before the first start.
    public var containerID: String
    public var state: ContainerState
    public var lastState: ContainerState?
    public var ready: Bool
    public var started: Bool
    public var restartCount: Int32
    /// What the runtime applied for the resource limits (cgroup v2, rlimit or none).
    public var appliedLimits: String

    public init(name: String, image: String, containerID: String = "", state: ContainerState, lastState: ContainerState? = nil,
                ready: Bool = false, started: Bool = false, restartCount: Int32 = 0, appliedLimits: String = "") {
        self.name = name
        self.image = image
        self.containerID = containerID
        self.state = state
        self.lastState = lastState
        self.ready = ready
        self.started = started
        self.restartCount = restartCount
        self.appliedLimits = appliedLimits
    }
}
