import Foundation
import KingletConfig
import KingletCore
import KingletDevices
import KingletDocument
import KingletEpoll
import KingletModbus
import Testing

/// The driver on the real epoll loop against libmodbus's server on a pseudo-terminal.
@Suite(.serialized) struct ModbusDriverTests {
    static func config(port: String, desired: String = "21.5") -> String {
        """
        devices:
          - apiVersion: devices.kubeedge.io/v1beta1
            kind: DeviceModel
            metadata: {name: thermostat}
            spec:
              protocol: modbus
              properties:
                - {name: temperature, type: FLOAT, accessMode: ReadOnly}
                - {name: setpoint, type: FLOAT, accessMode: ReadWrite}
                - {name: pump, type: BOOLEAN, accessMode: ReadWrite}
          - apiVersion: devices.kubeedge.io/v1beta1
            kind: Device
            metadata: {name: boiler-1}
            spec:
              deviceModelRef: {name: thermostat}
              protocol: {protocolName: modbus, configData: {serialPort: "\(port)", baudRate: 9600, slaveID: 1, responseTimeout: 100, retries: 1}}
              properties:
                - name: temperature
                  collectCycle: 50
                  visitors: {protocolName: modbus, configData: {register: InputRegister, offset: 0, limit: 1, scale: 0.1}}
                - name: setpoint
                  collectCycle: 50
                  desired: {value: "\(desired)"}
                  visitors: {protocolName: modbus, configData: {register: HoldingRegister, offset: 2, limit: 1, scale: 0.1}}
                - name: pump
                  collectCycle: 50
                  desired: {value: "true"}
                  visitors: {protocolName: modbus, configData: {register: CoilRegister, offset: 1}}
        """
    }

    static func spec(port: String, desired: String = "21.5") throws -> DeviceSpec {
        let file = "kinglet.yaml"
        let config = try ConfigDecoder.decode(try YAMLReader().parseDocument(config(port: port, desired: desired), file: file),
                                              file: file, defaultNodeName: "edge-1")
        return try #require(config.devices.specs.first)
    }

    final class Harness {
        let loop: EpollEventLoop
        let manager: DeviceManager
        var logs: [String] = []

        init() throws {
            loop = try EpollEventLoop()
            let loop = self.loop
            let lines = ModbusLines(loop: loop)
            manager = DeviceManager(loop: loop, wallClockMilliseconds: { Int64(Date().timeIntervalSince1970 * 1000) },
                                    makeDriver: { spec, events in try? ModbusDriver(loop: loop, lines: lines, spec: spec, events: events) })
            manager.log = { [unowned self] in self.logs.append($0) }
        }

        /// Runs the loop until `done` holds: at most 300 wake-ups of at most 50 ms.
        func run(until done: () -> Bool) throws {
            var turns = 0
            while !done() && turns < 300 {
                try loop.runOnce(timeoutMilliseconds: 50)
                turns += 1
            }
        }

        var device: DeviceManager.ManagedDevice? { manager.devices.values.first }

        func reported(_ index: Int) -> DeviceValue? { device?.twin.properties[index].reported }
    }

    @Test func readingsBecomeTwinsAndDesiredValuesReachTheRegisters() throws {
        let server = try PTYModbusServer()
        defer { server.stop() }
        server.setInputRegister(0, 215)
        let harness = try Harness()
        harness.manager.apply([try ModbusDriverTests.spec(port: server.slavePath)])
        defer { harness.manager.stopAll() }
        try harness.run { harness.reported(0) == .double(21.5) && harness.device?.twin.properties[1].observedDesired == "21.5"
            && harness.device?.twin.properties[2].observedDesired == "true" }
        #expect(harness.reported(0) == .double(21.5))
        #expect(server.holdingRegister(2) == 215)
        #expect(harness.device?.twin.properties[1].observedDesired == "21.5")
        #expect(harness.reported(2) == .bool(true))
        #expect(harness.device?.twin.state == .online)

        // A changed desired value alone keeps the port open and writes the new value.
        let counters = harness.device?.driver.counters
        harness.manager.apply([try ModbusDriverTests.spec(port: server.slavePath, desired: "19")])
        try harness.run { server.holdingRegister(2) == 190 && harness.device?.twin.properties[1].observedDesired == "19" }
        #expect(server.holdingRegister(2) == 190)
        #expect((harness.device?.driver.counters.reopens ?? 1) == (counters?.reopens ?? 0))

        // New readings follow the device.
        server.setInputRegister(0, UInt16(bitPattern: -42))
        try harness.run { harness.reported(0) == .double(-4.2) }
        #expect(harness.reported(0) == .double(-4.2))
    }

    @Test func aSilentSlaveGoesOfflineAndComesBack() throws {
        let server = try PTYModbusServer()
        defer { server.stop() }
        server.setInputRegister(0, 100)
        let harness = try Harness()
        harness.manager.apply([try ModbusDriverTests.spec(port: server.slavePath)])
        defer { harness.manager.stopAll() }
        try harness.run { harness.device?.twin.state == .online }
        server.setSilent(true)
        try harness.run { harness.device?.twin.state == .offline }
        #expect(harness.device?.twin.state == .offline)
        #expect((harness.device?.driver.counters.timeouts ?? 0) >= 2)
        #expect(harness.logs.contains { $0.contains("no answer from slave 1") })
        server.setSilent(false)
        server.setInputRegister(0, 123)
        try harness.run { harness.device?.twin.state == .online && harness.reported(0) == .double(12.3) }
        #expect(harness.device?.twin.state == .online)
        #expect(harness.reported(0) == .double(12.3))
    }

