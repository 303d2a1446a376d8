/// KingletNode: what the agent reports about its board as a Kubernetes Node: capacity,
/// allocatable, nodeInfo and the pressure conditions, read from /proc, /sys, /etc and
/// statfs. Parsing is separate from reading so tests feed it fixed texts.
import CKingletSystem

/// The Node's facts at one moment.
public struct NodeFacts: Equatable {
    public var capacity: NodeResources
    public var allocatable: NodeResources
    public var info: NodeInfo
    public var conditions: [NodeCondition]

    public init(capacity: NodeResources, allocatable: NodeResources, info: NodeInfo, conditions: [NodeCondition]) {
        self.capacity = capacity
        self.allocatable = allocatable
        self.info = info
        self.conditions = conditions
    }
}

public struct NodeResources: Equatable {
    /// Online CPUs.
    public var cpuCores: Int64
    /// Total memory in KiB, as the kubelet reports it ("Ki" quantities).
    public var memoryKiB: Int64
    /// How many pods this node accepts.
    public var pods: Int64
    /// Size of the filesystem holding the agent's state, in KiB.
    public var ephemeralStorageKiB: Int64

    public init(cpuCores: Int64, memoryKiB: Int64, pods: Int64, ephemeralStorageKiB: Int64) {
        self.cpuCores = cpuCores
        self.memoryKiB = memoryKiB
        self.pods = pods
        self.ephemeralStorageKiB = ephemeralStorageKiB
    }
}

/// status.nodeInfo.
public struct NodeInfo: Equatable {
    public var machineID: String
    public var systemUUID: String
    public var bootID: String
    public var kernelVersion: String
    public var osImage: String
    public var containerRuntimeVersion: String
    public var kubeletVersion: String
    public var operatingSystem: String
    /// Kubernetes (Go) architecture names: arm64, arm, amd64.
    public var architecture: String

    public init(machineID: String = "", systemUUID: String = "", bootID: String = "", kernelVersion: String = "",
                osImage: String = "", containerRuntimeVersion: String = "", kubeletVersion: String = "",
                operatingSystem: String = "linux", architecture: String = "") {
        self.machineID = machineID
        self.systemUUID = systemUUID
        self.bootID = bootID
        self.kernelVersion = kernelVersion
        self.osImage = osImage
        self.containerRuntimeVersion = containerRuntimeVersion
        self.kubeletVersion = kubeletVersion
        self.operatingSystem = operatingSystem
        self.architecture = architecture
    }
}

public enum ConditionStatus: String, Equatable {
    case isTrue = "True"
    case isFalse = "False"
    case unknown = "Unknown"
}

/// One of the node's conditions (Ready, MemoryPressure, DiskPressure, PIDPressure).
public struct NodeCondition: Equatable {
    public var type: String
    public var status: ConditionStatus
    public var reason: String
    public var message: String

    public init(type: String, status: ConditionStatus, reason: String, message: String) {
        self.type = type
        self.status = status
        self.reason = reason
        self.message = message
    }
}
