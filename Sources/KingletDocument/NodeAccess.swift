/// Small conveniences for code that reads models out of nodes.
extension Value {
    /// The kind of value, for messages: "null", "a boolean", "an integer", "a number",
    /// "a string", "a sequence" ... as in "expected a string, found a number".
    public var kindDescription: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .integer: return "an integer"
        case .double: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }

    /// Whether two values are equal, ignoring every position inside them. Unlike `==`, NaN
    /// equals NaN (a document compared with itself is the same).
    public func hasSameContent(as other: Value) -> Bool {
        switch (self, other) {
        case (.null, .null): return true
        case (.bool(let a), .bool(let b)): return a == b
        case (.integer(let a), .integer(let b)): return a == b
        case (.double(let a), .double(let b)): return a == b || (a.isNaN && b.isNaN)
        case (.string(let a), .string(let b)): return a == b
        case (.array(let a), .array(let b)):
            guard a.count == b.count else { return false }
            for index in a.indices where !a[index].value.hasSameContent(as: b[index].value) { return false }
            return true
        case (.object(let a), .object(let b)):
            guard a.count == b.count else { return false }
            for index in a.indices {
                guard a[index].key == b[index].key, a[index].node.value.hasSameContent(as: b[index].node.value) else { return false }
            }
            return true
        default:
            return false
        }
    }
}

extension Node {
    /// The member `key` of an object node; nil when absent or when this is no object.
    public func objectMember(_ key: String) -> Member? {
        guard case .object(let members) = value else { return nil }
        for member in members where member.key == key { return member }
        return nil
    }

    /// Whether two nodes hold the same value, ignoring positions (see Value.hasSameContent).
    public func hasSameContent(as other: Node) -> Bool {
        value.hasSameContent(as: other.value)
    }
}
