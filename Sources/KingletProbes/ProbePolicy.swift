import KingletCore

/// A probe's timing and thresholds, the fields every Kubernetes probe shares.
public struct ProbePolicy: Equatable, Sendable {
    public let initialDelaySeconds: Int
    public let periodSeconds: Int
    public let timeoutSeconds: Int
    public let successThreshold: Int
    public let failureThreshold: Int

    /// Kubernetes' defaults: no initial delay, every 10 s, 1 s timeout, 1 success, 3
    /// failures. A zero or negative field takes its default, as the API server's defaulting
    /// does for an unset (zero) field; the agent reads specs that never met an API server.
    public init(initialDelaySeconds: Int = 0, periodSeconds: Int = 10, timeoutSeconds: Int = 1,
                successThreshold: Int = 1, failureThreshold: Int = 3) {
        self.initialDelaySeconds = max(initialDelaySeconds, 0)
        self.periodSeconds = periodSeconds > 0 ? periodSeconds : 10
        self.timeoutSeconds = timeoutSeconds > 0 ? timeoutSeconds : 1
        self.successThreshold = successThreshold > 0 ? successThreshold : 1
        self.failureThreshold = failureThreshold > 0 ? failureThreshold : 3
    }

    public var initialDelay: Duration { .seconds(Int64(initialDelaySeconds)) }
    public var period: Duration { .seconds(Int64(periodSeconds)) }
    public var timeout: Duration { .seconds(Int64(timeoutSeconds)) }
}

/// Which of a container's probes a schedule is for; it sets the starting result and what
/// happens after the result settles.
public enum ProbeKind: Equatable, Sendable {
    case liveness
    case readiness
    case startup

    public var name: String {
        switch self {
        case .liveness: return "Liveness"
        case .readiness: return "Readiness"
        case .startup: return "Startup"
        }
    }
}

/// The result the pod manager acts on, as the kubelet's results manager holds it.
public enum ProbeVerdict: Equatable, Sendable {
    /// No verdict yet (a startup probe before its thresholds are met).
    case unknown
    case success
    case failure

    public var name: String {
        switch self {
        case .unknown: return "unknown"
        case .success: return "success"
        case .failure: return "failure"
        }
    }
}
