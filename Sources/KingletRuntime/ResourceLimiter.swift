import CKingletSystem
import KingletCore

/// Puts a container's resource limits in place: its own cgroup v2 folder when the
/// configured base folder can hold one with the needed controllers, else RLIMIT_AS for
/// memory (there is no per-process CPU cap to fall back to), and says what it applied.
final class ResourceLimiter {
    /// What `prepare` decided before the spawn.
    enum Plan {
        case cgroup(ContainerCgroup)
        /// cgroup v2 could not be used, for `reason`.
        case fallback(reason: String)
        case nothing
    }

    private let loop: any EventLoop
    /// nil disables cgroups.
    let cgroupBase: String?

    /// Attempts at removing a cgroup whose processes are still leaving, 50 ms apart.
    private static let removalAttempts = 20

    init(loop: any EventLoop, cgroupBase: String?) {
        self.loop = loop
        self.cgroupBase = cgroupBase
    }

    /// Creates the container's cgroup with its limits, when it can.
    func prepare(_ limits: ResourceLimits, for id: ContainerID) -> Plan {
        if limits.isEmpty { return .nothing }
        guard let base = cgroupBase else { return .fallback(reason: "cgroups disabled") }
        do {
            return .cgroup(try ContainerCgroup.create(base: base, name: id.podUID + "_" + id.name,
                                                      memoryBytes: limits.memoryBytes, cpuQuota: limits.cpuQuota))
        } catch {
            return .fallback(reason: error.reason)
        }
    }

    /// Moves the freshly spawned process into its cgroup, or caps it with an rlimit.
    ///
    /// Either way the process has already been running since posix_spawn returned, in the
    /// agent's cgroup and without limits: posix_spawn cannot join a cgroup before exec
    /// (clone3's CLONE_INTO_CGROUP could, but needs raw clone). The window is the time
    /// between exec and this call on the same loop turn, microseconds, in which a process
    /// cannot allocate much; the processes it forks later inherit the cgroup.
    func apply(_ plan: Plan, _ limits: ResourceLimits, to pid: Int32) -> (AppliedLimits, ContainerCgroup?) {
        switch plan {
        case .nothing:
            return (AppliedLimits(mechanism: .none, memoryBytes: nil, cpuQuota: nil, note: nil), nil)
        case .cgroup(let cgroup):
            do {
                try cgroup.add(pid)
                return (AppliedLimits(mechanism: .cgroupV2(folder: cgroup.folder), memoryBytes: limits.memoryBytes,
                                      cpuQuota: limits.cpuQuota, note: nil), cgroup)
            } catch {
                _ = cgroup.remove()
                return (fallback(limits, pid: pid, reason: "cannot move the process into " + cgroup.folder + ": " + error.description), nil)
            }
        case .fallback(let reason):
            return (fallback(limits, pid: pid, reason: reason), nil)
        }
    }

    /// Undoes `prepare` when the spawn failed.
    /// The cgroup an earlier agent made for the container, if it is there.
    func existing(for id: ContainerID) -> ContainerCgroup? {
        guard let base = cgroupBase else { return nil }
        let folder = base + "/" + ContainerCgroup.safeName(id.podUID + "_" + id.name)
        return kinglet_is_directory(folder) != 0 ? ContainerCgroup(folder: folder) : nil
    }

    func discard(_ plan: Plan) {
        if case .cgroup(let cgroup) = plan { _ = cgroup.remove() }
    }

    /// Removes a finished container's cgroup, retrying while its processes are leaving.
    func release(_ cgroup: ContainerCgroup, attempt: Int = 1) {
        guard let error = cgroup.remove(), error == EBUSY, attempt < ResourceLimiter.removalAttempts else { return }
        loop.schedule(after: .milliseconds(50)) { self.release(cgroup, attempt: attempt + 1) }
    }

    private func fallback(_ limits: ResourceLimits, pid: Int32, reason: String) -> AppliedLimits {
        var note = reason
        if limits.cpuMillicores != nil { note = "cpu limit not applied; " + note }
        guard let memoryBytes = limits.memoryBytes else {
            return AppliedLimits(mechanism: .none, memoryBytes: nil, cpuQuota: nil, note: note)
        }
        if kinglet_limit_address_space(pid, memoryBytes) != 0 {
            let error = SystemError.last("prlimit(RLIMIT_AS)")
            return AppliedLimits(mechanism: .none, memoryBytes: nil, cpuQuota: nil, note: error.description + "; " + note)
        }
        return AppliedLimits(mechanism: .rlimit, memoryBytes: memoryBytes, cpuQuota: nil, note: note)
    }
}
