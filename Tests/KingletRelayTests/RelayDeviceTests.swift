import Foundation
import KingletKube
import KingletRelay
import KingletTestPeers
import Testing

/// KubeEdge Devices relayed to a board (docs/protocol.md, desired/devices) and the board's
/// twins written back, with the real kubectl, mosquitto clients and the test API server.
@Suite(.serialized) struct RelayDeviceTests {
    static let kubectl = "/usr/bin/kubectl"
    static var crds: String { BuiltProducts.packageRoot.appendingPathComponent("deploy/crds").path }
    static var fixtures: String { BuiltProducts.packageRoot.appendingPathComponent("Tests/Fixtures/devices").path }
    static var toolsPresent: Bool {
        FileManager.default.isExecutableFile(atPath: kubectl) && MosquittoClient.isInstalled
    }

    static func kube(_ harness: RelayHarness, _ arguments: [String], within seconds: Double = 60) throws -> CommandResult {
        try PeerProcess.run(kubectl, ["--kubeconfig", harness.api.kubeconfigPath, "--cache-dir", harness.folder + "/kubecache"] + arguments,
                            within: seconds, environment: ["HOME": harness.folder, "PATH": "/usr/bin:/bin"])
    }

    static func applyCRDs(_ harness: RelayHarness) throws {
        let apply = try kube(harness, ["apply", "-f", crds])
        try #require(apply.status == 0, "\(apply.output)")
        let established = try kube(harness, ["wait", "--for", "condition=Established", "--timeout", "20s",
                                             "crd/devices.devices.kubeedge.io", "crd/devicemodels.devices.kubeedge.io"])
        try #require(established.status == 0, "\(established.output)")
    }

    /// The hash of docs/protocol.md, computed here from the message itself.
    static func expectedHash(_ message: JSONValue) -> String {
        let hashed: JSONValue = ["device": ["spec": message[path: "device", "spec"] ?? .null],
                                 "model": ["spec": message[path: "model", "spec"] ?? .null]]
        return FNV1a64.hex(FNV1a64.hash(hashed.compactBytes))
    }

    func device(_ harness: RelayHarness, _ name: String) async -> JSONValue? {
        try? await harness.kube.get(.devices, namespace: "default", name: name)
    }

    func indexDevices(_ harness: RelayHarness, _ node: String) async -> [String: JSONValue]? {
        await harness.agentMessages.json(LinkTopic.desiredIndex(node: node).path)?["devices"]?.objectValue
    }

