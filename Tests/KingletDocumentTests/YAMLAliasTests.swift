import KingletDocument
import Testing

@Suite struct YAMLAliasTests {
    @Test func aliasesCopyTheAnchoredNodeWithItsPositions() throws {
        let node = try readYAMLDocument("""
        defaults: &defaults
          cpu: 100m
          memory: 64Mi
        web: *defaults
        port: &port 80
        ports: [*port, *port]
        """)
        #expect(Plain(node) == .object([
            ("defaults", .object([("cpu", .string("100m")), ("memory", .string("64Mi"))])),
            ("web", .object([("cpu", .string("100m")), ("memory", .string("64Mi"))])),
            ("port", .int(80)),
            ("ports", .array([.int(80), .int(80)])),
        ]))
        // libyaml starts an anchored block mapping at its anchor.
        #expect(node.objectMember("web")?.node.position == at(1, 11))
        #expect(node.objectMember("web")?.node.objectMember("cpu")?.node.position == at(2, 8))
    }

    @Test func anAnchorDefinedAgainReplacesTheEarlierOne() throws {
        let node = try readYAMLDocument("a: &x 1\nb: *x\nc: &x 2\nd: *x\n")
        #expect(Plain(node) == .object([("a", .int(1)), ("b", .int(1)), ("c", .int(2)), ("d", .int(2))]))
    }

    @Test func aliasesCanBeKeys() throws {
        let node = try readYAMLDocument("a: &k name\n*k : value\n")
        #expect(Plain(node) == .object([("a", .string("name")), ("name", .string("value"))]))
    }

    @Test func unknownAndSelfReferentialAliasesAreErrors() {
        #expect(summary(yamlError("a: *x\n")) == "1:4: unknown alias *x (no anchor &x before it in this document)")
        #expect(summary(yamlError("a: &x [1, *x]\n")) == "1:11: alias *x refers to a node that contains it")
        #expect(summary(yamlError("a: &x 1\nb: &x {c: *x}\n")) == "2:11: alias *x refers to a node that contains it")
        // Anchors do not reach across documents.
        #expect(summary(yamlError("a: &x 1\n---\nb: *x\n")) == "3:4: unknown alias *x (no anchor &x before it in this document)")
    }

    @Test func aliasBombsStopAtTheNodeCap() {
        var text = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
        for level in 1...9 {
            let previous = "*a\(level - 1)"
            text += "a\(level): &a\(level) [" + Array(repeating: previous, count: 10).joined(separator: ", ") + "]\n"
        }
        #expect(summary(yamlError(text)) == "5:45: document has more than 100000 nodes with its aliases expanded (the limit guards against alias bombs)")
        #expect(summary(yamlError(text, maxNodes: 100)) == "2:45: document has more than 100 nodes with its aliases expanded (the limit guards against alias bombs)")
    }

    @Test func expansionWithinTheCapReads() throws {
        let text = "a: &a [1, 2, 3]\nb: [*a, *a, *a]\n"
        let node = try readYAML(text, maxNodes: 18)
        #expect(node.count == 1)
        // The mapping, the anchored sequence and its 3 items, the outer sequence and
        // 3 copies of 4 nodes: 18 (keys do not count).
        #expect(summary(yamlError(text, maxNodes: 17)) == "2:13: document has more than 17 nodes with its aliases expanded (the limit guards against alias bombs)")
    }

    @Test func aliasesCannotNestDeeperThanTheLimit() {
        let text = "a: &a [[[1]]]\nb: [[*a]]\n"
        #expect(yamlError(text, maxDepth: 6) == nil)
        #expect(summary(yamlError(text, maxDepth: 5)) == "2:6: alias *a nests deeper than 5 levels")
    }

    @Test func mergeKeysBringInMembersThatExplicitKeysOverride() throws {
        let node = try readYAMLDocument("""
        base: &base {cpu: 100m, memory: 64Mi, image: old}
        web:
          image: new
          <<: *base
          memory: 128Mi
        """)
        #expect(Plain(node.objectMember("web")!.node) == .object([
            ("image", .string("new")), ("cpu", .string("100m")), ("memory", .string("128Mi")),
        ]))
    }

    @Test func earlierMergedMappingsWinOverLaterOnes() throws {
        let node = try readYAMLDocument("""
        a: &a {p: 1, q: 1}
        b: &b {q: 2, r: 2}
        c:
          <<: [*a, *b]
          w: 0
        d:
          <<: {inline: true}
        """)
        #expect(Plain(node.objectMember("c")!.node) == .object([("p", .int(1)), ("q", .int(1)), ("r", .int(2)), ("w", .int(0))]))
        #expect(Plain(node.objectMember("d")!.node) == .object([("inline", .bool(true))]))
    }

    @Test func onlyAPlainOrMergeTaggedKeyMerges() throws {
        let node = try readYAMLDocument("\"<<\": {a: 1}\n")
        #expect(Plain(node) == .object([("<<", .object([("a", .int(1))]))]))
        let tagged = try readYAMLDocument("!!merge '<<': {a: 1}\n")
        #expect(Plain(tagged) == .object([("a", .int(1))]))
    }

    @Test func mergeValuesMustBeMappings() {
        #expect(summary(yamlError("<<: 1\n")) == "1:5: a merge key '<<' takes a mapping or a sequence of mappings, found an integer")
        #expect(summary(yamlError("<<: [{a: 1}, [2]]\n")) == "1:14: a merge key '<<' takes a mapping or a sequence of mappings; this item is an array")
    }

    @Test func explicitDuplicatesAreStillRejectedNextToMerges() {
        #expect(summary(yamlError("<<: {a: 1}\nb: 1\nb: 2\n")) == "3:1: duplicate key \"b\" (first at 2:1)")
    }
}
