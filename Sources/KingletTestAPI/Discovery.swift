/// The discovery documents kubectl and client libraries read before anything else. Served
/// as plain JSON: kubectl asks for aggregated discovery first and falls back to these.
public enum Discovery {
    public static let gitVersion = "v1.32.0-kinglet-testapi"

    public static var version: JSON {
        ["major": "1", "minor": "32", "gitVersion": .string(gitVersion), "gitCommit": "", "gitTreeState": "clean",
         "buildDate": "2025-01-01T00:00:00Z", "goVersion": "go1.23.0", "compiler": "gc", "platform": "linux/amd64"]
    }

    static func groups(_ resources: [ResourceType]) -> [String] {
        var names: [String] = []
        for resource in resources where !resource.group.isEmpty && !names.contains(resource.group) { names.append(resource.group) }
        return names
    }

    public static func coreVersions(serverAddress: String) -> JSON {
        ["kind": "APIVersions", "versions": ["v1"],
         "serverAddressByClientCIDRs": [["clientCIDR": "0.0.0.0/0", "serverAddress": .string(serverAddress)]]]
    }

    static func group(_ name: String, _ resources: [ResourceType]) -> JSON {
        let versions = Set(resources.filter { $0.group == name }.map(\.version)).sorted { versionPriority($0, $1) }
        let entries: [JSON] = versions.map { ["groupVersion": .string("\(name)/\($0)"), "version": .string($0)] }
        return ["kind": "APIGroup", "apiVersion": "v1", "name": .string(name), "versions": .array(entries),
                "preferredVersion": entries.first ?? [:]]
    }

    /// Kubernetes' version order, highest first: GA before beta before alpha, then by
    /// number (v1 > v1beta2 > v1beta1 > v1alpha1), the first being the preferred version.
    static func versionPriority(_ a: String, _ b: String) -> Bool {
        func key(_ version: String) -> (Int, Int, Int, String) {
            let scanner = Array(version)
            guard scanner.first == "v" else { return (0, 0, 0, version) }
            var index = 1
            var major = 0
            while index < scanner.count, let digit = scanner[index].wholeNumberValue { major = major * 10 + digit; index += 1 }
            let rest = String(scanner[index...])
            var stability = 3
            var minor = 0
            if rest.hasPrefix("beta") { stability = 2; minor = Int(rest.dropFirst(4)) ?? -1 }
            else if rest.hasPrefix("alpha") { stability = 1; minor = Int(rest.dropFirst(5)) ?? -1 }
            else if !rest.isEmpty { return (0, 0, 0, version) }
            return (stability, major, minor, version)
        }
        let (x, y) = (key(a), key(b))
        if x.0 != y.0 { return x.0 > y.0 }
        if x.1 != y.1 { return x.1 > y.1 }
        if x.2 != y.2 { return x.2 > y.2 }
        return x.3 < y.3
    }

    public static func groupList(_ resources: [ResourceType]) -> JSON {
        ["kind": "APIGroupList", "apiVersion": "v1", "groups": .array(groups(resources).map { group($0, resources) })]
    }

    public static func groupDocument(_ name: String, _ resources: [ResourceType]) -> JSON? {
        groups(resources).contains(name) ? group(name, resources) : nil
    }

    /// The APIResourceList of one group version, or nil when it is not served.
    public static func resourceList(groupVersion: String, _ all: [ResourceType]) -> JSON? {
        let resources = all.filter { $0.groupVersion == groupVersion }
        guard !resources.isEmpty else { return nil }
        var entries: [JSON] = []
        for resource in resources {
            var entry: JSON = [
                "name": .string(resource.plural), "singularName": .string(resource.singular),
                "namespaced": .bool(resource.namespaced), "kind": .string(resource.kind),
                "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"],
                "storageVersionHash": "",
            ]
            if !resource.shortNames.isEmpty { entry["shortNames"] = .array(resource.shortNames.map(JSON.string)) }
            if resource.kind == "Pod" { entry["categories"] = ["all"] }
            if !resource.categories.isEmpty { entry["categories"] = .array(resource.categories.map(JSON.string)) }
            entries.append(entry)
            if resource.hasStatus {
                entries.append(["name": .string("\(resource.plural)/status"), "singularName": "", "namespaced": .bool(resource.namespaced),
                                "kind": .string(resource.kind), "verbs": ["get", "patch", "update"]])
            }
        }
        return ["kind": "APIResourceList", "apiVersion": "v1", "groupVersion": .string(groupVersion), "resources": .array(entries)]
    }
}
