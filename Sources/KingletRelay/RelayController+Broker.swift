import Foundation
import KingletKube

/// The broker side: the retained view, board liveness, Nodes and their Leases.
extension RelayController {
    func handle(mqtt event: MQTTClient.Event) {
        switch event {
        case .connected:
            // Everything retained is delivered again on this connection: forget the old
            // view of desired/ and status/pods, then wait for our marker to come back.
            for node in boards.keys {
                boards[node]!.desiredPods.removeAll()
                boards[node]!.desiredDevices.removeAll()
                boards[node]!.desiredIndex = nil
                boards[node]!.podStatuses.removeAll()
                boards[node]!.deviceStatuses.removeAll()
            }
            brokerSynced = false
            ready = false
            syncToken = UUID().uuidString
            mqtt.publish(syncTopic, Array(syncToken.utf8), qos: 1, retain: false)
            logger.info("mqtt: connected; waiting for the retained state")
        case .disconnected(let code):
            logger.warning("mqtt: disconnected (\(code)); reconnecting with back-off")
        case .message(let topic, let payload, let retained):
            if topic == syncTopic {
                if String(decoding: payload, as: UTF8.self) == syncToken {
                    brokerSynced = true
                    logger.info("mqtt: retained state received (\(boards.count) boards)")
                    updateReadiness()
                }
                return
            }
            guard let linkTopic = LinkTopic(topic) else { return }
            handle(linkTopic, payload: payload, retained: retained)
        }
    }

    func reject(_ topic: LinkTopic, _ rejection: LinkMessage.Rejection) {
        rejectedPayloads += 1
        if rejectionLogged.insert(topic.path).inserted {
            logger.warning("mqtt: skipping a message on \(topic.path): \(rejection)")
        }
    }

    func handle(_ topic: LinkTopic, payload: [UInt8], retained: Bool) {
        let node = topic.node
        let now = Date()
        switch topic {
        case .desiredPod(_, let uid):
            boards[node, default: Board()].desiredPods[uid] = payload.isEmpty ? nil : payload
        case .desiredDevice(_, let uid):
            boards[node, default: Board()].desiredDevices[uid] = payload.isEmpty ? nil : payload
        case .desiredIndex:
            boards[node, default: Board()].desiredIndex = payload.isEmpty ? nil : payload
        case .online:
            guard !payload.isEmpty else { return }
            switch LinkMessage.decode(payload, requiring: ["online"]) {
            case .failure(let rejection): reject(topic, rejection)
            case .success(let message):
                let online = message["online"]?.boolValue == true
                boards[node, default: Board()].online = online
                if online { boards[node]!.lastSeen = now }
                guard owns(node) else { return }
                if online { becomeAlive(node) } else { goSilent(node) }
            }
        case .heartbeat:
            guard !payload.isEmpty else { return }
            if case .failure(let rejection) = LinkMessage.decode(payload) { return reject(topic, rejection) }
            boards[node, default: Board()].lastSeen = now
            if boards[node]!.online == nil { boards[node]!.online = true }
            if owns(node), boards[node]!.online == true, boards[node]!.actedAlive != true { becomeAlive(node) }
        case .nodeStatus:
            guard !payload.isEmpty else { return }
            switch LinkMessage.decode(payload) {
            case .failure(let rejection): reject(topic, rejection)
            case .success(let report):
                boards[node, default: Board()].report = report
                if !retained { boards[node]!.lastSeen = now }
                guard owns(node) else { return }
                ensureNode(node)
                if isAlive(boards[node]!) {
                    if boards[node]!.actedAlive != true { becomeAlive(node) } else { writeNodeStatus(node) }
                }
            }
        case .podStatus(_, let uid):
            guard !payload.isEmpty else {
                boards[node, default: Board()].podStatuses.removeValue(forKey: uid)
                return
            }
            switch LinkMessage.decode(payload) {
            case .failure(let rejection): reject(topic, rejection)
            case .success(let message):
                let previous = boards[node, default: Board()].podStatuses.updateValue(message, forKey: uid)
                if !retained { boards[node]!.lastSeen = now }
                guard owns(node) else { return }
                handlePodStatus(node: node, uid: uid, message: message, previous: previous, deriveEvents: !retained)
            }
        case .deviceStatus(_, let uid):
            guard !payload.isEmpty else {
                boards[node, default: Board()].deviceStatuses.removeValue(forKey: uid)
                return
            }
            switch LinkMessage.decode(payload) {
            case .failure(let rejection): reject(topic, rejection)
            case .success(let message):
                boards[node, default: Board()].deviceStatuses[uid] = message
                if !retained { boards[node]!.lastSeen = now }
                handleDeviceStatus(node: node, uid: uid)
            }
        }
    }

    // MARK: Liveness

    /// The board is up: its Node exists and carries its labels, its Lease is renewed, and
    /// its status is written (Ready comes from the agent's report).
    func becomeAlive(_ node: String) {
        boards[node, default: Board()].actedAlive = true
        ensureNode(node)
        renewNodeLease(node)
        writeNodeStatus(node)
    }

