import Foundation
import KingletKube
import KingletRelay
import Testing

@Suite struct DesiredDeviceBuilderTests {
    static let device: JSONValue = [
        "apiVersion": "devices.kubeedge.io/v1beta1", "kind": "Device",
        "metadata": [
            "name": "boiler-1", "namespace": "default", "uid": "uid-d1", "resourceVersion": "41", "generation": 3,
            "creationTimestamp": "2026-11-30T10:00:00Z", "labels": ["site": "plant-3"],
            "annotations": ["kubectl.kubernetes.io/last-applied-configuration": "{...}", "owner": "ops"],
            "managedFields": [["manager": "kubectl"]],
        ],
        "spec": [
            "nodeName": "edge-1", "deviceModelRef": ["name": "boiler"],
            "properties": [["name": "setpoint", "desired": ["value": "21.5"]]],
        ],
        "status": ["state": "online"],
    ]
    static let model: JSONValue = [
        "apiVersion": "devices.kubeedge.io/v1beta1", "kind": "DeviceModel",
        "metadata": ["name": "boiler", "namespace": "default", "uid": "uid-m1", "resourceVersion": "7"],
        "spec": ["protocol": "modbus"],
    ]

    @Test func hashIsFNV1a64OfTheSortedCompactSpecsOfDeviceAndModel() throws {
        let built = try DesiredDeviceBuilder.build(device: Self.device, model: Self.model).get()
        // Computed independently (Python) over
        // {"device":{"spec":{"deviceModelRef":{"name":"boiler"},"nodeName":"edge-1","properties":[{"desired":{"value":"21.5"},"name":"setpoint"}]}},"model":{"spec":{"protocol":"modbus"}}}
        #expect(built.specHash == "d0dd68b9b60b6af3")
        #expect(built.uid == "uid-d1")
        let message = try JSONValue.parse(built.payload)
        #expect(message["specHash"]?.stringValue == built.specHash)
        #expect(message["v"] == 1)
    }

    @Test func messageCarriesBothSpecsAndOnlyIdentifyingMetadata() throws {
        let message = try JSONValue.parse(try DesiredDeviceBuilder.build(device: Self.device, model: Self.model).get().payload)
        #expect(message[path: "device", "metadata"] == [
            "name": "boiler-1", "namespace": "default", "uid": "uid-d1", "labels": ["site": "plant-3"], "annotations": ["owner": "ops"],
        ])
        #expect(message[path: "device", "status"] == nil)
        #expect(message[path: "device", "spec"] == Self.device["spec"])
        #expect(message[path: "model", "metadata"] == ["name": "boiler", "namespace": "default"])
        #expect(message[path: "model", "spec"] == Self.model["spec"])
    }

    @Test func statusAndMetadataChangesKeepTheMessageBytes() throws {
        var changed = Self.device
        changed["status"] = ["state": "offline"]
        changed["metadata"]?["resourceVersion"] = "99"
        changed["metadata"]?["generation"] = 4
        let before = try DesiredDeviceBuilder.build(device: Self.device, model: Self.model).get()
        let after = try DesiredDeviceBuilder.build(device: changed, model: Self.model).get()
        #expect(before == after)
        var edited = Self.device
        edited["spec"]?["properties"] = [["name": "setpoint", "desired": ["value": "23"]]]
        #expect(try DesiredDeviceBuilder.build(device: edited, model: Self.model).get().specHash != before.specHash)
    }

    @Test func deviceOverTheLinkLimitIsRefused() {
        var big = Self.model
        big["spec"]?["blob"] = .string(String(repeating: "x", count: 300 * 1024))
        guard case .failure(let problem) = DesiredDeviceBuilder.build(device: Self.device, model: big) else {
            Issue.record("a message over 256 KiB was built")
            return
        }
        #expect(problem.message.contains("256 KiB"))
    }

    @Test func statusPatchTakesTwinsStateAndLastOnlineTimeAndSkipsWhatChangesNothing() {
        let report: JSONValue = [
            "v": 1, "uid": "uid-d1", "specHash": "x", "state": "online", "lastOnlineTime": "2026-11-30T10:00:05Z",
            "twins": [["propertyName": "setpoint", "reported": ["value": "21.5"]]],
        ]
        let patch = DesiredDeviceBuilder.statusPatch(report: report)
        #expect(patch == ["status": ["state": "online", "lastOnlineTime": "2026-11-30T10:00:05Z",
                                     "twins": [["propertyName": "setpoint", "reported": ["value": "21.5"]]]]])
        #expect(DesiredDeviceBuilder.statusDiffers(patch!, from: nil))
        #expect(!DesiredDeviceBuilder.statusDiffers(patch!, from: patch!["status"]))
        var current = patch!["status"]!
        current["reportCycle"] = 1000
        #expect(!DesiredDeviceBuilder.statusDiffers(patch!, from: current))
        current["state"] = "offline"
        #expect(DesiredDeviceBuilder.statusDiffers(patch!, from: current))
        #expect(DesiredDeviceBuilder.statusPatch(report: ["v": 1, "uid": "u"]) == nil)
    }

    @Test func deviceTopicsParseAndIndexListsDevicesOnlyWhenThereAreSome() {
        #expect(LinkTopic("kinglet/v1/nodes/edge-1/desired/devices/u1") == .desiredDevice(node: "edge-1", uid: "u1"))
        #expect(LinkTopic("kinglet/v1/nodes/edge-1/status/devices/u1") == .deviceStatus(node: "edge-1", uid: "u1"))
        #expect(LinkTopic.deviceStatus(node: "edge-1", uid: "u1").path == "kinglet/v1/nodes/edge-1/status/devices/u1")
        #expect(LinkTopic("kinglet/v1/nodes/edge-1/desired/devices/") == nil)
        let withoutDevices = DesiredIndex.payload(pods: ["p": "h"], deleting: [:])
        #expect(String(decoding: withoutDevices, as: UTF8.self) == #"{"deleting":{},"pods":{"p":"h"},"v":1}"#)
        let withDevices = DesiredIndex.payload(pods: [:], deleting: [:], devices: ["d": "h2"])
        #expect(String(decoding: withDevices, as: UTF8.self) == #"{"deleting":{},"devices":{"d":"h2"},"pods":{},"v":1}"#)
        #expect(DesiredIndex.devices(in: withDevices) == ["d": "h2"])
        #expect(DesiredIndex.devices(in: withoutDevices) == [:])
    }
}
