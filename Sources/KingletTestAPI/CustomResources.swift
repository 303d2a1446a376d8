import Foundation

/// One `additionalPrinterColumns` entry of a custom resource version.
public struct PrinterColumn: Sendable, Equatable {
    public var name: String
    /// integer, number, string, boolean or date (OpenAPI types, as the CRD API takes them).
    public var type: String
    public var format: String
    public var description: String
    public var priority: Int
    /// A simple JSONPath such as `.spec.nodeName` or `.status.conditions[0].type`.
    public var jsonPath: String

    /// What the real server shows when a version lists no columns.
    static let defaultAge = PrinterColumn(name: "Age", type: "date", format: "", description: "", priority: 0,
                                          jsonPath: ".metadata.creationTimestamp")
}

/// The resources served now: the built-in ones and those of every stored
/// CustomResourceDefinition. Refreshed from etcd after CRD writes, on discovery requests and
/// when a request names an unknown resource, so it follows CRDs written by another server
/// on the same etcd too.
public final class ResourceRegistry: @unchecked Sendable {
    private let lock = NSLock()
    private var custom: [ResourceType] = []

    public init() {}

    public var all: [ResourceType] { lock.withLock { ResourceType.all + custom } }

    public func find(groupVersion: String, plural: String) -> ResourceType? {
        all.first { $0.groupVersion == groupVersion && $0.plural == plural }
    }

    /// Replaces the custom resources with those the given CRDs serve.
    func replaceCustom(with crds: [JSON]) {
        let resources = crds.flatMap { CustomResourceDefinitions.servedResources($0) }
        lock.withLock { custom = resources }
    }
}

/// CustomResourceDefinition rules: validation of the parts the server needs to serve the
/// resource, the status the apiextensions server writes (NamesAccepted, Established), and
/// the resource types a CRD serves.
public enum CustomResourceDefinitions {
    static let resource = ResourceType.customResourceDefinitions

    /// One resource type per served version.
    static func servedResources(_ crd: JSON) -> [ResourceType] {
        guard let spec = crd["spec"], let group = spec["group"]?.stringValue, let names = spec["names"],
              let plural = names["plural"]?.stringValue, let kind = names["kind"]?.stringValue else { return [] }
        let singular = names["singular"]?.stringValue ?? kind.lowercased()
        let namespaced = spec["scope"]?.stringValue != "Cluster"
        let shortNames = (names["shortNames"]?.arrayValue ?? []).compactMap(\.stringValue)
        let categories = (names["categories"]?.arrayValue ?? []).compactMap(\.stringValue)
        var resources: [ResourceType] = []
        for version in spec["versions"]?.arrayValue ?? [] where version["served"]?.boolValue == true {
            guard let name = version["name"]?.stringValue else { continue }
            var type = ResourceType(group: group, version: name, plural: plural, singular: singular, kind: kind,
                                    namespaced: namespaced, hasStatus: version.at(["subresources", "status"]) != nil,
                                    shortNames: shortNames, fieldLabels: [])
            type.isCustom = true
            type.customListKind = names["listKind"]?.stringValue
            type.categories = categories
            let columns = (version["additionalPrinterColumns"]?.arrayValue ?? []).compactMap { column -> PrinterColumn? in
                guard let name = column["name"]?.stringValue, let path = column["jsonPath"]?.stringValue else { return nil }
                return PrinterColumn(name: name, type: column["type"]?.stringValue ?? "string", format: column["format"]?.stringValue ?? "",
                                     description: column["description"]?.stringValue ?? "", priority: column["priority"]?.intValue ?? 0,
                                     jsonPath: path)
            }
            type.printerColumns = columns.isEmpty ? [PrinterColumn.defaultAge] : columns
            resources.append(type)
        }
        return resources
    }

    static func invalid(_ name: String, _ field: String, _ message: String) -> APIError {
        .invalid(resource, name, field: field, message)
    }

