import Foundation
import KingletKube
import KingletRelay
import Testing

@Suite struct RendezvousTests {
    @Test func everyReplicaAgreesAndNodesSpreadEvenly() {
        let members = ["relay-a", "relay-b", "relay-c"]
        var counts: [String: Int] = [:]
        for index in 0..<3000 {
            let node = "edge-\(index)"
            let owner = Rendezvous.owner(of: node, among: members)!
            #expect(Rendezvous.owner(of: node, among: members.reversed()) == owner)
            counts[owner, default: 0] += 1
        }
        for member in members { #expect((800...1200).contains(counts[member] ?? 0), "\(counts)") }
    }

    @Test func removingAMemberMovesOnlyItsNodes() {
        let before = ["relay-a", "relay-b", "relay-c"]
        let after = ["relay-a", "relay-c"]
        for index in 0..<1000 {
            let node = "edge-\(index)"
            let old = Rendezvous.owner(of: node, among: before)!
            let new = Rendezvous.owner(of: node, among: after)!
            if old != "relay-b" { #expect(new == old) }
        }
        #expect(Rendezvous.owner(of: "edge-1", among: []) == nil)
    }
}

@Suite struct PodEventDeriverTests {
    static func status(_ containers: [JSONValue]) -> JSONValue { ["phase": "Running", "containerStatuses": .array(containers)] }
    static func running(_ started: String, ready: Bool, restarts: Int64 = 0) -> JSONValue {
        ["name": "web", "ready": .bool(ready), "started": true, "restartCount": .int(restarts), "state": ["running": ["startedAt": .string(started)]]]
    }

    func reasons(_ previous: JSONValue?, _ current: JSONValue) -> [String] {
        PodEventDeriver.events(previous: previous, current: current, podName: "web", namespace: "default", uid: "u").map(\.reason)
    }

    @Test func startedOnlyForANewStartedAt() {
        let first = Self.status([Self.running("2026-11-30T10:00:00Z", ready: false)])
        #expect(reasons(nil, first) == ["Started"])
        #expect(reasons(first, Self.status([Self.running("2026-11-30T10:00:00Z", ready: true)])) == [])
        #expect(reasons(first, Self.status([Self.running("2026-11-30T10:05:00Z", ready: false, restarts: 1)])) == ["Started"])
    }

    @Test func unhealthyWhenAStartedReadyContainerTurnsNotReady() {
        let ready = Self.status([Self.running("2026-11-30T10:00:00Z", ready: true)])
        let unready = Self.status([Self.running("2026-11-30T10:00:00Z", ready: false)])
        #expect(reasons(ready, unready) == ["Unhealthy"])
        #expect(reasons(unready, unready) == [])
    }

    @Test func backOffOnCrashLoopAndEachNewRestart() {
        func waiting(_ restarts: Int64) -> JSONValue {
            Self.status([["name": "web", "ready": false, "restartCount": .int(restarts),
                          "state": ["waiting": ["reason": "CrashLoopBackOff", "message": "back-off 10s"]]]])
        }
        let events = PodEventDeriver.events(previous: nil, current: waiting(1), podName: "web", namespace: "default", uid: "u")
        #expect(events.map(\.reason) == ["BackOff"])
        #expect(events[0].type == "Warning")
        #expect(events[0].message == "Back-off restarting failed container web in pod web_default(u)")
        #expect(reasons(waiting(1), waiting(1)) == [])
        #expect(reasons(waiting(1), waiting(2)) == ["BackOff"])
    }

    @Test func repeatsAreCountedOnOneEvent() {
        var book = EventBook(replicaID: "r1")
        let pod: JSONValue = ["metadata": ["name": "web", "namespace": "default", "uid": "u"]]
        let event = DerivedEvent(reason: "BackOff", message: "m", type: "Warning", container: "web")
        guard case .create(let namespace, let object) = book.record(event, pod: pod, node: "edge-1", now: "2026-11-30T10:00:00Z") else {
            Issue.record("the first occurrence must create")
            return
        }
        #expect(namespace == "default")
        #expect(object["count"] == 1)
        #expect(object[path: "involvedObject", "fieldPath"] == "spec.containers{web}")
        #expect(object[path: "source", "component"] == "kubelet")
        #expect(object["reportingComponent"] == "kinglet-relay")
        guard case .bump(_, let name, let patch, _) = book.record(event, pod: pod, node: "edge-1", now: "2026-11-30T10:01:00Z") else {
            Issue.record("a repeat must bump the count")
            return
        }
        #expect(name == object.name)
        #expect(patch["count"] == 2)
    }

    @Test func killingNamesEveryContainer() {
        let pod: JSONValue = ["spec": ["containers": [["name": "a"], ["name": "b"]]]]
        #expect(PodEventDeriver.killing(pod: pod).map(\.message) == ["Stopping container a", "Stopping container b"])
    }
}

@Suite struct NodeAndPodRulesTests {
    @Test func unknownConditionsUseTheLifecycleControllersWords() {
        let conditions: [JSONValue] = [
            ["type": "Ready", "status": "True", "reason": "KubeletReady", "lastHeartbeatTime": "h", "lastTransitionTime": "t"],
        ]
        let unknown = NodeStatusBuilder.unknownConditions(conditions, now: "now")!
        #expect(unknown[0]["status"] == "Unknown")
        #expect(unknown[0]["reason"] == "NodeStatusUnknown")
        #expect(unknown[0]["message"] == "Kubelet stopped posting node status.")
        #expect(unknown[0]["lastHeartbeatTime"] == "h")
        #expect(unknown[0]["lastTransitionTime"] == "now")
        #expect(NodeStatusBuilder.unknownConditions(unknown, now: "later") == nil)
    }

    @Test func statusPatchStampsHeartbeatsAndKeepsTheFullAddressList() {
        let report: JSONValue = [
            "v": 1, "addresses": [["type": "InternalIP", "address": "192.0.2.10"], ["type": "Hostname", "address": "edge-1"]],
            "capacity": ["cpu": "4"], "conditions": [["type": "Ready", "status": "True", "lastTransitionTime": "t"]],
            "nodeInfo": ["architecture": "arm64", "operatingSystem": "linux"], "labels": ["site": "plant-3"],
        ]
        let patch = NodeStatusBuilder.statusPatch(report: report, now: "now")
        #expect(patch[path: "status", "addresses"]?.arrayValue?.count == 2)
        #expect(patch[path: "status", "allocatable"] == ["cpu": "4"])
        #expect(patch[path: "status", "conditions"]?.arrayValue?.first?["lastHeartbeatTime"] == "now")
        let labels = NodeStatusBuilder.labels(node: "edge-1", report: report)
        #expect(labels == ["site": "plant-3", "node-role.kubernetes.io/edge": "", "kubernetes.io/hostname": "edge-1",
                           "kubernetes.io/arch": "arm64", "kubernetes.io/os": "linux"])
    }

