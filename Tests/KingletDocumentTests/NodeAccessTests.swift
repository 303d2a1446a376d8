import KingletDocument
import Testing

@Suite struct NodeAccessTests {
    @Test func kindDescriptionsReadInMessages() {
        let kinds: [Value] = [.null, .bool(true), .integer(1), .double(1), .string(""), .array([]), .object([])]
        #expect(kinds.map(\.kindDescription) == ["null", "a boolean", "an integer", "a number", "a string", "an array", "an object"])
    }

    @Test func objectMemberFindsAKeyOnlyInObjects() throws {
        let node = try readJSON(#"{"a": 1, "b": {"c": 2}}"#)
        #expect(node.objectMember("b")?.node.objectMember("c")?.node.value == .integer(2))
        #expect(node.objectMember("b")?.keyPosition == at(1, 10))
        #expect(node.objectMember("missing") == nil)
        #expect(try readJSON("[1]").objectMember("a") == nil)
    }

    @Test func sameContentIgnoresPositionsButNotOrderKindsOrKeys() throws {
        let one = try readJSON(#"{"a": [1, 2.5, "x"]}"#)
        let two = try readJSON("{\n  \"a\" : [ 1 , 2.5 , \"x\" ]\n}")
        #expect(one != two)
        #expect(one.hasSameContent(as: two))
        #expect(!one.hasSameContent(as: try readJSON(#"{"a": [2.5, 1, "x"]}"#)))
        #expect(!one.hasSameContent(as: try readJSON(#"{"b": [1, 2.5, "x"]}"#)))
        #expect(!one.hasSameContent(as: try readJSON(#"{"a": [1.0, 2.5, "x"]}"#)))
        #expect(!one.hasSameContent(as: try readJSON(#"{"a": [1, 2.5]}"#)))
    }

    @Test func sameContentTreatsNaNAsEqualToItself() throws {
        let one = try readYAMLDocument(".nan")
        let two = try readYAMLDocument(".NaN")
        #expect(one != two) // Double's == says NaN is unequal to itself
        #expect(one.hasSameContent(as: two))
    }
}