    /// The board went offline (its will) or silent: stop renewing, mark the Node Unknown.
    func goSilent(_ node: String) {
        guard boards[node]?.actedAlive != false else { return }
        boards[node, default: Board()].actedAlive = false
        logger.info("node \(node): board offline or silent, marking the Node Unknown")
        writeUnknown(node)
    }

    /// Re-establishes everything for a node this replica has just come to own (start-up,
    /// takeover, broker reconnect): nothing is republished unless it differs.
    func takeOver(_ node: String) {
        if let board = boards[node] {
            boards[node]!.actedAlive = nil
            if board.online != nil {
                if isAlive(board) { becomeAlive(node) } else { goSilent(node) }
            }
            for (uid, message) in board.podStatuses {
                handlePodStatus(node: node, uid: uid, message: message, previous: message, deriveEvents: false)
            }
            for uid in board.deviceStatuses.keys { handleDeviceStatus(node: node, uid: uid) }
        }
        for key in podsByNode[node] ?? [] {
            if let pod = pods[key] { ensureTolerations(pod, node: node) }
        }
        markDirty(node)
    }

    // MARK: Node and Lease writes

    func ensureNode(_ node: String) {
        guard syncedInformers.contains("nodes") else { return }
        let labels = NodeStatusBuilder.labels(node: node, report: boards[node]?.report)
        let client = self.client
        if let existing = nodes[node] {
            let current = existing.labels
            let missing = labels.filter { current[$0.key] != $0.value }
            guard !missing.isEmpty else { return }
            let patch: JSONValue = ["metadata": ["labels": .object(missing.mapValues { .string($0) })]]
            writes.submit("node/\(node)") { _ = try await client.patch(.nodes, name: node, type: .merge, patch) }
            return
        }
        guard creatingNodes.insert(node).inserted else { return }
        let object = NodeStatusBuilder.newNode(name: node, labels: labels, taint: options.edgeTaint)
        let labelPatch: JSONValue = ["metadata": ["labels": .object(labels.mapValues { .string($0) })]]
        logger.info("node \(node): creating the Node")
        writes.submit("node/\(node)") {
            do {
                _ = try await client.create(.nodes, object)
            } catch KubeError.conflict {
                // It exists without our label (so outside the informer): label it.
                _ = try await client.patch(.nodes, name: node, type: .merge, labelPatch)
            } catch {
                await self.nodeCreationFailed(node)
                throw error
            }
        }
    }

    func nodeCreationFailed(_ node: String) { creatingNodes.remove(node) }

    func writeNodeStatus(_ node: String) {
        guard let report = boards[node]?.report, nodes[node] != nil else { return }
        let patch = NodeStatusBuilder.statusPatch(report: report, now: Timestamps.rfc3339(Date()))
        let client = self.client
        writes.submit("nodestatus/\(node)") {
            do {
                _ = try await client.patch(.nodes, name: node, subresource: "status", type: .merge, patch)
            } catch KubeError.notFound {
                // Not created yet: the Node's ADDED event writes the status.
            }
        }
    }

    func writeUnknown(_ node: String) {
        guard let current = nodes[node] else { return }
        let now = Timestamps.rfc3339(Date())
        guard let conditions = NodeStatusBuilder.unknownConditions(current[path: "status", "conditions"]?.arrayValue ?? [], now: now) else { return }
        let patch: JSONValue = ["status": ["conditions": .array(conditions)]]
        let client = self.client
        writes.submit("nodestatus/\(node)") {
            do {
                _ = try await client.patch(.nodes, name: node, subresource: "status", type: .merge, patch)
            } catch KubeError.notFound {}
        }
    }

    /// Renews `kube-node-lease/<node>` as the kubelet would (holder = the node).
    func renewNodeLease(_ node: String) {
        let now = Timestamps.micro(Date())
        let spec: JSONValue = [
            "holderIdentity": .string(node), "leaseDurationSeconds": .int(Int64(options.leaseDuration.rounded(.up))),
            "renewTime": .string(now),
        ]
        var lease: JSONValue = [
            "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": ["name": .string(node), "namespace": .string(Self.nodeLeaseNamespace)],
            "spec": spec,
        ]
        if let uid = nodes[node]?.uid {
            lease["metadata"]?["ownerReferences"] = [["apiVersion": "v1", "kind": "Node", "name": .string(node), "uid": .string(uid)]]
        }
        let exists = boards[node]?.leaseExists == true
        let newLease = lease
        let client = self.client
        let namespace = Self.nodeLeaseNamespace
        writes.submit("lease/\(node)") {
            if exists {
                do {
                    _ = try await client.patch(.leases, namespace: namespace, name: node, type: .merge, ["spec": spec])
                    return
                } catch KubeError.notFound {}
            }
            do {
                _ = try await client.create(.leases, namespace: namespace, newLease)
            } catch KubeError.conflict {
                _ = try await client.patch(.leases, namespace: namespace, name: node, type: .merge, ["spec": spec])
            }
            await self.nodeLeaseExists(node)
        }
    }

    func nodeLeaseExists(_ node: String) { boards[node, default: Board()].leaseExists = true }
}
