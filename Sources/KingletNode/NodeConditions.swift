/// The kubelet's pressure conditions, from readings, with its default hard eviction
/// thresholds (memory.available < 100Mi, nodefs.available < 10%) and a PID threshold of
/// 90% of pid_max in use (the kubelet has none by default; a board running out of PIDs
/// must still say so).
public enum NodeConditions {
    public static let memoryAvailableThresholdKiB: Int64 = 100 * 1024
    public static let diskAvailableThresholdPercent: Int64 = 10
    public static let pidUsedThresholdPercent: Int64 = 90

    /// Ready, MemoryPressure, DiskPressure, PIDPressure, in the kubelet's order.
    public static func evaluate(_ readings: NodeReadings, runtimeReady: Bool, runtimeProblem: String = "") -> [NodeCondition] {
        var conditions: [NodeCondition] = []
        conditions.append(runtimeReady
            ? NodeCondition(type: "Ready", status: .isTrue, reason: "KubeletReady", message: "kinglet is posting ready status")
            : NodeCondition(type: "Ready", status: .isFalse, reason: "KubeletNotReady", message: runtimeProblem))

        let memoryLow = readings.memoryTotalKiB > 0 && readings.memoryAvailableKiB < memoryAvailableThresholdKiB
        conditions.append(memoryLow
            ? NodeCondition(type: "MemoryPressure", status: .isTrue, reason: "KubeletHasInsufficientMemory",
                            message: "available memory \(readings.memoryAvailableKiB)Ki is below 100Mi")
            : NodeCondition(type: "MemoryPressure", status: .isFalse, reason: "KubeletHasSufficientMemory",
                            message: "kinglet has sufficient memory available"))

        let diskLow = readings.filesystemTotalKiB > 0
            && readings.filesystemAvailableKiB * 100 < readings.filesystemTotalKiB * diskAvailableThresholdPercent
        conditions.append(diskLow
            ? NodeCondition(type: "DiskPressure", status: .isTrue, reason: "KubeletHasDiskPressure",
                            message: "available disk \(readings.filesystemAvailableKiB)Ki is below 10%")
            : NodeCondition(type: "DiskPressure", status: .isFalse, reason: "KubeletHasNoDiskPressure",
                            message: "kinglet has no disk pressure"))

        let pidsLow = readings.processLimit > 0
            && readings.processesInUse * 100 >= readings.processLimit * pidUsedThresholdPercent
        conditions.append(pidsLow
            ? NodeCondition(type: "PIDPressure", status: .isTrue, reason: "KubeletHasInsufficientPID",
                            message: "\(readings.processesInUse) of \(readings.processLimit) PIDs in use")
            : NodeCondition(type: "PIDPressure", status: .isFalse, reason: "KubeletHasSufficientPID",
                            message: "kinglet has sufficient PID available"))
        return conditions
    }
}
