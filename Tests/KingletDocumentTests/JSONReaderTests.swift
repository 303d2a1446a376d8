import KingletDocument
import Testing

@Suite struct JSONReaderTests {
    @Test func objectsKeepDocumentOrderAndEveryNodeAndKeyHasItsPosition() throws {
        let node = try readJSON("""
        {
          "name": "web",
          "ports": [80, 443],
          "empty": {}
        }
        """)
        #expect(node.position == at(1, 1))
        guard case .object(let members) = node.value else { Issue.record("not an object"); return }
        #expect(members.map(\.key) == ["name", "ports", "empty"])
        #expect(members[0].keyPosition == at(2, 3))
        #expect(members[0].node.position == at(2, 11))
        #expect(members[1].keyPosition == at(3, 3))
        #expect(members[1].node.position == at(3, 12))
        guard case .array(let ports) = members[1].node.value else { Issue.record("not an array"); return }
        #expect(ports.map(\.position) == [at(3, 13), at(3, 17)])
        #expect(members[2].node.position == at(4, 12))
        #expect(Plain(node) == .object([("name", .string("web")), ("ports", .array([.int(80), .int(443)])), ("empty", .object([]))]))
    }

    @Test func everyEscapeDecodes() throws {
        let node = try readJSON(#""\" \\ \/ \b \f \n \r \t \u0041 \u00e9 \u20AC \ud83d\ude00 \u0000""#)
        #expect(node.value == .string("\" \\ / \u{8} \u{C} \n \r \t A é € 😀 \u{0}"))
    }

    @Test func rawUTF8PassesThroughAndColumnsCountBytes() throws {
        let node = try readJSON(#"["é😀", 1]"#)
        guard case .array(let items) = node.value else { Issue.record("not an array"); return }
        #expect(items[0].value == .string("é😀"))
        // '[' '"' é (2 bytes) 😀 (4 bytes) '"' ',' ' ' puts 1 at byte 12.
        #expect(items[1].position == at(1, 12))
    }

    @Test func stringsWithAndWithoutEscapesMixInOneDocument() throws {
        let node = try readJSON(#"{"plain": "abc", "escaped": "a\tb", "after": "xyz"}"#)
        #expect(Plain(node) == .object([("plain", .string("abc")), ("escaped", .string("a\tb")), ("after", .string("xyz"))]))
    }

    @Test(arguments: [
        ("0", Plain.int(0)),
        ("-0", .int(0)), // an integer literal: the sign of zero is not kept
        ("9223372036854775807", .int(Int64.max)),
        ("-9223372036854775808", .int(Int64.min)),
        ("9223372036854775808", .double(0x1p63)),
        ("-9223372036854775809", .double(-0x1p63)), // the nearest double
        ("1.5", .double(1.5)),
        ("-0.0", .double(-0.0)),
        ("1e2", .double(100)),
        ("1E-2", .double(0.01)),
        ("2.5e+3", .double(2500)),
        ("0.1", .double(0.1)),
        ("1.7976931348623157e308", .double(.greatestFiniteMagnitude)),
        ("5e-324", .double(.leastNonzeroMagnitude)),
        ("1e-400", .double(0)), // underflow rounds to zero, as strtod and Go do
        ("123456789012345678901234567890", .double(1.2345678901234568e29)),
    ])
    func numbersReadAsIntegerWhenExactElseDouble(text: String, expected: Plain) throws {
        let value = Plain(try readJSON(text))
        #expect(value.isSameKind(as: expected) && value == expected)
        if case .double(let number) = value, case .double(let wanted) = expected {
            #expect(number.sign == wanted.sign)
        }
    }

    @Test func whitespaceIncludesTabsAndCarriageReturnsAndLinesCountLineFeeds() throws {
        let node = try readJSON("\t{\r\n\t\"a\" :\r\n  true }\r\n")
        guard case .object(let members) = node.value else { Issue.record("not an object"); return }
        #expect(node.position == at(1, 2))
        #expect(members[0].keyPosition == at(2, 2))
        #expect(members[0].node.position == at(3, 3))
    }

    @Test func aLeadingByteOrderMarkIsSkippedAndColumnsStartAfterIt() throws {
        let node = try JSONReader().parseDocument([0xEF, 0xBB, 0xBF] + Array(" [1]".utf8), file: "bom.json")
        #expect(node.position == at(1, 2))
        #expect(Plain(node) == .array([.int(1)]))
    }

    @Test func bytesRawBuffersAndStringsReadAlike() throws {
        let text = #"{"a": [1, "two", null]}"#
        let fromString = try readJSON(text)
        let fromBytes = try JSONReader().parseDocument(Array(text.utf8))
        let fromBuffer = try Array(text.utf8).withUnsafeBytes { raw in
            try JSONReader().parseDocument(raw)
        }
        #expect(fromString == fromBytes)
        #expect(fromString == fromBuffer)
    }

    @Test func nestingUpToTheLimitReads() throws {
        let deep = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        _ = try readJSON(deep)
        let deepObjects = String(repeating: #"{"a":"#, count: 64) + "1" + String(repeating: "}", count: 64)
        _ = try readJSON(deepObjects)
    }

    @Test func nestingBeyondTheLimitIsRejectedAtTheBracket() {
        let deep = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        #expect(summary(jsonError(deep)) == "1:65: objects and arrays nest deeper than 64 levels")
        #expect(summary(jsonError(#"{"a": {"b": [1]}}"#, maxDepth: 2)) == "1:13: objects and arrays nest deeper than 2 levels")
    }

    @Test func hostileNestingFailsFastWithoutExhaustingTheStack() {
        let hostile = String(repeating: "[", count: 200_000)
        #expect(summary(jsonError(hostile)) == "1:65: objects and arrays nest deeper than 64 levels")
        #expect(summary(jsonError(String(repeating: "[", count: 2_000), maxDepth: 100_000)).hasSuffix("nest deeper than 1024 levels"))
    }

    @Test func errorsNameTheFile() {
        #expect(jsonError("[1,]")?.description == "test.json:1:4: expected a value after ',' (an object, array, string, number, true, false or null), found ']'")
    }
}
