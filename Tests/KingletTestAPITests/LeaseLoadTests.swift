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
            let result = try await LeaseLoad.run(client: api.client, leases: 200, workers: 32, maxRenewals: 4_000, seconds: 4)
            print(result)
            #expect(result.renewed > 0)
            #expect(result.failed == 0)
            let leases = try await api.client.get("/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases")
            #expect(leases.body.names.count == 200)
            #expect(leases.body["items"]?.arrayValue?.allSatisfy { $0.at(["spec", "renewTime"])?.stringValue != nil } == true)
        }
    }
}
