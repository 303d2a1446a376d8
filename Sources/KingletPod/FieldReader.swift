/// KingletPod: the Kubernetes Pod model the agent runs, read from documents (JSON from the
/// cloud, YAML or JSON static pods), validated like the API server would, with errors that
/// name the file, line, column and field.
import KingletDocument

/// A node being read into a model, with the field path that led to it (for errors).
public struct FieldReader {
    public let node: Node
    public let path: String
    public let file: String

    public init(_ node: Node, path: String = "", file: String = "") {
        self.node = node
        self.path = path
        self.file = file
    }

    public func error(_ message: String) -> DocumentError {
        DocumentError(file: file, position: node.position, path: path, message: message)
    }

    /// "expected a string, found a number"
    public func mismatch(_ expected: String) -> DocumentError {
        error("expected \(expected), found \(FieldReader.kindName(node.value))")
    }

    public var isNull: Bool {
        if case .null = node.value { return true }
        return false
    }

    public func object() throws(DocumentError) -> ObjectReader {
        guard case .object(let members) = node.value else { throw mismatch("an object") }
        return ObjectReader(members: members, reader: self)
    }

    public func array() throws(DocumentError) -> [FieldReader] {
        guard case .array(let items) = node.value else { throw mismatch("a list") }
        var readers: [FieldReader] = []
        readers.reserveCapacity(items.count)
        for (index, item) in items.enumerated() {
            readers.append(FieldReader(item, path: path + "[\(index)]", file: file))
        }
        return readers
    }

    public func string() throws(DocumentError) -> String {
        guard case .string(let text) = node.value else { throw mismatch("a string") }
        return text
    }

    public func integer() throws(DocumentError) -> Int64 {
        switch node.value {
        case .integer(let value): return value
        case .double(let value):
            // JSON from other encoders may write whole numbers as 3.0.
            if let whole = Int64(exactly: value) { return whole }
            throw error("expected an integer, found \(value)")
        default: throw mismatch("an integer")
        }
    }

    public func bool() throws(DocumentError) -> Bool {
        guard case .bool(let value) = node.value else { throw mismatch("true or false") }
        return value
    }

    /// A Kubernetes IntOrString (ports, probe ports, quantities written as numbers).
    public func intOrString() throws(DocumentError) -> IntOrString {
        switch node.value {
        case .integer(let value): return .int(value)
        case .string(let text): return .string(text)
        default: throw mismatch("an integer or a string")
        }
    }

    public static func kindName(_ value: Value) -> String {
        switch value {
        case .null: return "null"
        case .bool: return "a boolean"
        case .integer, .double: return "a number"
        case .string: return "a string"
        case .array: return "a list"
        case .object: return "an object"
        }
    }
}

/// A Kubernetes IntOrString.
public enum IntOrString: Equatable {
    case int(Int64)
    case string(String)
}

/// The members of an object node, read by key. A key that is absent or null reads as nil,
/// as the API server treats omitted and null fields alike.
public struct ObjectReader {
    public let members: [Member]
    public let reader: FieldReader

    public func field(_ key: String) -> FieldReader? {
        for member in members where member.key == key {
            let field = FieldReader(member.node, path: reader.path.isEmpty ? key : reader.path + "." + key, file: reader.file)
            return field.isNull ? nil : field
        }
        return nil
    }

    public func required(_ key: String) throws(DocumentError) -> FieldReader {
        guard let field = field(key) else {
            let path = reader.path.isEmpty ? key : reader.path + "." + key
            throw DocumentError(file: reader.file, position: reader.node.position, path: path, message: "required field is missing")
        }
        return field
    }

    public func string(_ key: String) throws(DocumentError) -> String? { try field(key)?.string() }
    public func integer(_ key: String) throws(DocumentError) -> Int64? { try field(key)?.integer() }
    public func bool(_ key: String) throws(DocumentError) -> Bool? { try field(key)?.bool() }
    public func object(_ key: String) throws(DocumentError) -> ObjectReader? { try field(key)?.object() }
    public func array(_ key: String) throws(DocumentError) -> [FieldReader] { try field(key)?.array() ?? [] }

    public func requiredString(_ key: String) throws(DocumentError) -> String {
        let text = try required(key).string()
        if text.isEmpty { throw try required(key).error("must not be empty") }
        return text
    }

    public func stringList(_ key: String) throws(DocumentError) -> [String] {
        var strings: [String] = []
        for item in try array(key) { strings.append(try item.string()) }
        return strings
    }

    /// A map of strings (labels, annotations, resource lists), in document order.
    public func stringMap(_ key: String) throws(DocumentError) -> [(String, String)] {
        guard let object = try object(key) else { return [] }
        var pairs: [(String, String)] = []
        for member in object.members {
            guard let field = object.field(member.key) else { continue }
            pairs.append((member.key, try field.string()))
        }
        return pairs
    }
}
