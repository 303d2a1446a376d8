import KingletDocument
import Testing

@Suite struct YAMLReaderTests {
    @Test func multiDocumentStreamsSkipEmptyDocumentsAndKeepPositions() throws {
        let documents = try readYAML("""
        # the first pod
        apiVersion: v1
        kind: Pod
        ---
        ---
        # only a comment
        ---
        apiVersion: v1
        kind: ConfigMap
        data:
          key: value
        ...
        --- ~
        """)
        #expect(documents.count == 3)
        #expect(documents.map(\.position) == [at(2, 1), at(8, 1), at(13, 5)])
        #expect(Plain(documents[0]) == .object([("apiVersion", .string("v1")), ("kind", .string("Pod"))]))
        #expect(documents[2].value == .null) // an explicit null document is kept
        guard case .object(let members) = documents[1].value else { Issue.record("not a mapping"); return }
        #expect(members.map(\.keyPosition) == [at(8, 1), at(9, 1), at(10, 1)])
        #expect(members[1].node.position == at(9, 7))
        #expect(members[2].node.position == at(11, 3))
        #expect(members[2].node.objectMember("key")?.node.position == at(11, 8))
    }

    @Test func emptyStreamsHaveNoDocuments() throws {
        #expect(try readYAML("").isEmpty)
        #expect(try readYAML("# nothing here\n\n").isEmpty)
        #expect(try readYAML("---\n...\n---\n").isEmpty)
    }

    @Test func theSingleDocumentReaderReadsEmptyAsNullAndRejectsASecondDocument() throws {
        #expect(try readYAMLDocument("# empty config\n") == Node(.null, at: at(1, 1)))
        #expect(Plain(try readYAMLDocument("a: 1\n")) == .object([("a", .int(1))]))
        do {
            _ = try readYAMLDocument("a: 1\n---\nb: 2\n")
            Issue.record("read two documents as one")
        } catch {
            #expect(summary(error) == "3:1: expected one YAML document, found a second")
        }
    }

