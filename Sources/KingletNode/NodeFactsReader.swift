import CKingletSystem

/// Reads the node's facts from this machine.
public struct NodeFactsReader {
    /// The folder whose filesystem is the node's storage (the agent's state folder).
    public var stateFolder: String
    public var podCapacity: Int64
    public var agentVersion: String

    public init(stateFolder: String, podCapacity: Int64, agentVersion: String) {
        self.stateFolder = stateFolder
        self.podCapacity = podCapacity
        self.agentVersion = agentVersion
    }

    public func readings() -> NodeReadings {
        var readings = NodeReadings()
        readings.parseMeminfo(SmallFile.read("/proc/meminfo") ?? "")
        readings.parseLoadavg(SmallFile.read("/proc/loadavg") ?? "")
        readings.parsePidMax(SmallFile.read("/proc/sys/kernel/pid_max") ?? "")
        readings.onlineCPUs = kinglet_online_cpus()
        var total: Int64 = 0
        var available: Int64 = 0
        if kinglet_filesystem_kib(stateFolder, &total, &available) == 0 {
            readings.filesystemTotalKiB = total
            readings.filesystemAvailableKiB = available
        }
        return readings
    }

    public func facts(runtimeReady: Bool, runtimeProblem: String = "") -> NodeFacts {
        let readings = readings()
        let capacity = NodeResources(cpuCores: max(readings.onlineCPUs, 1), memoryKiB: readings.memoryTotalKiB,
                                     pods: podCapacity, ephemeralStorageKiB: readings.filesystemTotalKiB)
        return NodeFacts(capacity: capacity, allocatable: capacity, info: info(),
                         conditions: NodeConditions.evaluate(readings, runtimeReady: runtimeReady, runtimeProblem: runtimeProblem))
    }

    public func info() -> NodeInfo {
        var names = utsname()
        let kernel = uname(&names) == 0 ? withUnsafeBytes(of: &names.release) { cString($0) } : ""
        return NodeInfo(
            machineID: trimmed(SmallFile.read("/etc/machine-id") ?? ""),
            systemUUID: trimmed(SmallFile.read("/sys/class/dmi/id/product_uuid") ?? ""),
            bootID: trimmed(SmallFile.read("/proc/sys/kernel/random/boot_id") ?? ""),
            kernelVersion: kernel,
            osImage: osImage(fromOSRelease: SmallFile.read("/etc/os-release") ?? ""),
            containerRuntimeVersion: "exec://\(agentVersion)",
            kubeletVersion: "kinglet-\(agentVersion)",
            operatingSystem: "linux",
            architecture: NodeFactsReader.kubernetesArchitecture)
    }

    /// GOARCH names, which Kubernetes uses in nodeInfo and the kubernetes.io/arch label.
    public static var kubernetesArchitecture: String {
        #if arch(arm64)
        return "arm64"
        #elseif arch(arm)
        return "arm"
        #elseif arch(x86_64)
        return "amd64"
        #else
        return "unknown"
        #endif
    }

    private func cString(_ bytes: UnsafeRawBufferPointer) -> String {
        let end = bytes.firstIndex(of: 0) ?? bytes.count
        return String(decoding: bytes[0..<end], as: UTF8.self)
    }
}

/// Whole small files (kernel and /etc text files), read in one go.
public enum SmallFile {
    /// The file's text, or nil when it cannot be read. At most `limit` bytes.
    public static func read(_ path: String, limit: Int = 64 * 1024) -> String? {
        let fd = kinglet_open(path, O_RDONLY, 0)
        if fd < 0 { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while bytes.count < limit {
            let count = chunk.withUnsafeMutableBytes { CKingletSystem.read(fd, $0.baseAddress, $0.count) }
            if count < 0 && kinglet_errno() == EINTR { continue }
            if count <= 0 { break }
            bytes.append(contentsOf: chunk[0..<count])
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
