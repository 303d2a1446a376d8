import KingletDocument
import KingletLink
import KingletPod
import Testing

@Suite struct StatusOutboxTests {
    func status(_ phase: PodPhase) -> PodReport {
        var status = PodStatus()
        status.phase = phase
        return .status(namespace: "default", name: "web", specHash: 1, status: status)
    }

    func phase(_ report: PodReport?) -> String {
        switch report {
        case .status(_, _, _, let status)?: return status.phase.rawValue
        case .removed?: return "removed"
        case nil: return "none"
        }
    }

    @Test func burstOfChangesSendsOnlyTheLatestPerPodInFirstChangeOrder() {
        var outbox = StatusOutbox()
        outbox.put("a", status(.pending))
        outbox.put("b", status(.pending))
        outbox.put("a", status(.running))
        outbox.put("a", status(.failed))
        var sent: [(String, String)] = []
        outbox.flush { uid, report in sent.append((uid, phase(report))); return true }
        #expect(sent.map { $0.0 } == ["a", "b"])
        #expect(sent.map { $0.1 } == ["Failed", "Pending"])
        #expect(outbox.isEmpty)
    }

    @Test func offlineKeepsTheLatestPerPodAndFlushesOnReconnect() {
        var outbox = StatusOutbox()
        for round in 0..<100 {
            outbox.put("a", round % 2 == 0 ? status(.pending) : status(.running))
            outbox.put("b", status(.running))
            outbox.flush { _, _ in false } // offline: nothing goes
        }
        #expect(outbox.count == 2)
        outbox.put("b", .removed(namespace: "default", name: "b"))
        var sent: [String] = []
        outbox.flush { uid, report in sent.append(uid + "=" + phase(report)); return true }
        #expect(sent == ["a=Running", "b=removed"])
    }

    @Test func flushStoppedMidwayKeepsTheRestInOrder() {
        var outbox = StatusOutbox()
        for uid in ["a", "b", "c"] { outbox.put(uid, status(.running)) }
        var budget = 1
        outbox.flush { _, _ in budget -= 1; return budget >= 0 }
        #expect(outbox.count == 2)
        var sent: [String] = []
        outbox.flush { uid, _ in sent.append(uid); return true }
        #expect(sent == ["b", "c"])
    }

    @Test func podPayloadsAreVersionedJSON() throws {
        var writer = JSONWriter()
        LinkPayloads.pod(uid: "u1", report: .removed(namespace: "ns", name: "web"), into: &writer)
        #expect(writer.text == #"{"v":1,"uid":"u1","namespace":"ns","name":"web","removed":true}"#)
        LinkPayloads.pod(uid: "u1", report: status(.running), into: &writer)
        let node = try JSONReader().parseDocument(writer.bytes)
        #expect(node.objectMember("specHash")?.node.value == .string("0000000000000001"))
        #expect(node.objectMember("status")?.node.objectMember("phase")?.node.value == .string("Running"))
        LinkPayloads.online(since: 0, agentVersion: "9.9", into: &writer)
        #expect(writer.text == #"{"v":1,"online":true,"since":"1970-01-01T00:00:00Z","agentVersion":"9.9"}"#)
    }
}
