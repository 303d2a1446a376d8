import Foundation
import KingletKube
import KingletTestPeers
import Logging
import Testing

/// The client and the informer against the etcd-backed test API server.
@Suite(.serialized) struct ClientAgainstTestAPITests {
    static func withAPI(_ label: String, bookmarks: Double = 5, _ body: (TestAPIPeer, KubeClient) async throws -> Void) async throws {
        let api = try TestAPIPeer.start(label: label, token: "t0ken", bookmarkInterval: bookmarks)
        defer { api.stop() }
        let client = try KubeClient(config: KubeConfig.load(kubeconfig: api.kubeconfigPath), logger: Logger(label: "test"))
        do {
            try await body(api, client)
        } catch {
            await client.shutdown()
            throw error
        }
        await client.shutdown()
    }

    static func configMap(_ name: String, _ data: [String: String]) -> JSONValue {
        ["apiVersion": "v1", "kind": "ConfigMap", "metadata": ["name": .string(name), "namespace": "default"],
         "data": .object(data.mapValues { .string($0) })]
    }

    @Test func verbsMapErrorsToTypes() async throws {
        try await Self.withAPI("kube-verbs") { _, client in
            let created = try await client.create(.configMaps, namespace: "default", Self.configMap("one", ["a": "1"]))
            #expect(created.uid != nil)
            await #expect(throws: KubeError.self) {
                _ = try await client.create(.configMaps, namespace: "default", Self.configMap("one", ["a": "1"]))
            }
            do {
                _ = try await client.create(.configMaps, namespace: "default", Self.configMap("one", ["a": "1"]))
            } catch KubeError.conflict {
            } catch { Issue.record("expected a conflict, got \(error)") }

            var stale = created
            stale["data"] = ["a": "2"]
            _ = try await client.replace(.configMaps, namespace: "default", name: "one", stale)
            do {
                _ = try await client.replace(.configMaps, namespace: "default", name: "one", stale)
                Issue.record("a PUT with a stale resourceVersion succeeded")
            } catch KubeError.conflict {}

            let merged = try await client.patch(.configMaps, namespace: "default", name: "one", type: .merge, ["data": ["b": "3"]])
            #expect(merged[path: "data", "b"]?.stringValue == "3")
            #expect(merged[path: "data", "a"]?.stringValue == "2")
            let jsonPatched = try await client.patch(.configMaps, namespace: "default", name: "one", type: .json,
                                                     [["op": "remove", "path": "/data/b"]])
            #expect(jsonPatched[path: "data", "b"] == nil)

            let list = try await client.list(.configMaps, namespace: "default")
            #expect(list.items.contains { $0.name == "one" && $0["kind"]?.stringValue == "ConfigMap" })
            #expect(!list.resourceVersion.isEmpty)

            do {
                try await client.delete(.configMaps, namespace: "default", name: "one", preconditionUID: "not-the-uid")
                Issue.record("a delete with a wrong uid precondition succeeded")
            } catch KubeError.conflict {}
            try await client.delete(.configMaps, namespace: "default", name: "one", gracePeriodSeconds: 0, preconditionUID: created.uid)
            do {
                _ = try await client.get(.configMaps, namespace: "default", name: "one")
                Issue.record("the object is still there")
            } catch KubeError.notFound {}
        }
    }

    @Test func informerListsThenWatchesAddsChangesAndDeletions() async throws {
        try await Self.withAPI("kube-informer") { api, client in
            _ = try await client.create(.configMaps, namespace: "default", Self.configMap("before", [:]))
            let seen = EventLog()
            let informer = Informer(client: client, resource: .configMaps, namespace: "default", watchTimeout: 30, logger: Logger(label: "test"))
            let task = Task { await informer.run { event in await seen.add(event) } }
            defer { task.cancel() }
            #expect(await seen.waitFor("synced"))
            #expect(await seen.contains("added before"))
            _ = try await client.create(.configMaps, namespace: "default", Self.configMap("after", [:]))
            #expect(await seen.waitFor("added after"))
            _ = try await client.patch(.configMaps, namespace: "default", name: "after", type: .merge, ["data": ["x": "y"]])
            #expect(await seen.waitFor("modified after"))
            try await client.delete(.configMaps, namespace: "default", name: "before")
            #expect(await seen.waitFor("deleted before"))
            #expect(await informer.listCount == 1)

        }
    }

    @Test func informerRelistsWhenItsResourceVersionIsCompacted() async throws {
        try await Self.withAPI("kube-relist", bookmarks: 1000) { api, client in
            let seen = EventLog()
            // A quiet collection: the informer's resourceVersion stays at its list's while
            // other writes move etcd on; compaction then makes it too old to watch from.
            let informer = Informer(client: client, resource: .secrets, namespace: "default", watchTimeout: 1, logger: Logger(label: "test"))
            let task = Task { await informer.run { event in await seen.add(event) } }
            defer { task.cancel() }
            #expect(await seen.waitFor("synced"))
            for index in 0..<3 { _ = try await client.create(.configMaps, namespace: "default", Self.configMap("bulk\(index)", [:])) }
            let compact = try PeerProcess.run("/usr/bin/curl", ["-s", "-f", "-X", "POST", "-H", "Authorization: Bearer t0ken", api.url + "/admin/compact"], within: 10)
            #expect(compact.status == 0, "\(compact.output)")
            let relisted = await Loopback.eventuallyAsync(within: 20) { await informer.listCount >= 2 ? true : nil }
            #expect(relisted == true)
            _ = try await client.create(.secrets, namespace: "default",
                                        ["apiVersion": "v1", "kind": "Secret", "metadata": ["name": "late", "namespace": "default"], "data": [:]])
            #expect(await seen.waitFor("added late"))
        }
    }
}

actor EventLog {
    var lines: [String] = []

    func add(_ event: InformerEvent) {
        switch event {
        case .added(let object): lines.append("added \(object.name ?? "")")
        case .modified(_, let object): lines.append("modified \(object.name ?? "")")
        case .deleted(let object): lines.append("deleted \(object.name ?? "")")
        case .synced: lines.append("synced")
        }
    }

    func contains(_ line: String) -> Bool { lines.contains(line) }

    func waitFor(_ line: String, within seconds: Double = 15) async -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if lines.contains(line) { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return false
    }
}

extension Loopback {
    /// Like `eventually`, for async bodies.
    static func eventuallyAsync<T>(within seconds: Double, _ body: () async -> T?) async -> T? {
        let deadline = Date().addingTimeInterval(seconds)
        repeat {
            if let value = await body() { return value }
            try? await Task.sleep(for: .milliseconds(100))
        } while Date() < deadline
        return nil
    }
}
