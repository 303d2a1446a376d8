import Foundation
import KingletTestPeers
import Testing

/// One agent with all four buses at once: Modbus RTU (libmodbus's own server), a ZNP
/// coordinator and an H4 BLE controller, each simulated on its pty, and an MQTT device on a
/// local mosquitto, which also carries KubeEdge's $hw topics of every device.
@Suite(.serialized) struct DevicesEndToEndTests {
    /// The devices as `kinglet status -o json` shows them, by name.
    static func devices(_ socket: String) -> [String: [String: Any]]? {
        guard let result = try? AgentProcess.run(["status", "-o", "json", "--socket", socket], within: 10), result.status == 0,
              let document = try? JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any],
              let devices = document["devices"] as? [[String: Any]] else { return nil }
        var byName: [String: [String: Any]] = [:]
        for device in devices { if let name = device["name"] as? String { byName[name] = device } }
        return byName
    }

    static func reported(_ device: [String: Any]?, _ property: String) -> String? {
        let twins = device?["twins"] as? [[String: Any]] ?? []
        let twin = twins.first { $0["propertyName"] as? String == property }
        return (twin?["reported"] as? [String: Any])?["value"] as? String
    }

    static func observedDesired(_ device: [String: Any]?, _ property: String) -> String? {
        let twins = device?["twins"] as? [[String: Any]] ?? []
        let twin = twins.first { $0["propertyName"] as? String == property }
        return (twin?["observedDesired"] as? [String: Any])?["value"] as? String
    }

    static func counter(_ device: [String: Any]?, _ name: String) -> Int {
        ((device?["counters"] as? [String: Any])?[name] as? Int) ?? 0
    }

    /// Polls the status (bounded) until `condition` holds; returns the last devices seen.
    @discardableResult
    static func waitFor(_ socket: String, within seconds: Double, _ condition: ([String: [String: Any]]) -> Bool) -> [String: [String: Any]]? {
        let deadline = Date().addingTimeInterval(seconds)
        var last: [String: [String: Any]]? = nil
        while Date() < deadline {
            if let devices = devices(socket) {
                last = devices
                if condition(devices) { return devices }
            }
            usleep(200_000)
        }
        return last
    }

    /// An MQTT thermometer on the board's local broker, added to boards/sim's devices.
    static func withLocalBus(_ devices: String, port: Int) -> String {
        devices.replacingOccurrences(of: "devices:\n", with: "devices:\n  localBroker: mqtt://127.0.0.1:\(port)\n")
            + """
                - apiVersion: devices.kubeedge.io/v1beta1
                  kind: DeviceModel
                  metadata: {name: mqtt-thermometer}
                  spec:
                    protocol: mqtt
                    properties:
                      - {name: temperature, type: FLOAT, accessMode: ReadOnly, unit: Cel}
                - apiVersion: devices.kubeedge.io/v1beta1
                  kind: Device
                  metadata: {name: attic}
                  spec:
                    deviceModelRef: {name: mqtt-thermometer}
                    protocol: {protocolName: mqtt}
                    properties:
                      - name: temperature
                        visitors: {protocolName: mqtt, configData: {topic: "sensors/attic", field: "t"}}

            """
    }

    @Test func everyBusReportsTwinsAndDesiredValuesReachTheDevices() throws {
        let bench = try DeviceBench(modbusFaults: ["--fault-bad-crc-every", "7"], znpFaults: ["--fault-garbage-every", "5"])
        defer { bench.stop() }
        let broker = try MosquittoPeer()
        defer { _ = broker.stop(grace: 1) }
        let client = MosquittoClient(port: broker.port)
        let board = try TemporaryBoard(node: "edge-devices",
                                       extraConfig: DevicesEndToEndTests.withLocalBus(try bench.devicesConfig(), port: broker.port))
        defer { board.remove() }
        // KubeEdge's topic of every device's readings, on the local broker.
        let updates = try client.subscribe("$hw/events/device/+/twin/update", within: 60, logPath: board.folder + "/hw.log")
        let agent = AgentProcess(["run", "--config", board.configPath])
        try agent.start()
        defer { _ = agent.finish(within: 0) }

        // Readings from all four buses become twins.
        _ = Loopback.eventually(within: 30) { () -> Bool? in
            try? client.publish("sensors/attic", #"{"t": 17.25}"#)
            return DevicesEndToEndTests.reported(DevicesEndToEndTests.devices(board.socket)?["attic"], "temperature") != nil ? true : nil
        }
        let seen = DevicesEndToEndTests.waitFor(board.socket, within: 60) { devices in
            DevicesEndToEndTests.reported(devices["attic"], "temperature") == "17.25" &&
            DevicesEndToEndTests.reported(devices["boiler-1"], "temperature") != nil
                && DevicesEndToEndTests.reported(devices["kitchen-plug"], "activePower") != nil
                && DevicesEndToEndTests.reported(devices["hall-sensor"], "temperature") != nil
                && DevicesEndToEndTests.reported(devices["greenhouse"], "temperature") != nil
                && DevicesEndToEndTests.reported(devices["cellar"], "temperature") != nil
        }
        for (name, property) in [("boiler-1", "temperature"), ("kitchen-plug", "activePower"), ("hall-sensor", "temperature"),
                                 ("greenhouse", "temperature"), ("cellar", "temperature"), ("attic", "temperature")] {
            #expect(DevicesEndToEndTests.reported(seen?[name], property) != nil, "\(name).\(property): \(String(describing: seen?[name]))")
        }
        let boilerTemperature = Double(DevicesEndToEndTests.reported(seen?["boiler-1"], "temperature") ?? "") ?? 0
        #expect((18.0...26.0).contains(boilerTemperature), "the map's sine runs 180..260 at scale 0.1")
        #expect(seen?["boiler-1"]?["state"] as? String == "online")
        // The BLE controller passes on only the advertisements of the three BLE Devices
        // (each address as public and as random), not those of the others it hears.
        #expect(bench.ble.output.contains("only the 6 filter accept list entries"), "the BLE simulator's log: \(bench.ble.output)")

        // Desired values: the Modbus setpoint (22.5 °C, raw 225) and pump coil reach the
        // simulator's registers; the ZigBee plug is switched off and reports it back; the BLE
        // relay's GATT switch is written and read back.
        let confirmed = DevicesEndToEndTests.waitFor(board.socket, within: 60) { devices in
            DevicesEndToEndTests.observedDesired(devices["boiler-1"], "setpoint") == "22.5"
                && DevicesEndToEndTests.observedDesired(devices["kitchen-plug"], "power") == "false"
                && DevicesEndToEndTests.observedDesired(devices["garden-relay"], "power") == "true"
        }
        #expect(DevicesEndToEndTests.observedDesired(confirmed?["boiler-1"], "setpoint") == "22.5")
        #expect(DevicesEndToEndTests.observedDesired(confirmed?["kitchen-plug"], "power") == "false")
        #expect(DevicesEndToEndTests.observedDesired(confirmed?["garden-relay"], "power") == "true",
                "the GATT write: \(String(describing: confirmed?["garden-relay"]))")
        // The relay's notifying Temperature characteristic (0x2A6E, 0.01 °C; the simulator holds
        // 23.0 ± 0.3) reaches its twin over the GATT connection the agent holds to it.
        let notified = DevicesEndToEndTests.waitFor(board.socket, within: 30) { devices in
            DevicesEndToEndTests.reported(devices["garden-relay"], "temperature") != nil
        }
        let relayTemperature = Double(DevicesEndToEndTests.reported(notified?["garden-relay"], "temperature") ?? "") ?? 0
        #expect((22.7...23.3).contains(relayTemperature), "the notified temperature: \(String(describing: notified?["garden-relay"]))")
        let registers = bench.modbusRegisters()
        #expect(((registers?["holdingRegisters"] as? [String: Any])?["values"] as? [Int])?.first == 225)
        #expect(((registers?["coils"] as? [String: Any])?["values"] as? [Int])?.first == 1)
        #expect(bench.znp.output.contains("AF_DATA_REQUEST"), "the on/off command went to the ZNP simulator")
        // The hall sensor's temperature reporting (boards/sim: min 1 s, max 10 s): its cluster
        // is bound to the coordinator and Configure Reporting reached the device.
        #expect(bench.znp.output.contains("configure reporting 0x0402 [\"0x0000 min 1s max 10s\"] failed []"),
                "configure reporting in the ZNP simulator's log")
        #expect(bench.znp.output.contains("ep 1 cluster 0x0402 -> "), "the bind in the ZNP simulator's log")

        // Every device's readings also went out on KubeEdge's local topics.
        let published = updates.lines.joined(separator: "\n")
        for name in ["boiler-1", "kitchen-plug", "hall-sensor", "greenhouse", "attic"] {
            #expect(published.contains("$hw/events/device/\(name)/twin/update"), "no $hw twin update for \(name)")
        }

        // Injected faults were counted and survived.
        #expect(DevicesEndToEndTests.counter(confirmed?["boiler-1"], "badFrames") > 0)

        // Unplug the Modbus port: the device goes offline; plug it back: readings resume.
        bench.modbus.signal(SIGUSR1)
        let unplugged = DevicesEndToEndTests.waitFor(board.socket, within: 30) { $0["boiler-1"]?["state"] as? String == "offline" }
        #expect(unplugged?["boiler-1"]?["state"] as? String == "offline")
        bench.modbus.signal(SIGUSR2)
        let replugged = DevicesEndToEndTests.waitFor(board.socket, within: 30) { devices in
            devices["boiler-1"]?["state"] as? String == "online" && DevicesEndToEndTests.counter(devices["boiler-1"], "reopens") > 0
        }
        #expect(replugged?["boiler-1"]?["state"] as? String == "online")
        #expect(agent.process.isRunning, "the agent survived every fault")
    }

    /// Twins live in the cache file: an agent stopped and started again, with its devices
    /// silent meanwhile, shows the readings and confirmed desired values it had.
    @Test func twinsSurviveAnAgentRestart() throws {
        let bench = try DeviceBench()
        defer { bench.stop() }
        let board = try TemporaryBoard(node: "edge-twins", extraConfig: try bench.devicesConfig())
        defer { board.remove() }
        let first = AgentProcess(["run", "--config", board.configPath])
        try first.start()
        defer { _ = first.finish(within: 0) }
        let before = DevicesEndToEndTests.waitFor(board.socket, within: 60) { devices in
            DevicesEndToEndTests.reported(devices["boiler-1"], "temperature") != nil
                && DevicesEndToEndTests.observedDesired(devices["boiler-1"], "setpoint") == "22.5"
                && DevicesEndToEndTests.reported(devices["greenhouse"], "temperature") != nil
        }
        first.process.terminate()  // SIGTERM: a clean stop keeps the twins
        #expect(first.finish(within: 15)?.status == 0)
        bench.stop()  // no device answers any more

        let second = AgentProcess(["run", "--config", board.configPath])
        try second.start()
        defer { _ = second.finish(within: 0) }
        let after = DevicesEndToEndTests.waitFor(board.socket, within: 30) { $0["boiler-1"] != nil && $0["greenhouse"] != nil }
        for (name, property) in [("boiler-1", "temperature"), ("greenhouse", "temperature")] {
            let value = DevicesEndToEndTests.reported(before?[name], property)
            #expect(value != nil)
            #expect(DevicesEndToEndTests.reported(after?[name], property) == value, "\(name).\(property) after the restart")
        }
        #expect(DevicesEndToEndTests.observedDesired(after?["boiler-1"], "setpoint") == "22.5")
    }
}