    @Test func aMissingPortIsReportedAndRetriedWithoutBlocking() throws {
        let harness = try Harness()
        let path = NSTemporaryDirectory() + "kinglet-no-such-port-\(getpid())"
        harness.manager.apply([try ModbusDriverTests.spec(port: path)])
        defer { harness.manager.stopAll() }
        try harness.run { harness.device?.twin.state == .offline }
        #expect(harness.device?.twin.state == .offline)
        #expect(harness.device?.twin.stateReason.contains("cannot open") == true)
        #expect((harness.device?.driver.counters.reopens ?? 0) >= 1)
    }

    /// Devices of one RS-485 bus: `name` at `slave`, reading input register 0.
    static func busDevice(_ name: String, port: String, slave: Int, cycle: Int, extra: String = "") -> String {
        """
          - apiVersion: devices.kubeedge.io/v1beta1
            kind: Device
            metadata: {name: \(name)}
            spec:
              deviceModelRef: {name: meter}
              protocol: {protocolName: modbus, configData: {serialPort: "\(port)", slaveID: \(slave), responseTimeout: 100, retries: 1\(extra)}}
              properties:
                - name: temperature
                  collectCycle: \(cycle)
                  visitors: {protocolName: modbus, configData: {register: InputRegister, offset: 0, limit: 1, scale: 0.1}}
        """
    }

    @Test func devicesOnOneSerialPortShareItAndASilentSlaveDoesNotStopTheOthers() throws {
        let server = try PTYModbusServer()
        defer { server.stop() }
        server.setInputRegister(0, 215)
        let port = server.slavePath
        let text = """
        devices:
          - apiVersion: devices.kubeedge.io/v1beta1
            kind: DeviceModel
            metadata: {name: meter}
            spec:
              protocol: modbus
              properties:
                - {name: temperature, type: FLOAT, accessMode: ReadOnly}
        \(Self.busDevice("meter-a", port: port, slave: 1, cycle: 50))
        \(Self.busDevice("meter-b", port: port, slave: 1, cycle: 50))
        \(Self.busDevice("meter-silent", port: port, slave: 2, cycle: 2000))
        \(Self.busDevice("meter-fast", port: port, slave: 3, cycle: 50, extra: ", baudRate: 19200"))
        """
        let config = try ConfigDecoder.decode(try YAMLReader().parseDocument(text, file: "kinglet.yaml"), file: "kinglet.yaml",
                                              defaultNodeName: "edge-1")
        let harness = try Harness()
        harness.manager.apply(config.devices.specs)
        defer { harness.manager.stopAll() }
        func device(_ name: String) -> DeviceManager.ManagedDevice? { harness.manager.devices.values.first { $0.spec.name == name } }
        func reported(_ name: String) -> DeviceValue? { device(name)?.twin.properties[0].reported }
        try harness.run {
            reported("meter-a") == .double(21.5) && reported("meter-b") == .double(21.5)
                && device("meter-silent")?.twin.state == .offline && device("meter-fast")?.twin.state == .offline
        }
        #expect(reported("meter-a") == .double(21.5))
        #expect(reported("meter-b") == .double(21.5))
        #expect(device("meter-silent")?.twin.stateReason == "no answer from slave 2 on \(port)")
        #expect(device("meter-fast")?.twin.stateReason
            == "\(port) is already in use at 9600 8N1; this device asks for 19200 8N1")

        // The silent slave keeps failing, and the others keep reading new values.
        server.setInputRegister(0, 230)
        try harness.run { reported("meter-a") == .double(23.0) && reported("meter-b") == .double(23.0) }
        #expect(reported("meter-a") == .double(23.0))
        #expect(reported("meter-b") == .double(23.0))
        #expect(device("meter-a")?.twin.state == .online)
        #expect((device("meter-silent")?.driver.counters.timeouts ?? 0) >= 1)

        // Once the devices at 9600 baud are gone, the port is free for the one that wanted
        // 19200 (at slave 1 now): it opens the line at its own settings and reads.
        let fast = try #require(config.devices.specs.first { $0.name == "meter-fast" })
        let retuned = try ConfigDecoder.decode(
            try YAMLReader().parseDocument(text.replacingOccurrences(of: "slaveID: 3", with: "slaveID: 1"), file: "kinglet.yaml"),
            file: "kinglet.yaml", defaultNodeName: "edge-1").devices.specs.first { $0.name == "meter-fast" }
        harness.manager.apply([fast])
        try harness.run { device("meter-a") == nil }
        harness.manager.apply([try #require(retuned)])
        try harness.run { reported("meter-fast") == .double(23.0) }
        #expect(reported("meter-fast") == .double(23.0))
        #expect(device("meter-fast")?.twin.state == .online)
    }
}

