import CKingletSystem
import KingletCore

/// Reads the node's facts from this machine.
public struct NodeFactsReader {
    /// The folder whose filesystem is the node's storage (the agent's state folder).
    public var stateFolder: String
    public var podCapacity: Int64
    public var agentVersion: String
    /// Kernel and /etc text files are small; more than this is not one of them.
    private let smallFileLimit = 64 * 1024

    public init(stateFolder: String, podCapacity: Int64, agentVersion: String) {
        self.stateFolder = stateFolder
        self.podCapacity = podCapacity
        self.agentVersion = agentVersion
    }

    public func readings() -> NodeReadings {
        var readings = NodeReadings()
        readings.parseMeminfo(WholeFile.text("/proc/meminfo", limit: smallFileLimit) ?? "")
        readings.parseLoadavg(WholeFile.text("/proc/loadavg", limit: smallFileLimit) ?? "")
        readings.parsePidMax(WholeFile.text("/proc/sys/kernel/pid_max", limit: smallFileLimit) ?? "")
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
            machineID: trimmed(WholeFile.text("/etc/machine-id", limit: smallFileLimit) ?? ""),
            systemUUID: trimmed(WholeFile.text("/sys/class/dmi/id/product_uuid", limit: smallFileLimit) ?? ""),
            bootID: trimmed(WholeFile.text("/proc/sys/kernel/random/boot_id", limit: smallFileLimit) ?? ""),
            kernelVersion: kernel,
            osImage: osImage(fromOSRelease: WholeFile.text("/etc/os-release", limit: smallFileLimit) ?? ""),
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
