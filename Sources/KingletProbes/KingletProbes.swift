/// KingletProbes: Kubernetes container probes on the network (tcpSocket, httpGet), run on
/// the agent's one event loop without ever blocking it, and the probe policy (initial
/// delay, period, timeout, thresholds) that decides when a probe runs and when its result
/// flips.
///
/// - `NetworkProbeRunner` runs one attempt at a time: a non-blocking connect, for httpGet a
///   request and the response's status line, all driven by loop callbacks and bounded by a
///   timer. Messages follow the kubelet's wording, so they read the same in events.
/// - `ProbeSchedule` is the policy as a pure value; `ProbeWorker` binds a schedule, a runner
///   (ours or an exec runner) and a loop.
///
/// Hosts are numeric addresses only (IPv4, IPv6 literals): resolving a name blocks, and
/// nothing may block the loop. Exec probes live elsewhere (they spawn processes).
import KingletCore

/// How one probe attempt ended, in the kubelet's terms.
public enum ProbeResult: Equatable, Sendable {
    case success
    /// Counts as success, but deserves an event: the kubelet's `Warning`, given for a
    /// redirect it did not follow.
    case warning
    case failure
}

/// One attempt's result and its message.
public struct ProbeOutcome: Equatable, Sendable {
    public let result: ProbeResult
    /// Empty on success; otherwise worded as the kubelet words it, e.g.
    /// `HTTP probe failed with statuscode: 500`.
    public let message: String

    public init(result: ProbeResult, message: String) {
        self.result = result
        self.message = message
    }

    public static func success(_ message: String = "") -> ProbeOutcome { ProbeOutcome(result: .success, message: message) }
    public static func warning(_ message: String) -> ProbeOutcome { ProbeOutcome(result: .warning, message: message) }
    public static func failure(_ message: String) -> ProbeOutcome { ProbeOutcome(result: .failure, message: message) }

    /// Whether the attempt counts towards the success threshold (a warning does).
    public var succeeded: Bool { result != .failure }

    public var description: String {
        switch result {
        case .success: return message.isEmpty ? "success" : "success: " + message
        case .warning: return "warning: " + message
        case .failure: return "failure: " + message
        }
    }
}

/// Anything that runs probe attempts on the loop: `NetworkProbeRunner` here, the exec
/// runner elsewhere. `ProbeWorker` drives one.
public protocol ProbeRunning: AnyObject {
    /// Starts one attempt bounded by `timeout`. `completion` runs exactly once, on the loop
    /// and never from inside `run` itself, unless `cancel()` is called first.
    func run(timeout: Duration, completion: @escaping (ProbeOutcome) -> Void)
    /// Abandons the running attempt, releasing what it holds; its completion never runs.
    func cancel()
}
