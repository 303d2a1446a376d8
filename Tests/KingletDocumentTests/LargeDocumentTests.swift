import KingletDocument
import Testing

/// Big inputs read in linear time: positions are computed by walking forward once, never
/// by rescanning from the start (a quadratic walk would take minutes here).
@Suite struct LargeDocumentTests {
    @Test(.timeLimit(.minutes(1)))
    func aLongFlowLineKeepsExactColumns() throws {
        let count = 50_000
        let text = "[" + (0..<count).map { "\"é\($0)\"" }.joined(separator: ", ") + "]"
        let fromYAML = try readYAMLDocument(text)
        let fromJSON = try readJSON(text)
        #expect(fromYAML.hasSameContent(as: fromJSON))
        guard case .array(let viaYAML) = fromYAML.value, case .array(let viaJSON) = fromJSON.value else {
            Issue.record("not arrays")
            return
        }
        #expect(viaYAML.count == count)
        #expect(viaYAML.map(\.position) == viaJSON.map(\.position))
    }

    @Test(.timeLimit(.minutes(1)))
    func manyDocumentsReadInOrder() throws {
        let stream = Array(repeating: PodManifestTests.podYAML, count: 300).joined(separator: "\n---\n")
        let documents = try YAMLReader().parseDocuments(stream, file: "many.yaml")
        #expect(documents.count == 300)
        let lines = PodManifestTests.podYAML.split(separator: "\n", omittingEmptySubsequences: false).count + 1
        #expect(documents.last?.position.line == 299 * lines + 2)
    }

    @Test(.timeLimit(.minutes(1)))
    func aLargeObjectWithManyKeysChecksDuplicatesQuickly() throws {
        let count = 50_000
        let text = "{" + (0..<count).map { "\"k\($0)\": \($0)" }.joined(separator: ", ") + "}"
        guard case .object(let members) = try readJSON(text).value else { Issue.record("not an object"); return }
        #expect(members.count == count)
        let yaml = (0..<count).map { "k\($0): \($0)" }.joined(separator: "\n")
        guard case .object(let yamlMembers) = try readYAMLDocument(yaml).value else { Issue.record("not a mapping"); return }
        #expect(yamlMembers.count == count)
    }
}
