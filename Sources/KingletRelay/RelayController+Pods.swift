import Foundation
import KingletKube

/// The pod side: desired state out, status, deletions, events and tolerations back.
extension RelayController {
    func handlePod(_ event: InformerEvent) {
        switch event {
        case .added(let pod):
            index(pod, old: nil)
            podChanged(pod, old: nil)
        case .modified(let old, let pod):
            index(pod, old: old)
            podChanged(pod, old: old)
        case .deleted(let pod):
            unindex(pod)
            if let uid = pod.uid {
                toleratedPods.remove(uid)
                configProblems.removeValue(forKey: uid)
                pullSecretWarnings.removeValue(forKey: uid)
                eventBook.forget(uid: uid)
            }
            if let node = Self.nodeName(pod) { markDirty(node) }
        case .synced:
            break
        }
    }

    static func nodeName(_ pod: JSONValue) -> String? {
        guard let node = pod[path: "spec", "nodeName"]?.stringValue, !node.isEmpty else { return nil }
        return node
    }

    func index(_ pod: JSONValue, old: JSONValue?) {
        if let old { unindex(old) }
        let key = pod.storeKey
        pods[key] = pod
        if let uid = pod.uid { podKeyByUID[uid] = key }
        if let node = Self.nodeName(pod) { podsByNode[node, default: []].insert(key) }
        let references = DesiredPodBuilder.references(of: pod)
        let namespace = pod.namespace ?? "default"
        for name in references.configMaps { podsByReference["c/\(namespace)/\(name)", default: []].insert(key) }
        for name in references.secrets { podsByReference["s/\(namespace)/\(name)", default: []].insert(key) }
    }

    func unindex(_ pod: JSONValue) {
        let key = pod.storeKey
        pods.removeValue(forKey: key)
        if let uid = pod.uid, podKeyByUID[uid] == key { podKeyByUID.removeValue(forKey: uid) }
        if let node = Self.nodeName(pod) {
            podsByNode[node]?.remove(key)
            if podsByNode[node]?.isEmpty == true { podsByNode.removeValue(forKey: node) }
        }
        let references = DesiredPodBuilder.references(of: pod)
        let namespace = pod.namespace ?? "default"
        for name in references.configMaps { podsByReference["c/\(namespace)/\(name)"]?.remove(key) }
        for name in references.secrets { podsByReference["s/\(namespace)/\(name)"]?.remove(key) }
    }

    func podChanged(_ pod: JSONValue, old: JSONValue?) {
        guard let node = Self.nodeName(pod) else { return }
        markDirty(node)
        guard owns(node) else { return }
        ensureTolerations(pod, node: node)
        let deleting = pod[path: "metadata", "deletionTimestamp"] != nil
        if deleting, let old, old[path: "metadata", "deletionTimestamp"] == nil {
            record(PodEventDeriver.killing(pod: pod), pod: pod, node: node)
        }
    }

    // MARK: Desired state

    var configSources: ConfigSources {
        let configMaps = self.configMaps
        let secrets = self.secrets
        return ConfigSources(configMap: { configMaps[$0 + "/" + $1] }, secret: { secrets[$0 + "/" + $1] })
    }

    /// Publishes what differs between the node's pods and devices and what the broker
    /// retains: pod and device messages first, then the index, then clears the messages of
    /// pods and devices that left it.
    func reconcileDesired(_ node: String) {
        var board = boards[node] ?? Board()
        var indexPods: [String: String] = [:]
        var deleting: [String: Int64] = [:]
        let sources = configSources
        for key in podsByNode[node] ?? [] {
            guard let pod = pods[key], let uid = pod.uid else { continue }
            if pod[path: "metadata", "deletionTimestamp"] != nil {
                deleting[uid] = pod[path: "metadata", "deletionGracePeriodSeconds"]?.intValue
                    ?? pod[path: "spec", "terminationGracePeriodSeconds"]?.intValue ?? 30
                continue
            }
            switch DesiredPodBuilder.build(pod: pod, sources: sources) {
            case .success(let desired):
                indexPods[uid] = desired.specHash
                if board.desiredPods[uid] != desired.payload {
                    mqtt.publish(LinkTopic.desiredPod(node: node, uid: uid).path, desired.payload)
                    board.desiredPods[uid] = desired.payload
                }
                configProblems.removeValue(forKey: uid)
                warnAboutPullSecrets(desired.warnings, pod: pod, node: node)
            case .failure(let problem):
                // A pod already running keeps its last desired message: the kubelet does not
                // stop a running container because its ConfigMap went away.
                if let retained = board.desiredPods[uid], let hash = (try? JSONValue.parse(retained))?["specHash"]?.stringValue {
                    indexPods[uid] = hash
                } else {
                    writeConfigError(pod, message: problem.message)
                }
            }
        }
        let indexDevices = reconcileDevices(node, board: &board)
        let index = DesiredIndex.payload(pods: indexPods, deleting: deleting, devices: indexDevices)
        if board.desiredIndex != index {
            mqtt.publish(LinkTopic.desiredIndex(node: node).path, index)
            board.desiredIndex = index
        }
        for uid in board.desiredPods.keys where indexPods[uid] == nil {
            mqtt.publish(LinkTopic.desiredPod(node: node, uid: uid).path, [])
            board.desiredPods.removeValue(forKey: uid)
        }
        clearRemovedDevices(node, listed: indexDevices, board: &board)
        boards[node] = board
    }

