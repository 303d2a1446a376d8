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
    /// Served from a CustomResourceDefinition: stored as given (no defaults, no zero
    /// values), `status` dropped on create when the status subresource is on, strategic
    /// merge patches refused (415), generation bumped on any change outside metadata/status.
    public var isCustom = false
    /// `names.listKind` of a CustomResourceDefinition (else `<kind>List`).
    public var customListKind: String? = nil
    /// `additionalPrinterColumns` of a custom resource version (Name always comes first).
    public var printerColumns: [PrinterColumn] = []
    public var categories: [String] = []

    public var apiVersion: String { group.isEmpty ? version : "\(group)/\(version)" }
    public var groupVersion: String { apiVersion }
    public var listKind: String { customListKind ?? kind + "List" }

    /// `/registry/<resource>/` as kube-apiserver keys it; custom resources and CRDs under
    /// their group, `/registry/<group>/<resource>/`, as the apiextensions server does.
    public var storagePrefix: String {
        isCustom || group == "apiextensions.k8s.io" ? "/registry/\(group)/\(plural)/" : "/registry/\(plural)/"
    }

    public func key(namespace: String?, name: String) -> String {
        if namespaced, let namespace { return "\(storagePrefix)\(namespace)/\(name)" }
        return storagePrefix + name
    }

    /// The key prefix of a list: one namespace, or all of them.
    public func listPrefix(namespace: String?) -> String {
        if namespaced, let namespace { return "\(storagePrefix)\(namespace)/" }
        return storagePrefix
    }

    /// The built-in resources (custom ones come from `ResourceRegistry`).
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
        customResourceDefinitions,
    ]

    public static let customResourceDefinitions = ResourceType(
        group: "apiextensions.k8s.io", version: "v1", plural: "customresourcedefinitions", singular: "customresourcedefinition",
        kind: "CustomResourceDefinition", namespaced: false, hasStatus: true, shortNames: ["crd", "crds"], fieldLabels: [])
}
