import KingletCore
import KingletRuntime

/// One `ContainerRuntime` for the pod manager over two: a launch with OCI options (a
/// registry image) goes to the OCI runtime, any other (a path) to the exec runtime; stops,
/// probes' commands and events follow the container to the runtime that runs it.
final class RuntimeRouter: ContainerRuntime, ContainerRuntimeDelegate {
    let exec: ExecRuntime
    let oci: OCIRuntime?
    var delegate: (any ContainerRuntimeDelegate)? = nil
    private var inOCI: Set<ContainerID> = []

    init(exec: ExecRuntime, oci: OCIRuntime?) {
        self.exec = exec
        self.oci = oci
    }

    /// Hooks both runtimes to the router (and so to its delegate).
    func connect() {
        exec.delegate = self
        oci?.delegate = self
    }

    /// Breaks the reference cycles at shutdown (no weak references in Embedded Swift).
    func disconnect() {
        exec.delegate = nil
        oci?.delegate = nil
        delegate = nil
    }

    func start(_ launch: ContainerLaunch) {
        if launch.oci != nil, let oci {
            inOCI.insert(launch.id)
            oci.start(launch)
        } else {
            inOCI.remove(launch.id)
            exec.start(launch)
        }
    }

    func stop(_ id: ContainerID, gracePeriod: Duration) {
        if inOCI.contains(id), let oci { oci.stop(id, gracePeriod: gracePeriod) } else { exec.stop(id, gracePeriod: gracePeriod) }
    }

    func adopt(_ launch: ContainerLaunch) -> AdoptedContainer? {
        if launch.oci != nil, let oci {
            guard let adopted = oci.adopt(launch) else { return nil }
            inOCI.insert(launch.id)
            return adopted
        }
        return exec.adopt(launch)
    }

    func stopUnadopted(gracePeriod: Duration) {
        exec.stopUnadopted(gracePeriod: gracePeriod)
        oci?.stopUnadopted(gracePeriod: gracePeriod)
    }

    func isRunning(_ id: ContainerID) -> Bool {
        if inOCI.contains(id), let oci { return oci.isRunning(id) }
        return exec.isRunning(id)
    }

    /// A probe's command in the container's context (`runc exec` for an OCI container).
    func run(_ command: [String], in id: ContainerID, timeout: Duration,
             completion: @escaping (CommandResult) -> Void) -> ContainerCommand {
        if inOCI.contains(id), let oci { return oci.run(command, in: id, timeout: timeout, completion: completion) }
        return exec.run(command, in: id, timeout: timeout, completion: completion)
    }

    func containerRuntime(_ runtime: any ContainerRuntime, didReport event: ContainerEvent) {
        delegate?.containerRuntime(self, didReport: event)
    }
}
