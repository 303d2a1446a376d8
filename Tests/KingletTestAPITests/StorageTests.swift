import Foundation
import KingletTestAPI
import KingletTestPeers
import Testing

@Suite("objects in etcd: CRUD and optimistic concurrency")
struct StorageTests {
    @Test func createGetListAndStaleUpdateConflict() async throws {
        try await APIFixture.with("crud") { api in
            let created = try await api.client.post("/api/v1/nodes", Manifests.node("edge-1"))
            #expect(created.status == 201)
            let uid = created.body.at(["metadata", "uid"])?.stringValue ?? ""
            #expect(uid.count == 36)
            #expect(created.body.at(["metadata", "creationTimestamp"])?.stringValue?.hasSuffix("Z") == true)
            #expect(Int(created.body.resourceVersion) ?? 0 > 0)

            // The object is really in etcd under kube-apiserver's key.
            let etcd = EtcdClient(endpoint: api.peer.etcd.clientURL)
            let stored = try await etcd.get("/registry/nodes/edge-1")
            await etcd.shutdown()
            #expect(stored.value.map { String($0.modRevision) } == created.body.resourceVersion)

            let again = try await api.client.post("/api/v1/nodes", Manifests.node("edge-1"))
            #expect(again.status == 409)
            #expect(again.body["reason"]?.stringValue == "AlreadyExists")

            let fetched = try await api.client.get("/api/v1/nodes/edge-1")
            #expect(fetched.status == 200)
            #expect(fetched.body.at(["metadata", "uid"])?.stringValue == uid)

            let list = try await api.client.get("/api/v1/nodes")
            #expect(list.body["kind"]?.stringValue == "NodeList")
            #expect(list.body.names == ["edge-1"])
            #expect(Int(list.body.resourceVersion) ?? 0 >= Int(created.body.resourceVersion) ?? 0)

            var update = fetched.body
            update.set(["metadata", "labels", "site"], "plant-3")
            let updated = try await api.client.put("/api/v1/nodes/edge-1", update)
            #expect(updated.status == 200)
            #expect(updated.body.at(["metadata", "labels", "site"])?.stringValue == "plant-3")
            #expect(updated.body.resourceVersion != fetched.body.resourceVersion)

            // The same write again carries a stale resourceVersion.
            update.set(["metadata", "labels", "site"], "plant-4")
            let stale = try await api.client.put("/api/v1/nodes/edge-1", update)
            #expect(stale.status == 409)
            #expect(stale.body["reason"]?.stringValue == "Conflict")
            #expect(stale.body["kind"]?.stringValue == "Status")

            let missing = try await api.client.get("/api/v1/nodes/nope")
            #expect(missing.status == 404)
            #expect(missing.body["reason"]?.stringValue == "NotFound")
            #expect(missing.body["message"]?.stringValue == "nodes \"nope\" not found")
        }
    }

    @Test func systemNamespacesExistAndUnknownNamespaceIsNotFound() async throws {
        try await APIFixture.with("namespaces") { api in
            let list = try await api.client.get("/api/v1/namespaces")
            #expect(Set(list.body.names) == ["default", "kube-system", "kube-public", "kube-node-lease"])
            let pod = try await api.client.post("/api/v1/namespaces/nowhere/pods", Manifests.pod("p"))
            #expect(pod.status == 404)
        }
    }

    @Test func generateNameAndLeaseUpdates() async throws {
        try await APIFixture.with("lease") { api in
            let generated = try await api.client.post("/api/v1/namespaces/default/configmaps",
                                                      ["metadata": ["generateName": "cfg-"], "data": ["a": "b"]])
            #expect(generated.status == 201)
            let name = generated.body.at(["metadata", "name"])?.stringValue ?? ""
            #expect(name.hasPrefix("cfg-") && name.count == 9)

            let path = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases"
            let lease: JSON = ["metadata": ["name": "edge-1"],
                               "spec": ["holderIdentity": "edge-1", "leaseDurationSeconds": 40, "renewTime": "2026-01-01T00:00:00.000000Z"]]
            var current = try await api.client.post(path, lease).body
            #expect(current["apiVersion"]?.stringValue == "coordination.k8s.io/v1")
            for second in 1...5 {
                current.set(["spec", "renewTime"], .string("2026-01-01T00:00:0\(second).000000Z"))
                let renewed = try await api.client.put(path + "/edge-1", current)
                #expect(renewed.status == 200)
                current = renewed.body
            }
            var stale = current
            stale.set(["metadata", "resourceVersion"], "2")
            #expect(try await api.client.put(path + "/edge-1", stale).status == 409)
        }
    }

    @Test func tokenIsRequiredWhenConfigured() async throws {
        try await APIFixture.with("token", token: "s3cret") { api in
            #expect(try await api.client.get("/api/v1/nodes").status == 200)
            let anonymous = APIClient(baseURL: api.peer.url)
            let refused = try await anonymous.get("/api/v1/nodes")
            await anonymous.shutdown()
            #expect(refused.status == 401)
            let kubeconfig = try String(contentsOfFile: api.peer.kubeconfigPath, encoding: .utf8)
            #expect(kubeconfig.contains("token: s3cret"))
            #expect(kubeconfig.contains("server: \(api.peer.url)"))
        }
    }

    @Test func badRequestsGetStatusErrorsSayingWhy() async throws {
        try await APIFixture.with("badinput") { api in
            let broken = try await api.client.request("POST", "/api/v1/namespaces/default/configmaps",
                                                      body: .string("placeholder"), contentType: "application/json")
            #expect(broken.status == 400)
            let raw = try await api.client.requestRaw("POST", "/api/v1/namespaces/default/configmaps", body: "{\"metadata\": {\"name\": \"x\",}")
            #expect(raw.status == 400)
            #expect(raw.body["message"]?.stringValue?.contains("line 1, column") == true)
            let badName = try await api.client.post("/api/v1/namespaces/default/configmaps", ["metadata": ["name": "Not_A_Name"]])
            #expect(badName.status == 422)
            #expect(badName.body["reason"]?.stringValue == "Invalid")
            let wrongKind = try await api.client.post("/api/v1/namespaces/default/configmaps", ["kind": "Secret", "metadata": ["name": "x"]])
            #expect(wrongKind.status == 400)
            let badPatch = try await api.client.request("PATCH", "/api/v1/namespaces/default/configmaps/x", body: [:], contentType: "text/plain")
            #expect(badPatch.status == 415)
            let unknown = try await api.client.get("/api/v1/widgets")
            #expect(unknown.status == 404)
            let badSelector = try await api.client.get("/api/v1/pods?labelSelector=a%20in%20b")
            #expect(badSelector.status == 400)
        }
    }

    @Test func paginatedListReturnsEveryItemOnce() async throws {
        try await APIFixture.with("pages") { api in
            for index in 0..<7 {
                _ = try await api.client.post("/api/v1/namespaces/default/configmaps", ["metadata": ["name": .string("cm-\(index)")]])
            }
            var names: [String] = []
            var token: String? = nil
            var pages = 0
            repeat {
                let query = "/api/v1/namespaces/default/configmaps?limit=3" + (token.map { "&continue=\($0)" } ?? "")
                let page = try await api.client.get(query)
                #expect(page.status == 200)
                names += page.body.names
                token = page.body.at(["metadata", "continue"])?.stringValue
                pages += 1
            } while token != nil && pages < 10
            #expect(names == (0..<7).map { "cm-\($0)" })
            #expect(pages == 3)
        }
    }
}
