/// One kind of object the server serves, and where it is stored in etcd.
public struct ResourceType: Sendable {
    public let group: String
    public let version: String
    public let plural: String
    public let singular: String
    public let kind: String
    public let namespaced: Bool
    /// Has a `/status` subresource: updates of the main resource keep the stored status.
    public let hasStatus: Bool
    public let shortNames: [String]
    /// Field selector labels the real server supports beyond metadata.name/namespace.
    public let fieldLabels: [String]

    public var apiVersion: String { group.isEmpty ? version : "\(group)/\(version)" }
    public var groupVersion: String { apiVersion }

    /// `/registry/<resource>/` as kube-apiserver keys it.
    public var storagePrefix: String { "/registry/\(plural)/" }

    public func key(namespace: String?, name: String) -> String {
        if namespaced, let namespace { return "\(storagePrefix)\(namespace)/\(name)" }
        return storagePrefix + name
    }

    /// The key prefix of a list: one namespace, or all of them.
    public func listPrefix(namespace: String?) -> String {
        if namespaced, let namespace { return "\(storagePrefix)\(namespace)/" }
        return storagePrefix
    }

    /// The served resources.
    public static let all: [ResourceType] = [
        ResourceType(group: "", version: "v1", plural: "namespaces", singular: "namespace", kind: "Namespace",
                     namespaced: false, hasStatus: true, shortNames: ["ns"], fieldLabels: ["status.phase"]),
        ResourceType(group: "", version: "v1", plural: "nodes", singular: "node", kind: "Node",
                     namespaced: false, hasStatus: true, shortNames: ["no"], fieldLabels: ["spec.unschedulable"]),
        ResourceType(group: "", version: "v1", plural: "pods", singular: "pod", kind: "Pod",
                     namespaced: true, hasStatus: true, shortNames: ["po"],
                     fieldLabels: ["spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName",
                                   "spec.hostNetwork", "status.phase", "status.podIP", "status.nominatedNodeName"]),
        ResourceType(group: "", version: "v1", plural: "configmaps", singular: "configmap", kind: "ConfigMap",
                     namespaced: true, hasStatus: false, shortNames: ["cm"], fieldLabels: []),
        ResourceType(group: "", version: "v1", plural: "secrets", singular: "secret", kind: "Secret",
                     namespaced: true, hasStatus: false, shortNames: [], fieldLabels: ["type"]),
        ResourceType(group: "", version: "v1", plural: "events", singular: "event", kind: "Event",
                     namespaced: true, hasStatus: false, shortNames: ["ev"],
                     fieldLabels: ["involvedObject.kind", "involvedObject.namespace", "involvedObject.name",
                                   "involvedObject.uid", "involvedObject.apiVersion", "involvedObject.resourceVersion",
                                   "involvedObject.fieldPath", "reason", "reportingComponent", "source", "type"]),
        ResourceType(group: "coordination.k8s.io", version: "v1", plural: "leases", singular: "lease", kind: "Lease",
                     namespaced: true, hasStatus: false, shortNames: [], fieldLabels: []),
    ]

    public static func find(groupVersion: String, plural: String) -> ResourceType? {
        all.first { $0.groupVersion == groupVersion && $0.plural == plural }
    }
}
