/// Identifies one container of one pod.
public struct ContainerID: Hashable, Sendable {
    public let podUID: String
    public let name: String

    public init(podUID: String, name: String) {
        self.podUID = podUID
        self.name = name
    }

    /// "<pod uid>/<container name>".
    public var description: String { podUID + "/" + name }
}

/// One entry of a container's environment. Order matters: the process sees the entries in
/// this order, and for a name given twice most programs read the first (as getenv does).
public struct EnvironmentVariable: Equatable, Sendable {
    public let name: String
    public let value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// Everything the runtime needs to start one container process.
public struct ContainerLaunch: Sendable {
    public var podUID: String
    public var containerName: String
    /// A path, or a bare name looked up in the container's PATH (the first PATH entry of
    /// `environment`, as the process's getenv sees it, else the usual default).
    public var executable: String
    /// The arguments after argv[0] (which is `executable` as given).
    public var arguments: [String]
    public var environment: [EnvironmentVariable]
    /// nil keeps the agent's working directory.
    public var workingDirectory: String?
    /// The CRI-format log file; its folder must exist. Rotated files sit next to it as
    /// `<logPath>.1`, `<logPath>.2`, ...
    public var logPath: String
    public var logLimits: LogLimits
    public var resourceLimits: ResourceLimits
    /// The image, user, volumes and devices of an OCI container (`OCIRuntime`); nil for
    /// the exec runtime, which ignores it.
    public var oci: OCILaunchOptions? = nil
    /// The hash of the pod spec it was planned from: a restarted agent adopts a running
    /// container only for the same spec.
    public var podSpecHash: UInt64 = 0
    /// The pod's terminationGracePeriodSeconds, kept with a container that outlives the
    /// agent (it is stopped with it if its pod is gone when the next agent starts).
    public var gracePeriodSeconds: Int64 = 30

    public init(podUID: String, containerName: String, executable: String, arguments: [String] = [],
                environment: [EnvironmentVariable] = [], workingDirectory: String? = nil,
                logPath: String, logLimits: LogLimits = LogLimits(),
                resourceLimits: ResourceLimits = ResourceLimits()) {
        self.podUID = podUID
        self.containerName = containerName
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.workingDirectory = workingDirectory
        self.logPath = logPath
        self.logLimits = logLimits
        self.resourceLimits = resourceLimits
    }

    public var id: ContainerID { ContainerID(podUID: podUID, name: containerName) }
}
