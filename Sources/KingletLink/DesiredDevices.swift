import KingletCore
import KingletDevices
import KingletDocument
import KingletPod

extension DesiredMessages {
    /// `desired/devices/<uid>`: one Device with its DeviceModel, checked and decoded.
    public static func device(_ payload: [UInt8], topicUID: String) -> Result<DeviceSpec, PayloadRejection> {
        keyedMessage(payload, topicUID: topicUID) { object, uid, hash throws(DocumentError) in
            guard let device = object.field("device"), let model = object.field("model") else {
                return .failure(PayloadRejection(.missingField, "device or model is missing"))
            }
            return .success(try DeviceDecoder.decode(device: device, model: model, uid: uid, specHash: hash, sourceJSON: payload))
        }
    }
}

/// The relay's devices as the link knows them: the messages received and the latest
/// index's device list. A device is dropped only because the index no longer lists it
/// (docs/protocol.md, rules 1, 2 and 5, as for pods).
public final class DesiredDevices {
    public private(set) var messages: [String: DeviceSpec] = [:]

    public init() {}

    public func received(_ spec: DeviceSpec) { messages[spec.uid] = spec }

    /// The relay cleared the topic: the device stays until an index drops it.
    func cleared(uid: String) { messages[uid] = nil }

    /// The devices the node should drive: for each uid of the index, the message with the
    /// index's hash, else the one it has (cached or current) with that hash, else the one
    /// it has at all (kept running until the right message comes).
    public func plan(index: DesiredIndex, current: (String) -> DeviceSpec?) -> [String: DeviceSpec] {
        var plan: [String: DeviceSpec] = [:]
        for (uid, hash) in index.devices {
            if let message = messages[uid], message.specHash == hash {
                plan[uid] = message
            } else if let known = current(uid) {
                plan[uid] = known
            }
        }
        // Messages are kept even when this index does not list them: the relay publishes a
        // device's message before the index that lists it (rule 5), and a plan runs on each.
        // A deleted device's message goes when the relay clears its topic.
        return plan
    }
}
