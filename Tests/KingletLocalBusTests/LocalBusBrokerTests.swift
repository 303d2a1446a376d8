import Foundation
import KingletCore
import KingletDevices
import KingletDocument
import KingletLocalBus
import KingletTestPeers
import Testing

/// The local bus against a real mosquitto on loopback, with mosquitto_pub and
/// mosquitto_sub as the device and the local app.
@Suite(.serialized) struct LocalBusBrokerTests {
    static let thermo = LocalBusFixtures.mqtt("thermo-1", [
        ("temperature", "FLOAT", "ReadOnly", #"{"topic":"sensors/thermo-1","field":"t"}"#, nil),
        ("humidity", "INT", "ReadOnly", #"{"topic":"sensors/thermo-1","jsonPath":"$.env.h"}"#, nil),
    ])

    @Test func aReadingPublishedOnTheDeviceTopicBecomesTheTwinValue() throws {
        let harness = try LocalBusHarness()
        defer { harness.close() }
        try harness.apply([Self.thermo])
        #expect(try harness.run(within: 10) { harness.bus.isConnected })
        try harness.client.publish("sensors/thermo-1", #"{"t": 21.5, "env": {"h": 40}}"#, retain: true)
        #expect(try harness.run(within: 10) { harness.device("thermo-1")?.twin.properties[1].reported != nil })
        let twin = try #require(harness.device("thermo-1")?.twin)
        #expect(twin.properties[0].reported == .double(21.5))
        #expect(twin.properties[1].reported == .integer(40))
        #expect(twin.state == .online)
        #expect(harness.device("thermo-1")?.driver.counters.reads == 2)
    }

    @Test func aDesiredValueIsPublishedOnTheCommandTopicAsJSONOrRaw() throws {
        let harness = try LocalBusHarness()
        defer { harness.close() }
        let commands = try harness.subscribe("cmd/#", count: 2, name: "cmd")
        try harness.apply([LocalBusFixtures.mqtt("lamp-1", [
            ("interval", "INT", "ReadWrite", #"{"commandTopic":"cmd/lamp-1/config","field":"sampling.interval"}"#, "30"),
            ("power", "BOOLEAN", "ReadWrite", #"{"topic":"lamp-1/power","commandTopic":"cmd/lamp-1/power"}"#, "on"),
        ])])
        // The devices opened before the broker answered: the writes wait for it.
        #expect(try harness.run(within: 10) { commands.lines.count == 2 })
        #expect(commands.lines.contains(#"cmd/lamp-1/config {"sampling":{"interval":30}}"#))
        #expect(commands.lines.contains("cmd/lamp-1/power true"))
        #expect(harness.device("lamp-1")?.driver.counters.writes == 2)
        // The device confirms by publishing its state: observedDesired follows.
        try harness.client.publish("lamp-1/power", "true")
        #expect(try harness.run(within: 10) { harness.device("lamp-1")?.twin.properties[1].observedDesired == "on" })
    }

    @Test func readingsOfEveryProtocolAppearOnTheHwTwinUpdateTopicInKubeEdgeShape() throws {
        let harness = try LocalBusHarness()
        defer { harness.close() }
        #expect(try harness.run(within: 10) { harness.bus.isConnected })
        let topic = "$hw/events/device/boiler-1/twin/update"
        let updates = try harness.subscribe(topic, count: 1, name: "update")
        try harness.apply([LocalBusFixtures.other("boiler-1", [("temperature", "FLOAT", "ReadOnly", nil),
                                                              ("pressure", "INT", "ReadOnly", nil)])])
        let driver = try #require(harness.hand.byName["boiler-1"])
        let before = Int64(Date().timeIntervalSince1970 * 1000)
        driver.events.reported(0, .double(21.5))
        #expect(try harness.run(within: 10) { updates.lines.count == 1 })
        let message = try LocalBusFixtures.payload(try #require(updates.lines.first), topic: topic)
        guard case .string(let eventID)? = message.at("event_id"), case .integer(let timestamp)? = message.at("timestamp") else {
            Issue.record("no event_id or timestamp: \(updates.lines)")
            return
        }
        #expect(eventID.count == 36 && eventID.split(separator: "-").count == 5)
        #expect(timestamp >= before && timestamp < before + 10_000)
        #expect(message.at("twin.temperature.actual.value") == .string("21.5"))
        #expect(message.at("twin.temperature.metadata.type") == .string("FLOAT"))
        if case .integer(let readAt)? = message.at("twin.temperature.actual.metadata.timestamp") {
            #expect(readAt >= before)
        } else {
            Issue.record("no reading timestamp")
        }
        // Only what was read is in the update.
        #expect(message.at("twin.pressure") == nil)
    }

    @Test func propertiesReadFromOnePayloadShareOneTwinUpdateAfterTheStateUpdate() throws {
        let harness = try LocalBusHarness()
        defer { harness.close() }
        let updates = try harness.subscribe("$hw/events/device/thermo-1/#", count: 2, name: "shared")
        try harness.apply([Self.thermo])
        #expect(try harness.run(within: 10) { harness.bus.isConnected })
        try harness.client.publish("sensors/thermo-1", #"{"t": 18.25, "env": {"h": 55}}"#, retain: true)
        #expect(try harness.run(within: 10) { updates.lines.count == 2 })
        let state = try LocalBusFixtures.payload(updates.lines[0], topic: "$hw/events/device/thermo-1/state/update")
        #expect(state.at("state") == .string("online"))
        let update = try LocalBusFixtures.payload(updates.lines[1], topic: "$hw/events/device/thermo-1/twin/update")
        #expect(update.at("twin.temperature.actual.value") == .string("18.25"))
        #expect(update.at("twin.humidity.actual.value") == .string("55"))
        #expect(update.at("twin.humidity.metadata.type") == .string("INT"))
    }

    @Test func readingsFasterThanTheReportCycleAreCoalescedToTheLatest() throws {
        let harness = try LocalBusHarness()
        defer { harness.close() }
        #expect(try harness.run(within: 10) { harness.bus.isConnected })
        let topic = "$hw/events/device/meter-1/twin/update"
        let updates = try harness.subscribe(topic, within: 4, name: "coalesced")
        try harness.apply([LocalBusFixtures.other("meter-1", [("power", "INT", "ReadOnly", nil)], reportCycle: 1000)])
        let driver = try #require(harness.hand.byName["meter-1"])
        for watts in Int64(1)...5 {
            driver.events.reported(0, .integer(watts))
            try harness.run(for: 0.05)
        }
        try harness.run(for: 1.5)
        let lines = updates.finish()
        #expect(lines.count == 2, "\(lines)")
        let first = try LocalBusFixtures.payload(try #require(lines.first), topic: topic)
        let last = try LocalBusFixtures.payload(try #require(lines.last), topic: topic)
        #expect(first.at("twin.power.actual.value") == .string("1"))
        #expect(last.at("twin.power.actual.value") == .string("5"))
        #expect(harness.bus.report.twinUpdates == 2)
    }

    @Test func aDeltaIsPublishedWhenDesiredAndReportedStartToDiffer() throws {
        let harness = try LocalBusHarness()
        defer { harness.close() }
        #expect(try harness.run(within: 10) { harness.bus.isConnected })
        let topic = "$hw/events/device/boiler-2/twin/update/delta"
        let deltas = try harness.subscribe(topic, count: 2, name: "delta")
        try harness.apply([LocalBusFixtures.other("boiler-2", [("setpoint", "FLOAT", "ReadWrite", "22"),
                                                              ("temperature", "FLOAT", "ReadOnly", nil)])])
        // A desired value nothing was read for yet differs: the first delta has no actual.
        #expect(try harness.run(within: 10) { deltas.lines.count == 1 })
        let first = try LocalBusFixtures.payload(try #require(deltas.lines.first), topic: topic)
        #expect(first.at("delta.setpoint") == .string("22"))
        #expect(first.at("twin.setpoint.expected.value") == .string("22"))
        #expect(first.at("twin.setpoint.actual") == nil)
        #expect(first.at("twin.setpoint.metadata.type") == .string("FLOAT"))
        #expect(first.at("twin.temperature") == nil, "only properties with a desired value")
        let driver = try #require(harness.hand.byName["boiler-2"])
        // Still differing, or reaching the desired value: no new delta.
        driver.events.reported(0, .double(20))
        try harness.run(for: 0.3)
        driver.events.reported(0, .double(22))
        try harness.run(for: 0.3)
        #expect(deltas.lines.count == 1)
        // Moving away from it again: a delta with the reading.
        driver.events.reported(0, .double(19.5))
        #expect(try harness.run(within: 10) { deltas.lines.count == 2 })
        let second = try LocalBusFixtures.payload(try #require(deltas.lines.last), topic: topic)
        #expect(second.at("delta.setpoint") == .string("22"))
        #expect(second.at("twin.setpoint.actual.value") == .string("19.5"))
        #expect(harness.bus.report.deltas == 2)
    }

    @Test func malformedPayloadsAreCountedAsBadFramesAndSkipped() throws {
        let harness = try LocalBusHarness()
        defer { harness.close() }
        try harness.apply([Self.thermo])
        #expect(try harness.run(within: 10) { harness.bus.isConnected })
        try harness.run(for: 0.3) // the SUBACK
        for payload in ["not json", #"{"other": 1}"#, #"{"t": "warm", "env": {"h": 40.5}}"#, #"{"t": [1], "env": 7}"#] {
            try harness.client.publish("sensors/thermo-1", payload)
        }
        try harness.client.publish("sensors/thermo-1", #"{"t": 19, "env": {"h": 41}}"#)
        #expect(try harness.run(within: 10) { harness.device("thermo-1")?.twin.properties[1].reported == .integer(41) })
        let counters = try #require(harness.device("thermo-1")?.driver.counters)
        // Two properties read each payload: 4 payloads, 8 bad readings, 2 good ones.
        #expect(counters.badFrames == 8)
        #expect(counters.reads == 2)
        #expect(harness.device("thermo-1")?.twin.properties[0].reported == .double(19))
        #expect(harness.logs.contains { $0.contains("skipped a payload on sensors/thermo-1 for temperature: not JSON") })
    }

    @Test func theBrokerGoneMarksMQTTDevicesOfflineAndBackOnlineWhenItReturns() throws {
        let harness = try LocalBusHarness()
        defer { harness.close() }
        try harness.apply([Self.thermo])
        try harness.client.publish("sensors/thermo-1", #"{"t": 21, "env": {"h": 40}}"#, retain: true)
        #expect(try harness.run(within: 10) { harness.device("thermo-1")?.twin.state == .online })
        harness.broker.kill9()
        #expect(try harness.run(within: 10) { harness.device("thermo-1")?.twin.state == .offline })
        let reason = harness.device("thermo-1")?.twin.stateReason ?? ""
        #expect(reason.hasPrefix("local broker mqtt://127.0.0.1:\(harness.broker.port): "), "\(reason)")
        #expect(!harness.bus.isConnected && !harness.bus.report.lastError.isEmpty)
        try harness.broker.restart()
        // A fresh broker has no retained reading: the device publishes again.
        #expect(try harness.run(within: 20) { harness.bus.isConnected })
        try harness.run(for: 0.3) // the SUBACK of the renewed subscription
        try harness.client.publish("sensors/thermo-1", #"{"t": 22, "env": {"h": 41}}"#)
        #expect(try harness.run(within: 10) { harness.device("thermo-1")?.twin.state == .online })
        #expect(harness.device("thermo-1")?.twin.properties[0].reported == .double(22))
        #expect(harness.bus.report.connections == 2)
    }

    @Test func afterAReconnectTheLatestReadingsArePublishedAgain() throws {
        let harness = try LocalBusHarness()
        defer { harness.close() }
        try harness.apply([LocalBusFixtures.other("boiler-3", [("temperature", "FLOAT", "ReadOnly", nil)])])
        let driver = try #require(harness.hand.byName["boiler-3"])
        #expect(try harness.run(within: 10) { harness.bus.isConnected })
        harness.broker.kill9()
        #expect(try harness.run(within: 10) { !harness.bus.isConnected })
        // Read while the broker is gone: kept, and published once it is back.
        driver.events.reported(0, .double(30.25))
        try harness.broker.restart()
        let topic = "$hw/events/device/boiler-3/twin/update"
        let updates = try harness.subscribe(topic, count: 1, within: 20, name: "again")
        #expect(try harness.run(within: 20) { updates.lines.count == 1 })
        let message = try LocalBusFixtures.payload(try #require(updates.lines.first), topic: topic)
        #expect(message.at("twin.temperature.actual.value") == .string("30.25"))
    }
}
