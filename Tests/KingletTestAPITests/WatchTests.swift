import Foundation
import KingletTestAPI
import KingletTestPeers
import Testing

/// Collects watch events until `enough` says so or `seconds` pass.
func collectEvents(_ client: APIClient, _ path: String, within seconds: Int64 = 15,
                   until enough: @escaping @Sendable ([JSON]) -> Bool) async throws -> [JSON] {
    let box = EventBox()
    do {
        try await client.watch(path, within: seconds) { event in
            await box.append(event)
            return !enough(await box.events)
        }
    } catch {
        // The deadline ended the stream: the caller checks what arrived.
    }
    return await box.events
}

actor EventBox {
    var events: [JSON] = []
    func append(_ event: JSON) { events.append(event) }
}

extension JSON {
    var eventType: String { self["type"]?.stringValue ?? "" }
    var eventName: String { at(["object", "metadata", "name"])?.stringValue ?? "" }
}

@Suite("watches: order, bookmarks, 410 after compaction")
struct WatchTests {
    @Test func watchFromResourceVersionSeesLaterChangesInOrder() async throws {
        try await APIFixture.with("watch") { api in
            let before = try await api.client.post("/api/v1/namespaces/default/configmaps", ["metadata": ["name": "before"]])
            let start = before.body.resourceVersion
            let path = "/api/v1/namespaces/default/configmaps"
            let watcher = Task {
                try await collectEvents(api.client, path + "?watch=1&resourceVersion=\(start)") { $0.count >= 4 }
            }
            try await Task.sleep(for: .milliseconds(300))
            _ = try await api.client.post(path, ["metadata": ["name": "a"], "data": ["k": "1"]])
            _ = try await api.client.patch(path + "/a", ["data": ["k": "2"]])
            _ = try await api.client.post(path, ["metadata": ["name": "b"]])
            _ = try await api.client.delete(path + "/a")
            let events = try await watcher.value
            #expect(events.map(\.eventType) == ["ADDED", "MODIFIED", "ADDED", "DELETED"])
            #expect(events.map(\.eventName) == ["a", "a", "b", "a"])
            #expect(events[1].at(["object", "data", "k"])?.stringValue == "2")
            #expect(events[1]["object"]?["kind"]?.stringValue == "ConfigMap")
            let versions = events.compactMap { Int($0["object"]?.resourceVersion ?? "") }
            #expect(versions == versions.sorted() && Set(versions).count == 4)
            #expect(versions.first ?? 0 > Int(start) ?? 0)
        }
    }

    @Test func watchWithoutResourceVersionStartsWithCurrentObjects() async throws {
        try await APIFixture.with("watch0") { api in
            _ = try await api.client.post("/api/v1/nodes", Manifests.node("n1"))
            _ = try await api.client.post("/api/v1/nodes", Manifests.node("n2"))
            let events = try await collectEvents(api.client, "/api/v1/nodes?watch=true&resourceVersion=0") { $0.count >= 2 }
            #expect(events.map(\.eventType) == ["ADDED", "ADDED"])
            #expect(Set(events.map(\.eventName)) == ["n1", "n2"])
        }
    }

    @Test func bookmarksArriveWhenAllowed() async throws {
        try await APIFixture.with("bookmarks", bookmarkInterval: 0.5) { api in
            let created = try await api.client.post("/api/v1/nodes", Manifests.node("n1"))
            let events = try await collectEvents(api.client, "/api/v1/nodes?watch=1&allowWatchBookmarks=true&resourceVersion=\(created.body.resourceVersion)") {
                $0.filter { $0.eventType == "BOOKMARK" }.count >= 2
            }
            let bookmarks = events.filter { $0.eventType == "BOOKMARK" }
            #expect(bookmarks.count >= 2)
            #expect(bookmarks.allSatisfy { Int($0["object"]?.resourceVersion ?? "") ?? 0 >= Int(created.body.resourceVersion) ?? 0 })
            #expect(bookmarks.first?["object"]?["kind"]?.stringValue == "Node")
        }
    }

    @Test func watchFromCompactedRevisionIsExpired() async throws {
        try await APIFixture.with("compact") { api in
            let first = try await api.client.post("/api/v1/namespaces/default/configmaps", ["metadata": ["name": "x"]])
            for value in 0..<3 { _ = try await api.client.patch("/api/v1/namespaces/default/configmaps/x", ["data": ["v": .string("\(value)")]]) }
            let compacted = try await api.client.post("/admin/compact", [:])
            #expect(compacted.status == 200)
            let events = try await collectEvents(api.client, "/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=\(first.body.resourceVersion)") { _ in true }
            #expect(events.count == 1)
            #expect(events.first?.eventType == "ERROR")
            #expect(events.first?.at(["object", "code"])?.intValue == 410)
            #expect(events.first?.at(["object", "reason"])?.stringValue == "Expired")

            // A list continued from before the compaction is expired too.
            for index in 0..<3 { _ = try await api.client.post("/api/v1/namespaces/default/configmaps", ["metadata": ["name": .string("p\(index)")]]) }
            let page = try await api.client.get("/api/v1/namespaces/default/configmaps?limit=1")
            let token = page.body.at(["metadata", "continue"])?.stringValue ?? ""
            #expect(!token.isEmpty)
            for value in 0..<2 { _ = try await api.client.patch("/api/v1/namespaces/default/configmaps/x", ["data": ["w": .string("\(value)")]]) }
            _ = try await api.client.post("/admin/compact", [:])
            let expired = try await api.client.get("/api/v1/namespaces/default/configmaps?limit=1&continue=\(token)")
            #expect(expired.status == 410)
        }
    }

    @Test func watchWithFieldSelectorSeesPodsEnterAndLeaveTheSelection() async throws {
        try await APIFixture.with("watchfields") { api in
            let path = "/api/v1/namespaces/default/pods"
            let start = try await api.client.get(path).body.resourceVersion
            let watcher = Task {
                try await collectEvents(api.client, "/api/v1/pods?watch=1&fieldSelector=spec.nodeName%3Dedge-1&resourceVersion=\(start)") { $0.count >= 2 }
            }
            try await Task.sleep(for: .milliseconds(300))
            _ = try await api.client.post(path, Manifests.pod("elsewhere", node: "edge-2"))
            _ = try await api.client.post(path, Manifests.pod("here", node: "edge-1"))
            _ = try await api.client.delete(path + "/here", ["gracePeriodSeconds": 0])
            let events = try await watcher.value
            #expect(events.map(\.eventType) == ["ADDED", "DELETED"])
            #expect(events.map(\.eventName) == ["here", "here"])
        }
    }
}
