import Foundation
import KingletKube

/// The device side: KubeEdge Devices (with their DeviceModels) out to the boards they are
/// bound to, the boards' twins and state back to the Device's status subresource.
///
/// Devices do not hold up readiness: without the CRDs (or the rights to read them) the
/// relay still serves pods, and until both device informers have synced it keeps the
/// devices the board's retained index lists, so a board never closes a device because the
/// relay could not see it yet.
extension RelayController {
    static let deviceInformerNames: Set<String> = ["devices", "devicemodels"]
    /// At most one status write per device per second (docs/protocol.md, status/devices).
    static let deviceStatusInterval: TimeInterval = 1

    var devicesSynced: Bool { syncedInformers.isSuperset(of: Self.deviceInformerNames) }

    func deviceInformersSynced() {
        guard devicesSynced, ready else { return }
        logger.info("devices synced: \(devices.count) devices, \(deviceModels.count) models")
        for node in knownNodes where owns(node) {
            markDirty(node)
            for uid in boards[node]?.deviceStatuses.keys.sorted() ?? [] { handleDeviceStatus(node: node, uid: uid) }
        }
    }

    // MARK: Informer events

    func handleDevice(_ event: InformerEvent) {
        switch event {
        case .added(let device):
            indexDevice(device, old: nil)
        case .modified(let old, let device):
            // Status writes (ours, once a second per device) change nothing the board gets.
            if old["spec"] == device["spec"], old.labels == device.labels, old.annotations == device.annotations,
               old[path: "metadata", "deletionTimestamp"] == device[path: "metadata", "deletionTimestamp"] {
                devices[device.storeKey] = device
                return
            }
            indexDevice(device, old: old)
        case .deleted(let device):
            unindexDevice(device)
            if let uid = device.uid {
                deviceProblems.removeValue(forKey: uid)
                deviceStatusWrittenAt.removeValue(forKey: uid)
                // Its last report, retained on the broker, describes nothing any more.
                if let node = DesiredDeviceBuilder.nodeName(of: device), owns(node), boards[node]?.deviceStatuses[uid] != nil {
                    boards[node]?.deviceStatuses.removeValue(forKey: uid)
                    mqtt.publish(LinkTopic.deviceStatus(node: node, uid: uid).path, [])
                }
            }
        case .synced:
            break
        }
    }

    func handleDeviceModel(_ event: InformerEvent) {
        let model: JSONValue
        switch event {
        case .added(let new):
            model = new
            deviceModels[new.storeKey] = new
        case .modified(_, let new):
            // Its devices' messages are rebuilt; those that come out unchanged are not resent.
            model = new
            deviceModels[new.storeKey] = new
        case .deleted(let old):
            model = old
            deviceModels.removeValue(forKey: old.storeKey)
        case .synced:
            return
        }
        for key in devicesByModel[model.storeKey] ?? [] {
            if let node = devices[key].flatMap(DesiredDeviceBuilder.nodeName(of:)) { markDirty(node) }
        }
    }

    func indexDevice(_ device: JSONValue, old: JSONValue?) {
        if let old { unindexDevice(old) }
        let key = device.storeKey
        devices[key] = device
        if let uid = device.uid { deviceKeyByUID[uid] = key }
        if let node = DesiredDeviceBuilder.nodeName(of: device) {
            devicesByNode[node, default: []].insert(key)
            markDirty(node)
        }
        if let model = DesiredDeviceBuilder.modelKey(of: device) { devicesByModel[model, default: []].insert(key) }
    }

    func unindexDevice(_ device: JSONValue) {
        let key = device.storeKey
        devices.removeValue(forKey: key)
        if let uid = device.uid, deviceKeyByUID[uid] == key { deviceKeyByUID.removeValue(forKey: uid) }
        if let node = DesiredDeviceBuilder.nodeName(of: device) {
            devicesByNode[node]?.remove(key)
            if devicesByNode[node]?.isEmpty == true { devicesByNode.removeValue(forKey: node) }
            markDirty(node)
        }
        if let model = DesiredDeviceBuilder.modelKey(of: device) {
            devicesByModel[model]?.remove(key)
            if devicesByModel[model]?.isEmpty == true { devicesByModel.removeValue(forKey: model) }
        }
    }

    // MARK: Desired state

