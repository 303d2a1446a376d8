import Foundation
import KingletTestAPI
import KingletTestPeers
import Testing

@Suite("pods as the real API server treats them")
struct PodSemanticsTests {
    let pods = "/api/v1/namespaces/default/pods"

    @Test func createAppliesDefaultsAndDefaultTolerationSeconds() async throws {
        try await APIFixture.with("defaults") { api in
            let created = try await api.client.post(pods, Manifests.pod("web"))
            #expect(created.status == 201)
            let pod = created.body
            #expect(pod.at(["metadata", "namespace"])?.stringValue == "default")
            #expect(pod.at(["status", "phase"])?.stringValue == "Pending")
            #expect(pod.at(["spec", "restartPolicy"])?.stringValue == "Always")
            #expect(pod.at(["spec", "terminationGracePeriodSeconds"])?.intValue == 30)
            #expect(pod.at(["spec", "dnsPolicy"])?.stringValue == "ClusterFirst")
            #expect(pod.at(["spec", "schedulerName"])?.stringValue == "default-scheduler")
            let container = pod.at(["spec", "containers"])?.arrayValue?.first ?? [:]
            #expect(container["terminationMessagePath"]?.stringValue == "/dev/termination-log")
            #expect(container["imagePullPolicy"]?.stringValue == "IfNotPresent")
            let tolerations = pod.at(["spec", "tolerations"])?.arrayValue ?? []
            for key in ["node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"] {
                #expect(tolerations.contains { $0["key"]?.stringValue == key && $0["effect"]?.stringValue == "NoExecute"
                    && $0["tolerationSeconds"]?.intValue == 300 && $0["operator"]?.stringValue == "Exists" })
            }

