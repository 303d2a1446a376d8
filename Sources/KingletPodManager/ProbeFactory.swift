import KingletCore
import KingletPod
import KingletProbes
import KingletRuntime

/// Builds a probe worker for a container's probe spec: network probes run here, exec
/// probes through `makeExecRunner` (the runtime runs the command in the container's
/// context, as CRI's ExecSync does).
public struct ProbeFactory {
    let loop: any EventLoop
    let hostIP: String
    let makeExecRunner: (ContainerID, [String]) -> any ProbeRunning

    public init(loop: any EventLoop, hostIP: String, makeExecRunner: @escaping (ContainerID, [String]) -> any ProbeRunning) {
        self.loop = loop
        self.hostIP = hostIP
        self.makeExecRunner = makeExecRunner
    }

    /// Delays count from `containerStartedAt`, as the kubelet's do, also for liveness and
    /// readiness probes that only start once the startup probe has passed.
    func worker(kind: ProbeKind, probe: Probe, container: Container, id: ContainerID, containerStartedAt: Instant,
                report: @escaping (ProbeReport) -> Void) -> ProbeWorker {
        // Int(clamping:): manifest numbers are Int64, and Int is 32 bits on armv7.
        let policy = ProbePolicy(initialDelaySeconds: Int(clamping: probe.initialDelaySeconds),
                                 periodSeconds: Int(clamping: probe.periodSeconds),
                                 timeoutSeconds: Int(clamping: probe.timeoutSeconds),
                                 successThreshold: Int(clamping: probe.successThreshold),
                                 failureThreshold: Int(clamping: probe.failureThreshold))
        let schedule = ProbeSchedule(kind: kind, policy: policy, containerStartedAt: containerStartedAt)
        return ProbeWorker(schedule: schedule, runner: runner(probe.action, container: container, id: id), loop: loop, report: report)
    }

    func runner(_ action: ProbeAction, container: Container, id: ContainerID) -> any ProbeRunning {
        switch action {
        case .exec(let command):
            return makeExecRunner(id, command)
        case .tcpSocket(let host, let port):
            guard let number = ProbeFactory.resolve(port, in: container) else {
                return FailingProbeRunner(loop: loop, message: ProbeFactory.unknownPort(port, container))
            }
            return NetworkProbeRunner(.tcpSocket(TCPSocketProbe(host: host.isEmpty ? hostIP : host, port: number)), loop: loop)
        case .httpGet(let scheme, let host, let port, let path, let headers):
            guard let number = ProbeFactory.resolve(port, in: container) else {
                return FailingProbeRunner(loop: loop, message: ProbeFactory.unknownPort(port, container))
            }
            var probeHeaders: [RequestHeader] = []
            for header in headers { probeHeaders.append(RequestHeader(name: header.name, value: header.value)) }
            let probe = HTTPGetProbe(scheme: HTTPScheme(name: scheme) ?? .http, host: host.isEmpty ? hostIP : host,
                                     port: number, path: path, headers: probeHeaders)
            return NetworkProbeRunner(.httpGet(probe), loop: loop)
        }
    }

    /// A port number, or a named container port (kubelet: findPortByName).
    static func resolve(_ port: IntOrString, in container: Container) -> Int? {
        switch port {
        case .int(let number): return Int(number)
        case .string(let name):
            if let number = Int(name) { return number }
            for declared in container.ports where declared.name == name { return Int(declared.containerPort) }
            return nil
        }
    }

    static func unknownPort(_ port: IntOrString, _ container: Container) -> String {
        if case .string(let name) = port { return "couldn't find port \(name) in container \(container.name)" }
        return "invalid port"
    }
}

/// A probe that always fails with a fixed message (a spec the agent cannot run).
final class FailingProbeRunner: ProbeRunning {
    private let loop: any EventLoop
    private let message: String
    private var pending: TimerHandle? = nil

    init(loop: any EventLoop, message: String) {
        self.loop = loop
        self.message = message
    }

    func run(timeout: Duration, completion: @escaping (ProbeOutcome) -> Void) {
        let message = self.message
        pending = loop.schedule(after: .zero) {
            self.pending = nil
            completion(ProbeOutcome(result: .failure, message: message))
        }
    }

    func cancel() {
        if let pending { loop.cancel(pending) }
        pending = nil
    }
}
