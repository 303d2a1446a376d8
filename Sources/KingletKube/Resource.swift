/// One kind of API object and where its collection lives.
public struct Resource: Sendable, Hashable {
    /// "" for the core group, else e.g. "coordination.k8s.io".
    public var group: String
    public var version: String
    /// The lowercase plural in URLs: "pods", "leases".
    public var plural: String
    public var namespaced: Bool

    public init(group: String, version: String, plural: String, namespaced: Bool) {
        self.group = group
        self.version = version
        self.plural = plural
        self.namespaced = namespaced
    }

    public static let pods = Resource(group: "", version: "v1", plural: "pods", namespaced: true)
    public static let nodes = Resource(group: "", version: "v1", plural: "nodes", namespaced: false)
    public static let configMaps = Resource(group: "", version: "v1", plural: "configmaps", namespaced: true)
    public static let secrets = Resource(group: "", version: "v1", plural: "secrets", namespaced: true)
    public static let events = Resource(group: "", version: "v1", plural: "events", namespaced: true)
    public static let namespaces = Resource(group: "", version: "v1", plural: "namespaces", namespaced: false)
    public static let leases = Resource(group: "coordination.k8s.io", version: "v1", plural: "leases", namespaced: true)
    /// KubeEdge's devices (a CRD: deploy/crds).
    public static let devices = Resource(group: "devices.kubeedge.io", version: "v1beta1", plural: "devices", namespaced: true)
    public static let deviceModels = Resource(group: "devices.kubeedge.io", version: "v1beta1", plural: "devicemodels", namespaced: true)

    /// "v1" or "group/version", as in `apiVersion`.
    public var apiVersion: String { group.isEmpty ? version : group + "/" + version }

    /// The collection path: in one namespace, or across all when `namespace` is nil.
    public func collectionPath(namespace: String?) -> String {
        var path = group.isEmpty ? "/api/v1" : "/apis/\(group)/\(version)"
        if namespaced, let namespace { path += "/namespaces/" + PathEscaping.segment(namespace) }
        return path + "/" + plural
    }

    /// One object's path, optionally a subresource ("status").
    public func objectPath(namespace: String?, name: String, subresource: String? = nil) -> String {
        var path = collectionPath(namespace: namespace) + "/" + PathEscaping.segment(name)
        if let subresource { path += "/" + subresource }
        return path
    }
}

/// Percent-encoding for path segments and query values (object names are DNS names, but
/// label selectors and field selectors carry `=`, `,`, `!`).
enum PathEscaping {
    private static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."),
             UInt8(ascii: "_"), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }

    static func segment(_ text: String) -> String { escape(text) }

    static func escape(_ text: String) -> String {
        var result = ""
        for byte in text.utf8 {
            if isUnreserved(byte) {
                result.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                let hex = String(byte, radix: 16, uppercase: true)
                result += "%" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        return result
    }

    static func query(_ items: [(String, String)]) -> String {
        items.map { escape($0.0) + "=" + escape($0.1) }.joined(separator: "&")
    }
}