    func writeConfigError(_ pod: JSONValue, message: String) {
        guard let uid = pod.uid, configProblems[uid] != message else { return }
        configProblems[uid] = message
        let status = PodRules.configErrorStatus(pod: pod, message: message)
        guard PodRules.statusDiffers(status, from: pod["status"]) else { return }
        logger.info("pod \(pod.storeKey): \(message)")
        let client = self.client
        let namespace = pod.namespace
        let name = pod.name ?? ""
        writes.submit("podstatus/\(uid)") {
            _ = try await client.patch(.pods, namespace: namespace, name: name, subresource: "status", type: .merge, ["status": status])
        }
    }

    /// The kubelet warns at every pull attempt; the relay, which sends the pod once, warns
    /// when what is wrong with its pull secrets changes.
    func warnAboutPullSecrets(_ warnings: [DerivedEvent], pod: JSONValue, node: String) {
        guard let uid = pod.uid, (pullSecretWarnings[uid] ?? []) != warnings else { return }
        pullSecretWarnings[uid] = warnings.isEmpty ? nil : warnings
        for warning in warnings { logger.warning("pod \(pod.storeKey): \(warning.message)") }
        record(warnings, pod: pod, node: node)
    }

    // MARK: Status from the agent

    func handlePodStatus(node: String, uid: String, message: JSONValue, previous: JSONValue?, deriveEvents: Bool) {
        guard syncedInformers.contains("pods") else { return }
        let pod = podKeyByUID[uid].flatMap { pods[$0] }
        let client = self.client
        let mqtt = self.mqtt
        let statusTopic = LinkTopic.podStatus(node: node, uid: uid).path
        if message["removed"]?.boolValue == true {
            guard let pod else {
                // Already gone from the API: only the retained report is left to clear.
                mqtt.publish(statusTopic, [])
                return
            }
            guard pod[path: "metadata", "deletionTimestamp"] != nil else {
                logger.warning("pod \(pod.storeKey): the agent removed it but it is not being deleted; leaving it")
                return
            }
            let namespace = pod.namespace
            let name = pod.name ?? ""
            writes.submit("delete/\(uid)") {
                do {
                    try await client.delete(.pods, namespace: namespace, name: name, gracePeriodSeconds: 0, preconditionUID: uid)
                } catch KubeError.notFound {
                } catch KubeError.conflict {
                    // Another incarnation has the name now: ours is gone.
                }
                mqtt.publish(statusTopic, [])
            }
            return
        }
        guard let pod, Self.nodeName(pod) == node, let status = message["status"], status.objectValue != nil else { return }
        if deriveEvents {
            let events = PodEventDeriver.events(previous: previous?["status"], current: status, podName: pod.name ?? "",
                                                namespace: pod.namespace ?? "default", uid: uid)
            record(events, pod: pod, node: node)
        }
        guard PodRules.statusDiffers(status, from: pod["status"]) else { return }
        let namespace = pod.namespace
        let name = pod.name ?? ""
        let mergeOnly = useMergePatchForPodStatus
        writes.submit("podstatus/\(uid)") {
            if !mergeOnly {
                do {
                    _ = try await client.patch(.pods, namespace: namespace, name: name, subresource: "status",
                                               type: .strategicMerge, ["status": status])
                    return
                } catch KubeError.status(let code, _, _) where code == 415 {
                    await self.strategicMergeUnsupported()
                } catch KubeError.notFound {
                    return
                }
            }
            do {
                _ = try await client.patch(.pods, namespace: namespace, name: name, subresource: "status", type: .merge, ["status": status])
            } catch KubeError.notFound {}
        }
    }

    func strategicMergeUnsupported() {
        if !useMergePatchForPodStatus { logger.info("the API server takes no strategic merge patches; using merge patches") }
        useMergePatchForPodStatus = true
    }

    // MARK: Events

    func record(_ derived: [DerivedEvent], pod: JSONValue, node: String) {
        guard !derived.isEmpty else { return }
        let client = self.client
        let now = Timestamps.rfc3339(Date())
        for event in derived {
            switch eventBook.record(event, pod: pod, node: node, now: now) {
            case .create(let namespace, let object):
                writes.submit("event/\(object.name ?? "")") {
                    do {
                        _ = try await client.create(.events, namespace: namespace, object)
                    } catch KubeError.conflict {}
                }
            case .bump(let namespace, let name, let patch, let fallback):
                writes.submit("event/\(name)") {
                    do {
                        _ = try await client.patch(.events, namespace: namespace, name: name, type: .merge, patch)
                    } catch KubeError.notFound {
                        _ = try await client.create(.events, namespace: namespace, fallback)
                    }
                }
            }
        }
    }

    // MARK: Tolerations

    /// Adds unlimited NoExecute tolerations for unreachable/not-ready to a pod on an edge
    /// node, so that a board that is offline keeps its pods (they run on autonomously).
    func ensureTolerations(_ pod: JSONValue, node: String) {
        guard let uid = pod.uid, isEdge(node), !toleratedPods.contains(uid),
              pod[path: "metadata", "deletionTimestamp"] == nil else { return }
        toleratedPods.insert(uid)
        guard let tolerations = PodRules.autonomyTolerations(for: pod) else { return }
        let patch: JSONValue = [
            "metadata": ["resourceVersion": .string(pod.resourceVersion ?? "")],
            "spec": ["tolerations": .array(tolerations)],
        ]
        let client = self.client
        let namespace = pod.namespace
        let name = pod.name ?? ""
        writes.submit("tolerate/\(uid)") {
            do {
                _ = try await client.patch(.pods, namespace: namespace, name: name, type: .merge, patch)
            } catch KubeError.conflict {
                // Changed meanwhile: try again from its next event.
                await self.tolerationsConflicted(uid)
            } catch KubeError.notFound {}
        }
    }

    func tolerationsConflicted(_ uid: String) { toleratedPods.remove(uid) }
}
