/// The limits that actually hold for a started container, so status can report them.
public struct AppliedLimits: Equatable, Sendable {
    public enum Mechanism: Equatable, Sendable {
        /// The container has its own cgroup v2 folder.
        case cgroupV2(folder: String)
        /// A memory cap as RLIMIT_AS on the process (no CPU limit is possible this way).
        case rlimit
        /// Nothing applied.
        case none
    }

    public let mechanism: Mechanism
    /// memory.max, or the RLIMIT_AS value.
    public let memoryBytes: Int64?
    /// cpu.max (cgroup v2 only).
    public let cpuQuota: CPUQuota?
    /// Why the preferred mechanism or part of the request could not be applied.
    public let note: String?

    public init(mechanism: Mechanism, memoryBytes: Int64?, cpuQuota: CPUQuota?, note: String?) {
        self.mechanism = mechanism
        self.memoryBytes = memoryBytes
        self.cpuQuota = cpuQuota
        self.note = note
    }

    /// e.g. "cgroup v2: memory.max=67108864, cpu.max=50000 100000",
    /// "rlimit: RLIMIT_AS=67108864 (cpu limit not applied; ...)", "none: no limits requested".
    public var description: String {
        var parts: [String] = []
        var text: String
        switch mechanism {
        case .cgroupV2:
            if let memoryBytes { parts.append("memory.max=" + String(memoryBytes)) }
            if let cpuQuota { parts.append("cpu.max=" + cpuQuota.description) }
            text = "cgroup v2: " + parts.joined(separator: ", ")
        case .rlimit:
            text = "rlimit: RLIMIT_AS=" + String(memoryBytes ?? 0)
        case .none:
            return "none: " + (note ?? "no limits requested")
        }
        if let note { text += " (" + note + ")" }
        return text
    }
}
