import Foundation
import KingletTestAPI
import KingletTestPeers
import Testing

/// Objects of the project's CRDs (deploy/crds) and the device fixtures (Tests/Fixtures/devices).
enum DeviceManifests {
    static var crdFolder: String { BuiltProducts.packageRoot.appendingPathComponent("deploy/crds").path }
    static var fixtures: String { BuiltProducts.packageRoot.appendingPathComponent("Tests/Fixtures/devices").path }
    static let devicesPath = "/apis/devices.kubeedge.io/v1beta1/namespaces/default/devices"
    static let modelsPath = "/apis/devices.kubeedge.io/v1beta1/namespaces/default/devicemodels"

    /// A small CRD as a client would post it.
    static func crd(group: String = "example.kinglet.io", plural: String = "widgets", kind: String = "Widget",
                    status: Bool = true) -> JSON {
        var version: JSON = ["name": "v1", "served": true, "storage": true,
                             "schema": ["openAPIV3Schema": ["type": "object", "x-kubernetes-preserve-unknown-fields": true]]]
        if status { version["subresources"] = ["status": [:]] }
        return ["apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
                "metadata": ["name": .string("\(plural).\(group)")],
                "spec": ["group": .string(group), "scope": "Namespaced",
                         "names": ["plural": .string(plural), "singular": .string(String(plural.dropLast())), "kind": .string(kind)],
                         "versions": [version]]]
    }

    static func widget(_ name: String, spec: JSON = ["size": 1], labels: [String: String] = [:]) -> JSON {
        ["apiVersion": "example.kinglet.io/v1", "kind": "Widget",
         "metadata": ["name": .string(name), "labels": .object(labels.mapValues(JSON.string))], "spec": spec]
    }

    static let widgets = "/apis/example.kinglet.io/v1/namespaces/default/widgets"
}

/// The etcd keys under `prefix`, read from etcd itself.
func storedKeys(_ api: APIFixture, prefix: String) async throws -> [String] {
    let etcd = EtcdClient(endpoint: api.peer.etcd.clientURL)
    do {
        let page = try await etcd.list(prefix: prefix)
        await etcd.shutdown()
        return page.values.map(\.key)
    } catch {
        await etcd.shutdown()
        throw error
    }
}

@Suite("CustomResourceDefinitions and custom resources", .serialized)
struct CustomResourceTests {
    @Test func createdCRDIsEstablishedAndItsResourceIsDiscoveredAndServed() async throws {
        try await APIFixture.with("crd-serve") { api in
            #expect(try await api.client.get(DeviceManifests.widgets).status == 404)
            let created = try await api.client.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", DeviceManifests.crd())
            #expect(created.status == 201, "\(created.body)")
            let conditions = created.body.at(["status", "conditions"])?.arrayValue ?? []
            #expect(conditions.contains { $0["type"] == "Established" && $0["status"] == "True" })
            #expect(created.body.at(["status", "acceptedNames", "listKind"]) == "WidgetList")
            #expect(created.body.at(["status", "storedVersions"]) == ["v1"])

            let groups = try await api.client.get("/apis").body["groups"]?.arrayValue ?? []
            #expect(groups.contains { $0["name"] == "example.kinglet.io" && $0.at(["preferredVersion", "version"]) == "v1" })
            let resources = try await api.client.get("/apis/example.kinglet.io/v1").body["resources"]?.arrayValue ?? []
            #expect(resources.map { $0["name"]?.stringValue ?? "" } == ["widgets", "widgets/status"])
            #expect(resources.first?["kind"] == "Widget")
            #expect(resources.first?["namespaced"] == true)

            let widget = try await api.client.post(DeviceManifests.widgets, DeviceManifests.widget("w1"))
            #expect(widget.status == 201, "\(widget.body)")
            let list = try await api.client.get(DeviceManifests.widgets)
            #expect(list.body["kind"] == "WidgetList")
            #expect(list.body.names == ["w1"])
            // Stored under the group, as the apiextensions server keys custom resources.
            let stored = try await storedKeys(api, prefix: "/registry/example.kinglet.io/widgets/")
            #expect(stored == ["/registry/example.kinglet.io/widgets/default/w1"])
        }
    }

