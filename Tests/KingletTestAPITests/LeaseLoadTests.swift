import Foundation
import KingletTestAPI
import KingletTestPeers
import Testing

@Suite("lease renewals under a bounded load")
struct LeaseLoadTests {
    /// Renews 200 leases from 32 concurrent workers for at most 4 s (or 4,000 renewals)
    /// and prints the rate reached. Asserts correctness only, never speed.
    @Test func concurrentLeaseRenewalsAllSucceed() async throws {
        try await APIFixture.with("leaseload") { api in
            let path = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases"
            let leaseCount = 200, workers = 32, maxRenewals = 4_000, seconds = 4.0
            for index in 0..<leaseCount {
                let created = try await api.client.post(path, ["metadata": ["name": .string("node-\(index)")],
                                                               "spec": ["holderIdentity": .string("node-\(index)"), "leaseDurationSeconds": 40]])
                #expect(created.status == 201)
            }
            let client = api.client
            let start = Date()
            let results = try await withThrowingTaskGroup(of: (ok: Int, failed: Int).self) { group in
                for worker in 0..<workers {
                    group.addTask {
                        var ok = 0, failed = 0
                        var index = worker
                        // Each worker owns the leases index ≡ worker (mod workers), as one relay owns its nodes.
                        var current: [Int: JSON] = [:]
                        while ok + failed < maxRenewals / workers, Date().timeIntervalSince(start) < seconds {
                            let name = "node-\(index)"
                            var lease: JSON
                            if let known = current[index] { lease = known } else { lease = try await client.get(path + "/" + name).body }
                            lease.set(["spec", "renewTime"], .string(ObjectMeta.timestamp() .replacingOccurrences(of: "Z", with: ".000000Z")))
                            let reply = try await client.put(path + "/" + name, lease)
                            if reply.status == 200 { ok += 1; current[index] = reply.body } else { failed += 1; current[index] = nil }
                            index += workers
                            if index >= leaseCount { index = worker }
                        }
                        return (ok, failed)
                    }
                }
                var total = (ok: 0, failed: 0)
                for try await result in group { total.ok += result.ok; total.failed += result.failed }
                return total
            }
            let elapsed = Date().timeIntervalSince(start)
            print("lease renewals: \(results.ok) in \(String(format: "%.2f", elapsed)) s = \(Int(Double(results.ok) / elapsed))/s with \(workers) workers (failed: \(results.failed))")
            #expect(results.ok > 0)
            #expect(results.failed == 0)
        }
    }
}
