import Foundation
import KingletKube
import KingletRelay
import KingletTestPeers
import Testing

/// Boards becoming Nodes: creation, status, Lease renewal, Unknown on the will or silence.
@Suite(.serialized) struct RelayNodeTests {
    @Test func onlineBoardGetsAReadyNodeAndARenewedLeaseAndItsWillMakesItUnknown() async throws {
        try await RelayHarness.with("node-online") { harness in
            try harness.startRelay("r1", extra: ["--edge-taint", "node-role.kubernetes.io/edge:NoSchedule"])
            harness.comeOnline("edge-1")
            let beating = harness.keepBeating(["edge-1"])
            defer { beating.cancel() }

            let ready = await harness.eventually { await harness.readyStatus("edge-1") == "True" ? true : nil }
            #expect(ready == true, "\(harness.relayLogs)")
            let node = await harness.node("edge-1")
            #expect(node?.labels["node-role.kubernetes.io/edge"] == "")
            #expect(node?.labels["kubernetes.io/arch"] == "arm64")
            #expect(node?.labels["kubernetes.io/os"] == "linux")
            #expect(node?.labels["kubernetes.io/hostname"] == "edge-1")
            #expect(node?.labels["site"] == "plant-3")
            #expect(node?[path: "spec", "taints"]?.arrayValue?.first?["key"] == "node-role.kubernetes.io/edge")
            #expect(node?[path: "status", "addresses"]?.arrayValue?.count == 2)
            #expect(node?[path: "status", "nodeInfo", "kubeletVersion"] == "v1.32.0-kinglet-0.2.0")
            #expect(node?[path: "status", "conditions"]?.arrayValue?.first?["lastHeartbeatTime"]?.stringValue != nil)

            let firstRenew = await harness.eventually { await harness.lease("edge-1")?[path: "spec", "renewTime"]?.stringValue }
            #expect(await harness.lease("edge-1")?[path: "spec", "holderIdentity"] == "edge-1")
            let renewed = await harness.eventually(within: 10) { () -> Bool? in
                let now = await harness.lease("edge-1")?[path: "spec", "renewTime"]?.stringValue
                return now != nil && now != firstRenew ? true : nil
            }
            #expect(renewed == true, "the lease was not renewed")

            harness.publish(.online(node: "edge-1"), #"{"v":1,"online":false}"#)
            let unknown = await harness.eventually(within: 10) { await harness.readyStatus("edge-1") == "Unknown" ? true : nil }
            #expect(unknown == true, "\(harness.relayLogs)")
            let condition = await harness.node("edge-1")?[path: "status", "conditions"]?.arrayValue?.first { $0["type"] == "Ready" }
            #expect(condition?["reason"] == "NodeStatusUnknown")
            #expect(condition?["message"] == "Kubelet stopped posting node status.")
            // No renewals while offline.
            let stopped = await harness.lease("edge-1")?[path: "spec", "renewTime"]
            try await Task.sleep(for: .seconds(2.5))
            #expect(await harness.lease("edge-1")?[path: "spec", "renewTime"] == stopped)

            // Back online: Ready again from the next status.
            harness.comeOnline("edge-1")
            let back = await harness.eventually(within: 10) { await harness.readyStatus("edge-1") == "True" ? true : nil }
            #expect(back == true)
        }
    }

    @Test func silentBoardTurnsUnknownAfterTheLeaseDuration() async throws {
        try await RelayHarness.with("node-silent") { harness in
            try harness.startRelay("r1")
            harness.comeOnline("edge-2")
            let beating = harness.keepBeating(["edge-2"])
            let ready = await harness.eventually { await harness.readyStatus("edge-2") == "True" ? true : nil }
            #expect(ready == true, "\(harness.relayLogs)")
            beating.cancel()
            // The silence limit is the (shortened) lease duration, checked once a renew interval.
            let unknown = await harness.eventually(within: RelayHarness.leaseDuration + 8) {
                await harness.readyStatus("edge-2") == "Unknown" ? true : nil
            }
            #expect(unknown == true, "\(harness.relayLogs)")
            let again = harness.keepBeating(["edge-2"])
            defer { again.cancel() }
            harness.comeOnline("edge-2")
            let back = await harness.eventually(within: 10) { await harness.readyStatus("edge-2") == "True" ? true : nil }
            #expect(back == true)
        }
    }

    @Test func badKubeconfigExitsTwoAndUnreachableAPIExitsOne() throws {
        let folder = try BuiltProducts.temporaryFolder("relay-exit")
        try "current-context: nope\ncontexts: []\n".write(toFile: folder + "/bad", atomically: true, encoding: .utf8)
        let bad = try PeerProcess.run(BuiltProducts.path("kinglet-relay"), ["run", "--kubeconfig", folder + "/bad"], within: 20)
        #expect(bad.status == 2)
        #expect(bad.output.contains("kubeconfig \(folder)/bad"), "\(bad.output)")
        #expect(bad.output.split(separator: "\n").count == 1, "\(bad.output)")

        let port = try Loopback.freePort()
        try """
            apiVersion: v1
            kind: Config
            current-context: c
            clusters: [{name: c, cluster: {server: "http://127.0.0.1:\(port)"}}]
            contexts: [{name: c, context: {cluster: c}}]
            """.write(toFile: folder + "/unreachable", atomically: true, encoding: .utf8)
        let unreachable = try PeerProcess.run(BuiltProducts.path("kinglet-relay"),
                                              ["--kubeconfig", folder + "/unreachable", "--startup-timeout", "1"], within: 30)
        #expect(unreachable.status == 1)
        #expect(unreachable.output.contains("cannot use the API server http://127.0.0.1:\(port)"), "\(unreachable.output)")
    }
}