    @Test func taintsParseLikeKubectl() throws {
        let taint = try Taint(parsing: "node-role.kubernetes.io/edge:NoSchedule")
        #expect(taint.json == ["key": "node-role.kubernetes.io/edge", "effect": "NoSchedule"])
        #expect(try Taint(parsing: "a=b:NoExecute").value == "b")
        #expect(throws: RelayConfigError.self) { try Taint(parsing: "a:Sometimes") }
    }

    @Test func unlimitedTolerationsAreAppendedUnlessEvictable() {
        let pod: JSONValue = ["metadata": [:], "spec": ["tolerations": [
            ["key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300],
        ]]]
        let tolerations = PodRules.autonomyTolerations(for: pod)!
        #expect(tolerations.count == 3)
        #expect(tolerations[1] == ["key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"])
        var done = pod
        done["spec"] = ["tolerations": .array(tolerations)]
        #expect(PodRules.autonomyTolerations(for: done) == nil)
        var evictable = pod
        evictable["metadata"] = ["annotations": ["kinglet.io/evictable": "true"]]
        #expect(PodRules.autonomyTolerations(for: evictable) == nil)
    }

    @Test func configErrorStatusIsWaitingCreateContainerConfigError() {
        let pod: JSONValue = ["spec": ["containers": [["name": "web", "image": "img"]]]]
        let status = PodRules.configErrorStatus(pod: pod, message: "configmap \"x\" not found")
        #expect(status[path: "containerStatuses"]?.arrayValue?.first?[path: "state", "waiting", "reason"] == "CreateContainerConfigError")
        #expect(PodRules.statusDiffers(status, from: nil))
        #expect(!PodRules.statusDiffers(status, from: status))
    }
}

@Suite struct LinkTests {
    @Test func topicsParseAndFormat() {
        #expect(LinkTopic("kinglet/v1/nodes/edge-1/desired/pods/u1") == .desiredPod(node: "edge-1", uid: "u1"))
        #expect(LinkTopic("kinglet/v1/nodes/edge-1/status/online") == .online(node: "edge-1"))
        #expect(LinkTopic("kinglet/v1/nodes/edge-1/status/pods/u1")?.path == "kinglet/v1/nodes/edge-1/status/pods/u1")
        #expect(LinkTopic("kinglet/v1/nodes/edge-1/status/other") == nil)
        #expect(LinkTopic("kinglet/v2/nodes/edge-1/status/online") == nil)
    }

    @Test func payloadsAreCheckedForVersionSizeAndFields() {
        #expect((try? LinkMessage.decode(Array(#"{"v":1,"online":true}"#.utf8), requiring: ["online"]).get())?["online"] == true)
        #expect(LinkMessage.decode(Array(#"{"v":2,"online":true}"#.utf8)) == .failure(.wrongVersion))
        #expect(LinkMessage.decode(Array(#"{"v":1}"#.utf8), requiring: ["online"]) == .failure(.missingField("online")))
        #expect(LinkMessage.decode([UInt8](repeating: 32, count: 300_000)) == .failure(.tooLarge(300_000)))
        if case .failure(.notJSON) = LinkMessage.decode(Array("nope".utf8)) {} else { Issue.record("not JSON must be rejected") }
    }

    @Test func brokerURLs() throws {
        #expect(try BrokerURL(parsing: "mqtt://127.0.0.1:1884") == BrokerURL(host: "127.0.0.1", port: 1884, usesTLS: false))
        #expect(try BrokerURL(parsing: "mqtts://broker.example") == BrokerURL(host: "broker.example", port: 8883, usesTLS: true))
        #expect(try BrokerURL(parsing: "mqtt://[::1]:1883").host == "::1")
        #expect(throws: RelayConfigError.self) { try BrokerURL(parsing: "http://x") }
        #expect(throws: RelayConfigError.self) { try BrokerURL(parsing: "mqtt://x:99999") }
    }

    @Test func timestampsRoundTrip() {
        let date = Date(timeIntervalSince1970: 1_800_000_000.25)
        #expect(Timestamps.rfc3339(date) == "2027-01-15T08:00:00Z")
        #expect(Timestamps.micro(date) == "2027-01-15T08:00:00.250000Z")
        #expect(Timestamps.parse("2027-01-15T08:00:00.250000Z") == date)
        #expect(Timestamps.parse("2027-01-15T10:00:00+02:00") == Date(timeIntervalSince1970: 1_800_000_000))
        #expect(Timestamps.parse("yesterday") == nil)
    }
}
