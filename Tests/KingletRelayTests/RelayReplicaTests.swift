import Foundation
import KingletKube
import KingletRelay
import KingletTestPeers
import Testing

/// Several replicas share the nodes; a killed one's nodes move to the others within one
/// lease duration, and nothing retained on the broker is republished or changed.
@Suite(.serialized) struct RelayReplicaTests {
    static let nodes = (0..<6).map { "edge-\($0)" }

    @Test func killedReplicasNodesMoveToTheOtherWithoutRepublishingAnything() async throws {
        try await RelayHarness.with("replicas") { harness in
            try harness.startRelay("r1")
            try harness.startRelay("r2")
            for node in Self.nodes { harness.comeOnline(node) }
            let beating = harness.keepBeating(Self.nodes)
            defer { beating.cancel() }
            var uids: [String: String] = [:]
            for (number, node) in Self.nodes.enumerated() {
                var pod = harness.pod("p\(number)")
                pod["spec"]?["nodeName"] = .string(node)
                let created = try await harness.kube.create(.pods, namespace: "default", pod)
                uids[node] = try #require(created.uid)
            }
            let allPublished = await harness.eventually(within: 30) { () -> Bool? in
                for (node, uid) in uids {
                    guard await harness.agentMessages.json(LinkTopic.desiredIndex(node: node).path)?[path: "pods", uid] != nil else { return nil }
                }
                return true
            }
            #expect(allPublished == true, "\(harness.relayLogs)")
            let allReady = await harness.eventually { () -> Bool? in
                for node in Self.nodes where await harness.readyStatus(node) != "True" { return nil }
                return true
            }
            #expect(allReady == true, "\(harness.relayLogs)")

            // Both replicas act: each owns some nodes (rendezvous over r1, r2).
            let owners = Dictionary(grouping: Self.nodes) { Rendezvous.owner(of: $0, among: ["r1", "r2"])! }
            let victim = owners["r1"] != nil ? "r1" : "r2"
            let survivor = victim == "r1" ? "r2" : "r1"
            let moved = owners[victim] ?? []
            // Let a few renewals land, then kill the victim without a chance to clean up.
            try await Task.sleep(for: .seconds(2))
            let killedAt = Date()
            harness.relay(victim)?.kill9()

            let takenOver = await harness.eventually(within: RelayHarness.leaseDuration + 10) { () -> Bool? in
                for node in moved {
                    guard let renew = await harness.lease(node)?[path: "spec", "renewTime"]?.stringValue.flatMap(Timestamps.parse),
                          renew > killedAt.addingTimeInterval(0.5) else { return nil }
                }
                return true
            }
            #expect(takenOver == true, "\(harness.relayLogs)")
            #expect(Date().timeIntervalSince(killedAt) < RelayHarness.leaseDuration + 10)
            // Nothing desired was republished, let alone changed.
            let republished = await harness.agentMessages.received(after: killedAt, prefix: "kinglet/v1/nodes/")
                .filter { $0.topic.contains("/desired/") }
            #expect(republished.isEmpty, "republished: \(republished.map(\.topic))")
            for node in Self.nodes { #expect(await harness.readyStatus(node) == "True") }

            // The survivor acts for the moved nodes: a new pod there is relayed.
            if let node = moved.first {
                var pod = harness.pod("late")
                pod["spec"]?["nodeName"] = .string(node)
                let uid = try #require(try await harness.kube.create(.pods, namespace: "default", pod).uid)
                let message = await harness.eventually { await harness.agentMessages.json(LinkTopic.desiredPod(node: node, uid: uid).path) }
                #expect(message != nil, "\(harness.relayLogs)")
            }

            // A clean stop releases the membership Lease: a third replica takes over at once.
            try harness.startRelay("r3")
            let joined = await harness.eventually { harness.relay(survivor)?.output.contains("members: r3, \(survivor)") == true
                || harness.relay(survivor)?.output.contains("members: \(survivor), r3") == true ? true : nil }
            #expect(joined == true, "\(harness.relayLogs)")
            #expect(harness.relay(survivor)?.stop() == 0)
            do {
                _ = try await harness.kube.get(.leases, namespace: "kinglet-system", name: "kinglet-relay-\(survivor)")
                Issue.record("the stopped replica's membership lease is still there")
            } catch KubeError.notFound {}
            let stoppedAt = Date()
            let allMoved = await harness.eventually(within: 10) { () -> Bool? in
                for node in Self.nodes {
                    guard let renew = await harness.lease(node)?[path: "spec", "renewTime"]?.stringValue.flatMap(Timestamps.parse),
                          renew > stoppedAt else { return nil }
                }
                return true
            }
            #expect(allMoved == true, "\(harness.relayLogs)")
        }
    }

    @Test func restartedRelayRepublishesNothing() async throws {
        try await RelayHarness.with("restart") { harness in
            try harness.startRelay("first")
            harness.comeOnline("edge-1")
            _ = try await harness.kube.create(.secrets, namespace: "default", [
                "apiVersion": "v1", "kind": "Secret", "metadata": ["name": "creds", "namespace": "default"],
                "data": ["token": .string(Data("abc".utf8).base64EncodedString())],
            ])
            var pod = harness.pod("web")
            pod["spec"]?["volumes"] = [["name": "creds", "secret": ["secretName": "creds"]]]
            let created = try await harness.kube.create(.pods, namespace: "default", pod)
            let uid = try #require(created.uid)
            let index = await harness.eventually { () -> JSONValue? in
                let index = await harness.agentMessages.json(LinkTopic.desiredIndex(node: "edge-1").path)
                return index?[path: "pods", uid] != nil ? index : nil
            }
            #expect(index != nil, "\(harness.relayLogs)")
            #expect(harness.relay("first")?.stop() == 0)

            let restartedAt = Date()
            let second = try harness.startRelay("second")
            try second.waitForOutput("now acting for", within: 20)
            // Let it reconcile everything it owns, then check it sent nothing new.
            try await Task.sleep(for: .seconds(2))
            let sent = await harness.agentMessages.received(after: restartedAt, prefix: "kinglet/v1/nodes/edge-1/desired/")
            #expect(sent.isEmpty, "republished: \(sent.map(\.topic))")
            // It does act: a change to the secret is a change to the pod's files.
            _ = try await harness.kube.patch(.secrets, namespace: "default", name: "creds", type: .merge,
                                             ["data": ["token": .string(Data("xyz".utf8).base64EncodedString())]])
            let changed = await harness.eventually { () -> String? in
                let message = await harness.agentMessages.json(LinkTopic.desiredPod(node: "edge-1", uid: uid).path)
                return message?[path: "files", "creds", "token"]?.stringValue == Data("xyz".utf8).base64EncodedString()
                    ? message?["specHash"]?.stringValue : nil
            }
            #expect(changed != nil && changed != index?[path: "pods", uid]?.stringValue)
        }
    }
}
