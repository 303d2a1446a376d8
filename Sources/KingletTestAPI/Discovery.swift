/// The discovery documents kubectl and client libraries read before anything else. Served
/// as plain JSON: kubectl asks for aggregated discovery first and falls back to these.
public enum Discovery {
    public static let gitVersion = "v1.32.0-kinglet-testapi"

    public static var version: JSON {
        ["major": "1", "minor": "32", "gitVersion": .string(gitVersion), "gitCommit": "", "gitTreeState": "clean",
         "buildDate": "2025-01-01T00:00:00Z", "goVersion": "go1.23.0", "compiler": "gc", "platform": "linux/amd64"]
    }

    static var groups: [String] {
        var names: [String] = []
        for resource in ResourceType.all where !resource.group.isEmpty && !names.contains(resource.group) { names.append(resource.group) }
        return names
    }

    public static func coreVersions(serverAddress: String) -> JSON {
        ["kind": "APIVersions", "versions": ["v1"],
         "serverAddressByClientCIDRs": [["clientCIDR": "0.0.0.0/0", "serverAddress": .string(serverAddress)]]]
    }

    static func group(_ name: String) -> JSON {
        let versions = Set(ResourceType.all.filter { $0.group == name }.map(\.version)).sorted()
        let entries: [JSON] = versions.map { ["groupVersion": .string("\(name)/\($0)"), "version": .string($0)] }
        return ["kind": "APIGroup", "apiVersion": "v1", "name": .string(name), "versions": .array(entries),
                "preferredVersion": entries.last ?? [:]]
    }

    public static var groupList: JSON {
        ["kind": "APIGroupList", "apiVersion": "v1", "groups": .array(groups.map { group($0) })]
    }

    public static func groupDocument(_ name: String) -> JSON? {
        groups.contains(name) ? group(name) : nil
    }

    /// The APIResourceList of one group version, or nil when it is not served.
    public static func resourceList(groupVersion: String) -> JSON? {
        let resources = ResourceType.all.filter { $0.groupVersion == groupVersion }
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
            entries.append(entry)
            if resource.hasStatus {
                entries.append(["name": .string("\(resource.plural)/status"), "singularName": "", "namespaced": .bool(resource.namespaced),
                                "kind": .string(resource.kind), "verbs": ["get", "patch", "update"]])
            }
        }
        return ["kind": "APIResourceList", "apiVersion": "v1", "groupVersion": .string(groupVersion), "resources": .array(entries)]
    }
}