    /// The checks of apiextensions validation that matter for serving: names, group, scope,
    /// versions (one storage version, a schema each), and the name `<plural>.<group>`.
    static func validate(_ crd: JSON) throws(APIError) {
        let name = crd.at(["metadata", "name"])?.stringValue ?? ""
        guard let spec = crd["spec"], spec.isObject else { throw invalid(name, "spec", "Required value") }
        let group = spec["group"]?.stringValue ?? ""
        if group.isEmpty { throw invalid(name, "spec.group", "Required value") }
        if !group.contains(".") {
            throw invalid(name, "spec.group", "Invalid value: \"\(group)\": should be a domain with at least one dot")
        }
        let plural = spec.at(["names", "plural"])?.stringValue ?? ""
        let kind = spec.at(["names", "kind"])?.stringValue ?? ""
        if plural.isEmpty { throw invalid(name, "spec.names.plural", "Required value") }
        if kind.isEmpty { throw invalid(name, "spec.names.kind", "Required value") }
        if plural != plural.lowercased() || ObjectMeta.nameProblem(plural) != nil {
            throw invalid(name, "spec.names.plural", "Invalid value: \"\(plural)\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-'")
        }
        if name != "\(plural).\(group)" {
            throw invalid(name, "metadata.name", "Invalid value: \"\(name)\": must be spec.names.plural+\".\"+spec.group")
        }
        let scope = spec["scope"]?.stringValue ?? ""
        if scope != "Namespaced" && scope != "Cluster" {
            throw invalid(name, "spec.scope", "Unsupported value: \"\(scope)\": supported values: \"Cluster\", \"Namespaced\"")
        }
        guard let versions = spec["versions"]?.arrayValue, !versions.isEmpty else {
            throw invalid(name, "spec.versions", "Invalid value: null: must have exactly one version marked as storage version")
        }
        var storage = 0
        var seen: Set<String> = []
        for (index, version) in versions.enumerated() {
            let versionName = version["name"]?.stringValue ?? ""
            if versionName.isEmpty || !seen.insert(versionName).inserted {
                throw invalid(name, "spec.versions[\(index)].name", versionName.isEmpty ? "Required value" : "Duplicate value: \"\(versionName)\"")
            }
            if version["storage"]?.boolValue == true { storage += 1 }
            if version.at(["schema", "openAPIV3Schema"]) == nil {
                throw invalid(name, "spec.versions[\(index)].schema.openAPIV3Schema", "Required value: schemas are required")
            }
        }
        if storage != 1 {
            throw invalid(name, "spec.versions", "Invalid value: \(storage): must have exactly one version marked as storage version")
        }
    }

    /// The status the apiextensions controllers write once they serve the resource: names
    /// accepted as given, Established, and the storage version recorded.
    static func status(_ crd: JSON, old: JSON?) -> JSON {
        let now = JSON.string(ObjectMeta.timestamp())
        var names = crd.at(["spec", "names"]) ?? [:]
        let kind = names["kind"]?.stringValue ?? ""
        if names["singular"] == nil { names["singular"] = .string(kind.lowercased()) }
        if names["listKind"] == nil { names["listKind"] = .string(kind + "List") }
        var stored = (old?.at(["status", "storedVersions"])?.arrayValue ?? []).compactMap(\.stringValue)
        for version in crd.at(["spec", "versions"])?.arrayValue ?? [] where version["storage"]?.boolValue == true {
            if let name = version["name"]?.stringValue, !stored.contains(name) { stored.append(name) }
        }
        let oldConditions = old?.at(["status", "conditions"])?.arrayValue ?? []
        func condition(_ type: String, _ reason: String, _ message: String) -> JSON {
            let since = oldConditions.first { $0["type"]?.stringValue == type }?["lastTransitionTime"] ?? now
            return ["type": .string(type), "status": "True", "reason": .string(reason), "message": .string(message),
                    "lastTransitionTime": since]
        }
        return [
            "acceptedNames": names,
            "conditions": [condition("NamesAccepted", "NoConflicts", "no conflicts found"),
                           condition("Established", "InitialNamesAccepted", "the initial names have been accepted")],
            "storedVersions": .array(stored.map(JSON.string)),
        ]
    }
}

/// The simple JSONPath of printer columns (`.a.b`, `.a[0].b`, `.metadata.labels.x\.y`).
enum SimpleJSONPath {
    static func evaluate(_ path: String, in object: JSON) -> JSON? {
        var text = path.trimmingSpaces
        if text.hasPrefix("{") && text.hasSuffix("}") { text = String(text.dropFirst().dropLast()) }
        var value: JSON? = object
        var key = ""
        var escaped = false
        var index = ""
        var inIndex = false
        func step() {
            if !key.isEmpty { value = value?[key]; key = "" }
        }
        for character in text {
            if inIndex {
                if character == "]" {
                    inIndex = false
                    if let position = Int(index), let elements = value?.arrayValue, elements.indices.contains(position) {
                        value = elements[position]
                    } else {
                        value = nil
                    }
                    index = ""
                } else {
                    index.append(character)
                }
                continue
            }
            if escaped { key.append(character); escaped = false; continue }
            switch character {
            case "\\": escaped = true
            case ".": step()
            case "[": step(); inIndex = true
            default: key.append(character)
            }
        }
        step()
        return value
    }
}
