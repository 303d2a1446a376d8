import Foundation
import KingletTestAPI
import KingletTestPeers
import Testing

let kubectl = "/usr/bin/kubectl"
let python = "/usr/bin/python3"

@Suite("the real kubectl and Python client against the server", .serialized)
struct ClientToolTests {
    func kube(_ api: APIFixture, _ arguments: [String], input: String? = nil, within seconds: Double = 60) throws -> ToolRun {
        let folder = api.peer.folder
        return try runTool(kubectl, ["--kubeconfig", api.peer.kubeconfigPath, "--cache-dir", folder + "/kubecache"] + arguments,
                           environment: ["HOME": folder], input: input, within: seconds)
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: kubectl), "kubectl is not installed"))
    func kubectlGetCreateDescribeAndDelete() async throws {
        // No token: kubectl sends credentials only over HTTPS (clientcmd drops them for http:// servers).
        try await APIFixture.with("kubectl") { api in
            _ = try await api.client.post("/api/v1/nodes", Manifests.node("edge-1", labels: ["node-role.kubernetes.io/edge": ""]))
            _ = try await api.client.post("/api/v1/nodes", Manifests.node("edge-2", ready: "Unknown"))

            let nodes = try kube(api, ["get", "nodes"])
            #expect(nodes.status == 0, "\(nodes.error)")
            let lines = nodes.output.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true).map(String.init) }
            #expect(lines.first == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"])
            #expect(lines.dropFirst().first?.prefix(3) == ["edge-1", "Ready", "edge"])
            #expect(lines.dropFirst(2).first?.prefix(3) == ["edge-2", "NotReady", "<none>"])

            let manifest = """
            apiVersion: v1
            kind: Pod
            metadata:
              name: web
              labels: {app: web}
            spec:
              nodeName: edge-1
              containers:
              - name: web
                image: /usr/bin/busybox
                command: ["httpd", "-f"]
            """
            try manifest.write(toFile: api.peer.folder + "/pod.yaml", atomically: true, encoding: .utf8)
            let create = try kube(api, ["create", "-f", api.peer.folder + "/pod.yaml"])
            #expect(create.status == 0, "\(create.error)")
            #expect(create.output.contains("pod/web created"))

            let wide = try kube(api, ["get", "pods", "-o", "wide"])
            #expect(wide.status == 0, "\(wide.error)")
            #expect(wide.output.contains("NOMINATED NODE"))
            let row = wide.output.split(separator: "\n").first { $0.hasPrefix("web ") }?.split(separator: " ").map(String.init) ?? []
            #expect(row.prefix(4) == ["web", "0/1", "Pending", "0"])
            #expect(row.contains("edge-1"))

            let json = try kube(api, ["get", "pod", "web", "-o", "json"])
            #expect(try JSONParser.parse(json.output).at(["spec", "tolerations"])?.arrayValue?.count == 2)

            let describe = try kube(api, ["describe", "node", "edge-1"])
            #expect(describe.status == 0, "\(describe.error)")
            #expect(describe.output.contains("Name:               edge-1"))
            #expect(describe.output.contains("web"))

            // --wait=false: the pod stays, marked for deletion, until the node side removes it.
            let noWait = try kube(api, ["delete", "pod", "web", "--wait=false"])
            #expect(noWait.status == 0, "\(noWait.error)")
            let marked = try await api.client.get("/api/v1/namespaces/default/pods/web")
            #expect(marked.body.at(["metadata", "deletionTimestamp"]) != nil)
            let terminating = try kube(api, ["get", "pod", "web"])
            #expect(terminating.output.contains("Terminating"))

            // kubectl delete waits for the object to go; another client removes it with grace 0.
            let client = api.client
            let finisher = Task {
                try await Task.sleep(for: .seconds(1))
                return try await client.delete("/api/v1/namespaces/default/pods/web", ["gracePeriodSeconds": 0])
            }
            let waiting = try kube(api, ["delete", "pod", "web", "--timeout=30s"], within: 45)
            #expect(waiting.status == 0, "\(waiting.error)")
            #expect(waiting.output.contains("pod \"web\" deleted"))
            _ = try await finisher.value
            #expect(try await api.client.get("/api/v1/namespaces/default/pods/web").status == 404)
        }
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: python), "python3 is not installed"))
    func pythonKubernetesClientListsCreatesAndPatchesStatus() async throws {
        let check = try runTool(python, ["-c", "import kubernetes"])
        try #require(check.status == 0, "python3-kubernetes is not importable: \(check.error)")
        try await APIFixture.with("python", token: "py-token") { api in
            _ = try await api.client.post("/api/v1/nodes", Manifests.node("edge-1"))
            let script = """
            import sys
            from kubernetes import client, config
            config.load_kube_config(config_file=sys.argv[1])
            v1 = client.CoreV1Api()
            nodes = v1.list_node()
            print("nodes", [n.metadata.name for n in nodes.items])
            pod = client.V1Pod(metadata=client.V1ObjectMeta(name="py"),
                               spec=client.V1PodSpec(node_name="edge-1", containers=[client.V1Container(name="c", image="busybox")]))
            created = v1.create_namespaced_pod("default", pod)
            print("created", created.metadata.name, created.status.phase, created.spec.termination_grace_period_seconds)
            status = v1.read_namespaced_pod_status("py", "default")
            print("read", status.status.phase)
            patched = v1.patch_namespaced_pod_status("py", "default",
                {"status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}})
            print("patched", patched.status.phase, patched.status.conditions[0].type)
            try:
                v1.create_namespaced_pod("default", pod)
            except client.exceptions.ApiException as e:
                print("again", e.status)
            """
            try script.write(toFile: api.peer.folder + "/client.py", atomically: true, encoding: .utf8)
            let run = try runTool(python, [api.peer.folder + "/client.py", api.peer.kubeconfigPath], within: 60)
            #expect(run.status == 0, "\(run.error)")
            #expect(run.output.contains("nodes ['edge-1']"))
            #expect(run.output.contains("created py Pending 30"))
            #expect(run.output.contains("read Pending"))
            #expect(run.output.contains("patched Running Ready"))
            #expect(run.output.contains("again 409"))
        }
    }
}
