import KingletDocument
import KingletLoopTesting
import Testing

/// `JSONReader.value(at:in:)`: one field of a message without building the tree.
@Suite struct JSONPathLookupTests {
    private func look(_ text: String, _ path: [String]) throws(DocumentError) -> Value? {
        try JSONReader().value(at: path, in: Array(text.utf8))
    }

    @Test func scalarsAreFoundByKeysAndIndexes() throws {
        let text = #"{"env": {"t": 21.5, "h": 40, "ok": true, "name": "cellar"}, "list": [1, {"x": null}, "three"]}"#
        #expect(try look(text, ["env", "t"]) == .double(21.5))
        #expect(try look(text, ["env", "h"]) == .integer(40))
        #expect(try look(text, ["env", "ok"]) == .bool(true))
        #expect(try look(text, ["env", "name"]) == .string("cellar"))
        #expect(try look(text, ["list", "0"]) == .integer(1))
        #expect(try look(text, ["list", "1", "x"]) == .null)
        #expect(try look(text, ["list", "2"]) == .string("three"))
        #expect(try look("-7", []) == .integer(-7))
    }

    @Test func absentPathsAreNil() throws {
        let text = #"{"env": {"t": 21.5}, "list": [1]}"#
        #expect(try look(text, ["env", "x"]) == nil)
        #expect(try look(text, ["list", "1"]) == nil)
        #expect(try look(text, ["list", "-1"]) == nil)
        #expect(try look(text, ["env", "t", "deeper"]) == nil)
        #expect(try look(text, ["nothing"]) == nil)
    }

    @Test func containersComeEmptyNamingTheirKind() throws {
        let text = #"{"env": {"t": 1}, "list": [1, 2]}"#
        #expect(try look(text, ["env"])?.kindDescription == "an object")
        #expect(try look(text, ["list"])?.kindDescription == "an array")
    }

    @Test func keysWithEscapesMatchTheirDecodedText() throws {
        #expect(try look(#"{"a\"b": 1, "caf\u00e9": 2}"#, ["a\"b"]) == .integer(1))
        #expect(try look(#"{"a\"b": 1, "caf\u00e9": 2}"#, ["café"]) == .integer(2))
        #expect(try look(#"{"ab": 1}"#, ["a"]) == nil)
        #expect(try look(#"{"a": 1}"#, ["ab"]) == nil)
    }

    @Test func aDuplicateKeyOnThePathIsTheTreeReadersError() {
        let cases: [(String, [String])] = [
            (#"{"t": 1, "t": 2}"#, ["t"]),
            (#"{"env": {"t": 1, "h": 2, "t": 3}}"#, ["env", "t"]),
            ("{\"env\": {},\n \"env\": 1}", ["env", "t"]),
        ]
        for (text, path) in cases {
            var lookupError: DocumentError? = nil
            do { _ = try look(text, path) } catch { lookupError = error }
            #expect(lookupError != nil, "accepted: \(text)")
            #expect(summary(lookupError) == summary(jsonError(text)))
        }
    }

    @Test(arguments: [
        "", "}", "[1,]", "[1 2]", "{a:1}", #"{"a":1,}"#, #"{"a" 1}"#, #"{"a":1 "b":2}"#, "{\"a\":1\n\n  x}",
        #"{"a":"#, "tru", "01", "1.", "-", "1e", "1e400", "\"abc", "\"a\\x\"", "\"\\ud800\"", "[1] x",
        #"{"env": {"t": 1}, "junk"}"#, #"{"env": [1, 2,]}"#, "\u{FEFF}{\"a\": }",
    ])
    func errorsAreThoseOfTheTreeReader(text: String) {
        var lookupError: DocumentError? = nil
        do { _ = try look(text, ["env", "t"]) } catch { lookupError = error }
        #expect(lookupError != nil, "accepted: \(text)")
        #expect(summary(lookupError) == summary(jsonError(text)))
    }

    @Test func nestingIsBoundedLikeTheTreeReader() {
        let deep = String(repeating: "[", count: 40) + String(repeating: "]", count: 40)
        var lookupError: DocumentError? = nil
        do { _ = try JSONReader(maxDepth: 32).value(at: [], in: Array(deep.utf8)) } catch { lookupError = error }
        #expect(summary(lookupError) == summary(jsonError(deep, maxDepth: 32)))
    }

    /// Random trees written out: every path into them finds what the tree holds there.
    @Test func everyPathOfRandomTreesFindsTheTreesValue() throws {
        var trees = RandomTrees(seed: 0x5041_5448)
        var writer = JSONWriter()
        for round in 0..<1_000 {
            let tree = trees.node()
            writer.reset()
            writer.write(tree)
            var paths: [([String], Node)] = []
            collect(tree, [], into: &paths)
            for (path, node) in paths {
                let found = try JSONReader().value(at: path, in: writer.bytes)
                switch node.value {
                case .object: #expect(found?.kindDescription == "an object", "round \(round) \(path)")
                case .array: #expect(found?.kindDescription == "an array", "round \(round) \(path)")
                default: #expect(found.map { Node($0).hasSameContent(as: node) } == true, "round \(round) \(path): \(writer.text)")
                }
            }
        }
    }

    private func collect(_ node: Node, _ path: [String], into paths: inout [([String], Node)]) {
        paths.append((path, node))
        switch node.value {
        case .object(let members): for member in members { collect(member.node, path + [member.key], into: &paths) }
        case .array(let items): for (index, item) in items.enumerated() { collect(item, path + [String(index)], into: &paths) }
        default: break
        }
    }
}
