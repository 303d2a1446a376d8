import Synchronization

/// The objects this server last wrote, by key and etcd revision. A (key, revision) pair
/// names one immutable value in etcd, so an update that pins that revision can skip
/// reading it back; the compare-and-swap still guards against every other writer.
final class RecentObjects: Sendable {
    private let entries = Mutex<[String: (revision: Int, object: JSON)]>([:])
    /// Bounds memory for long benchmark runs; a full reset only costs extra reads.
    private let capacity = 100_000

    func recall(_ key: String, revision: Int) -> JSON? {
        entries.withLock { entries in
            guard let entry = entries[key], entry.revision == revision else { return nil }
            return entry.object
        }
    }

    func remember(_ key: String, revision: Int, object: JSON) {
        entries.withLock { entries in
            if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            entries[key] = (revision, object)
        }
    }

    func forget(_ key: String) {
        _ = entries.withLock { $0.removeValue(forKey: key) }
    }
}