    @Test(.enabled(if: RelayDeviceTests.toolsPresent, "kubectl or the mosquitto clients are missing"))
    func boundDeviceReachesTheBoardWithItsModelAndTwinsDesiredEditsAndDeletionFlow() async throws {
        try await RelayHarness.with("device-flow") { harness in
            try Self.applyCRDs(harness)
            try harness.startRelay("r1")
            harness.comeOnline("edge-1")
            let beating = harness.keepBeating(["edge-1"])
            defer { beating.cancel() }
            let node = "edge-1"

            let create = try Self.kube(harness, ["create", "-f", Self.fixtures + "/modbus-boiler.yaml"])
            try #require(create.status == 0, "\(create.output)")
            let uid = try #require(await device(harness, "boiler-1")?.uid)
            let topic = LinkTopic.desiredDevice(node: node, uid: uid).path

            // The device message: v, uid, both specs as the API holds them, the contract's hash.
            let message = await harness.eventually { await harness.agentMessages.json(topic) }
            try #require(message != nil, "\(harness.relayLogs)")
            let sent = message!
            #expect(sent["v"] == 1)
            #expect(sent["uid"]?.stringValue == uid)
            #expect(sent[path: "device", "kind"] == "Device")
            #expect(sent[path: "device", "apiVersion"] == "devices.kubeedge.io/v1beta1")
            #expect(sent[path: "device", "metadata", "uid"]?.stringValue == uid)
            #expect(sent[path: "device", "metadata", "resourceVersion"] == nil)
            #expect(sent[path: "device", "spec", "protocol", "configData", "slaveID"] == 1)
            #expect(sent[path: "device", "spec", "properties"]?.arrayValue?.first?[path: "desired", "value"] == "21.5")
            #expect(sent[path: "device", "status"] == nil)
            #expect(sent[path: "model", "kind"] == "DeviceModel")
            #expect(sent[path: "model", "spec", "protocol"] == "modbus")
            let hash = try #require(sent["specHash"]?.stringValue)
            #expect(hash == Self.expectedHash(sent))
            #expect(hash.count == 16)

            // ... and the index lists it, published after the device message.
            let listed = await harness.eventually { await indexDevices(harness, node)?[uid] }
            #expect(listed?.stringValue == hash)
            let messages = await harness.agentMessages.received(after: .distantPast, prefix: LinkTopic.prefix + node + "/desired/")
            let firstDevice = messages.firstIndex { $0.topic == topic && !$0.payload.isEmpty }
            let firstListing = messages.firstIndex {
                $0.topic == LinkTopic.desiredIndex(node: node).path && DesiredIndex.devices(in: $0.payload)[uid] != nil
            }
            #expect(firstDevice != nil && firstListing != nil && firstDevice! < firstListing!)

            // The board reports twins (mosquitto_pub on the node's topic, as the agent would).
            let publisher = MosquittoClient(port: harness.broker.port)
            let report = """
                {"v":1,"uid":"\(uid)","namespace":"default","name":"boiler-1","specHash":"\(hash)","state":"online",
                 "lastOnlineTime":"2026-11-30T10:00:05Z","twins":[{"propertyName":"setpoint",
                 "reported":{"value":"21.5","metadata":{"timestamp":"1796032805123","type":"FLOAT"}},
                 "observedDesired":{"value":"21.5","metadata":{"timestamp":"1796032801000","type":"FLOAT"}}}]}
                """
            try publisher.publish(LinkTopic.deviceStatus(node: node, uid: uid).path, report, retain: true)
            let twins = await harness.eventually { () -> [JSONValue]? in
                let got = try Self.kube(harness, ["get", "device", "boiler-1", "-o", "json"])
                let object = try JSONValue.parse(got.output)
                return object[path: "status", "state"] == "online" ? object[path: "status", "twins"]?.arrayValue : nil
            }
            #expect(twins?.first?["propertyName"] == "setpoint")
            #expect(twins?.first?[path: "reported", "value"] == "21.5")
            #expect(twins?.first?[path: "reported", "metadata", "timestamp"] == "1796032805123")
            #expect(await device(harness, "boiler-1")?[path: "status", "lastOnlineTime"] == "2026-11-30T10:00:05Z")
            // A status write changes nothing the board gets: no new device message.
            try await Task.sleep(for: .seconds(1))
            #expect(await harness.agentMessages.json(topic)?["specHash"]?.stringValue == hash)

            // kubectl patch --type=merge of a desired value: the device is resent with a new hash.
            let current = try #require(await device(harness, "boiler-1"))
            var properties = current[path: "spec", "properties"]?.arrayValue ?? []
            properties[0]["desired"] = ["value": "23", "metadata": ["type": "float"]]
            let patch: JSONValue = ["spec": ["properties": .array(properties)]]
            let patched = try Self.kube(harness, ["patch", "device", "boiler-1", "--type=merge", "-p", patch.compactText])
            #expect(patched.status == 0, "\(patched.output)")
            let edited = await harness.eventually { () -> JSONValue? in
                let message = await harness.agentMessages.json(topic)
                return message?["specHash"]?.stringValue != hash ? message : nil
            }
            try #require(edited != nil, "\(harness.relayLogs)")
            let newHash = try #require(edited?["specHash"]?.stringValue)
            #expect(edited?[path: "device", "spec", "properties"]?.arrayValue?.first?[path: "desired", "value"] == "23")
            #expect(newHash == Self.expectedHash(edited!))
            #expect(await harness.eventually { await indexDevices(harness, node)?[uid]?.stringValue == newHash ? true : nil } == true)

            // A model change resends its devices.
            let model = try Self.kube(harness, ["patch", "devicemodel", "boiler", "--type=merge", "-p",
                                                #"{"spec":{"properties":[{"name":"setpoint","type":"FLOAT","accessMode":"ReadWrite","unit":"K"}]}}"#])
            #expect(model.status == 0, "\(model.output)")
            let remodelled = await harness.eventually { () -> JSONValue? in
                let message = await harness.agentMessages.json(topic)
                return message?[path: "model", "spec", "properties"]?.arrayValue?.first?["unit"] == "K" ? message : nil
            }
            #expect(remodelled != nil)
            #expect(remodelled?["specHash"]?.stringValue != newHash)

            // Deletion: the index drops it and its retained message is cleared.
            let delete = try Self.kube(harness, ["delete", "device", "boiler-1"])
            #expect(delete.status == 0, "\(delete.output)")
            let unlisted = await harness.eventually { () -> Bool? in
                let index = await harness.agentMessages.json(LinkTopic.desiredIndex(node: node).path)
                return index != nil && index?[path: "devices", uid] == nil ? true : nil
            }
            #expect(unlisted == true)
            let cleared = await harness.eventually { await harness.agentMessages.payload(topic)?.isEmpty == true ? true : nil }
            #expect(cleared == true)
            // The broker retains nothing for it any more (a new subscriber gets no message).
            let check = try publisher.subscribe(LinkTopic.prefix + node + "/desired/devices/#", count: 1, within: 2,
                                                logPath: harness.folder + "/sub-devices.log")
            let lines = check.finish().filter { $0.hasPrefix(LinkTopic.prefix) }
            #expect(lines.isEmpty, "\(lines)")
            // ... and its retained status report is cleared too.
            let status = await harness.eventually { () -> Bool? in
                let sub = try publisher.subscribe(LinkTopic.deviceStatus(node: node, uid: uid).path, count: 1, within: 1,
                                                  logPath: harness.folder + "/sub-status.log")
                return sub.finish().contains { $0.hasPrefix(LinkTopic.prefix) } ? nil : true
            }
            #expect(status == true)
        }
    }

    @Test(.enabled(if: RelayDeviceTests.toolsPresent, "kubectl or the mosquitto clients are missing"))
    func deviceWaitsForItsModelAndStatusWritesAreThrottledAndSkippedWhenUnchanged() async throws {
        try await RelayHarness.with("device-model-wait") { harness in
            try Self.applyCRDs(harness)
            try harness.startRelay("r1")
            harness.comeOnline("edge-2")
            let beating = harness.keepBeating(["edge-2"])
            defer { beating.cancel() }
            let node = "edge-2"
            // The sensor alone, without its model: not sent.
            let text = try String(contentsOfFile: Self.fixtures + "/mqtt-sensor.yaml", encoding: .utf8)
            let documents = text.components(separatedBy: "\n---\n")
            try documents[1].write(toFile: harness.folder + "/device.yaml", atomically: true, encoding: .utf8)
            try documents[0].write(toFile: harness.folder + "/model.yaml", atomically: true, encoding: .utf8)
            #expect(try Self.kube(harness, ["create", "-f", harness.folder + "/device.yaml"]).status == 0)
            let uid = try #require(await device(harness, "thermo-1")?.uid)
            let topic = LinkTopic.desiredDevice(node: node, uid: uid).path
            // The relay has published the node's index (its pods informer synced) without it.
            let index = await harness.eventually { await harness.agentMessages.json(LinkTopic.desiredIndex(node: node).path) }
            #expect(index != nil, "\(harness.relayLogs)")
            try await Task.sleep(for: .seconds(2))
            #expect(await harness.agentMessages.payload(topic) == nil)
            #expect(await indexDevices(harness, node)?[uid] == nil)

            #expect(try Self.kube(harness, ["create", "-f", harness.folder + "/model.yaml"]).status == 0)
            let message = await harness.eventually { await harness.agentMessages.json(topic) }
            #expect(message?[path: "device", "spec", "properties"]?.arrayValue?.first?[path: "pushMethod", "mqtt", "qos"] == 1)
            #expect(await harness.eventually { await indexDevices(harness, node)?[uid] } != nil)

            // Five reports within a second: the Device's status is written at most twice (the
            // first at once, the latest when the second is over), and ends at the latest.
            let watchStart = try #require(await device(harness, "thermo-1")?.resourceVersion)
            for value in 1...5 {
                harness.publish(.deviceStatus(node: node, uid: uid), """
                    {"v":1,"uid":"\(uid)","state":"online","lastOnlineTime":"2026-11-30T10:00:0\(value)Z",
                     "twins":[{"propertyName":"temperature","reported":{"value":"\(20 + value)"}}]}
                    """)
            }
            let latest = await harness.eventually { () -> Bool? in
                let twins = await device(harness, "thermo-1")?[path: "status", "twins"]?.arrayValue
                return twins?.first?[path: "reported", "value"] == "25" ? true : nil
            }
            #expect(latest == true, "\(harness.relayLogs)")
            // The same report again changes nothing: no write.
            harness.publish(.deviceStatus(node: node, uid: uid), """
                {"v":1,"uid":"\(uid)","state":"online","lastOnlineTime":"2026-11-30T10:00:05Z",
                 "twins":[{"propertyName":"temperature","reported":{"value":"25"}}]}
                """)
            try await Task.sleep(for: .seconds(2))
            let writes = Counter()
            try await harness.kube.watch(.devices, namespace: "default", resourceVersion: watchStart, timeoutSeconds: 2) { event in
                if event.object.name == "thermo-1" { writes.add() }
            }
            let counted = writes.value
            #expect(counted >= 1 && counted <= 2, "status writes: \(counted)")
        }
    }

    @Test(.enabled(if: RelayDeviceTests.toolsPresent, "kubectl or the mosquitto clients are missing"))
    func relayWithoutDeviceCRDsServesPodsAndPicksDevicesUpOnceTheyAreInstalled() async throws {
        try await RelayHarness.with("device-late-crds") { harness in
            try harness.startRelay("r1")
            harness.comeOnline("edge-1")
            let beating = harness.keepBeating(["edge-1"])
            defer { beating.cancel() }
            let pod = try await harness.kube.create(.pods, namespace: "default", harness.pod("web"))
            let podUID = try #require(pod.uid)
            let podMessage = await harness.eventually {
                await harness.agentMessages.json(LinkTopic.desiredPod(node: "edge-1", uid: podUID).path)
            }
            #expect(podMessage != nil, "\(harness.relayLogs)")

            try Self.applyCRDs(harness)
            #expect(try Self.kube(harness, ["create", "-f", Self.fixtures + "/modbus-boiler.yaml"]).status == 0)
            let uid = try #require(await device(harness, "boiler-1")?.uid)
            let message = await harness.eventually(within: 45) {
                await harness.agentMessages.json(LinkTopic.desiredDevice(node: "edge-1", uid: uid).path)
            }
            #expect(message != nil, "\(harness.relayLogs)")
            let index = await harness.eventually { () -> JSONValue? in
                let index = await harness.agentMessages.json(LinkTopic.desiredIndex(node: "edge-1").path)
                return index?[path: "devices", uid] != nil ? index : nil
            }
            #expect(index?[path: "pods", podUID] != nil)
        }
    }

    @Test(.enabled(if: RelayDeviceTests.toolsPresent, "kubectl or the mosquitto clients are missing"))
    func replicaTakingANodeOverResendsNoDeviceAndKeepsWritingItsStatus() async throws {
        try await RelayHarness.with("device-takeover") { harness in
            try Self.applyCRDs(harness)
            try harness.startRelay("r1")
            harness.comeOnline("edge-1")
            let beating = harness.keepBeating(["edge-1"])
            defer { beating.cancel() }
            #expect(try Self.kube(harness, ["create", "-f", Self.fixtures + "/modbus-boiler.yaml"]).status == 0)
            let uid = try #require(await device(harness, "boiler-1")?.uid)
            let topic = LinkTopic.desiredDevice(node: "edge-1", uid: uid).path
            let first = await harness.eventually { await harness.agentMessages.payload(topic) }
            try #require(first != nil, "\(harness.relayLogs)")
            _ = await harness.eventually { await indexDevices(harness, "edge-1")?[uid] }

            // r2 joins and r1 stops cleanly (its lease goes at once): r2 takes edge-1 over from
            // the retained state, whenever rendezvous gives it the node.
            let since = Date()
            try harness.startRelay("r2")
            try await Task.sleep(for: .seconds(2))
            harness.relay("r1")?.stop()
            let acting = await harness.eventually(within: 20) { () -> Bool? in
                harness.relay("r2")?.output.contains("now acting for") == true ? true : nil
            }
            #expect(acting == true, "\(harness.relayLogs)")
            try await Task.sleep(for: .seconds(2))
            let resent = await harness.agentMessages.received(after: since, prefix: LinkTopic.prefix + "edge-1/desired/")
            #expect(resent.isEmpty, "\(resent.map(\.topic))")

            harness.publish(.deviceStatus(node: "edge-1", uid: uid), """
                {"v":1,"uid":"\(uid)","state":"offline","lastOnlineTime":"2026-11-30T10:00:05Z","twins":[]}
                """)
            let offline = await harness.eventually { await device(harness, "boiler-1")?[path: "status", "state"] == "offline" ? true : nil }
            #expect(offline == true, "\(harness.relayLogs)")
        }
    }
}

extension RelayDeviceTests {
    /// A CRD as KubeEdge publishes its Device one: no status subresource.
    static func crdWithoutStatus(plural: String, kind: String) -> JSONValue {
        ["apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
         "metadata": ["name": .string("\(plural).devices.kubeedge.io")],
         "spec": ["group": "devices.kubeedge.io", "scope": "Namespaced",
                  "names": ["plural": .string(plural), "kind": .string(kind)],
                  "versions": [["name": "v1beta1", "served": true, "storage": true,
                                "schema": ["openAPIV3Schema": ["type": "object", "x-kubernetes-preserve-unknown-fields": true]]]]]]
    }

    @Test func statusIsWrittenToTheDeviceItselfWhenItsCRDHasNoStatusSubresource() async throws {
        try await RelayHarness.with("device-kubeedge-crd") { harness in
            let crds = Resource(group: "apiextensions.k8s.io", version: "v1", plural: "customresourcedefinitions", namespaced: false)
            _ = try await harness.kube.create(crds, Self.crdWithoutStatus(plural: "devices", kind: "Device"))
            _ = try await harness.kube.create(crds, Self.crdWithoutStatus(plural: "devicemodels", kind: "DeviceModel"))
            try harness.startRelay("r1")
            harness.comeOnline("edge-1")
            let beating = harness.keepBeating(["edge-1"])
            defer { beating.cancel() }
            _ = try await harness.kube.create(.deviceModels, namespace: "default", [
                "apiVersion": "devices.kubeedge.io/v1beta1", "kind": "DeviceModel", "metadata": ["name": "lamp"],
                "spec": ["protocol": "virtualProtocol", "properties": [["name": "on", "type": "BOOLEAN", "accessMode": "ReadWrite"]]],
            ])
            let created = try await harness.kube.create(.devices, namespace: "default", [
                "apiVersion": "devices.kubeedge.io/v1beta1", "kind": "Device", "metadata": ["name": "lamp-1"],
                "spec": ["deviceModelRef": ["name": "lamp"], "nodeName": "edge-1",
                         "properties": [["name": "on", "desired": ["value": "true"]]]],
            ])
            let uid = try #require(created.uid)
            let sent = await harness.eventually { await harness.agentMessages.json(LinkTopic.desiredDevice(node: "edge-1", uid: uid).path) }
            #expect(sent != nil, "\(harness.relayLogs)")
            harness.publish(.deviceStatus(node: "edge-1", uid: uid), """
                {"v":1,"uid":"\(uid)","state":"online","twins":[{"propertyName":"on","reported":{"value":"true"}}]}
                """)
            let state = await harness.eventually { await device(harness, "lamp-1")?[path: "status", "state"]?.stringValue }
            #expect(state == "online", "\(harness.relayLogs)")
        }
    }
}

/// A count that watch callbacks (sendable closures) can bump.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func add() { lock.withLock { count += 1 } }
    var value: Int { lock.withLock { count } }
}
