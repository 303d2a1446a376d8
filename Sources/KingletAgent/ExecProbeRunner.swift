import KingletCore
import KingletProbes
import KingletRuntime

/// Runs an exec probe's command in its container's context (the container's environment,
/// working directory and cgroup), as the kubelet's ExecSync does. Exit 0 is success; any
/// other ending fails with the command's output, as `kubectl describe` shows it.
final class ExecProbeRunner: ProbeRunning {
    private let runtime: RuntimeRouter
    private let container: ContainerID
    private let command: [String]
    private var running: ContainerCommand? = nil

    init(runtime: RuntimeRouter, container: ContainerID, command: [String]) {
        self.runtime = runtime
        self.container = container
        self.command = command
    }

    func run(timeout: Duration, completion: @escaping (ProbeOutcome) -> Void) {
        let command = self.command
        running = runtime.run(command, in: container, timeout: timeout) { result in
            self.running = nil
            completion(ExecProbeRunner.outcome(result, command: command, timeout: timeout))
        }
    }

    func cancel() {
        running?.cancel()
        running = nil
    }

    static func outcome(_ result: CommandResult, command: [String], timeout: Duration) -> ProbeOutcome {
        let quoted = command.joined(separator: " ")
        switch result.ending {
        case .exited where result.succeeded:
            return ProbeOutcome(result: .success, message: result.output)
        case .exited(let status):
            let output = result.output.isEmpty ? "" : ": " + result.output
            return ProbeOutcome(result: .failure, message: "command \"\(quoted)\" exited with \(status.exitCode)\(output)")
        case .timedOut:
            return ProbeOutcome(result: .failure,
                                message: "command \"\(quoted)\" timed out after \(timeout.nanoseconds / 1_000_000_000)s")
        case .failedToStart(let reason):
            return ProbeOutcome(result: .failure, message: "command \"\(quoted)\" could not run: \(reason)")
        }
    }
}
