/// The topics of docs/protocol.md, one tree per node under `kinglet/v1/nodes/<node>/`.
public enum LinkTopic: Equatable, Sendable {
    case desiredPod(node: String, uid: String)
    case desiredIndex(node: String)
    case online(node: String)
    case heartbeat(node: String)
    case nodeStatus(node: String)
    case podStatus(node: String, uid: String)
    case desiredDevice(node: String, uid: String)
    case deviceStatus(node: String, uid: String)

    public static let prefix = "kinglet/v1/nodes/"
    /// What the relay subscribes to: every node's desired and status trees.
    public static let allDesired = "kinglet/v1/nodes/+/desired/#"
    public static let allStatus = "kinglet/v1/nodes/+/status/#"

    public init?(_ topic: String) {
        guard topic.hasPrefix(Self.prefix) else { return nil }
        let parts = topic.dropFirst(Self.prefix.count).split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard parts.count >= 3, !parts[0].isEmpty else { return nil }
        let node = parts[0]
        switch (parts[1], parts[2], parts.count) {
        case ("desired", "index", 3): self = .desiredIndex(node: node)
        case ("desired", "pods", 4) where !parts[3].isEmpty: self = .desiredPod(node: node, uid: parts[3])
        case ("status", "online", 3): self = .online(node: node)
        case ("status", "heartbeat", 3): self = .heartbeat(node: node)
        case ("status", "node", 3): self = .nodeStatus(node: node)
        case ("status", "pods", 4) where !parts[3].isEmpty: self = .podStatus(node: node, uid: parts[3])
        case ("desired", "devices", 4) where !parts[3].isEmpty: self = .desiredDevice(node: node, uid: parts[3])
        case ("status", "devices", 4) where !parts[3].isEmpty: self = .deviceStatus(node: node, uid: parts[3])
        default: return nil
        }
    }

    public var node: String {
        switch self {
        case .desiredPod(let node, _), .desiredIndex(let node), .online(let node), .heartbeat(let node),
             .nodeStatus(let node), .podStatus(let node, _), .desiredDevice(let node, _), .deviceStatus(let node, _):
            return node
        }
    }

    public var path: String {
        switch self {
        case .desiredPod(let node, let uid): return Self.prefix + node + "/desired/pods/" + uid
        case .desiredIndex(let node): return Self.prefix + node + "/desired/index"
        case .online(let node): return Self.prefix + node + "/status/online"
        case .heartbeat(let node): return Self.prefix + node + "/status/heartbeat"
        case .nodeStatus(let node): return Self.prefix + node + "/status/node"
        case .podStatus(let node, let uid): return Self.prefix + node + "/status/pods/" + uid
        case .desiredDevice(let node, let uid): return Self.prefix + node + "/desired/devices/" + uid
        case .deviceStatus(let node, let uid): return Self.prefix + node + "/status/devices/" + uid
        }
    }
}

/// The largest payload a receiver accepts (docs/protocol.md).
public let maximumPayloadSize = 256 * 1024
