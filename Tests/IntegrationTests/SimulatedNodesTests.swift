import Foundation
import KingletTestPeers
import Testing

/// `kinglet-sim nodes`: several KingletLink clients on one loop, each its own node.
@Suite struct SimulatedNodesTests {
    @Test func simulatedNodesConnectAndReportTheirDesiredPodsRunning() throws {
        let broker = try MosquittoPeer()
        defer { broker.stop() }
        let relay = MosquittoClient(port: broker.port)
        let root = "kinglet/v1/nodes/sim-00003/"
        try relay.publish(root + "desired/pods/p1",
                          #"{"v":1,"uid":"p1","specHash":"01","pod":{"metadata":{"name":"w"},"spec":{"containers":[{"name":"c","image":"x"}]}}}"#,
                          retain: true)
        try relay.publish(root + "desired/index", #"{"v":1,"pods":{"p1":"01"}}"#, retain: true)
        let sim = try PeerProcess(name: "kinglet-sim", executable: BuiltProducts.path("kinglet-sim"),
                                  arguments: ["nodes", "--count", "5", "--broker", "mqtt://127.0.0.1:\(broker.port)", "--seconds", "60"],
                                  logPath: broker.folder + "/sim.log")
        defer { sim.stop() }
        let status = relay.waitForRetained(root + "status/pods/p1", within: 20, folder: broker.folder) { $0.contains(#""phase":"Running""#) }
        #expect(status?.contains(#""name":"w","specHash":"0000000000000001""#) == true, "\(status ?? "none")\n\(sim.tail)")
        for number in 1...5 {
            let online = relay.retained("kinglet/v1/nodes/sim-0000\(number)/status/online", folder: broker.folder)
            #expect(online?.hasPrefix(#"{"v":1,"online":true"#) == true)
        }
        // The index drops the pod: `removed` goes up, with no process ever started.
        try relay.publish(root + "desired/index", #"{"v":1,"pods":{}}"#, retain: true)
        let removed = #"{"v":1,"uid":"p1","namespace":"default","name":"w","removed":true}"#
        #expect(relay.waitForRetained(root + "status/pods/p1", within: 20, folder: broker.folder) { $0 == removed } == removed)
        #expect(sim.stop() == 0)
        #expect(relay.retained("kinglet/v1/nodes/sim-00005/status/online", folder: broker.folder) == #"{"v":1,"online":false}"#)
    }
}
