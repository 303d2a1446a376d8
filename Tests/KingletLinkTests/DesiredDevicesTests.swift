import KingletDevices
import KingletLink
import Testing

/// Device messages from the relay (docs/protocol.md, `desired/devices/<uid>`) and the
/// index's device list: a device is dropped only because the index stops listing it.
@Suite struct DesiredDevicesTests {
    static func message(uid: String, hash: String = "00000000000000d1", desired: String = "21") -> [UInt8] {
        Array("""
            {"v":1,"uid":"\(uid)","specHash":"\(hash)",
             "device":{"apiVersion":"devices.kubeedge.io/v1beta1","kind":"Device","metadata":{"name":"boiler-1","namespace":"default","uid":"\(uid)"},
                       "spec":{"deviceModelRef":{"name":"boiler"},"nodeName":"edge-1",
                               "protocol":{"protocolName":"modbus","configData":{"serialPort":"/dev/ttyUSB0","slaveID":1}},
                               "properties":[{"name":"setpoint","desired":{"value":"\(desired)"},
                                              "visitors":{"protocolName":"modbus","configData":{"register":"HoldingRegister","offset":2}}}]}},
             "model":{"apiVersion":"devices.kubeedge.io/v1beta1","kind":"DeviceModel","metadata":{"name":"boiler","namespace":"default"},
                      "spec":{"protocol":"modbus","properties":[{"name":"setpoint","type":"FLOAT","accessMode":"ReadWrite"}]}}}
            """.utf8)
    }

    static let uid = "3c1d0000-0000-4000-8000-000000000001"

    @Test func aDeviceMessageDecodesToItsSpec() throws {
        let spec = try DesiredMessages.device(DesiredDevicesTests.message(uid: DesiredDevicesTests.uid), topicUID: DesiredDevicesTests.uid).get()
        #expect(spec.uid == DesiredDevicesTests.uid)
        #expect(spec.specHash == 0xd1)
        #expect(spec.fullName == "default/boiler-1")
        #expect(spec.properties.first?.desired == "21")
    }

    @Test func badDeviceMessagesAreRejectedWithTheirReason() {
        let uid = DesiredDevicesTests.uid
        if case .failure(let rejection) = DesiredMessages.device(DesiredDevicesTests.message(uid: uid), topicUID: "other-uid") {
            #expect(rejection.description.contains("differs from the topic"))
        } else {
            Issue.record("a uid that differs from the topic's must be rejected")
        }
        let noModel = Array(String(decoding: DesiredDevicesTests.message(uid: uid), as: UTF8.self)
            .replacingOccurrences(of: "\"model\":", with: "\"modelx\":").utf8)
        if case .success = DesiredMessages.device(noModel, topicUID: uid) { Issue.record("a device without its model must be rejected") }
        let badProtocol = Array(String(decoding: DesiredDevicesTests.message(uid: uid), as: UTF8.self)
            .replacingOccurrences(of: "\"protocolName\":\"modbus\",\"configData\"", with: "\"protocolName\":\"canbus\",\"configData\"").utf8)
        if case .failure(let rejection) = DesiredMessages.device(badProtocol, topicUID: uid) {
            #expect(rejection.description.contains("unsupported protocol 'canbus'"))
        } else {
            Issue.record("an unknown protocol must be rejected")
        }
    }

    @Test func theIndexListsDevicesAndAnIndexWithoutThemListsNone() throws {
        let with = try DesiredMessages.index(Array(#"{"v":1,"pods":{},"devices":{"3c1d0000-0000-4000-8000-000000000001":"d1"}}"#.utf8)).get()
        #expect(with.devices[DesiredDevicesTests.uid] == 0xd1)
        let without = try DesiredMessages.index(Array(#"{"v":1,"pods":{}}"#.utf8)).get()
        #expect(without.devices.isEmpty)
        if case .success = DesiredMessages.index(Array(#"{"v":1,"pods":{},"devices":{"x":"not-a-hash"}}"#.utf8)) {
            Issue.record("a device hash that is not hex must be rejected")
        }
    }

    @Test func aDeviceMessageThatComesBeforeItsIndexIsKept() throws {
        let uid = DesiredDevicesTests.uid
        let devices = DesiredDevices()
        devices.received(try DesiredMessages.device(DesiredDevicesTests.message(uid: uid), topicUID: uid).get())
        // The relay publishes the message first: a plan runs on the old index, without it.
        #expect(devices.plan(index: DesiredIndex(), current: { _ in nil }).isEmpty)
        let plan = devices.plan(index: DesiredIndex(devices: [uid: 0xd1]), current: { _ in nil })
        #expect(plan[uid]?.specHash == 0xd1, "rule 5: the index may come after the message")
    }
}

