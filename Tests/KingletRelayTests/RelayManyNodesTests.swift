import Foundation
import KingletKube
import KingletRelay
import KingletTestPeers
import Testing

/// Many boards at once against one relay: every one gets its Node, Lease and index, with
/// API writes bounded by the write queue. (The 10,000-node figure is the benchmark's.)
@Suite(.serialized) struct RelayManyNodesTests {
    /// KINGLET_RELAY_TEST_NODES overrides the count for a manual scale run.
    static let count = ProcessInfo.processInfo.environment["KINGLET_RELAY_TEST_NODES"].flatMap { Int($0) } ?? 200

    @Test func manyBoardsAllGetAReadyNodeALeaseAndAnIndex() async throws {
        let nodes = (0..<Self.count).map { "board-\($0)" }
        try await RelayHarness.with("many") { harness in
            for node in nodes { harness.comeOnline(node) }
            let started = Date()
            try harness.startRelay("r1", extra: ["--write-concurrency", "16"])
            let beating = harness.keepBeating(nodes)
            defer { beating.cancel() }
            let indexes = await harness.eventually(within: Double(max(60, nodes.count / 20))) { () -> Bool? in
                for node in nodes where await harness.agentMessages.json(LinkTopic.desiredIndex(node: node).path) == nil { return nil }
                return true
            }
            #expect(indexes == true, "\(harness.relayLogs)")
            let ready = await harness.eventually(within: Double(max(60, nodes.count / 20))) { () -> Bool? in
                let list = try await harness.kube.list(.nodes, labelSelector: "node-role.kubernetes.io/edge")
                let readyCount = list.items.filter { node in
                    node[path: "status", "conditions"]?.arrayValue?.contains { $0["type"] == "Ready" && $0["status"] == "True" } == true
                }.count
                return readyCount == nodes.count ? true : nil
            }
            #expect(ready == true, "\(harness.relayLogs)")
            let leases = try await harness.kube.list(.leases, namespace: "kube-node-lease")
            #expect(leases.items.count == nodes.count)
            print("\(nodes.count) boards: indexes, Nodes Ready and Leases after \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
        }
    }
}
