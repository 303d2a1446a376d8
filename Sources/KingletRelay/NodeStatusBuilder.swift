import KingletKube

/// Builds what the relay writes to a Node from the agent's `status/node` report, and the
/// "Unknown" conditions the node lifecycle controller would write when a board goes silent.
public enum NodeStatusBuilder {
    public static let edgeRoleLabel = "node-role.kubernetes.io/edge"
    public static let unknownReason = "NodeStatusUnknown"
    public static let unknownMessage = "Kubelet stopped posting node status."

    /// The labels the Node must carry: the board's, plus the well-known ones.
    public static func labels(node: String, report: JSONValue?) -> [String: String] {
        var labels: [String: String] = [:]
        for (key, value) in report?["labels"]?.objectValue ?? [:] {
            if let text = value.stringValue { labels[key] = text }
        }
        labels[edgeRoleLabel] = ""
        labels["kubernetes.io/hostname"] = node
        if let arch = report?[path: "nodeInfo", "architecture"]?.stringValue, !arch.isEmpty { labels["kubernetes.io/arch"] = arch }
        if let os = report?[path: "nodeInfo", "operatingSystem"]?.stringValue, !os.isEmpty { labels["kubernetes.io/os"] = os }
        return labels
    }

    /// A new Node object.
    public static func newNode(name: String, labels: [String: String], taint: Taint?) -> JSONValue {
        var node: JSONValue = [
            "apiVersion": "v1", "kind": "Node",
            "metadata": ["name": .string(name), "labels": .object(labels.mapValues { .string($0) })],
            "spec": [:],
        ]
        if let taint { node["spec"] = ["taints": [taint.json]] }
        return node
    }

    /// The `status` merge patch for a report: conditions with `lastHeartbeatTime` = now,
    /// the full addresses list (its merge key is not unique), capacity, allocatable, nodeInfo.
    public static func statusPatch(report: JSONValue, now: String) -> JSONValue {
        var status: [String: JSONValue] = [:]
        if let conditions = report["conditions"]?.arrayValue {
            status["conditions"] = .array(conditions.map { condition in
                var condition = condition
                condition["lastHeartbeatTime"] = .string(now)
                if condition["lastTransitionTime"] == nil { condition["lastTransitionTime"] = .string(now) }
                return condition
            })
        }
        for key in ["addresses", "capacity", "allocatable", "nodeInfo", "daemonEndpoints"] {
            if let value = report[key] { status[key] = value }
        }
        if status["allocatable"] == nil, let capacity = report["capacity"] { status["allocatable"] = capacity }
        return ["status": .object(status)]
    }

    /// The conditions with every status set to Unknown (the node lifecycle controller's
    /// wording); heartbeat times stay, transition times move to now for those that change.
    /// Nil when they already all are Unknown (nothing to write).
    public static func unknownConditions(_ conditions: [JSONValue], now: String) -> [JSONValue]? {
        var changed = false
        var result: [JSONValue] = []
        let present = conditions.isEmpty ? [["type": "Ready"] as JSONValue] : conditions
        for var condition in present {
            if condition["status"]?.stringValue != "Unknown" || condition["reason"]?.stringValue != unknownReason {
                changed = true
                if condition["status"]?.stringValue != "Unknown" { condition["lastTransitionTime"] = .string(now) }
                condition["status"] = "Unknown"
                condition["reason"] = .string(unknownReason)
                condition["message"] = .string(unknownMessage)
            }
            result.append(condition)
        }
        return changed ? result : nil
    }
}

/// A Node taint: `key[=value]:Effect`, as `kubectl taint` writes it.
public struct Taint: Sendable, Equatable {
    public var key: String
    public var value: String
    public var effect: String

    public init(parsing text: String) throws(RelayConfigError) {
        guard let colon = text.lastIndex(of: ":") else {
            throw RelayConfigError("taint \"\(text)\": expected key[=value]:Effect")
        }
        let effect = String(text[text.index(after: colon)...])
        guard ["NoSchedule", "PreferNoSchedule", "NoExecute"].contains(effect) else {
            throw RelayConfigError("taint \"\(text)\": the effect must be NoSchedule, PreferNoSchedule or NoExecute")
        }
        let keyValue = text[..<colon]
        if let equals = keyValue.firstIndex(of: "=") {
            key = String(keyValue[..<equals])
            value = String(keyValue[keyValue.index(after: equals)...])
        } else {
            key = String(keyValue)
            value = ""
        }
        guard !key.isEmpty else { throw RelayConfigError("taint \"\(text)\": empty key") }
        self.effect = effect
    }

    public var json: JSONValue {
        var taint: JSONValue = ["key": .string(key), "effect": .string(effect)]
        if !value.isEmpty { taint["value"] = .string(value) }
        return taint
    }
}