            // A pod that already tolerates not-ready keeps its own toleration, and only gets unreachable.
            var own = Manifests.pod("own")
            own.set(["spec", "tolerations"], [["key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 5]])
            own.set(["spec", "containers"], [["name": "c", "image": "busybox"]])
            let ownPod = try await api.client.post(pods, own).body
            let ownTolerations = ownPod.at(["spec", "tolerations"])?.arrayValue ?? []
            #expect(ownTolerations.count == 2)
            #expect(ownTolerations.first { $0["key"]?.stringValue == "node.kubernetes.io/not-ready" }?["tolerationSeconds"]?.intValue == 5)
            #expect(ownPod.at(["spec", "containers"])?.arrayValue?.first?["imagePullPolicy"]?.stringValue == "Always")
        }
    }

    @Test func tolerationsMayBeAddedButOtherSpecChangesAreRefused() async throws {
        try await APIFixture.with("specupdate") { api in
            var pod = try await api.client.post(pods, Manifests.pod("web", node: "edge-1")).body
            var tolerations = pod.at(["spec", "tolerations"])?.arrayValue ?? []
            tolerations.append(["key": "kinglet.io/offline", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 600])
            pod.set(["spec", "tolerations"], .array(tolerations))
            let added = try await api.client.put(pods + "/web", pod)
            #expect(added.status == 200)
            #expect(added.body.at(["spec", "tolerations"])?.arrayValue?.count == 3)

            var changed = added.body
            changed.set(["spec", "restartPolicy"], "Never")
            let refused = try await api.client.put(pods + "/web", changed)
            #expect(refused.status == 422)
            #expect(refused.body["reason"]?.stringValue == "Invalid")

            var removed = added.body
            removed.set(["spec", "tolerations"], [])
            #expect(try await api.client.put(pods + "/web", removed).status == 422)

            let patched = try await api.client.patch(pods + "/web", ["spec": ["nodeName": "edge-2"]],
                                                     type: "application/strategic-merge-patch+json")
            #expect(patched.status == 422)

            let image = try await api.client.request("PATCH", pods + "/web",
                body: [["op": "replace", "path": "/spec/containers/0/image", "value": "busybox:1.37"]],
                contentType: "application/json-patch+json")
            #expect(image.status == 200)
            #expect(image.body.at(["spec", "containers"])?.arrayValue?.first?["image"]?.stringValue == "busybox:1.37")
        }
    }

    @Test func statusSubresourceIsIsolatedFromTheMainResource() async throws {
        try await APIFixture.with("status") { api in
            var pod = try await api.client.post(pods, Manifests.pod("web", node: "edge-1")).body
            pod.set(["status", "phase"], "Running")
            pod.set(["metadata", "labels", "tier"], "front")
            let main = try await api.client.put(pods + "/web", pod)
            #expect(main.status == 200)
            #expect(main.body.at(["status", "phase"])?.stringValue == "Pending")
            #expect(main.body.at(["metadata", "labels", "tier"])?.stringValue == "front")

            var statusUpdate = main.body
            statusUpdate.set(["status", "phase"], "Running")
            statusUpdate.set(["metadata", "labels", "tier"], "back")
            let status = try await api.client.put(pods + "/web/status", statusUpdate)
            #expect(status.status == 200)
            #expect(status.body.at(["status", "phase"])?.stringValue == "Running")
            #expect(status.body.at(["metadata", "labels", "tier"])?.stringValue == "front")

            // Strategic merge of conditions by type, container statuses by name.
            let patch: JSON = ["status": [
                "conditions": [["type": "Ready", "status": "True"], ["type": "PodScheduled", "status": "True"]],
                "containerStatuses": [["name": "main", "ready": true, "restartCount": 0]]]]
            _ = try await api.client.patch(pods + "/web/status", patch, type: "application/strategic-merge-patch+json")
            let second = try await api.client.patch(pods + "/web/status",
                ["status": ["conditions": [["type": "Ready", "status": "False"]], "containerStatuses": [["name": "main", "restartCount": 1]]]],
                type: "application/strategic-merge-patch+json")
            #expect(second.status == 200)
            let conditions = second.body.at(["status", "conditions"])?.arrayValue ?? []
            #expect(conditions.count == 2)
            #expect(conditions.first { $0["type"]?.stringValue == "Ready" }?["status"]?.stringValue == "False")
            let container = second.body.at(["status", "containerStatuses"])?.arrayValue?.first ?? [:]
            #expect(container["ready"]?.boolValue == true && container["restartCount"]?.intValue == 1)

            // A status patch cannot touch the spec.
            let sneaky = try await api.client.patch(pods + "/web/status", ["spec": ["nodeName": "edge-9"], "status": ["phase": "Succeeded"]])
            #expect(sneaky.body.at(["spec", "nodeName"])?.stringValue == "edge-1")
            #expect(sneaky.body.at(["status", "phase"])?.stringValue == "Succeeded")
        }
    }

    @Test func runningPodIsDeletedGracefullyThenRemovedWithGraceZero() async throws {
        try await APIFixture.with("graceful") { api in
            let created = try await api.client.post(pods, Manifests.pod("web", node: "edge-1", grace: 20)).body
            let watcher = Task {
                try await collectEvents(api.client, pods + "?watch=1&resourceVersion=\(created.resourceVersion)") { $0.count >= 2 }
            }
            try await Task.sleep(for: .milliseconds(300))
            let first = try await api.client.delete(pods + "/web")
            #expect(first.status == 200)
            #expect(first.body.at(["metadata", "deletionTimestamp"]) != nil)
            #expect(first.body.at(["metadata", "deletionGracePeriodSeconds"])?.intValue == 20)
            let still = try await api.client.get(pods + "/web")
            #expect(still.status == 200)
            #expect(still.body.at(["metadata", "deletionGracePeriodSeconds"])?.intValue == 20)

            let wrongUID = try await api.client.delete(pods + "/web", ["gracePeriodSeconds": 0, "preconditions": ["uid": "not-the-uid"]])
            #expect(wrongUID.status == 409)

            let uid = created.at(["metadata", "uid"]) ?? ""
            let final = try await api.client.delete(pods + "/web", ["gracePeriodSeconds": 0, "preconditions": ["uid": uid]])
            #expect(final.status == 200)
            #expect(try await api.client.get(pods + "/web").status == 404)
            let events = try await watcher.value
            #expect(events.map(\.eventType) == ["MODIFIED", "DELETED"])
            #expect(events.first?.at(["object", "metadata", "deletionTimestamp"]) != nil)
        }
    }

    @Test func unscheduledPodIsRemovedAtOnce() async throws {
        try await APIFixture.with("unscheduled") { api in
            _ = try await api.client.post(pods, Manifests.pod("pending"))
            #expect(try await api.client.delete(pods + "/pending").status == 200)
            #expect(try await api.client.get(pods + "/pending").status == 404)
            _ = try await api.client.post(pods, Manifests.pod("now", node: "edge-1"))
            #expect(try await api.client.request("DELETE", pods + "/now?gracePeriodSeconds=0").status == 200)
            #expect(try await api.client.get(pods + "/now").status == 404)
        }
    }

    @Test func labelAndFieldSelectorsFilterLists() async throws {
        try await APIFixture.with("selectors") { api in
            _ = try await api.client.post(pods, Manifests.pod("a", node: "edge-1", labels: ["app": "web", "env": "prod"]))
            _ = try await api.client.post(pods, Manifests.pod("b", node: "edge-2", labels: ["app": "web", "env": "dev"]))
            _ = try await api.client.post(pods, Manifests.pod("c", node: "edge-1", labels: ["app": "db"]))
            _ = try await api.client.post(pods, Manifests.pod("d"))
            func names(_ query: String) async throws -> [String] {
                let reply = try await api.client.get("/api/v1/pods?" + query)
                #expect(reply.status == 200, "\(query): \(reply.body)")
                return reply.body.names.sorted()
            }
            #expect(try await names("labelSelector=app%3Dweb") == ["a", "b"])
            #expect(try await names("labelSelector=app!%3Dweb") == ["c", "d"])
            #expect(try await names("labelSelector=env+in+(prod,staging)") == ["a"])
            #expect(try await names("labelSelector=env%20notin%20(prod)") == ["b", "c", "d"])
            #expect(try await names("labelSelector=env") == ["a", "b"])
            #expect(try await names("labelSelector=!env") == ["c", "d"])
            #expect(try await names("labelSelector=app%3Dweb,env%3Ddev") == ["b"])
            #expect(try await names("fieldSelector=spec.nodeName%3Dedge-1") == ["a", "c"])
            #expect(try await names("fieldSelector=spec.nodeName%3D") == ["d"])
            #expect(try await names("fieldSelector=metadata.name%3Db,metadata.namespace%3Ddefault") == ["b"])
            #expect(try await names("fieldSelector=status.phase%3DPending&labelSelector=app%3Ddb") == ["c"])
            let unsupported = try await api.client.get("/api/v1/pods?fieldSelector=spec.bogus%3Dx")
            #expect(unsupported.status == 400)
        }
    }
}
