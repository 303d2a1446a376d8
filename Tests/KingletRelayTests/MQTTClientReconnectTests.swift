import Foundation
import KingletRelay
import KingletTestPeers
import Logging
import Testing

/// The relay's own reconnect loop (MQTTClient.runNetworkLoop) against a real mosquitto.
@Suite(.serialized, .enabled(if: MosquittoPeer.isInstalled, "needs Debian's mosquitto"))
struct MQTTClientReconnectTests {
    @Test func brokerThatRefusesTheConnectIsRetriedWithGrowingDelays() throws {
        // Anonymous clients are refused at CONNACK, after the TCP connection succeeded.
        let broker = try MosquittoPeer(options: MosquittoPeer.Options(allowAnonymous: false))
        defer { broker.stop() }
        let client = try MQTTClient(broker: BrokerURL(host: "127.0.0.1", port: broker.port, usesTLS: false),
                                    clientID: "refused-relay", tls: nil, logger: Logger(label: "test"))
        try client.start()
        defer { client.stop() }
        // Delays of 1 s then 2 s (±20 %): at most three attempts in 4.5 s, however slow the
        // machine. Resetting to 1 s after every refusal made it about five.
        Thread.sleep(forTimeInterval: 4.5)
        #expect(client.connectionAttempts >= 1)
        #expect(client.connectionAttempts <= 3)
    }
}
