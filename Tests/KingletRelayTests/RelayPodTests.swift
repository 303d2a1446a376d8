import Foundation
import KingletKube
import KingletRelay
import KingletTestPeers
import Testing

/// Pods relayed to a board and their status written back.
@Suite(.serialized) struct RelayPodTests {
    static let runningStatus = """
        {"phase":"Running","hostIP":"192.0.2.10","podIP":"192.0.2.10","startTime":"2026-11-30T10:00:01Z",
         "conditions":[{"type":"Ready","status":"True"}],
         "containerStatuses":[{"name":"web","image":"/usr/bin/busybox","imageID":"","containerID":"kinglet-exec://4242",
           "state":{"running":{"startedAt":"2026-11-30T10:00:02Z"}},"lastState":{},"ready":true,"started":true,"restartCount":0}]}
        """

    @Test func boundPodIsPublishedResolvedAndItsStatusTolerationsAndDeletionFlowBack() async throws {
        try await RelayHarness.with("pod-flow") { harness in
            try harness.startRelay("r1")
            harness.comeOnline("edge-1")
            let beating = harness.keepBeating(["edge-1"])
            defer { beating.cancel() }
            _ = try await harness.kube.create(.configMaps, namespace: "default", [
                "apiVersion": "v1", "kind": "ConfigMap", "metadata": ["name": "settings", "namespace": "default"],
                "data": ["GREETING": "hello from a ConfigMap"],
            ])
            var pod = harness.pod("web")
            pod["spec"]?["containers"] = [[
                "name": "web", "image": "/usr/bin/busybox",
                "env": [["name": "GREETING", "valueFrom": ["configMapKeyRef": ["name": "settings", "key": "GREETING"]]]],
            ]]
            let created = try await harness.kube.create(.pods, namespace: "default", pod)
            let uid = try #require(created.uid)
            let node = "edge-1"

            let message = await harness.eventually { await harness.agentMessages.json(LinkTopic.desiredPod(node: node, uid: uid).path) }
            #expect(message != nil, "\(harness.relayLogs)")
            let env = message?[path: "pod", "spec", "containers"]?.arrayValue?.first?["env"]?.arrayValue
            #expect(env == [["name": "GREETING", "value": "hello from a ConfigMap"]])
            let hash = message?["specHash"]?.stringValue
            let index = await harness.eventually { () -> JSONValue? in
                let index = await harness.agentMessages.json(LinkTopic.desiredIndex(node: node).path)
                return index?[path: "pods", uid] != nil ? index : nil
            }
            #expect(index?[path: "pods", uid]?.stringValue == hash)

            // Tolerations against eviction are appended (unlimited: no tolerationSeconds).
            let tolerated = await harness.eventually { () -> [JSONValue]? in
                let tolerations = try await harness.kube.get(.pods, namespace: "default", name: "web")[path: "spec", "tolerations"]?.arrayValue ?? []
                return tolerations.contains { $0["key"] == "node.kubernetes.io/unreachable" && $0["tolerationSeconds"] == nil } ? tolerations : nil
            }
            #expect(tolerated != nil)
            // ...without changing the desired message's hash.
            try await Task.sleep(for: .seconds(1))
            #expect(await harness.agentMessages.json(LinkTopic.desiredPod(node: node, uid: uid).path)?["specHash"]?.stringValue == hash)

            // The agent reports Running: the API pod follows, and a Started event is written.
            harness.publish(.podStatus(node: node, uid: uid), """
                {"v":1,"uid":"\(uid)","namespace":"default","name":"web","specHash":"\(hash ?? "")","status":\(Self.runningStatus)}
                """)
            let running = await harness.eventually { () -> Bool? in
                let pod = try await harness.kube.get(.pods, namespace: "default", name: "web")
                return pod[path: "status", "phase"] == "Running" && pod[path: "status", "podIP"] == "192.0.2.10" ? true : nil
            }
            #expect(running == true, "\(harness.relayLogs)")
            let started = await harness.eventually { () -> JSONValue? in
                try await harness.kube.list(.events, namespace: "default").items.first { $0["reason"] == "Started" }
            }
            #expect(started?[path: "involvedObject", "uid"]?.stringValue == uid)
            #expect(started?[path: "involvedObject", "fieldPath"] == "spec.containers{web}")
            #expect(started?["reportingComponent"] == "kinglet-relay")

            // Graceful deletion: the pod leaves the index for `deleting`, its message is cleared.
            try await harness.kube.delete(.pods, namespace: "default", name: "web", gracePeriodSeconds: 20)
            let deleting = await harness.eventually { () -> JSONValue? in
                let index = await harness.agentMessages.json(LinkTopic.desiredIndex(node: node).path)
                return index?[path: "deleting", uid] != nil ? index : nil
            }
            #expect(deleting?[path: "deleting", uid] == 20)
            #expect(deleting?[path: "pods", uid] == nil)
            let cleared = await harness.eventually { await harness.agentMessages.payload(LinkTopic.desiredPod(node: node, uid: uid).path)?.isEmpty == true ? true : nil }
            #expect(cleared == true)

            // The agent stopped it and says so: the API object goes, the status topic is cleared.
            let statusWatch = harness.agent
            statusWatch.subscribe(LinkTopic.podStatus(node: node, uid: uid).path)
            harness.publish(.podStatus(node: node, uid: uid), #"{"v":1,"uid":"\#(uid)","namespace":"default","name":"web","removed":true}"#)
            let gone = await harness.eventually { () -> Bool? in
                do {
                    _ = try await harness.kube.get(.pods, namespace: "default", name: "web")
                    return nil
                } catch KubeError.notFound {
                    return true
                }
            }
            #expect(gone == true, "\(harness.relayLogs)")
            let statusCleared = await harness.eventually {
                await harness.agentMessages.payload(LinkTopic.podStatus(node: node, uid: uid).path)?.isEmpty == true ? true : nil
            }
            #expect(statusCleared == true)
            let emptyIndex = await harness.eventually { () -> Bool? in
                let index = await harness.agentMessages.json(LinkTopic.desiredIndex(node: node).path)
                return index?["pods"] == [:] && index?["deleting"] == [:] ? true : nil
            }
            #expect(emptyIndex == true)
        }
    }

    @Test func missingConfigMapGivesCreateContainerConfigErrorAndNothingIsSentUntilItExists() async throws {
        try await RelayHarness.with("pod-config") { harness in
            try harness.startRelay("r1")
            harness.comeOnline("edge-1")
            var pod = harness.pod("needs-config")
            pod["spec"]?["containers"] = [[
                "name": "web", "image": "/usr/bin/busybox", "envFrom": [["configMapRef": ["name": "later"]]],
            ]]
            let uid = try #require(try await harness.kube.create(.pods, namespace: "default", pod).uid)
            let waiting = await harness.eventually { () -> String? in
                let pod = try await harness.kube.get(.pods, namespace: "default", name: "needs-config")
                let state = pod[path: "status", "containerStatuses"]?.arrayValue?.first?[path: "state", "waiting"]
                return state?["reason"] == "CreateContainerConfigError" ? state?["message"]?.stringValue : nil
            }
            #expect(waiting == "configmap \"later\" not found", "\(harness.relayLogs)")
            // The index (published once synced) does not list it, and no pod message went out.
            let index = await harness.eventually { await harness.agentMessages.json(LinkTopic.desiredIndex(node: "edge-1").path) }
            #expect(index?[path: "pods", uid] == nil)
            #expect(await harness.agentMessages.payload(LinkTopic.desiredPod(node: "edge-1", uid: uid).path) == nil)

            _ = try await harness.kube.create(.configMaps, namespace: "default", [
                "apiVersion": "v1", "kind": "ConfigMap", "metadata": ["name": "later", "namespace": "default"], "data": ["MODE": "on"],
            ])
            let message = await harness.eventually { await harness.agentMessages.json(LinkTopic.desiredPod(node: "edge-1", uid: uid).path) }
            #expect(message?[path: "pod", "spec", "containers"]?.arrayValue?.first?["env"] == [["name": "MODE", "value": "on"]])
        }
    }

    @Test func pullSecretsTravelWithThePodAMissingOneWarnsAndSecretChangesResendIt() async throws {
        try await RelayHarness.with("pod-pull-secrets") { harness in
            try harness.startRelay("r1")
            harness.comeOnline("edge-1")
            func base64(_ text: String) -> String { Data(text.utf8).base64EncodedString() }
            func dockerConfig(_ password: String) -> JSONValue {
                .string(base64(#"{"auths":{"registry.local:5000":{"username":"u","password":"\#(password)"}}}"#))
            }
            _ = try await harness.kube.create(.secrets, namespace: "default", [
                "apiVersion": "v1", "kind": "Secret", "metadata": ["name": "regcred", "namespace": "default"],
                "type": "kubernetes.io/dockerconfigjson", "data": [".dockerconfigjson": dockerConfig("first")],
            ])
            var pod = harness.pod("pulls")
            pod["spec"]?["imagePullSecrets"] = [["name": "later"], ["name": "regcred"]]
            let uid = try #require(try await harness.kube.create(.pods, namespace: "default", pod).uid)
            let topic = LinkTopic.desiredPod(node: "edge-1", uid: uid).path

            // "later" does not exist: the pod goes out with regcred's credentials, and a warning.
            let first = await harness.eventually { await harness.agentMessages.json(topic) }
            #expect(first?["pullCredentials"] == ["registry.local:5000": ["auth": .string(base64("u:first"))]], "\(harness.relayLogs)")
            let warning = await harness.eventually { () -> JSONValue? in
                try await harness.kube.list(.events, namespace: "default").items.first { $0["reason"] == "FailedToRetrieveImagePullSecret" }
            }
            #expect(warning?["message"] == "Unable to retrieve some image pull secrets (later); attempting to pull the image may not succeed.")
            #expect(warning?["type"] == "Warning")
            #expect(warning?[path: "involvedObject", "uid"]?.stringValue == uid)
            #expect(warning?[path: "involvedObject", "fieldPath"] == nil)

            // "later" appears (a dockercfg Secret listed first): it wins for the registry, and
            // the pod is sent again with a new hash.
            _ = try await harness.kube.create(.secrets, namespace: "default", [
                "apiVersion": "v1", "kind": "Secret", "metadata": ["name": "later", "namespace": "default"],
                "type": "kubernetes.io/dockercfg",
                "data": [".dockercfg": .string(base64(#"{"registry.local:5000":{"auth":"\#(base64("l:ater"))"}}"#))],
            ])
            let second = await harness.eventually { () -> JSONValue? in
                let message = await harness.agentMessages.json(topic)
                return message?["specHash"] != first?["specHash"] ? message : nil
            }
            #expect(second?["pullCredentials"] == ["registry.local:5000": ["auth": .string(base64("l:ater"))]], "\(harness.relayLogs)")
            let index = await harness.eventually { () -> JSONValue? in
                let index = await harness.agentMessages.json(LinkTopic.desiredIndex(node: "edge-1").path)
                return index?[path: "pods", uid] == second?["specHash"] ? index : nil
            }
            #expect(index != nil)

            // Deleting the winning secret falls back to regcred; changing regcred then resends too.
            try await harness.kube.delete(.secrets, namespace: "default", name: "later")
            let third = await harness.eventually { () -> JSONValue? in
                let message = await harness.agentMessages.json(topic)
                return message?[path: "pullCredentials", "registry.local:5000", "auth"] == .string(base64("u:first")) ? message : nil
            }
            #expect(third?["specHash"] == first?["specHash"])
            var changed = try await harness.kube.get(.secrets, namespace: "default", name: "regcred")
            changed["data"] = [".dockerconfigjson": dockerConfig("second")]
            _ = try await harness.kube.replace(.secrets, namespace: "default", name: "regcred", changed)
            let fourth = await harness.eventually { () -> JSONValue? in
                let message = await harness.agentMessages.json(topic)
                return message?[path: "pullCredentials", "registry.local:5000", "auth"] == .string(base64("u:second")) ? message : nil
            }
            #expect(fourth != nil && fourth?["specHash"] != first?["specHash"], "\(harness.relayLogs)")
        }
    }

    @Test func podInformerRelistsAfterItsResourceVersionExpiresAndKeepsRelaying() async throws {
        // Bookmarks off and short watches: the pod informer's resourceVersion stays old
        // while ConfigMap writes move etcd on; compaction then makes it expire (410).
        try await RelayHarness.with("pod-relist", bookmarks: 1000) { harness in
            try harness.startRelay("r1", extra: ["--watch-timeout", "1"])
            harness.comeOnline("edge-1")
            let index = await harness.eventually { await harness.agentMessages.json(LinkTopic.desiredIndex(node: "edge-1").path) }
            #expect(index != nil, "\(harness.relayLogs)")
            for number in 0..<3 {
                _ = try await harness.kube.create(.configMaps, namespace: "default", [
                    "apiVersion": "v1", "kind": "ConfigMap", "metadata": ["name": .string("c\(number)"), "namespace": "default"],
                ])
            }
            let compact = try PeerProcess.run("/usr/bin/curl", ["-s", "-f", "-X", "POST", harness.api.url + "/admin/compact"], within: 10)
            #expect(compact.status == 0, "\(compact.output)")
            let relisted = await harness.eventually { harness.relay("r1")?.output.contains("pods: resource version") == true ? true : nil }
            #expect(relisted == true, "\(harness.relayLogs)")
            let uid = try #require(try await harness.kube.create(.pods, namespace: "default", harness.pod("after-relist")).uid)
            let message = await harness.eventually { await harness.agentMessages.json(LinkTopic.desiredPod(node: "edge-1", uid: uid).path) }
            #expect(message != nil)
        }
    }
}
