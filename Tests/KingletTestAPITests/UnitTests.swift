import KingletTestAPI
import Testing

@Suite("JSON, selectors and patches without a server")
struct UnitTests {
    @Test func jsonRoundTripsAndReportsWhereItIsBroken() throws {
        let text = #"{"a":[1,2.5,"x\n\u00e9",true,null],"b":{"c":-3}}"#
        let value = try JSONParser.parse(text)
        #expect(value["a"]?.arrayValue?[0] == .int(1))
        #expect(value["a"]?.arrayValue?[2].stringValue == "x\né")
        #expect(try JSONParser.parse(value.text) == value)
        do {
            _ = try JSONParser.parse("{\n  \"a\": [1,\n  2,, 3]}")
            Issue.record("a broken document parsed")
        } catch {
            #expect(error.line == 3)
            #expect(error.column == 5)
        }
        #expect(throws: JSONParseError.self) { try JSONParser.parse(String(repeating: "[", count: 1000)) }
    }

    @Test func labelSelectorGrammar() throws {
        let selector = try LabelSelector(parsing: "app=web, tier in (front, back),env notin (dev),!legacy,team")
        #expect(selector.matches(["app": "web", "tier": "front", "team": "a"]))
        #expect(!selector.matches(["app": "web", "tier": "front", "team": "a", "legacy": "1"]))
        #expect(!selector.matches(["app": "web", "tier": "middle", "team": "a"]))
        #expect(!selector.matches(["app": "web", "tier": "back", "env": "dev", "team": "a"]))
        #expect(throws: APIError.self) { try LabelSelector(parsing: "a in b") }
    }

    @Test func strategicMergeMergesListsByKeyAndReplacesAddresses() throws {
        let resource = ResourceType.all.first { $0.kind == "Node" }!
        let node: JSON = ["status": [
            "conditions": [["type": "Ready", "status": "True"], ["type": "MemoryPressure", "status": "False"]],
            "addresses": [["type": "InternalIP", "address": "10.0.0.1"], ["type": "Hostname", "address": "a"]]]]
        let patch: JSON = ["status": ["conditions": [["type": "Ready", "status": "Unknown"]],
                                      "addresses": [["type": "InternalIP", "address": "10.0.0.2"]]]]
        let result = try Patches.apply(.strategicMerge, patch: patch, to: node, resource: resource)
        #expect(result.at(["status", "conditions"])?.arrayValue?.count == 2)
        #expect(result.at(["status", "conditions"])?.arrayValue?.first?["status"]?.stringValue == "Unknown")
        #expect(result.at(["status", "addresses"]) == [["type": "InternalIP", "address": "10.0.0.2"]])
        let deleted = try Patches.apply(.strategicMerge, patch: ["status": ["conditions": [["type": "Ready", "$patch": "delete"]]]],
                                        to: node, resource: resource)
        #expect(deleted.at(["status", "conditions"])?.arrayValue?.count == 1)
    }

    @Test func mergeAndJSONPatches() throws {
        let resource = ResourceType.all.first { $0.kind == "ConfigMap" }!
        let object: JSON = ["data": ["a": "1", "b": "2"], "list": [1, 2]]
        let merged = try Patches.apply(.merge, patch: ["data": ["a": nil, "c": "3"], "list": [3]], to: object, resource: resource)
        #expect(merged == ["data": ["b": "2", "c": "3"], "list": [3]])
        let patched = try Patches.apply(.json, patch: [
            ["op": "add", "path": "/list/-", "value": 9], ["op": "remove", "path": "/data/a"],
            ["op": "test", "path": "/data/b", "value": "2"], ["op": "move", "from": "/data/b", "path": "/moved"],
        ], to: object, resource: resource)
        #expect(patched == ["data": [:], "list": [1, 2, 9], "moved": "2"])
        #expect(throws: APIError.self) {
            try Patches.apply(.json, patch: [["op": "test", "path": "/data/a", "value": "x"]], to: object, resource: resource)
        }
    }
}
