import KingletDocument

/// A Kubernetes object (or any JSON value) kept whole: the relay PATCHes and PUTs objects
/// it did not fully model, so unknown fields must survive a read-modify-write.
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    // MARK: Reading and writing

    /// Parses one JSON text (strict RFC 8259). Errors carry line and column.
    public static func parse(_ bytes: [UInt8], file: String = "") throws(DocumentError) -> JSONValue {
        JSONValue(try JSONReader(maxDepth: 128).parseDocument(bytes, file: file).value)
    }

    public static func parse(_ text: String, file: String = "") throws(DocumentError) -> JSONValue {
        JSONValue(try JSONReader(maxDepth: 128).parseDocument(text, file: file).value)
    }

    /// Converts a document tree (from the JSON or YAML reader).
    public init(_ value: Value) {
        switch value {
        case .null: self = .null
        case .bool(let flag): self = .bool(flag)
        case .integer(let number): self = .int(number)
        case .double(let number): self = .double(number)
        case .string(let text): self = .string(text)
        case .array(let items): self = .array(items.map { JSONValue($0.value) })
        case .object(let members):
            var object: [String: JSONValue] = [:]
            object.reserveCapacity(members.count)
            for member in members { object[member.key] = JSONValue(member.node.value) }
            self = .object(object)
        }
    }

    /// Compact JSON with object keys sorted: the same value always gives the same bytes,
    /// which the spec hash and the "publish only differences" rule rely on.
    public var compactBytes: [UInt8] {
        var writer = JSONWriter(capacity: 256)
        write(into: &writer)
        return writer.bytes
    }

    public var compactText: String { String(decoding: compactBytes, as: UTF8.self) }

    func write(into writer: inout JSONWriter) {
        switch self {
        case .null: writer.null()
        case .bool(let flag): writer.bool(flag)
        case .int(let number): writer.integer(number)
        case .double(let number): writer.double(number)
        case .string(let text): writer.string(text)
        case .array(let items):
            writer.beginArray()
            for item in items { item.write(into: &writer) }
            writer.endArray()
        case .object(let members):
            writer.beginObject()
            for key in members.keys.sorted() {
                writer.key(key)
                members[key]!.write(into: &writer)
            }
            writer.endObject()
        }
    }

    // MARK: Access

    public subscript(key: String) -> JSONValue? {
        get {
            guard case .object(let members) = self else { return nil }
            return members[key]
        }
        set {
            guard case .object(var members) = self else {
                if let newValue { self = .object([key: newValue]) }
                return
            }
            members[key] = newValue
            self = .object(members)
        }
    }

    /// The value at a path of keys, e.g. `object[path: "metadata", "name"]`.
    public subscript(path keys: String...) -> JSONValue? {
        var current: JSONValue? = self
        for key in keys { current = current?[key] }
        return current
    }

    public var stringValue: String? { if case .string(let text) = self { return text } else { return nil } }
    public var boolValue: Bool? { if case .bool(let flag) = self { return flag } else { return nil } }
    public var intValue: Int64? {
        switch self {
        case .int(let number): return number
        case .double(let number) where number == number.rounded() && abs(number) < 9e18: return Int64(number)
        default: return nil
        }
    }
    public var arrayValue: [JSONValue]? { if case .array(let items) = self { return items } else { return nil } }
    public var objectValue: [String: JSONValue]? { if case .object(let members) = self { return members } else { return nil } }
    public var isNull: Bool { if case .null = self { return true } else { return false } }

    // MARK: Object metadata

    public var name: String? { self[path: "metadata", "name"]?.stringValue }
    public var namespace: String? { self[path: "metadata", "namespace"]?.stringValue }
    public var uid: String? { self[path: "metadata", "uid"]?.stringValue }
    public var resourceVersion: String? { self[path: "metadata", "resourceVersion"]?.stringValue }
    public var labels: [String: String] {
        var labels: [String: String] = [:]
        for (key, value) in self[path: "metadata", "labels"]?.objectValue ?? [:] {
            if let text = value.stringValue { labels[key] = text }
        }
        return labels
    }
    public var annotations: [String: String] {
        var annotations: [String: String] = [:]
        for (key, value) in self[path: "metadata", "annotations"]?.objectValue ?? [:] {
            if let text = value.stringValue { annotations[key] = text }
        }
        return annotations
    }
    /// "namespace/name" for namespaced objects, "name" otherwise (the store's key).
    public var storeKey: String {
        let name = self.name ?? ""
        if let namespace, !namespace.isEmpty { return namespace + "/" + name }
        return name
    }
}

// No ExpressibleByNilLiteral: `cond ? value : nil` must stay an Optional, not `.null`.
extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .int(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
}

extension JSONValue: CustomStringConvertible {
    public var description: String { compactText }
}
