import KingletDocument
import Testing

func at(_ line: Int, _ column: Int) -> SourcePosition { SourcePosition(line: line, column: column) }

func readJSON(_ text: String, maxDepth: Int = 64) throws(DocumentError) -> Node {
    try JSONReader(maxDepth: maxDepth).parseDocument(text, file: "test.json")
}

func readYAML(_ text: String, maxDepth: Int = 64, maxNodes: Int = 100_000) throws(DocumentError) -> [Node] {
    try YAMLReader(maxDepth: maxDepth, maxNodes: maxNodes).parseDocuments(text, file: "test.yaml")
}

/// The one document of `text`.
func readYAMLDocument(_ text: String) throws(DocumentError) -> Node {
    try YAMLReader().parseDocument(text, file: "test.yaml")
}

/// The error reading `text` gives (nil when it reads).
func jsonError(_ text: String, maxDepth: Int = 64) -> DocumentError? {
    do {
        _ = try readJSON(text, maxDepth: maxDepth)
        return nil
    } catch {
        return error
    }
}

func jsonError(bytes: [UInt8]) -> DocumentError? {
    do {
        _ = try JSONReader().parseDocument(bytes, file: "test.json")
        return nil
    } catch {
        return error
    }
}

func yamlError(_ text: String, maxDepth: Int = 64, maxNodes: Int = 100_000) -> DocumentError? {
    do {
        _ = try readYAML(text, maxDepth: maxDepth, maxNodes: maxNodes)
        return nil
    } catch {
        return error
    }
}

/// "line:column: message", the parts of an error tests pin.
func summary(_ error: DocumentError?) -> String {
    guard let error else { return "no error" }
    let place = error.position.map { "\($0.line):\($0.column)" } ?? "-"
    return place + ": " + error.message
}

/// A tree without positions, for writing expected values compactly.
indirect enum Plain: Equatable, CustomStringConvertible, Sendable {
    case null, bool(Bool), int(Int64), double(Double), string(String)
    case array([Plain])
    case object([(String, Plain)])

    static func == (a: Plain, b: Plain) -> Bool {
        node(a).hasSameContent(as: node(b))
    }

    /// Same case at the top (== alone treats .int(1) and .double(1) as different anyway,
    /// this makes the intent explicit in number tests).
    func isSameKind(as other: Plain) -> Bool {
        switch (self, other) {
        case (.null, .null), (.bool, .bool), (.int, .int), (.double, .double), (.string, .string), (.array, .array), (.object, .object): return true
        default: return false
        }
    }

    var description: String {
        var writer = JSONWriter()
        writer.write(Plain.node(self))
        return writer.text
    }

    static func node(_ plain: Plain) -> Node {
        switch plain {
        case .null: return Node(.null)
        case .bool(let flag): return Node(.bool(flag))
        case .int(let number): return Node(.integer(number))
        case .double(let number): return Node(.double(number))
        case .string(let text): return Node(.string(text))
        case .array(let items): return Node(.array(items.map(node)))
        case .object(let members):
            return Node(.object(members.map { Member(key: $0.0, keyPosition: at(0, 0), node: node($0.1)) }))
        }
    }

    init(_ node: Node) {
        switch node.value {
        case .null: self = .null
        case .bool(let flag): self = .bool(flag)
        case .integer(let number): self = .int(number)
        case .double(let number): self = .double(number)
        case .string(let text): self = .string(text)
        case .array(let items): self = .array(items.map(Plain.init))
        case .object(let members): self = .object(members.map { ($0.key, Plain($0.node)) })
        }
    }
}
