/// A Pod as the agent runs it: the parts of the Kubernetes Pod spec an edge node acts on.
/// Fields the agent does not act on are kept in the original document (the cache stores the
/// spec JSON as received), not here.
public struct Pod: Equatable {
    public var metadata: ObjectMeta
    public var spec: PodSpec

    public init(metadata: ObjectMeta, spec: PodSpec) {
        self.metadata = metadata
        self.spec = spec
    }

    /// "namespace/name", how kubectl and the kubelet name a pod in messages.
    public var fullName: String { metadata.namespace + "/" + metadata.name }
}

public struct ObjectMeta: Equatable {
    public var name: String
    public var namespace: String
    public var uid: String
    public var resourceVersion: String
    public var labels: [(String, String)]
    public var annotations: [(String, String)]

    public init(name: String, namespace: String = "default", uid: String = "", resourceVersion: String = "",
                labels: [(String, String)] = [], annotations: [(String, String)] = []) {
        self.name = name
        self.namespace = namespace
        self.uid = uid
        self.resourceVersion = resourceVersion
        self.labels = labels
        self.annotations = annotations
    }

    public static func == (a: ObjectMeta, b: ObjectMeta) -> Bool {
        a.name == b.name && a.namespace == b.namespace && a.uid == b.uid && a.resourceVersion == b.resourceVersion
            && samePairs(a.labels, b.labels) && samePairs(a.annotations, b.annotations)
    }
}

func samePairs(_ a: [(String, String)], _ b: [(String, String)]) -> Bool {
    guard a.count == b.count else { return false }
    for index in 0..<a.count where a[index] != b[index] { return false }
    return true
}

public enum RestartPolicy: String, Equatable {
    case always = "Always"
    case onFailure = "OnFailure"
    case never = "Never"
}

public struct PodSpec: Equatable {
    public var initContainers: [Container]
    public var containers: [Container]
    public var restartPolicy: RestartPolicy
    /// terminationGracePeriodSeconds; Kubernetes' default is 30.
    public var terminationGracePeriodSeconds: Int64
    public var nodeName: String
    public var hostNetwork: Bool

    public init(initContainers: [Container] = [], containers: [Container], restartPolicy: RestartPolicy = .always,
                terminationGracePeriodSeconds: Int64 = 30, nodeName: String = "", hostNetwork: Bool = false) {
        self.initContainers = initContainers
        self.containers = containers
        self.restartPolicy = restartPolicy
        self.terminationGracePeriodSeconds = terminationGracePeriodSeconds
        self.nodeName = nodeName
        self.hostNetwork = hostNetwork
    }
}