    /// Publishes the node's device messages that differ from what the broker retains and
    /// returns the index's `devices` map. Before the device informers have synced it
    /// publishes nothing and returns what the retained index lists.
    func reconcileDevices(_ node: String, board: inout Board) -> [String: String] {
        guard devicesSynced else { return DesiredIndex.devices(in: board.desiredIndex) }
        var listed: [String: String] = [:]
        for key in devicesByNode[node] ?? [] {
            guard let device = devices[key], let uid = device.uid, device[path: "metadata", "deletionTimestamp"] == nil else { continue }
            let result: Result<DesiredDevice, DeviceProblem>
            if let modelKey = DesiredDeviceBuilder.modelKey(of: device), let model = deviceModels[modelKey] {
                result = DesiredDeviceBuilder.build(device: device, model: model)
            } else {
                let name = device[path: "spec", "deviceModelRef", "name"]?.stringValue ?? ""
                result = .failure(DeviceProblem(message: name.isEmpty ? "it names no DeviceModel (spec.deviceModelRef.name)"
                                                                       : "its DeviceModel \(device.namespace ?? "default")/\(name) does not exist; waiting for it"))
            }
            switch result {
            case .success(let desired):
                listed[uid] = desired.specHash
                if board.desiredDevices[uid] != desired.payload {
                    mqtt.publish(LinkTopic.desiredDevice(node: node, uid: uid).path, desired.payload)
                    board.desiredDevices[uid] = desired.payload
                }
                deviceProblems.removeValue(forKey: uid)
            case .failure(let problem):
                if deviceProblems.updateValue(problem.message, forKey: uid) != problem.message {
                    logger.warning("device \(key) on \(node) not sent: \(problem.message)")
                }
                // A device already on the board keeps its last message (its model was deleted
                // under it): the board goes on serving it, as a pod keeps running when its
                // ConfigMap goes away.
                if let retained = board.desiredDevices[uid], let hash = (try? JSONValue.parse(retained))?["specHash"]?.stringValue {
                    listed[uid] = hash
                }
            }
        }
        return listed
    }

    /// Clears the retained messages of devices the index no longer lists (after the index
    /// was published, as for pods).
    func clearRemovedDevices(_ node: String, listed: [String: String], board: inout Board) {
        guard devicesSynced else { return }
        for uid in board.desiredDevices.keys where listed[uid] == nil {
            mqtt.publish(LinkTopic.desiredDevice(node: node, uid: uid).path, [])
            board.desiredDevices.removeValue(forKey: uid)
        }
    }

    // MARK: Status from the agent

    /// Writes the latest `status/devices/<uid>` report of a board to the Device's status
    /// subresource: skipped when it changes nothing, at most once a second per device (a
    /// later report within the second is written when the second is over).
    func handleDeviceStatus(node: String, uid: String) {
        guard devicesSynced, owns(node), let report = boards[node]?.deviceStatuses[uid] else { return }
        guard let key = deviceKeyByUID[uid], let device = devices[key] else {
            // The Device is gone from the API: only its retained report is left to clear.
            boards[node]?.deviceStatuses.removeValue(forKey: uid)
            mqtt.publish(LinkTopic.deviceStatus(node: node, uid: uid).path, [])
            return
        }
        guard DesiredDeviceBuilder.nodeName(of: device) == node, let patch = DesiredDeviceBuilder.statusPatch(report: report),
              DesiredDeviceBuilder.statusDiffers(patch, from: device["status"]) else { return }
        let now = Date()
        if let last = deviceStatusWrittenAt[uid], now.timeIntervalSince(last) < Self.deviceStatusInterval {
            guard deviceStatusDue.insert(uid).inserted else { return }
            let delay = Self.deviceStatusInterval - now.timeIntervalSince(last)
            Task {
                try? await Task.sleep(for: .seconds(delay))
                await self.deviceStatusIntervalOver(node: node, uid: uid)
            }
            return
        }
        deviceStatusWrittenAt[uid] = now
        let client = self.client
        let namespace = device.namespace
        let name = device.name ?? ""
        writes.submit("devicestatus/\(uid)") {
            do {
                _ = try await client.patch(.devices, namespace: namespace, name: name, subresource: "status", type: .merge, patch)
            } catch KubeError.notFound {
                // KubeEdge's own CRD has no status subresource: status is then part of the
                // object (needs `patch` on devices; gone for good when this 404s too).
                do {
                    _ = try await client.patch(.devices, namespace: namespace, name: name, type: .merge, patch)
                } catch KubeError.notFound {}
            }
        }
    }

    func deviceStatusIntervalOver(node: String, uid: String) {
        deviceStatusDue.remove(uid)
        handleDeviceStatus(node: node, uid: uid)
    }
}
