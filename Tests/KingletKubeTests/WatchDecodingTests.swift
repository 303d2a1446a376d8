import KingletKube
import Testing

@Suite struct WatchDecodingTests {
    @Test func eventsSplitAcrossChunksAreJoined() throws {
        var decoder = WatchEventDecoder()
        let line1 = #"{"type":"ADDED","object":{"metadata":{"name":"a","resourceVersion":"5"}}}"#
        let line2 = #"{"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"9"}}}"#
        let text = Array((line1 + "\n" + line2 + "\n").utf8)
        var results = decoder.feed(Array(text[0..<30]))
        #expect(results.isEmpty)
        results = decoder.feed(Array(text[30..<(line1.utf8.count + 10)]))
        #expect(results.count == 1)
        let first = try results[0].get()
        #expect(first.kind == .added)
        #expect(first.object.resourceVersion == "5")
        results = decoder.feed(Array(text[(line1.utf8.count + 10)...]))
        let bookmark = try results[0].get()
        #expect(bookmark.kind == .bookmark)
        #expect(bookmark.object.resourceVersion == "9")
    }

    @Test func errorEventWith410IsGone() {
        var decoder = WatchEventDecoder()
        let results = decoder.feed(Array(#"{"type":"ERROR","object":{"kind":"Status","code":410,"message":"too old resource version"}}"#.utf8 + [10]))
        #expect(results.count == 1)
        #expect(throws: KubeError.gone("too old resource version")) { try results[0].get() }
    }

    @Test func badLineIsADecodingErrorNotACrash() {
        var decoder = WatchEventDecoder()
        let results = decoder.feed(Array("{not json\n\n".utf8))
        #expect(results.count == 1)
        if case .failure(.decoding) = results[0] {} else { Issue.record("expected a decoding error, got \(results[0])") }
    }

    @Test func statusBodyGivesTypedErrors() {
        let body = Array(#"{"kind":"Status","status":"Failure","reason":"AlreadyExists","message":"pods \"web\" already exists","code":409}"#.utf8)
        #expect(KubeError.from(code: 409, body: body) == .conflict("pods \"web\" already exists"))
        #expect(KubeError.from(code: 404, body: Array("nope".utf8)) == .notFound("nope"))
        #expect(KubeError.from(code: 422, body: body) == .status(code: 422, reason: "AlreadyExists", message: "pods \"web\" already exists"))
    }
}

@Suite struct ObjectStoreTests {
    func object(_ name: String, rv: String, value: Int64 = 0) -> JSONValue {
        ["metadata": ["name": .string(name), "namespace": "ns", "resourceVersion": .string(rv)], "data": ["v": .int(value)]]
    }

    @Test func relistReportsAddsChangesAndMissedDeletions() {
        var store = ObjectStore()
        _ = store.replace(with: [object("a", rv: "1"), object("b", rv: "2")])
        let events = store.replace(with: [object("a", rv: "1"), object("b", rv: "3", value: 1), object("c", rv: "4")])
        var summary: [String] = []
        for event in events {
            switch event {
            case .added(let new): summary.append("added \(new.name!)")
            case .modified(_, let new): summary.append("modified \(new.name!)")
            case .deleted(let old): summary.append("deleted \(old.name!)")
            case .synced: summary.append("synced")
            }
        }
        #expect(summary.sorted() == ["added c", "modified b"])
        let removal = store.replace(with: [object("a", rv: "1")])
        #expect(removal.count == 2)
        #expect(store.count == 1)
        #expect(store["ns/a"] != nil)
    }

    @Test func repeatedAddedAfterRewatchIsNotReported() {
        var store = ObjectStore()
        #expect(store.apply(WatchEvent(kind: .added, object: object("a", rv: "1"))) != nil)
        #expect(store.apply(WatchEvent(kind: .added, object: object("a", rv: "1"))) == nil)
        #expect(store.apply(WatchEvent(kind: .bookmark, object: ["metadata": ["resourceVersion": "7"]])) == nil)
        #expect(store.count == 1)
    }
}

@Suite struct JSONValueTests {
    @Test func compactTextSortsKeysAndKeepsUnknownFields() throws {
        let value = try JSONValue.parse(#"{"b":1,"a":{"z":[true,null,"x\"y"],"y":1.5},"unknownField":{"k":"v"}}"#)
        #expect(value.compactText == #"{"a":{"y":1.5,"z":[true,null,"x\"y"]},"b":1,"unknownField":{"k":"v"}}"#)
        #expect(try JSONValue.parse(value.compactText) == value)
    }

    @Test func pathAccessAndMutation() {
        var pod: JSONValue = ["metadata": ["name": "web", "namespace": "default"]]
        pod["spec"] = ["nodeName": "edge-1"]
        #expect(pod[path: "spec", "nodeName"]?.stringValue == "edge-1")
        #expect(pod.storeKey == "default/web")
    }
}
