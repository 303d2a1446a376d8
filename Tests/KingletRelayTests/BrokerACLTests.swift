import Foundation
import KingletRelay
import KingletTestPeers
import Testing

/// A real mosquitto running the generated config and ACL, with certificates from a
/// throwaway CA: edge-1, edge-2 and the relay, each a mosquitto_pub/sub client.
final class GeneratedBroker: @unchecked Sendable {
    let folder: String
    let ca: TestCA
    let broker: MosquittoPeer
    let edge1: MosquittoClient
    let edge2: MosquittoClient
    let relay: MosquittoClient
    private var count = 0

    init(_ label: String) throws {
        folder = try BuiltProducts.temporaryFolder(label)
        ca = try TestCA(folder: folder + "/ca")
        let server = try ca.server()
        var config = BrokerConfig(caFile: ca.certificate, certFile: server.certificate, keyFile: server.key)
        config.port = try Loopback.freePort()
        config.plainLoopbackPort = try Loopback.freePort()
        config.persistenceLocation = folder + "/data/"
        config.aclPath = folder + "/broker/acl"
        config.runAsUser = "root"  // the test folder is root's
        let files = try config.render()
        try FileManager.default.createDirectory(atPath: folder + "/broker", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: folder + "/data", withIntermediateDirectories: true)
        try files.mosquittoConf.write(toFile: folder + "/broker/mosquitto.conf", atomically: true, encoding: .utf8)
        try files.acl.write(toFile: config.aclPath, atomically: true, encoding: .utf8)
        broker = try MosquittoPeer(configPath: folder + "/broker/mosquitto.conf", port: config.plainLoopbackPort!,
                                   tlsPort: config.port, folder: folder + "/broker")
        edge1 = MosquittoClient.tls(broker, ca: ca, identity: try ca.client(commonName: "edge-1"))
        edge2 = MosquittoClient.tls(broker, ca: ca, identity: try ca.client(commonName: "edge-2"))
        relay = MosquittoClient.tls(broker, ca: ca, identity: try ca.client(commonName: BrokerConfig.defaultRelayUser))
    }

    /// A subscription that has its SUBACK.
    func subscribe(_ client: MosquittoClient, _ filter: String, within seconds: Int = 15) throws -> Subscription {
        count += 1
        let subscription = try client.subscribe(filter, within: seconds, logPath: folder + "/sub-\(count).log")
        try subscription.waitUntilSubscribed()
        return subscription
    }

    func publish(_ client: MosquittoClient, _ topic: String, _ message: String, retain: Bool = false) throws {
        let result = try client.publish(topic, message, retain: retain)
        // A QoS 1 publish the ACL denies is still acknowledged: mosquitto_pub exits 0.
        guard result.status == 0 else { throw PeerError("mosquitto_pub \(topic) failed (\(result.status)):\n\(result.output)") }
    }

    deinit { broker.stop() }
}

@Suite(.enabled(if: MosquittoPeer.isInstalled && MosquittoClient.isInstalled, "needs Debian's mosquitto and mosquitto-clients"))
struct BrokerACLTests {
    let nodes = "kinglet/v1/nodes"

    @Test func nodeReadsOnlyItsOwnDesiredState() throws {
        let setup = try GeneratedBroker("acl-desired")
        let own = try setup.subscribe(setup.edge1, "\(nodes)/edge-1/desired/#")
        let foreign = try setup.subscribe(setup.edge2, "\(nodes)/edge-1/desired/#")
        let foreignWildcard = try setup.subscribe(setup.edge2, "\(nodes)/+/desired/#")

        try setup.publish(setup.relay, "\(nodes)/edge-1/desired/pods/u1", "pod-1", retain: true)
        try setup.publish(setup.relay, "\(nodes)/edge-1/desired/index", "index-1", retain: true)
        #expect(own.waitFor("\(nodes)/edge-1/desired/index index-1"), "\(own.output)")
        #expect(own.lines.contains("\(nodes)/edge-1/desired/pods/u1 pod-1"))
        // edge-2 subscribed before the messages were sent, on the same broker: they have
        // reached every subscriber they will reach by now; one more second, to be fair.
        usleep(1_000_000)
        #expect(foreign.lines.isEmpty, "\(foreign.output)")
        #expect(foreignWildcard.lines.isEmpty, "\(foreignWildcard.output)")

        // Retained messages are refused to a later foreign subscriber as well.
        let late = try setup.subscribe(setup.edge2, "\(nodes)/edge-1/desired/#", within: 2)
        let lateOwn = try setup.subscribe(setup.edge1, "\(nodes)/edge-1/desired/#", within: 2)
        #expect(lateOwn.finish().count == 2, "\(lateOwn.output)")
        #expect(late.finish().isEmpty, "\(late.output)")
    }

