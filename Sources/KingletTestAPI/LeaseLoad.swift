import Foundation

/// A bounded load loop of Lease renewals, as the relay makes them (one Lease per node,
/// renewed with PUT and the last resourceVersion). Used by a test and by
/// `kinglet-testapi load-leases` to measure what the server sustains.
public enum LeaseLoad {
    public struct Result: Sendable, CustomStringConvertible {
        public let renewed: Int
        public let failed: Int
        public let seconds: Double
        public let workers: Int
        public var perSecond: Int { seconds > 0 ? Int(Double(renewed) / seconds) : 0 }
        public var description: String {
            "lease renewals: \(renewed) in \(String(format: "%.2f", seconds)) s = \(perSecond)/s with \(workers) workers (failed: \(failed))"
        }
    }

    static let path = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases"

    /// Creates `leases` Leases (existing ones are reused), then renews them from `workers`
    /// concurrent loops until `maxRenewals` or `seconds` is reached.
    public static func run(client: APIClient, leases: Int, workers: Int, maxRenewals: Int, seconds: Double) async throws -> Result {
        for index in 0..<leases {
            let reply = try await client.post(path, ["metadata": ["name": .string("load-\(index)")],
                                                     "spec": ["holderIdentity": .string("load-\(index)"), "leaseDurationSeconds": 40]])
            guard reply.status == 201 || reply.status == 409 else { throw APIError.badRequest("creating a lease: \(reply.body)") }
        }
        let start = Date()
        let perWorker = max(1, maxRenewals / workers)
        let totals = try await withThrowingTaskGroup(of: (Int, Int).self) { group in
            for worker in 0..<workers {
                group.addTask {
                    var renewed = 0, failed = 0
                    var known: [Int: JSON] = [:]
                    var index = worker % leases
                    // Each worker owns the leases index ≡ worker (mod workers), as one relay owns its nodes.
                    while renewed + failed < perWorker, Date().timeIntervalSince(start) < seconds {
                        let name = "load-\(index)"
                        var lease: JSON
                        if let current = known[index] { lease = current } else { lease = try await client.get(path + "/" + name).body }
                        lease.set(["spec", "renewTime"], .string(ObjectMeta.microTime()))
                        let reply = try await client.put(path + "/" + name, lease)
                        if reply.status == 200 { renewed += 1; known[index] = reply.body } else { failed += 1; known[index] = nil }
                        index += workers
                        if index >= leases { index = worker % leases }
                    }
                    return (renewed, failed)
                }
            }
            var renewed = 0, failed = 0
            for try await (ok, bad) in group { renewed += ok; failed += bad }
            return (renewed, failed)
        }
        return Result(renewed: totals.0, failed: totals.1, seconds: Date().timeIntervalSince(start), workers: workers)
    }
}