    @Test func sequencesMappingsAndFlowStyleNest() throws {
        let node = try readYAMLDocument("""
        containers:
          - name: web
            ports: [80, 443]
            env: {A: "1", B: '2'}
          - name: sidecar
        """)
        #expect(Plain(node) == .object([("containers", .array([
            .object([("name", .string("web")), ("ports", .array([.int(80), .int(443)])),
                     ("env", .object([("A", .string("1")), ("B", .string("2"))]))]),
            .object([("name", .string("sidecar"))]),
        ]))]))
        let first = node.objectMember("containers").flatMap { member -> Node? in
            guard case .array(let items) = member.node.value else { return nil }
            return items.first
        }
        #expect(first?.position == at(2, 5))
        #expect(first?.objectMember("ports")?.node.position == at(3, 12))
    }

    @Test func columnsCountBytesOfMultibyteCharacters() throws {
        let node = try readYAMLDocument("- é\n- [é😀, 1]\n")
        guard case .array(let items) = node.value, case .array(let inner) = items[1].value else {
            Issue.record("unexpected shape")
            return
        }
        // "- [" then é (2 bytes), 😀 (4 bytes), ", " puts 1 at byte 12.
        #expect(inner[1].position == at(2, 12))
        #expect(inner[0].value == .string("é😀"))
    }

    @Test func blockScalarsAreStrings() throws {
        let node = try readYAMLDocument("""
        literal: |
          line one
          42
        folded: >-
          a
          b
        """)
        #expect(Plain(node) == .object([("literal", .string("line one\n42\n")), ("folded", .string("a b"))]))
    }

    @Test func aByteOrderMarkIsSkippedAndUTF16IsRejected() throws {
        let node = try YAMLReader().parseDocument([0xEF, 0xBB, 0xBF] + Array("a: 1".utf8))
        #expect(node.objectMember("a")?.node.position == at(1, 4))
        do {
            _ = try YAMLReader().parseDocuments([0xFF, 0xFE, 0x61, 0x00], file: "w.yaml")
            Issue.record("read UTF-16")
        } catch {
            #expect(error.description == "w.yaml:1:1: the text is UTF-16 (it starts with a UTF-16 byte order mark); save it as UTF-8")
        }
    }

    @Test(arguments: [
        ("a: [1, 2\n", "2:1: did not find expected ',' or ']' (while parsing a flow sequence at 1:4)"),
        ("{a: 1", "1:6: did not find expected ',' or '}' (while parsing a flow mapping at 1:1)"),
        ("a:\n\tb: 1\n", "2:1: found character that cannot start any token (while scanning for the next token at 2:1)"),
        ("a: 1\n b: 2\n", "2:3: mapping values are not allowed in this context"),
        ("key: \"unterminated\n", "2:1: found unexpected end of stream (while scanning a quoted scalar at 1:6)"),
        ("- a\nb: 1\n", "2:1: did not find expected '-' indicator (while parsing a block collection at 1:1)"),
        ("[a, b]]", "1:7: did not find expected <document start>"),
        ("a: @b", "1:4: found character that cannot start any token (while scanning for the next token at 1:4)"),
        ("é: [x, @]", "1:9: found character that cannot start any token (while scanning for the next token at 1:9)"),
        ("a: \"\\uD800\"", "1:7: found invalid Unicode character escape code (while parsing a quoted scalar at 1:4)"),
        ("a: b\nc: \u{1}", "2:4: control characters are not allowed (0x01)"),
    ])
    func libyamlErrorsCarryItsProblemAndPosition(text: String, expected: String) {
        #expect(summary(yamlError(text)) == expected)
    }

    @Test(arguments: [
        ([0xFF], "2:4: invalid leading UTF-8 octet (0xFF)"),
        ([0xE2, 0x82], "2:4: incomplete UTF-8 octet sequence"),
        ([0xED, 0xA0, 0x80], "2:4: invalid Unicode character (0xD800)"),
        ([0xC3, 0x28], "2:5: invalid trailing UTF-8 octet (0x28)"),
    ] as [([UInt8], String)])
    func invalidUTF8IsRejectedWithItsPosition(bytes: [UInt8], expected: String) {
        do {
            _ = try YAMLReader().parseDocuments(Array("a: b\nc: ".utf8) + bytes)
            Issue.record("read invalid UTF-8")
        } catch {
            #expect(summary(error) == expected)
        }
    }

    @Test func duplicateKeysAreRejectedAtTheSecondKey() {
        #expect(summary(yamlError("a: 1\nb: 2\na: 3\n")) == "3:1: duplicate key \"a\" (first at 1:1)")
        // Keys compare after resolution, as they would in the JSON form.
        #expect(summary(yamlError("1: a\n\"1\": b\n")) == "2:1: duplicate key \"1\" (first at 1:1)")
        #expect(summary(yamlError("yes: a\ntrue: b\n")) == "2:1: duplicate key \"true\" (first at 1:1)")
    }

    @Test func keysMustBeScalarsThatHaveAStringForm() {
        #expect(summary(yamlError("? [a]\n: 1\n")) == "1:3: a mapping key must be a scalar, found a sequence (complex keys have no JSON form)")
        #expect(summary(yamlError("? {a: 1}\n: 1\n")) == "1:3: a mapping key must be a scalar, found a mapping (complex keys have no JSON form)")
        #expect(summary(yamlError("~: 1\n")) == "1:1: a mapping key must be a string, number or boolean, found null")
        #expect(summary(yamlError("a: 1\n? \n: 2\n")) == "2:2: a mapping key must be a string, number or boolean, found null")
    }

    @Test func nestingBeyondTheLimitIsRejected() throws {
        #expect(summary(yamlError("x: " + String(repeating: "[", count: 70))) == "1:67: mappings and sequences nest deeper than 64 levels")
        _ = try readYAML(String(repeating: "[", count: 64) + String(repeating: "]", count: 64))
        #expect(summary(yamlError("a:\n  b:\n    c: 1\n", maxDepth: 2)) == "3:5: mappings and sequences nest deeper than 2 levels")
        #expect(summary(yamlError(String(repeating: "[", count: 100_000))) == "1:65: mappings and sequences nest deeper than 64 levels")
        #expect(summary(yamlError(String(repeating: "[", count: 2_000), maxDepth: 100_000)) == "1:1025: mappings and sequences nest deeper than 1024 levels")
    }

    @Test func errorsNameTheFile() {
        #expect(yamlError("a: *nope")?.description == "test.yaml:1:4: unknown alias *nope (no anchor &nope before it in this document)")
    }
}