    @Test func nodeWritesOnlyItsOwnStatus() throws {
        let setup = try GeneratedBroker("acl-status")
        let relay = try setup.subscribe(setup.relay, "\(nodes)/+/status/#")
        // edge-2's publish is acknowledged before edge-1's starts, so had the broker taken
        // it, the relay would see it before edge-1's.
        try setup.publish(setup.edge2, "\(nodes)/edge-1/status/online", "forged")
        try setup.publish(setup.edge2, "\(nodes)/edge-2/status/online", "edge-2 up")
        try setup.publish(setup.edge1, "\(nodes)/edge-1/status/online", "edge-1 up")
        #expect(relay.waitFor("\(nodes)/edge-1/status/online edge-1 up"), "\(relay.output)")
        #expect(relay.lines == ["\(nodes)/edge-2/status/online edge-2 up", "\(nodes)/edge-1/status/online edge-1 up"])
    }

    @Test func nodeCannotWriteDesiredStateNotEvenItsOwn() throws {
        let setup = try GeneratedBroker("acl-no-desired")
        let relay = try setup.subscribe(setup.relay, "\(nodes)/+/desired/#")
        let edge = try setup.subscribe(setup.edge1, "\(nodes)/edge-1/desired/#")
        try setup.publish(setup.edge1, "\(nodes)/edge-1/desired/index", "self-made")
        try setup.publish(setup.edge1, "\(nodes)/edge-2/desired/index", "for a neighbour")
        try setup.publish(setup.relay, "\(nodes)/edge-1/desired/index", "from the relay")
        #expect(edge.waitFor("\(nodes)/edge-1/desired/index from the relay"), "\(edge.output)")
        #expect(relay.waitFor("\(nodes)/edge-1/desired/index from the relay"), "\(relay.output)")
        #expect(edge.lines == ["\(nodes)/edge-1/desired/index from the relay"])
        #expect(relay.lines == ["\(nodes)/edge-1/desired/index from the relay"])
    }

    @Test func nodeWillIsPublishedOnlyIntoItsOwnStatus() throws {
        let setup = try GeneratedBroker("acl-will")
        let relay = try setup.subscribe(setup.relay, "\(nodes)/+/status/#")

        var forger = setup.edge2
        forger.extraArguments = ["--will-topic", "\(nodes)/edge-1/status/online", "--will-payload", "forged will", "--will-qos", "1"]
        forger.clientID = "forger"
        let forging = try forger.subscribe("\(nodes)/edge-2/desired/#", within: 15, logPath: setup.folder + "/forger.log")
        // Mosquitto 2.0 accepts the will at CONNECT and checks it when it publishes it.
        try forging.waitUntilSubscribed()
        forging.process.kill9()
        let gone = Loopback.eventually(within: 10) { () -> Bool? in
            let log = setup.broker.log
            return log.contains("Client forger closed its connection") || log.contains("Socket error on client forger") ? true : nil
        }
        try #require(gone == true, "the broker did not notice the forger's end:\n\(setup.broker.log)")

        var node = setup.edge1
        node.extraArguments = ["--will-topic", "\(nodes)/edge-1/status/online", "--will-payload", "offline", "--will-qos", "1", "--will-retain"]
        node.clientID = "kinglet-edge-1"
        let session = try node.subscribe("\(nodes)/edge-1/desired/#", within: 15, logPath: setup.folder + "/node.log")
        try session.waitUntilSubscribed()
        session.process.kill9()
        #expect(relay.waitFor("\(nodes)/edge-1/status/online offline"), "\(relay.output)\n\(setup.broker.log)")
        #expect(relay.lines == ["\(nodes)/edge-1/status/online offline"])
    }

    @Test func clientWithoutACertificateFromTheCAIsRefusedAtTheHandshake() throws {
        let setup = try GeneratedBroker("acl-nocert")
        let noCertificate = try MosquittoClient.tls(setup.broker, ca: setup.ca, identity: nil).publish("\(nodes)/edge-1/status/online", "x")
        #expect(noCertificate.status != 0 && !noCertificate.timedOut, "\(noCertificate.output)")

        let stranger = try TestCA(folder: setup.folder + "/other-ca", commonName: "Some Other CA")
        var impostor = MosquittoClient.tls(setup.broker, ca: setup.ca, identity: try stranger.client(commonName: "edge-1"))
        impostor.clientID = "impostor"
        let foreignCA = try impostor.publish("\(nodes)/edge-1/status/online", "x")
        #expect(foreignCA.status != 0 && !foreignCA.timedOut, "\(foreignCA.output)")
        #expect(!setup.broker.log.contains("as impostor"), "the broker never saw an MQTT CONNECT from it:\n\(setup.broker.log)")
    }

    @Test func loopbackPlainListenerTakesTheClaimedUsernameAndAppliesTheSameACL() throws {
        let setup = try GeneratedBroker("acl-plain")
        let plain = { (username: String?) in MosquittoClient(port: setup.broker.port, username: username) }
        let relay = try setup.subscribe(plain(BrokerConfig.defaultRelayUser), "\(nodes)/+/status/#")
        try setup.publish(plain(nil), "\(nodes)/edge-1/status/online", "anonymous")
        try setup.publish(plain("edge-2"), "\(nodes)/edge-1/status/online", "forged")
        try setup.publish(plain("edge-1"), "\(nodes)/edge-1/status/online", "up")
        #expect(relay.waitFor("\(nodes)/edge-1/status/online up"), "\(relay.output)")
        #expect(relay.lines == ["\(nodes)/edge-1/status/online up"])
    }
}
