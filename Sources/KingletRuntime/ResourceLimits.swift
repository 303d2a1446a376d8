/// The limits a container asked for (its resources.limits).
public struct ResourceLimits: Equatable, Sendable {
    /// Bytes of memory, or nil for no limit.
    public var memoryBytes: Int64?
    /// CPU in thousandths of a core ("500m" is 500), or nil for no limit.
    public var cpuMillicores: Int64?

    public init(memoryBytes: Int64? = nil, cpuMillicores: Int64? = nil) {
        self.memoryBytes = memoryBytes
        self.cpuMillicores = cpuMillicores
    }

    public var isEmpty: Bool { memoryBytes == nil && cpuMillicores == nil }

    /// cgroup v2's cpu.max for the CPU limit, as the kubelet computes it: a 100 ms period
    /// and a quota of limit × period, at least the kernel's 1 ms minimum.
    public var cpuQuota: CPUQuota? {
        guard let millicores = cpuMillicores else { return nil }
        let period: Int64 = 100_000
        return CPUQuota(quotaMicroseconds: max(millicores * period / 1000, 1000), periodMicroseconds: period)
    }
}

/// A CFS bandwidth limit: `quotaMicroseconds` of CPU time per `periodMicroseconds`.
public struct CPUQuota: Equatable, Sendable {
    public let quotaMicroseconds: Int64
    public let periodMicroseconds: Int64

    /// cpu.max's text: "<quota> <period>".
    public var description: String { String(quotaMicroseconds) + " " + String(periodMicroseconds) }
}
