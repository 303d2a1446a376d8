import Foundation
import KingletCore
import KingletEpoll
import KingletLink
import KingletTestPeers
import Testing

/// CloudLink against a real mosquitto on loopback, on the real epoll loop.
@Suite(.serialized) struct LinkBrokerTests {
    final class Harness {
        let broker: MosquittoPeer
        let loop: EpollEventLoop
        let link: CloudLink
        var plans: [RelayPlan] = []
        var running: [String: UInt64] = [:]
        var logs: [String] = []

        init(node: String, broker: MosquittoPeer? = nil) throws {
            self.broker = try broker ?? MosquittoPeer()
            loop = try EpollEventLoop()
            let settings = LinkSettings(nodeName: node, host: "127.0.0.1", port: Int32(self.broker.port), useTLS: false,
                                        agentVersion: "test")
            link = CloudLink(loop: loop, settings: settings, wallClock: { Int64(Date().timeIntervalSince1970 * 1e9) }, seed: 1)
            link.runningPods = { [unowned self] in self.running }
            link.apply = { [unowned self] plan in
                self.plans.append(plan)
                for entry in plan.entries {
                    if case .start(let message) = entry { self.running[message.uid] = message.specHash }
                }
                for stop in plan.stops { self.running[stop.uid] = nil }
            }
            link.nodeStatus = { Array(#"{"v":1,"labels":{}}"#.utf8) }
            link.log = { [unowned self] _, line in self.logs.append(line) }
            #expect(link.start() == nil)
        }

        var client: MosquittoClient { MosquittoClient(port: broker.port) }

        /// Runs the loop until `condition` holds or `seconds` pass.
        @discardableResult
        func run(within seconds: Double, until condition: () -> Bool) throws -> Bool {
            let deadline = Date().addingTimeInterval(seconds)
            while Date() < deadline {
                if condition() { return true }
                try loop.runOnce(timeoutMilliseconds: 20)
            }
            return condition()
        }

        func close() {
            link.close()
            broker.stop()
        }
    }

    @Test func connectsAnnouncesItselfAndPlansFromRetainedDesiredState() throws {
        let harness = try Harness(node: "edge-a")
        defer { harness.close() }
        let root = "kinglet/v1/nodes/edge-a/"
        try harness.client.publish(root + "desired/pods/u1", Fixtures.podJSON(uid: "u1"), retain: true)
        try harness.client.publish(root + "desired/index", #"{"v":1,"pods":{"u1":"00000000000000aa"}}"#, retain: true)
        #expect(try harness.run(within: 10) { harness.running["u1"] == 0xaa })
        #expect(harness.link.isConnected)
        let folder = harness.broker.folder
        let node = harness.client.retained(root + "status/node", folder: folder)
        let online = harness.client.retained(root + "status/online", folder: folder)
        // Heartbeats are not retained: keep the loop running while mosquitto_sub waits.
        let beats = try harness.client.subscribe(root + "status/heartbeat", count: 1, within: 15, logPath: folder + "/hb.log")
        try harness.run(within: 20) { !beats.process.isRunning }
        let heartbeat = beats.finish()
        #expect(node == #"{"v":1,"labels":{}}"#)
        #expect(online?.hasPrefix(#"{"v":1,"online":true,"since":""#) == true)
        #expect(heartbeat.first?.hasPrefix(root + #"status/heartbeat {"v":1,"time":""#) == true)
    }

    @Test func hostilePayloadsAreSkippedCountedAndDoNotStallTheLink() throws {
        let harness = try Harness(node: "edge-b")
        defer { harness.close() }
        let root = "kinglet/v1/nodes/edge-b/desired/"
        #expect(try harness.run(within: 10) { harness.link.isConnected })
        let big = harness.broker.folder + "/big.json"
        try ("{\"v\":1,\"pad\":\"" + String(repeating: "x", count: 300 * 1024) + "\"}").write(toFile: big, atomically: true, encoding: .utf8)
        try harness.client.publish(root + "pods/u1", file: big)
        for (topic, payload) in [("index", "not json"), ("index", "not json"), ("index", #"{"v":2,"pods":{}}"#),
                                 ("index", #"{"v":1}"#), ("pods/u1", #"{"v":1,"uid":"other"}"#), ("surprise", #"{"v":1}"#)] {
            try harness.client.publish(root + topic, payload)
        }
        #expect(try harness.run(within: 10) { harness.link.rejections.total == 7 })
        let counts = harness.link.rejections.counts
        #expect(counts[.notJSON] == 2 && counts[.wrongVersion] == 1 && counts[.missingField] == 1)
        #expect(counts[.tooLarge] == 1 && counts[.invalid] == 1 && counts[.unknownTopic] == 1)
        // Logged once per topic and kind: the repeated not-JSON index is only counted.
        #expect(harness.logs.filter { $0.contains("skipped a payload") }.count == 6)
        // A valid index and pod afterwards still apply.
        try harness.client.publish(root + "pods/u1", Fixtures.podJSON(uid: "u1"))
        try harness.client.publish(root + "index", #"{"v":1,"pods":{"u1":"00000000000000aa"}}"#)
        #expect(try harness.run(within: 10) { harness.running["u1"] == 0xaa })
    }

    @Test func statusWaitsOfflineAndTheLatestGoesUpOnReconnect() throws {
        let broker = try MosquittoPeer(options: MosquittoPeer.Options(persistence: true))
        let harness = try Harness(node: "edge-c", broker: broker)
        defer { harness.close() }
        let root = "kinglet/v1/nodes/edge-c/"
        #expect(try harness.run(within: 10) { harness.link.isConnected })
        broker.stop()
        #expect(try harness.run(within: 10) { !harness.link.isConnected })
        var status = PodStatusFixture.running
        for count in Int32(0)..<5 {
            status.containerStatuses[0].restartCount = count
            harness.link.podStatusChanged(uid: "u1", namespace: "default", name: "web", specHash: 0xaa, status: status)
        }
        harness.link.podRemoved(uid: "u2", namespace: "default", name: "gone")
        #expect(harness.link.report.pendingStatuses == 2)
        try broker.restart()
        #expect(try harness.run(within: 15) { harness.link.isConnected && harness.link.report.pendingStatuses == 0 })
        let lines = try harness.client.subscribe(root + "status/pods/#", count: 2, within: 5, logPath: broker.folder + "/pods.log").finish()
        #expect(lines.count == 2)
        #expect(lines.contains { $0.hasPrefix(root + "status/pods/u1 ") && $0.contains(#""restartCount":4"#) })
        #expect(lines.contains(root + #"status/pods/u2 {"v":1,"uid":"u2","namespace":"default","name":"gone","removed":true}"#))
    }

    @Test func deletingPodTheNodeDoesNotHaveIsReportedRemovedOnceAndAStoppingOneOnlyWhenGone() throws {
        let harness = try Harness(node: "edge-e")
        defer { harness.close() }
        let root = "kinglet/v1/nodes/edge-e/"
        var stopping: Set<String> = ["slow"]
        harness.link.holdsPod = { stopping.contains($0) }
        try harness.client.publish(root + "desired/index", #"{"v":1,"pods":{},"deleting":{"never":30,"slow":30}}"#, retain: true)
        let folder = harness.broker.folder
        #expect(try harness.run(within: 10) { harness.link.isConnected })
        try harness.run(within: 2) { false }
        #expect(harness.client.retained(root + "status/pods/never", folder: folder)?.contains(#""removed":true"#) == true)
        #expect(harness.client.retained(root + "status/pods/slow", folder: folder) == nil)
        // The relay deleted it and cleared the topic; the same index again does not repeat it.
        try harness.client.publish(root + "status/pods/never", "", retain: true)
        stopping = []
        harness.link.podRemoved(uid: "slow", namespace: "default", name: "slow")
        try harness.client.publish(root + "desired/index", #"{"v":1,"pods":{},"deleting":{"never":30,"slow":30}}"#, retain: true)
        try harness.run(within: 2) { false }
        #expect(harness.client.retained(root + "status/pods/slow", folder: folder)?.contains(#""removed":true"#) == true)
        #expect(harness.client.retained(root + "status/pods/never", folder: folder) == nil)
    }

    @Test func cleanStopPublishesOfflineItself() throws {
        let harness = try Harness(node: "edge-d")
        defer { harness.close() }
        let topic = "kinglet/v1/nodes/edge-d/status/online"
        #expect(try harness.run(within: 10) { harness.link.isConnected })
        harness.link.stop()
        try harness.run(within: 3) { false }
        let lines = try harness.client.subscribe(topic, count: 1, within: 5, logPath: harness.broker.folder + "/online.log").finish()
        #expect(lines == [topic + #" {"v":1,"online":false}"#])
    }
}
