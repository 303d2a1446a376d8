import KingletPod

/// What the agent last said, or has to say, about one relay pod.
public enum PodReport {
    case status(namespace: String, name: String, specHash: UInt64, status: PodStatus)
    case removed(namespace: String, name: String)
}

/// Pod statuses waiting to go up, newest per pod: a burst of changes within one loop turn,
/// or everything that happened while offline, sends one message per pod. Order of uids is
/// the order they first changed, so a flush is fair.
public struct StatusOutbox {
    private var pending: [String: PodReport] = [:]
    private var order: [String] = []

    public init() {}

    public var count: Int { pending.count }
    public var isEmpty: Bool { pending.isEmpty }

    /// Replaces whatever was pending for `uid`.
    public mutating func put(_ uid: String, _ report: PodReport) {
        if pending.updateValue(report, forKey: uid) == nil { order.append(uid) }
    }

    public func report(for uid: String) -> PodReport? { pending[uid] }

    /// Hands every pending report to `send`, oldest first, until `send` returns false (not
    /// connected any more); what was not sent stays.
    public mutating func flush(_ send: (String, PodReport) -> Bool) {
        var sent = 0
        for uid in order {
            guard let report = pending[uid] else { sent += 1; continue }
            if !send(uid, report) { break }
            pending[uid] = nil
            sent += 1
        }
        order.removeFirst(sent)
    }
}