    @Test func invalidCRDIsRefusedWithTheFieldAtFault() async throws {
        try await APIFixture.with("crd-invalid") { api in
            var wrongName = DeviceManifests.crd()
            wrongName.set(["metadata", "name"], "widgets.other.io")
            let refused = try await api.client.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", wrongName)
            #expect(refused.status == 422)
            #expect(refused.body.at(["details", "causes"])?.arrayValue?.first?["field"] == "metadata.name")

            var twoStorage = DeviceManifests.crd()
            var versions = twoStorage.at(["spec", "versions"])?.arrayValue ?? []
            var second = versions[0]
            second["name"] = "v2"
            versions.append(second)
            twoStorage.set(["spec", "versions"], .array(versions))
            let storage = try await api.client.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", twoStorage)
            #expect(storage.status == 422)
            #expect(storage.body["message"]?.stringValue?.contains("exactly one version marked as storage") == true)
        }
    }

    @Test func statusSubresourceSeparatesSpecFromStatusAndGenerationFollowsSpec() async throws {
        try await APIFixture.with("crd-status") { api in
            _ = try await api.client.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", DeviceManifests.crd())
            var input = DeviceManifests.widget("w1")
            input["status"] = ["phase": "Made up"]
            let created = try await api.client.post(DeviceManifests.widgets, input).body
            // Create cannot set status when the status subresource is on.
            #expect(created["status"] == nil)
            #expect(created.at(["metadata", "generation"]) == 1)

            // A status write through /status: spec changes in it are ignored, generation stays.
            var statusWrite = created
            statusWrite["status"] = ["phase": "Ready"]
            statusWrite["spec"] = ["size": 99]
            let afterStatus = try await api.client.put(DeviceManifests.widgets + "/w1/status", statusWrite)
            #expect(afterStatus.status == 200, "\(afterStatus.body)")
            #expect(afterStatus.body.at(["status", "phase"]) == "Ready")
            #expect(afterStatus.body.at(["spec", "size"]) == 1)
            #expect(afterStatus.body.at(["metadata", "generation"]) == 1)

            // A write of the main resource: its status changes are ignored, a spec change
            // bumps the generation.
            var mainWrite = afterStatus.body
            mainWrite["status"] = ["phase": "Overwritten"]
            mainWrite["spec"] = ["size": 2]
            let afterMain = try await api.client.put(DeviceManifests.widgets + "/w1", mainWrite)
            #expect(afterMain.status == 200, "\(afterMain.body)")
            #expect(afterMain.body.at(["status", "phase"]) == "Ready")
            #expect(afterMain.body.at(["spec", "size"]) == 2)
            #expect(afterMain.body.at(["metadata", "generation"]) == 2)

            // A stale resourceVersion is a 409; a label-only change keeps the generation.
            let stale = try await api.client.put(DeviceManifests.widgets + "/w1", mainWrite)
            #expect(stale.status == 409)
            let relabelled = try await api.client.patch(DeviceManifests.widgets + "/w1", ["metadata": ["labels": ["tier": "gold"]]])
            #expect(relabelled.body.at(["metadata", "generation"]) == 2)

            // Merge patch of /status; strategic merge is refused as the real server does for CRs.
            let patched = try await api.client.patch(DeviceManifests.widgets + "/w1/status", ["status": ["phase": "Done"], "spec": ["size": 7]])
            #expect(patched.body.at(["status", "phase"]) == "Done")
            #expect(patched.body.at(["spec", "size"]) == 2)
            let strategic = try await api.client.patch(DeviceManifests.widgets + "/w1", ["spec": ["size": 3]],
                                                       type: "application/strategic-merge-patch+json")
            #expect(strategic.status == 415)
        }
    }

    @Test func customResourcesListByLabelWatchAndGoWithTheirCRD() async throws {
        try await APIFixture.with("crd-watch") { api in
            _ = try await api.client.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", DeviceManifests.crd())
            _ = try await api.client.post(DeviceManifests.widgets, DeviceManifests.widget("red", labels: ["color": "red"]))
            let blue = try await api.client.post(DeviceManifests.widgets, DeviceManifests.widget("blue", labels: ["color": "blue"])).body
            let selected = try await api.client.get(DeviceManifests.widgets + "?labelSelector=color%3Dred")
            #expect(selected.body.names == ["red"])

            let start = blue.resourceVersion
            _ = try await api.client.patch(DeviceManifests.widgets + "/blue", ["spec": ["size": 5]])
            var seen: [String] = []
            try await api.client.watch(DeviceManifests.widgets + "?watch=1&resourceVersion=\(start)", within: 10) { event in
                seen.append("\(event["type"]?.stringValue ?? "") \(event.at(["object", "metadata", "name"])?.stringValue ?? "") \(event.at(["object", "kind"])?.stringValue ?? "")")
                return seen.count < 1
            }
            #expect(seen == ["MODIFIED blue Widget"])

            let deleted = try await api.client.delete("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.kinglet.io")
            #expect(deleted.status == 200, "\(deleted.body)")
            #expect(try await api.client.get(DeviceManifests.widgets).status == 404)
            #expect(try await storedKeys(api, prefix: "/registry/example.kinglet.io/").isEmpty)
            let groups = try await api.client.get("/apis").body["groups"]?.arrayValue ?? []
            #expect(!groups.contains { $0["name"] == "example.kinglet.io" })
        }
    }
}

