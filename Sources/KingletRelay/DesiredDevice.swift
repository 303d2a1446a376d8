import Foundation
import KingletKube

/// One device as the agent receives it on `desired/devices/<uid>`, ready to publish.
public struct DesiredDevice: Sendable, Equatable {
    public var uid: String
    public var specHash: String
    /// The compact JSON message, keys sorted: the same device and model give the same bytes.
    public var payload: [UInt8]
}

/// Why a device is not sent: its model is missing, or the message would be over the
/// link's size limit.
public struct DeviceProblem: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(message: String) { self.message = message }
    public var description: String { message }
}

/// Turns a KubeEdge Device and its DeviceModel into the agent's desired message
/// (docs/protocol.md, "desired/devices"): both specs as the API holds them, identity
/// metadata only, and the spec hash.
public enum DesiredDeviceBuilder {
    public static let apiVersion = "devices.kubeedge.io/v1beta1"
    /// Annotations that are bookkeeping of a client, not of the device (kubectl apply keeps a
    /// copy of the whole object there): left out so the message stays small.
    static let droppedAnnotations: Set<String> = ["kubectl.kubernetes.io/last-applied-configuration"]

    /// The model a device names: `namespace/name` (same namespace as the device).
    public static func modelKey(of device: JSONValue) -> String? {
        guard let name = device[path: "spec", "deviceModelRef", "name"]?.stringValue, !name.isEmpty else { return nil }
        return (device.namespace ?? "default") + "/" + name
    }

    public static func nodeName(of device: JSONValue) -> String? {
        guard let node = device[path: "spec", "nodeName"]?.stringValue, !node.isEmpty else { return nil }
        return node
    }

    /// Only what identifies the object: resourceVersion, generation, managed fields and
    /// timestamps change with every status write and would resend an unchanged device.
    static func metadata(_ object: JSONValue, uid: Bool) -> JSONValue {
        var metadata: JSONValue = ["name": .string(object.name ?? ""), "namespace": .string(object.namespace ?? "default")]
        if uid { metadata["uid"] = .string(object.uid ?? "") }
        let labels = object.labels
        if !labels.isEmpty { metadata["labels"] = .object(labels.mapValues { .string($0) }) }
        let annotations = object.annotations.filter { !droppedAnnotations.contains($0.key) }
        if !annotations.isEmpty { metadata["annotations"] = .object(annotations.mapValues { .string($0) }) }
        return metadata
    }

    public static func build(device: JSONValue, model: JSONValue) -> Result<DesiredDevice, DeviceProblem> {
        let uid = device.uid ?? ""
        let deviceSpec = device["spec"] ?? [:]
        let modelSpec = model["spec"] ?? [:]
        let hashed: JSONValue = ["device": ["spec": deviceSpec], "model": ["spec": modelSpec]]
        let hash = FNV1a64.hex(FNV1a64.hash(hashed.compactBytes))
        let message: JSONValue = [
            "v": 1, "uid": .string(uid), "specHash": .string(hash),
            "device": ["apiVersion": .string(apiVersion), "kind": "Device", "metadata": metadata(device, uid: true), "spec": deviceSpec],
            "model": ["apiVersion": .string(apiVersion), "kind": "DeviceModel", "metadata": metadata(model, uid: false), "spec": modelSpec],
        ]
        let payload = message.compactBytes
        guard payload.count <= maximumPayloadSize else {
            return .failure(DeviceProblem(message: "the device with its model is \(payload.count) bytes, over the link's 256 KiB limit"))
        }
        return .success(DesiredDevice(uid: uid, specHash: hash, payload: payload))
    }

    /// The status patch for a `status/devices/<uid>` report: `twins`, `state` and
    /// `lastOnlineTime` as the agent spelled them (KubeEdge v1beta1 DeviceStatus), nil when
    /// the report carries none of them.
    public static func statusPatch(report: JSONValue) -> JSONValue? {
        var status: [String: JSONValue] = [:]
        if let twins = report["twins"], twins.arrayValue != nil { status["twins"] = twins }
        if let state = report["state"]?.stringValue { status["state"] = .string(state) }
        if let time = report["lastOnlineTime"]?.stringValue { status["lastOnlineTime"] = .string(time) }
        return status.isEmpty ? nil : ["status": .object(status)]
    }

    /// Whether writing `patch` would change the Device's current status.
    public static func statusDiffers(_ patch: JSONValue, from current: JSONValue?) -> Bool {
        guard let fields = patch["status"]?.objectValue else { return false }
        for (key, value) in fields where current?[key] != value { return true }
        return false
    }
}
