import KingletConfig
import KingletDevices
import KingletDocument
import KingletLoopTesting
import Foundation
import Testing

/// Devices and DeviceModels as users write them for KubeEdge, read from the config.
@Suite struct DeviceDecoderTests {
    static let config = """
        node: {name: edge-1}
        devices:
          manifests:
            - apiVersion: devices.kubeedge.io/v1beta1
              kind: DeviceModel
              metadata: {name: thermostat, namespace: default}
              spec:
                protocol: modbus
                properties:
                  - {name: temperature, type: FLOAT, accessMode: ReadOnly, unit: Cel}
                  - {name: setpoint, type: FLOAT, accessMode: ReadWrite}
            - apiVersion: devices.kubeedge.io/v1beta1
              kind: Device
              metadata: {name: boiler-1, namespace: default}
              spec:
                deviceModelRef: {name: thermostat}
                nodeName: edge-1
                protocol:
                  protocolName: modbus
                  configData: {serialPort: /dev/ttyUSB0, baudRate: 19200, parity: even, slaveID: 3}
                properties:
                  - name: temperature
                    collectCycle: 100
                    visitors: {protocolName: modbus, configData: {register: InputRegister, offset: 0, limit: 1, scale: 0.1}}
                  - name: setpoint
                    desired: {value: "21.5"}
                    collectCycle: 1000000000
                    visitors: {protocolName: modbus, configData: {register: HoldingRegister, offset: 2, limit: 1, scale: 0.1}}
        """

    func load(_ text: String) throws -> AgentConfig {
        let file = "/etc/kinglet/kinglet.yaml"
        return try ConfigDecoder.decode(try YAMLReader().parseDocument(text, file: file), file: file, defaultNodeName: "host")
    }

    @Test func aDeviceAndItsModelBecomeOneSpec() throws {
        let config = try load(DeviceDecoderTests.config)
        let spec = try #require(config.devices.specs.first)
        #expect(config.devices.specs.count == 1)
        #expect(spec.fullName == "default/boiler-1")
        #expect(spec.kind == .modbus)
        #expect(spec.uid.hasPrefix("device-"))
        #expect(spec.properties.map(\.name) == ["temperature", "setpoint"])
        #expect(spec.properties[0].type == .float && !spec.properties[0].writable && spec.properties[0].unit == "Cel")
        #expect(spec.properties[1].writable && spec.properties[1].desired == "21.5")
        #expect(spec.properties[0].collectCycleMilliseconds == 100)
        // No reportCycle: KubeEdge's mappers report once a second, whatever the collect cycle.
        #expect(spec.properties[0].reportCycleMilliseconds == 1_000)
    }

    @Test func aGivenReportCycleIsKept() throws {
        let text = DeviceDecoderTests.config.replacingOccurrences(of: "collectCycle: 100\n", with: "collectCycle: 100\n            reportCycle: 250\n")
        let spec = try #require(try load(text).devices.specs.first)
        #expect(spec.properties[0].reportCycleMilliseconds == 250)
    }

    @Test func aNanosecondCycleFromOlderSamplesReadsAsMilliseconds() throws {
        let spec = try #require(try load(DeviceDecoderTests.config).devices.specs.first)
        #expect(spec.properties[1].collectCycleMilliseconds == 1_000)
    }

    @Test func changingOnlyADesiredValueKeepsTheConnectionHash() throws {
        let before = try #require(try load(DeviceDecoderTests.config).devices.specs.first)
        let after = try #require(try load(DeviceDecoderTests.config.replacingOccurrences(of: "\"21.5\"", with: "\"19\"")).devices.specs.first)
        #expect(before.specHash != after.specHash)
        #expect(before.connectionHash == after.connectionHash)
        #expect(before.uid == after.uid)
        let moved = try #require(try load(DeviceDecoderTests.config.replacingOccurrences(of: "slaveID: 3", with: "slaveID: 4")).devices.specs.first)
        #expect(moved.connectionHash != before.connectionHash)
    }

    @Test func aPropertyMissingFromTheModelNamesItsLine() throws {
        let text = DeviceDecoderTests.config.replacingOccurrences(of: "- name: temperature\n", with: "- name: pressure\n")
        #expect {
            _ = try load(text)
        } throws: { error in
            let message = (error as? DocumentError)?.description ?? ""
            return message.contains("kinglet.yaml:22:") && message.contains("has no property 'pressure'")
        }
    }

    @Test func aDesiredValueOnAReadOnlyPropertyIsRefused() throws {
        let text = DeviceDecoderTests.config.replacingOccurrences(of: "accessMode: ReadWrite", with: "accessMode: ReadOnly")
        #expect(throws: DocumentError.self) { _ = try load(text) }
    }

    @Test func anUnknownProtocolIsNamed() throws {
        let text = DeviceDecoderTests.config.replacingOccurrences(of: "protocolName: modbus\n", with: "protocolName: canbus\n")
        #expect {
            _ = try load(text)
        } throws: { error in
            ((error as? DocumentError)?.description ?? "").contains("unsupported protocol 'canbus'")
        }
    }

    @Test func aDeviceWithoutItsModelIsAnError() throws {
        let text = DeviceDecoderTests.config.replacingOccurrences(of: "deviceModelRef: {name: thermostat}", with: "deviceModelRef: {name: boiler}")
        #expect {
            _ = try load(text)
        } throws: { error in
            ((error as? DocumentError)?.description ?? "").contains("no DeviceModel default/boiler")
        }
    }

    @Test func desiredValuesParseByType() {
        #expect(DeviceValue.parse("21.5", as: .float) == .double(21.5))
        #expect(DeviceValue.parse("7", as: .int) == .integer(7))
        #expect(DeviceValue.parse("on", as: .boolean) == .bool(true))
        #expect(DeviceValue.parse("warm", as: .int) == nil)
        #expect(DeviceValue.double(21.499999999).twinText == "21.5")
        #expect(DeviceValue.double(-0.25).twinText == "-0.25")
        #expect(DeviceValue.integer(-42).twinText == "-42")
        #expect(DeviceValue.double(21.5).confirms(.double(21.5000001)))
    }
}

/// A device no driver accepts is kept, offline with the reason, and not tried again.
@Suite struct UndrivenDeviceTests {
    @Test func aDeviceWithoutADriverIsOfflineWithTheReasonAndLoggedOnce() throws {
        let file = "kinglet.yaml"
        let config = try ConfigDecoder.decode(try YAMLReader().parseDocument(DeviceDecoderTests.config, file: file), file: file,
                                              defaultNodeName: "edge-1")
        let spec = try #require(config.devices.specs.first)
        let loop = ManualEventLoop()
        var logs: [String] = []
        let manager = DeviceManager(loop: loop, wallClockMilliseconds: { 0 }, makeDriver: { _, events in
            events.log("serialPort: cannot be used here")
            return nil
        })
        manager.log = { logs.append($0) }
        manager.apply([spec])
        let device = try #require(manager.devices[spec.uid])
        #expect(device.twin.state == .offline)
        #expect(device.twin.stateReason == "serialPort: cannot be used here")
        let logged = logs.count
        manager.apply([spec])
        #expect(logs.count == logged, "the same spec is not tried again")
    }
}