/// The project's device CRDs with the real kubectl and Python client.
@Suite("device CRDs with kubectl and the Python client", .serialized)
struct DeviceCRDToolTests {
    func kube(_ api: APIFixture, _ arguments: [String], within seconds: Double = 60) throws -> ToolRun {
        let folder = api.peer.folder
        return try runTool(kubectl, ["--kubeconfig", api.peer.kubeconfigPath, "--cache-dir", folder + "/kubecache"] + arguments,
                           environment: ["HOME": folder], within: seconds)
    }

    static func rows(_ output: String) -> [[String]] {
        output.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true).map(String.init) }
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: kubectl), "kubectl is not installed"))
    func deployedCRDsApplyAndUsersDeviceManifestsCreateGetPatchAndDelete() async throws {
        try await APIFixture.with("kubectl-devices") { api in
            let apply = try kube(api, ["apply", "-f", DeviceManifests.crdFolder])
            #expect(apply.status == 0, "\(apply.error)")
            #expect(apply.output.contains("customresourcedefinition.apiextensions.k8s.io/devices.devices.kubeedge.io created"))
            #expect(apply.output.contains("customresourcedefinition.apiextensions.k8s.io/devicemodels.devices.kubeedge.io created"))
            let established = try kube(api, ["wait", "--for", "condition=Established", "--timeout", "20s",
                                             "crd/devices.devices.kubeedge.io", "crd/devicemodels.devices.kubeedge.io"])
            #expect(established.status == 0, "\(established.error)")
            // Applying again changes nothing and fails nothing.
            let again = try kube(api, ["apply", "-f", DeviceManifests.crdFolder])
            #expect(again.status == 0, "\(again.error)")
            #expect(again.output.contains("devices.devices.kubeedge.io unchanged"), "\(again.output)")

            for fixture in ["modbus-boiler.yaml", "mqtt-sensor.yaml"] {
                let create = try kube(api, ["create", "-f", DeviceManifests.fixtures + "/" + fixture])
                #expect(create.status == 0, "\(fixture): \(create.error)")
            }
            let models = try kube(api, ["get", "devicemodels"])
            #expect(models.status == 0, "\(models.error)")
            #expect(Self.rows(models.output).first == ["NAME", "PROTOCOL", "AGE"])
            #expect(Self.rows(models.output).dropFirst().map { Array($0.prefix(2)) } == [["boiler", "modbus"], ["thermo-hygro", "virtualProtocol"]])
            let devices = try kube(api, ["get", "devices"])
            #expect(devices.status == 0, "\(devices.error)")
            #expect(Self.rows(devices.output).first == ["NAME", "MODEL", "NODE", "STATE", "AGE"])
            // No status yet: the STATE cell is null, which kubectl prints as blank (rows of 4 words).
            #expect(Self.rows(devices.output).dropFirst().map { $0.count == 5 ? Array($0.prefix(4)) : Array($0.prefix(3)) }
                    == [["boiler-1", "boiler", "edge-1"], ["thermo-1", "thermo-hygro", "edge-2"]])
            let selected = try kube(api, ["get", "devices", "-l", "model=boiler", "-o", "name"])
            #expect(selected.output.trimmingCharacters(in: .whitespacesAndNewlines) == "device.devices.kubeedge.io/boiler-1")

            // Free-form configData keeps every field, nested ones included.
            let thermo = try JSONParser.parse(try kube(api, ["get", "device", "thermo-1", "-o", "json"]).output)
            #expect(thermo.at(["spec", "protocol", "configData", "nested", "tags"]) == ["greenhouse", "north"])
            #expect(thermo.at(["spec", "properties"])?.arrayValue?.first?.at(["pushMethod", "mqtt", "topic"]) == "greenhouse/thermo-1/temperature")
            #expect(thermo.at(["spec", "properties"])?.arrayValue?.first?["reportCycle"] == 1_000_000_000)

            // An edit of a desired value with a merge patch (kubectl's edit/apply path for CRs).
            let boiler = try JSONParser.parse(try kube(api, ["get", "device", "boiler-1", "-o", "json"]).output)
            var properties = boiler.at(["spec", "properties"])?.arrayValue ?? []
            properties[0].set(["desired", "value"], "23")
            let patch = JSON.object(["spec": ["properties": .array(properties)]]).text
            let patched = try kube(api, ["patch", "device", "boiler-1", "--type=merge", "-p", patch])
            #expect(patched.status == 0, "\(patched.error)")
            let after = try JSONParser.parse(try kube(api, ["get", "device", "boiler-1", "-o", "json"]).output)
            #expect(after.at(["spec", "properties"])?.arrayValue?.first?.at(["desired", "value"]) == "23")
            #expect(after.at(["metadata", "generation"]) == 2)
            // kubectl's default (strategic merge) is refused for custom resources, as by kube-apiserver.
            let strategic = try kube(api, ["patch", "device", "boiler-1", "-p", #"{"metadata":{"labels":{"x":"y"}}}"#])
            #expect(strategic.status != 0)
            #expect(strategic.error.contains("415") || strategic.error.contains("not supported"), "\(strategic.error)")

            // Status through the status subresource, as the relay writes it.
            let status = try kube(api, ["patch", "device", "boiler-1", "--subresource=status", "--type=merge", "-p",
                                        #"{"status":{"state":"online","twins":[{"propertyName":"setpoint","reported":{"value":"21.5"}}]}}"#])
            #expect(status.status == 0, "\(status.error)")
            let stateRow = Self.rows(try kube(api, ["get", "device", "boiler-1"]).output).dropFirst().first ?? []
            #expect(stateRow.prefix(4) == ["boiler-1", "boiler", "edge-1", "online"])

            let delete = try kube(api, ["delete", "-f", DeviceManifests.fixtures + "/mqtt-sensor.yaml"])
            #expect(delete.status == 0, "\(delete.error)")
            let left = try kube(api, ["get", "devices", "-o", "name"])
            #expect(left.output.trimmingCharacters(in: .whitespacesAndNewlines) == "device.devices.kubeedge.io/boiler-1")
        }
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: python), "python3 is not installed"))
    func pythonClientReadsDevicesThroughCustomObjectsApi() async throws {
        try await APIFixture.with("python-devices") { api in
            for path in ["devices.kubeedge.io_devicemodels.yaml", "devices.kubeedge.io_devices.yaml"] {
                let text = try String(contentsOfFile: DeviceManifests.crdFolder + "/" + path, encoding: .utf8)
                let crd = try yamlToJSON(text)
                let created = try await api.client.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd)
                #expect(created.status == 201, "\(created.body)")
            }
            let manifests = try String(contentsOfFile: DeviceManifests.fixtures + "/modbus-boiler.yaml", encoding: .utf8)
            for document in manifests.components(separatedBy: "\n---\n") {
                let object = try yamlToJSON(document)
                let path = object["kind"] == "Device" ? DeviceManifests.devicesPath : DeviceManifests.modelsPath
                #expect(try await api.client.post(path, object).status == 201)
            }
            let script = """
            import json, sys
            from kubernetes import client, config
            config.load_kube_config(config_file=sys.argv[1])
            api = client.CustomObjectsApi()
            device = api.get_namespaced_custom_object("devices.kubeedge.io", "v1beta1", "default", "devices", "boiler-1")
            models = api.list_namespaced_custom_object("devices.kubeedge.io", "v1beta1", "default", "devicemodels")
            print(json.dumps({"model": device["spec"]["deviceModelRef"]["name"], "node": device["spec"]["nodeName"],
                              "desired": device["spec"]["properties"][0]["desired"]["value"],
                              "models": [m["metadata"]["name"] for m in models["items"]]}))
            """
            try script.write(toFile: api.peer.folder + "/read.py", atomically: true, encoding: .utf8)
            let run = try runTool(python, [api.peer.folder + "/read.py", api.peer.kubeconfigPath])
            #expect(run.status == 0, "\(run.error)")
            let read = try JSONParser.parse(run.output)
            #expect(read == ["model": "boiler", "node": "edge-1", "desired": "21.5", "models": ["boiler"]])
        }
    }

    /// YAML to JSON with the system Python's yaml module (the Python client depends on it).
    func yamlToJSON(_ yaml: String) throws -> JSON {
        let run = try runTool(python, ["-c", "import json, sys, yaml; print(json.dumps(yaml.safe_load(sys.stdin)))"], input: yaml)
        guard run.status == 0 else { throw PeerError("yaml to json: \(run.error)") }
        return try JSONParser.parse(run.output)
    }
}
