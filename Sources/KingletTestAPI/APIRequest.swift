import Foundation

/// A request path of the resource API, taken apart:
/// `/api/v1[/namespaces/<ns>]/<resource>[/<name>[/<subresource>]]` or the same under
/// `/apis/<group>/<version>`.
public struct ResourcePath: Sendable {
    public let resource: ResourceType
    public let namespace: String?
    public let name: String?
    public let subresource: String?

    /// nil when the path is not a resource path (discovery or unknown).
    public static func parse(_ path: String, registry: ResourceRegistry) throws(APIError) -> ResourcePath? {
        let parts = path.split(separator: "/").map(String.init)
        let groupVersion: String
        var rest: ArraySlice<String>
        if parts.count >= 3, parts[0] == "api" {
            groupVersion = parts[1]
            rest = parts[2...]
        } else if parts.count >= 4, parts[0] == "apis" {
            groupVersion = "\(parts[1])/\(parts[2])"
            rest = parts[3...]
        } else {
            return nil
        }
        var namespace: String? = nil
        if rest.count >= 3, rest.first == "namespaces",
           let candidate = registry.find(groupVersion: groupVersion, plural: rest[rest.startIndex + 2]), candidate.namespaced {
            namespace = rest[rest.startIndex + 1]
            rest = rest.dropFirst(2)
        }
        guard let plural = rest.first else { return nil }
        guard let resource = registry.find(groupVersion: groupVersion, plural: plural) else {
            throw .pageNotFound(path)
        }
        rest = rest.dropFirst()
        if rest.count > 2 { throw .pageNotFound(path) }
        let name = rest.first
        let subresource = rest.count == 2 ? rest.last : nil
        if let subresource, subresource != "status" || !resource.hasStatus { throw .pageNotFound(path) }
        return ResourcePath(resource: resource, namespace: resource.namespaced ? namespace : nil, name: name, subresource: subresource)
    }
}

/// A query string, decoded as Go's url.ParseQuery does (`+` is a space).
public struct QueryParameters: Sendable {
    private var values: [String: String] = [:]

    public init(_ query: String?) {
        guard let query else { return }
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = Self.decode(String(parts[0]))
            values[key] = parts.count > 1 ? Self.decode(String(parts[1])) : ""
        }
    }

    static func decode(_ text: String) -> String {
        let spaced = text.replacingOccurrences("+", " ")
        return spaced.removingPercentEncoding ?? spaced
    }

    public subscript(_ key: String) -> String? { values[key] }

    public func flag(_ key: String) -> Bool {
        guard let value = values[key] else { return false }
        return value == "1" || value.lowercased() == "true"
    }

    public func integer(_ key: String) throws(APIError) -> Int? {
        guard let text = values[key], !text.isEmpty else { return nil }
        guard let value = Int(text) else { throw .badRequest("invalid \(key) \"\(text)\": not an integer") }
        return value
    }
}
