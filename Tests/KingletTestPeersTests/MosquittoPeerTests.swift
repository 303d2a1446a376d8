import Foundation
import KingletTestPeers
import Testing

@Suite(.enabled(if: MosquittoPeer.isInstalled && MosquittoClient.isInstalled, "needs Debian's mosquitto and mosquitto-clients"))
struct MosquittoPeerTests {
    @Test func tlsBrokerAcceptsAPublishFromAClientCertificateAndDeliversIt() throws {
        let folder = try BuiltProducts.temporaryFolder("peer-tls")
        let ca = try TestCA(folder: folder + "/ca")
        let broker = try MosquittoPeer(options: .init(tls: .init(ca: ca, server: try ca.server())), folder: folder + "/broker")
        defer { broker.stop() }
        let edge = try ca.client(commonName: "edge-1")

        let reader = MosquittoClient.tls(broker, ca: ca, identity: try ca.client(commonName: "reader"))
        let subscription = try reader.subscribe("kinglet/#", count: 1, within: 10, logPath: folder + "/sub.log")
        defer { subscription.stop() }
        try subscription.waitUntilSubscribed()

        let result = try MosquittoClient.tls(broker, ca: ca, identity: edge).publish("kinglet/hello", "from edge-1")
        #expect(result.status == 0, "\(result.output)")
        #expect(subscription.waitFor("kinglet/hello from edge-1"), "\(subscription.output)")
        #expect(broker.log.contains("u'edge-1'"), "the broker takes the certificate's CN as the username:\n\(broker.log)")
    }

    @Test func tlsListenerRefusesAClientWithoutCertificate() throws {
        let folder = try BuiltProducts.temporaryFolder("peer-nocert")
        let ca = try TestCA(folder: folder + "/ca")
        let broker = try MosquittoPeer(options: .init(tls: .init(ca: ca, server: try ca.server())), folder: folder + "/broker")
        defer { broker.stop() }
        let result = try MosquittoClient.tls(broker, ca: ca, identity: nil).publish("kinglet/hello", "no cert")
        #expect(result.status != 0 && !result.timedOut, "\(result.output)")
    }

    @Test func restartKeepsThePortsAndPersistenceKeepsRetainedMessages() throws {
        let folder = try BuiltProducts.temporaryFolder("peer-restart")
        let broker = try MosquittoPeer(options: .init(persistence: true), folder: folder)
        defer { broker.stop() }
        let client = MosquittoClient(port: broker.port)
        #expect(try client.publish("kinglet/kept", "before", retain: true).status == 0)
        let port = broker.port

        try broker.restart()  // SIGTERM saves the database
        broker.kill9()
        try broker.restart()  // after a crash, the last save is what is left
        #expect(broker.port == port && Loopback.accepts(port: port))
        let subscription = try client.subscribe("kinglet/kept", count: 1, within: 5, logPath: folder + "/sub.log")
        #expect(subscription.finish().contains("kinglet/kept before"), "\(subscription.output)\n\(broker.log)")
    }

    @Test func brokerRunsWithTheHardDescriptorLimit() throws {
        let broker = try MosquittoPeer()
        defer { broker.stop() }
        let limits = try String(contentsOfFile: "/proc/\(broker.process.pid)/limits", encoding: .utf8)
        let line = try #require(limits.split(separator: "\n").first { $0.hasPrefix("Max open files") })
        let numbers = line.split(separator: " ").compactMap { Int($0) }
        #expect(numbers.count == 2 && numbers[0] == numbers[1], "\(line)")
    }
}
