import Foundation
import KingletKube

/// Replicas: each holds a membership Lease and owns the nodes that rendezvous hashing over
/// the live members gives it.
extension RelayController {
    func handleMember(_ event: InformerEvent) {
        switch event {
        case .added(let lease), .modified(_, let lease): memberLeases[lease.storeKey] = lease
        case .deleted(let lease): memberLeases.removeValue(forKey: lease.storeKey)
        case .synced: return
        }
        recomputeMembership(force: false)
    }

    func renewOwnLease() {
        let now = Timestamps.micro(Date())
        let spec: JSONValue = [
            "holderIdentity": .string(options.replicaID),
            "leaseDurationSeconds": .int(Int64(options.leaseDuration.rounded(.up))), "renewTime": .string(now),
        ]
        let lease: JSONValue = [
            "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": [
                "name": .string(options.memberLeaseName), "namespace": .string(options.namespace),
                "labels": [.init(stringLiteral: Self.memberLabel): "true", "app.kubernetes.io/name": "kinglet-relay"],
            ],
            "spec": (["acquireTime": .string(now)] as JSONValue).merging(spec),
        ]
        let client = self.client
        let namespace = options.namespace
        let name = options.memberLeaseName
        let exists = ownLeaseExists
        let started = Date()
        writes.submit("member/\(name)") {
            if exists {
                do {
                    _ = try await client.patch(.leases, namespace: namespace, name: name, type: .merge, ["spec": spec])
                    await self.ownLeaseRenewed(at: started)
                    return
                } catch KubeError.notFound {}
            }
            do {
                _ = try await client.create(.leases, namespace: namespace, lease)
            } catch KubeError.conflict {
                _ = try await client.patch(.leases, namespace: namespace, name: name, type: .merge, ["spec": spec])
            }
            await self.ownLeaseRenewed(at: started)
        }
    }

    func ownLeaseRenewed(at date: Date) {
        ownLeaseExists = true
        ownLeaseRenewedAt = max(ownLeaseRenewedAt ?? date, date)
        updateReadiness()
        recomputeMembership(force: false)
    }

    /// The live members: leases whose renewTime + duration has not passed, and this
    /// replica while its own renewals succeed (if they fail for a whole lease duration,
    /// the others take its nodes, so it must stop acting for them too).
    func currentMembers(now: Date) -> [String] {
        var members: Set<String> = []
        for lease in memberLeases.values {
            guard let holder = lease[path: "spec", "holderIdentity"]?.stringValue, !holder.isEmpty, holder != options.replicaID,
                  let renew = lease[path: "spec", "renewTime"]?.stringValue.flatMap(Timestamps.parse) else { continue }
            let duration = Double(lease[path: "spec", "leaseDurationSeconds"]?.intValue ?? 40)
            if renew.addingTimeInterval(duration) > now { members.insert(holder) }
        }
        if let renewed = ownLeaseRenewedAt, renewed.addingTimeInterval(options.leaseDuration) > now {
            members.insert(options.replicaID)
        }
        return members.sorted()
    }

    func recomputeMembership(force: Bool) {
        let members = currentMembers(now: Date())
        guard force || members != liveMembers else { return }
        let before = ready ? Set(knownNodes.filter { ownership[$0] == true }) : []
        if members != liveMembers { logger.info("members: \(members.joined(separator: ", "))") }
        liveMembers = members
        ownership.removeAll(keepingCapacity: true)
        guard ready else { return }
        var gained = 0
        for node in knownNodes where owns(node) && (force || !before.contains(node)) {
            gained += 1
            takeOver(node)
        }
        if gained > 0 { logger.info("now acting for \(gained) more node(s)") }
    }
}

extension JSONValue {
    func merging(_ other: JSONValue) -> JSONValue {
        guard case .object(var mine) = self, case .object(let theirs) = other else { return other }
        for (key, value) in theirs { mine[key] = value }
        return .object(mine)
    }
}
