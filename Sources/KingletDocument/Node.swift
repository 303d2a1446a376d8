/// KingletDocument: the documents the agent reads and writes: Kubernetes objects and its
/// own config, as JSON or YAML. Both readers build the same tree of `Node`s, each carrying
/// its source position, so a model decoder can name file, line and column in its errors.

/// A 1-based line and column in a source text (columns count bytes of UTF-8).
public struct SourcePosition: Equatable, Hashable, Sendable {
    public var line: Int
    public var column: Int
    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }
}

/// One value of a document, where it was found.
public struct Node: Equatable {
    public var value: Value
    public var position: SourcePosition

    public init(_ value: Value, at position: SourcePosition = SourcePosition(line: 0, column: 0)) {
        self.value = value
        self.position = position
    }
}

/// The JSON data model, which YAML documents are resolved into (as Kubernetes does).
public enum Value: Equatable {
    case null
    case bool(Bool)
    /// A number that fits Int64 exactly.
    case integer(Int64)
    /// Any other number.
    case double(Double)
    case string(String)
    case array([Node])
    /// Members in document order; keys are unique (readers reject duplicates).
    case object([Member])
}

/// One key of an object.
public struct Member: Equatable {
    public var key: String
    public var keyPosition: SourcePosition
    public var node: Node

    public init(key: String, keyPosition: SourcePosition, node: Node) {
        self.key = key
        self.keyPosition = keyPosition
        self.node = node
    }
}

/// A document that cannot be read or does not fit the model expected of it.
public struct DocumentError: Error, Equatable {
    /// The file, when the text came from one ("" otherwise).
    public var file: String
    /// Where the problem is, when it has a place.
    public var position: SourcePosition?
    /// The field path in the model, e.g. "spec.containers[0].image" ("" at the top).
    public var path: String
    /// What was wrong and what was expected, e.g. "expected a string, found a number".
    public var message: String

    public init(file: String = "", position: SourcePosition? = nil, path: String = "", message: String) {
        self.file = file
        self.position = position
        self.path = path
        self.message = message
    }

    /// "pods/web.yaml:12:7: spec.containers[0].image: expected a string, found a number"
    public var description: String {
        var text = file
        if let position {
            text += (text.isEmpty ? "" : ":") + "\(position.line):\(position.column)"
        }
        if !path.isEmpty { text += (text.isEmpty ? "" : ": ") + path }
        return text + (text.isEmpty ? "" : ": ") + message
    }
}
