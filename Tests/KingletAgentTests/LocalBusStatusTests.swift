@testable import KingletAgent
import KingletDocument
import KingletLocalBus
import Testing

/// `kinglet status`'s LOCALBUS line, from the status document the agent writes.
@Suite struct LocalBusStatusTests {
    func line(_ report: LocalBusReport) throws -> String {
        var writer = JSONWriter()
        writer.beginObject()
        StatusDocument.localBusReport(report, &writer)
        writer.endObject()
        let document = try JSONReader().parseDocument(writer.bytes)
        return StatusTables.localBusLine(try #require(document.objectMember("localBus")?.node))
    }

    @Test func aConnectedBusShowsItsBrokerSinceWhenAndWhatItPublished() throws {
        let text = try line(LocalBusReport(broker: "mqtt://127.0.0.1:1883", state: .connected, sinceNanoseconds: 1_796_032_800_000_000_000,
                                           lastError: "", connections: 1, filters: 2, twinUpdates: 12, deltas: 1))
        #expect(text == "LOCALBUS mqtt://127.0.0.1:1883  connected since 2026-11-30T10:00:00Z  connections 1  twin updates 12, deltas 1\n")
    }

    @Test func aLostBusShowsTheLastError() throws {
        let text = try line(LocalBusReport(broker: "mqtt://127.0.0.1:1883", state: .waiting, sinceNanoseconds: 1_796_032_800_000_000_000,
                                           lastError: "Lost connection to broker", connections: 1, filters: 0, twinUpdates: 0, deltas: 0))
        #expect(text.hasPrefix("LOCALBUS mqtt://127.0.0.1:1883  waiting, not connected since 2026-11-30T10:00:00Z"))
        #expect(text.hasSuffix("\n     last error: Lost connection to broker\n"))
    }
}
