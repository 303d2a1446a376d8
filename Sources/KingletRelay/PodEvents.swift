import KingletKube

/// One Event the kubelet would have written, derived by the relay.
public struct DerivedEvent: Sendable, Equatable {
    public var reason: String
    public var message: String
    /// "Normal" or "Warning".
    public var type: String
    /// The container it concerns (its fieldPath is `spec.containers{name}`); "" for the pod.
    public var container: String

    public init(reason: String, message: String, type: String, container: String) {
        self.reason = reason
        self.message = message
        self.type = type
        self.container = container
    }
}

/// Derives Events from successive pod statuses (docs/protocol.md, "Events"): the agent
/// sends no event messages.
public enum PodEventDeriver {
    public static func events(previous: JSONValue?, current: JSONValue, podName: String, namespace: String, uid: String) -> [DerivedEvent] {
        var events: [DerivedEvent] = []
        let before = containerStatuses(previous)
        for status in current["containerStatuses"]?.arrayValue ?? [] {
            guard let name = status["name"]?.stringValue else { continue }
            let old = before[name]
            let running = status[path: "state", "running"]
            let oldRunning = old?[path: "state", "running"]
            if let running, running["startedAt"] != oldRunning?["startedAt"] || oldRunning == nil {
                events.append(DerivedEvent(reason: "Started", message: "Started container \(name)", type: "Normal", container: name))
            }
            let waitingReason = status[path: "state", "waiting", "reason"]?.stringValue
            if waitingReason == "CrashLoopBackOff",
               old?[path: "state", "waiting", "reason"]?.stringValue != "CrashLoopBackOff"
                || old?["restartCount"] != status["restartCount"] {
                events.append(DerivedEvent(
                    reason: "BackOff", message: "Back-off restarting failed container \(name) in pod \(podName)_\(namespace)(\(uid))",
                    type: "Warning", container: name))
            }
            if running != nil, let oldRunning, running?["startedAt"] == oldRunning["startedAt"],
               old?["ready"]?.boolValue == true, status["ready"]?.boolValue == false,
               status["started"]?.boolValue != false {
                events.append(DerivedEvent(reason: "Unhealthy", message: "Readiness probe failed", type: "Warning", container: name))
            }
        }
        return events
    }

    /// Killing, once per container, when the pod starts being deleted.
    public static func killing(pod: JSONValue) -> [DerivedEvent] {
        (pod[path: "spec", "containers"]?.arrayValue ?? []).compactMap { container in
            guard let name = container["name"]?.stringValue else { return nil }
            return DerivedEvent(reason: "Killing", message: "Stopping container \(name)", type: "Normal", container: name)
        }
    }

    static func containerStatuses(_ status: JSONValue?) -> [String: JSONValue] {
        var result: [String: JSONValue] = [:]
        for entry in status?["containerStatuses"]?.arrayValue ?? [] {
            if let name = entry["name"]?.stringValue { result[name] = entry }
        }
        return result
    }
}

/// Turns derived events into core/v1 Event objects, counting repeats of the same event
/// (same pod, reason, container and message) on one object instead of writing new ones.
public struct EventBook: Sendable {
    public struct Entry: Sendable {
        public var name: String
        public var count: Int64
        public var firstTimestamp: String
    }

    /// pod uid -> (event identity -> entry), so a pod's events are forgotten in one step.
    private var entries: [String: [String: Entry]] = [:]
    private let replicaID: String

    public init(replicaID: String) { self.replicaID = replicaID }

    public enum Write: Sendable {
        case create(namespace: String, event: JSONValue)
        /// Bump count and lastTimestamp; `fallback` is the object to create if it is gone.
        case bump(namespace: String, name: String, patch: JSONValue, fallback: JSONValue)
    }

    public mutating func record(_ event: DerivedEvent, pod: JSONValue, node: String, now: String) -> Write {
        let namespace = pod.namespace ?? "default"
        let uid = pod.uid ?? ""
        let podName = pod.name ?? ""
        let identity = [uid, event.reason, event.container, event.message].joined(separator: "\u{0}")
        let name = podName + "." + FNV1a64.hex(FNV1a64.hash(Array(identity.utf8)))
        var entry = entries[uid]?[identity] ?? Entry(name: name, count: 0, firstTimestamp: now)
        entry.count += 1
        entries[uid, default: [:]][identity] = entry
        var involvedObject: JSONValue = [
            "apiVersion": "v1", "kind": "Pod", "name": .string(podName), "namespace": .string(namespace), "uid": .string(uid),
        ]
        // An event about the pod as a whole (its pull secrets) names no container.
        if !event.container.isEmpty { involvedObject["fieldPath"] = .string("spec.containers{\(event.container)}") }
        let object: JSONValue = [
            "apiVersion": "v1", "kind": "Event",
            "metadata": ["name": .string(name), "namespace": .string(namespace)],
            "involvedObject": involvedObject,
            "reason": .string(event.reason), "message": .string(event.message), "type": .string(event.type),
            "source": ["component": "kubelet", "host": .string(node)],
            "reportingComponent": "kinglet-relay", "reportingInstance": .string(replicaID),
            "firstTimestamp": .string(entry.firstTimestamp), "lastTimestamp": .string(now), "count": .int(entry.count),
        ]
        if entry.count == 1 { return .create(namespace: namespace, event: object) }
        return .bump(namespace: namespace, name: name, patch: ["count": .int(entry.count), "lastTimestamp": .string(now)], fallback: object)
    }

    /// Forgets a pod's events (it is gone).
    public mutating func forget(uid: String) {
        entries.removeValue(forKey: uid)
    }
}
