public struct Container: Equatable {
    public var name: String
    public var image: String
    public var command: [String]
    public var args: [String]
    public var env: [EnvVar]
    public var workingDir: String
    public var ports: [ContainerPort]
    public var resources: ResourceRequirements
    public var livenessProbe: Probe?
    public var readinessProbe: Probe?
    public var startupProbe: Probe?
    /// `Always`, `IfNotPresent` or `Never`; "" for the kubelet's default (Always for
    /// `:latest`, else IfNotPresent).
    public var imagePullPolicy: String = ""

    public init(name: String, image: String, command: [String] = [], args: [String] = [], env: [EnvVar] = [],
                workingDir: String = "", ports: [ContainerPort] = [], resources: ResourceRequirements = ResourceRequirements(),
                livenessProbe: Probe? = nil, readinessProbe: Probe? = nil, startupProbe: Probe? = nil) {
        self.name = name
        self.image = image
        self.command = command
        self.args = args
        self.env = env
        self.workingDir = workingDir
        self.ports = ports
        self.resources = resources
        self.livenessProbe = livenessProbe
        self.readinessProbe = readinessProbe
        self.startupProbe = startupProbe
    }
}

public struct ContainerPort: Equatable {
    public var name: String
    public var containerPort: Int64
    public var protocolName: String

    public init(name: String = "", containerPort: Int64, protocolName: String = "TCP") {
        self.name = name
        self.containerPort = containerPort
        self.protocolName = protocolName
    }
}

/// An environment variable: a literal value, or a reference resolved later (ConfigMap and
/// Secret keys once the relay sends them; pod fields at start).
public struct EnvVar: Equatable {
    public var name: String
    public var source: EnvVarSource

    public init(name: String, source: EnvVarSource) {
        self.name = name
        self.source = source
    }
}

public enum EnvVarSource: Equatable {
    /// `value`, which may reference earlier variables as $(NAME).
    case value(String)
    case configMapKey(name: String, key: String, optional: Bool)
    case secretKey(name: String, key: String, optional: Bool)
    /// `fieldRef.fieldPath`, e.g. metadata.name, spec.nodeName.
    case field(path: String)
}

/// Limits and requests, in the units the runtime applies.
public struct ResourceRequirements: Equatable {
    public var cpuLimitMillicores: Int64?
    public var memoryLimitBytes: Int64?
    public var cpuRequestMillicores: Int64?
    public var memoryRequestBytes: Int64?

    public init(cpuLimitMillicores: Int64? = nil, memoryLimitBytes: Int64? = nil,
                cpuRequestMillicores: Int64? = nil, memoryRequestBytes: Int64? = nil) {
        self.cpuLimitMillicores = cpuLimitMillicores
        self.memoryLimitBytes = memoryLimitBytes
        self.cpuRequestMillicores = cpuRequestMillicores
        self.memoryRequestBytes = memoryRequestBytes
    }
}

public struct Probe: Equatable {
    public var action: ProbeAction
    public var initialDelaySeconds: Int64
    public var periodSeconds: Int64
    public var timeoutSeconds: Int64
    public var successThreshold: Int64
    public var failureThreshold: Int64

    /// Kubernetes' defaults: period 10 s, timeout 1 s, success 1, failure 3.
    public init(action: ProbeAction, initialDelaySeconds: Int64 = 0, periodSeconds: Int64 = 10, timeoutSeconds: Int64 = 1,
                successThreshold: Int64 = 1, failureThreshold: Int64 = 3) {
        self.action = action
        self.initialDelaySeconds = initialDelaySeconds
        self.periodSeconds = periodSeconds
        self.timeoutSeconds = timeoutSeconds
        self.successThreshold = successThreshold
        self.failureThreshold = failureThreshold
    }
}

public enum ProbeAction: Equatable {
    case exec(command: [String])
    case tcpSocket(host: String, port: IntOrString)
    case httpGet(scheme: String, host: String, port: IntOrString, path: String, headers: [HTTPHeader])
}

public struct HTTPHeader: Equatable {
    public var name: String
    public var value: String
    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}
