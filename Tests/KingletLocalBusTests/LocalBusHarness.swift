import Foundation
import KingletCore
import KingletDevices
import KingletDocument
import KingletEpoll
import KingletLocalBus
import KingletTestPeers
import Testing

/// A driver the test drives by hand: readings are whatever the test reports.
final class HandDriver: DeviceDriver {
    let events: DeviceDriverEvents
    var counters = DeviceCounters()
    var writes: [(Int, DeviceValue)] = []

    init(events: DeviceDriverEvents) { self.events = events }

    func start() {}
    func stop() {}
    func collect(property index: Int) {}
    func write(property index: Int, value: DeviceValue) {
        writes.append((index, value))
        events.written(index, nil)
    }
}

/// The hand drivers the manager made, by device name.
final class HandDrivers {
    var byName: [String: HandDriver] = [:]
}

/// A real mosquitto on loopback, the real epoll loop, a DeviceManager whose twin changes
/// feed the local bus (as BoardDevices does in the agent).
final class LocalBusHarness {
    let broker: MosquittoPeer
    let loop: EpollEventLoop
    let bus: LocalBus
    let manager: DeviceManager
    let hand = HandDrivers()
    var logs: [String] = []

    init(node: String = "edge-t", broker: MosquittoPeer? = nil) throws {
        self.broker = try broker ?? MosquittoPeer()
        loop = try EpollEventLoop()
        let wallClock = { Int64(Date().timeIntervalSince1970 * 1e9) }
        bus = LocalBus(loop: loop, nodeName: node, host: "127.0.0.1", port: Int32(self.broker.port),
                       wallClockNanoseconds: wallClock, seed: 7)
        let bus = self.bus
        let hand = self.hand
        manager = DeviceManager(loop: loop, wallClockMilliseconds: { wallClock() / 1_000_000 }) { spec, events in
            if spec.kind == .mqtt {
                do throws(DocumentError) {
                    return try MQTTDeviceDriver(bus: bus, spec: spec, events: events)
                } catch {
                    Issue.record("MQTT driver: \(error.description)")
                    return nil
                }
            }
            let driver = HandDriver(events: events)
            hand.byName[spec.name] = driver
            return driver
        }
        manager.twinChanged = { [unowned self] device in
            self.bus.twinChanged(device)
        }
        manager.log = { [unowned self] line in self.logs.append(line) }
        bus.log = { [unowned self] line in self.logs.append(line) }
        bus.deviceLookup = { [unowned self] uid in self.manager.devices[uid] }
        #expect(bus.start() == nil)
    }

    var client: MosquittoClient { MosquittoClient(port: broker.port) }

    func device(_ name: String) -> DeviceManager.ManagedDevice? { manager.devices["uid-" + name] }

    func apply(_ documents: [String]) throws {
        var specs: [DeviceSpec] = []
        for (index, document) in documents.enumerated() {
            let bytes = Array(document.utf8)
            let root = try JSONReader().parseDocument(bytes)
            guard case .string(let text)? = root.at("device.metadata.name") else {
                Issue.record("a fixture without a name")
                continue
            }
            specs.append(try DeviceDocuments.decode(bytes, uid: "uid-" + text, specHash: UInt64(index + 1) &* FNV1a.hash(bytes),
                                                    file: "test"))
        }
        manager.apply(specs)
    }

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

    /// Runs the loop for `seconds`.
    func run(for seconds: Double) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline { try loop.runOnce(timeoutMilliseconds: 20) }
    }

    /// Starts mosquitto_sub on `filter` and waits for its SUBACK (running our loop meanwhile
    /// would not matter: it is another process).
    func subscribe(_ filter: String, count: Int? = nil, within seconds: Int = 10, name: String) throws -> Subscription {
        let subscription = try client.subscribe(filter, qos: 1, count: count, within: seconds,
                                                logPath: broker.folder + "/" + name + ".log")
        try subscription.waitUntilSubscribed()
        return subscription
    }

    func close() {
        manager.stopAll()
        bus.close()
        broker.stop()
    }
}

/// Devices and models as the relay sends them (`{"device":..., "model":...}`).
enum LocalBusFixtures {
    /// An MQTT-native device; `properties` are (name, type, access, visitor configData
    /// JSON, desired value or nil).
    static func mqtt(_ name: String, _ properties: [(String, String, String, String, String?)], reportCycle: Int = 1000) -> String {
        document(name, protocolName: "mqtt", properties, reportCycle: reportCycle)
    }

    /// A device of another bus (driven by HandDriver in the tests).
    static func other(_ name: String, _ properties: [(String, String, String, String?)], reportCycle: Int = 1000) -> String {
        document(name, protocolName: "modbus", properties.map { ($0.0, $0.1, $0.2, #"{"register":"HoldingRegister","offset":0}"#, $0.3) },
                 reportCycle: reportCycle)
    }

    static func document(_ name: String, protocolName: String, _ properties: [(String, String, String, String, String?)],
                         reportCycle: Int) -> String {
        let deviceProperties = properties.map { property in
            var text = #"{"name":"\#(property.0)","visitors":{"protocolName":"\#(protocolName)","configData":\#(property.3)},"#
                + #""collectCycle":1000,"reportCycle":\#(reportCycle)"#
            if let desired = property.4 { text += #","desired":{"value":"\#(desired)"}"# }
            return text + "}"
        }
        let modelProperties = properties.map { #"{"name":"\#($0.0)","type":"\#($0.1)","accessMode":"\#($0.2)"}"# }
        return #"{"device":{"apiVersion":"devices.kubeedge.io/v1beta1","kind":"Device","metadata":{"name":"\#(name)","namespace":"default"},"#
            + #""spec":{"deviceModelRef":{"name":"\#(name)-model"},"protocol":{"protocolName":"\#(protocolName)"},"#
            + #""properties":[\#(deviceProperties.joined(separator: ","))]}},"#
            + #""model":{"apiVersion":"devices.kubeedge.io/v1beta1","kind":"DeviceModel","metadata":{"name":"\#(name)-model","namespace":"default"},"#
            + #""spec":{"protocol":"\#(protocolName)","properties":[\#(modelProperties.joined(separator: ","))]}}}"#
    }

    /// The payload of a "topic payload" line of mosquitto_sub -v, parsed.
    static func payload(_ line: String, topic: String) throws -> Node {
        #expect(line.hasPrefix(topic + " "))
        return try JSONReader().parseDocument(String(line.dropFirst(topic.count + 1)))
    }
}

extension Node {
    /// The value at a dotted path of object members, for assertions.
    func at(_ path: String) -> Value? {
        var node = self
        for step in path.split(separator: ".") {
            guard let member = node.objectMember(String(step)) else { return nil }
            node = member.node
        }
        return node.value
    }
}
