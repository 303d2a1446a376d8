/// A JSON value as the API server handles objects: parsed from request bodies and etcd
/// values, edited by patches and admission rules, and written back. Integers stay
/// integers (resource versions, grace periods) so they round-trip exactly.
public enum JSON: Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([JSON])
    case object([String: JSON])

    public subscript(key: String) -> JSON? {
        get {
            if case .object(let members) = self { return members[key] }
            return nil
        }
        set {
            guard case .object(var members) = self else { return }
            self = .null
            members[key] = newValue
            self = .object(members)
        }
    }

    /// The value at a dotted path such as `metadata.labels`, if every step exists.
    public func at(_ path: [String]) -> JSON? {
        var value: JSON? = self
        for key in path { value = value?[key] }
        return value
    }

    /// Sets the value at `path`, creating objects on the way; `nil` removes the last key.
    public mutating func set(_ path: [String], _ newValue: JSON?) {
        guard let first = path.first else { return }
        if path.count == 1 { self[first] = newValue; return }
        var child = self[first] ?? .object([:])
        if case .object = child {} else { child = .object([:]) }
        child.set(Array(path.dropFirst()), newValue)
        self[first] = child
    }

    public var stringValue: String? { if case .string(let s) = self { return s }; return nil }
    public var intValue: Int? {
        switch self {
        case .int(let i): return i
        case .double(let d) where d == d.rounded() && abs(d) < 9e15: return Int(d)
        case .string(let s): return Int(s)
        default: return nil
        }
    }
    public var boolValue: Bool? { if case .bool(let b) = self { return b }; return nil }
    public var arrayValue: [JSON]? { if case .array(let a) = self { return a }; return nil }
    public var objectValue: [String: JSON]? { if case .object(let o) = self { return o }; return nil }
    public var isNull: Bool { if case .null = self { return true }; return false }
    public var isObject: Bool { if case .object = self { return true }; return false }
}

extension JSON: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .int(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: JSON...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSON)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
    public init(nilLiteral: ()) { self = .null }
}

/// String-keyed helpers for the maps Kubernetes uses (labels, annotations, data).
extension JSON {
    public var stringMap: [String: String] {
        guard let members = objectValue else { return [:] }
        var map: [String: String] = [:]
        for (key, value) in members { if let s = value.stringValue { map[key] = s } }
        return map
    }
}
