/// What the agent should do with the relay's pods, decided from the latest index alone
/// (docs/protocol.md, rules 1-5): pods are removed only because the latest index does not
/// list them, never because something is late.
public struct RelayPlan: Equatable {
    /// One pod the index lists and the node can run.
    public enum Entry: Equatable {
        /// Already running with the index's hash (or waiting for its message): leave it.
        case keep(uid: String)
        /// New, or a new spec hash: write it to the cache, then start (or replace) it.
        case start(DesiredPodMessage)
        /// The cached record has the index's hash: run that.
        case startCached(uid: String, specHash: UInt64)
    }

    /// A running pod the index no longer lists.
    public struct Stop: Equatable {
        public var uid: String
        /// From the index's `deleting`; nil means the pod spec's own grace period.
        public var graceSeconds: Int64?

        public init(uid: String, graceSeconds: Int64?) {
            self.uid = uid
            self.graceSeconds = graceSeconds
        }
    }

    public var entries: [Entry] = []
    public var stops: [Stop] = []
    /// Listed, not running, and neither a message nor a cached record has its hash yet.
    public var waiting: [String] = []
    /// Being deleted (`deleting`) and not running here: never started, or already stopped
    /// (its `removed` lost with a restart). As a kubelet does, the node says they are gone,
    /// or the API would keep them Terminating for ever.
    public var absent: [String] = []

    public init(entries: [Entry] = [], stops: [Stop] = [], waiting: [String] = [], absent: [String] = []) {
        self.entries = entries
        self.stops = stops
        self.waiting = waiting
        self.absent = absent
    }

    /// Whether applying it changes anything.
    public var changesSomething: Bool {
        !stops.isEmpty || entries.contains { if case .keep = $0 { return false } else { return true } }
    }
}

/// Holds the relay's latest index and the pod messages received, and plans the relay pods.
/// Pure logic: no loop, no clock, no I/O, so every rule is tested directly.
public final class DesiredStateReconciler {
    /// The latest valid index, from this or an earlier connection.
    public private(set) var index: DesiredIndex? = nil
    /// Rule 1: nothing is planned in a connection until its first index.
    public private(set) var indexSeenThisConnection = false
    /// Latest pod message per uid. A message is dropped once the cache holds its hash and
    /// the node runs it, or when the relay clears its topic.
    public private(set) var messages: [String: DesiredPodMessage] = [:]

    public init() {}

    /// A new connection: wait for its index before acting (the retained index comes again).
    public func connectionStarted() {
        indexSeenThisConnection = false
    }

    public func received(_ message: DesiredPodMessage) {
        messages[message.uid] = message
    }

    /// The relay cleared `desired/pods/<uid>`. The pod keeps running until an index drops it.
    public func cleared(uid: String) {
        messages[uid] = nil
    }

    public func received(_ index: DesiredIndex) {
        self.index = index
        indexSeenThisConnection = true
    }

    /// The plan for the current state, or nil before this connection's first index.
    /// - Parameters:
    ///   - running: uid -> spec hash of every relay pod the node runs (or is starting).
    ///   - cachedHash: the spec hash of the cached record of a uid, if there is one.
    public func plan(running: [String: UInt64], cachedHash: (String) -> UInt64?) -> RelayPlan? {
        guard indexSeenThisConnection, let index else { return nil }
        var plan = RelayPlan()
        for uid in index.pods.keys.sorted() {
            let wanted = index.pods[uid]!
            let current = running[uid]
            if current == wanted {
                plan.entries.append(.keep(uid: uid))
                if messages[uid]?.specHash == wanted && cachedHash(uid) == wanted { messages[uid] = nil }
            } else if let message = messages[uid], message.specHash == wanted {
                plan.entries.append(.start(message))
            } else if cachedHash(uid) == wanted {
                plan.entries.append(.startCached(uid: uid, specHash: wanted))
            } else if current != nil {
                plan.entries.append(.keep(uid: uid)) // rule 2: keep the current incarnation until the message comes
            } else {
                plan.waiting.append(uid)
            }
        }
        for uid in running.keys.sorted() where index.pods[uid] == nil {
            plan.stops.append(RelayPlan.Stop(uid: uid, graceSeconds: index.deleting[uid]))
        }
        for uid in index.deleting.keys.sorted() where running[uid] == nil { plan.absent.append(uid) }
        return plan
    }
}
