/// One header field as it was given or received.
public struct HTTPHeaderField: Equatable, Sendable {
    public var name: String
    public var value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// Header fields in order, names compared without regard to HTTPASCII case. A name may repeat
/// (`values(of:)` gives every value; `Set-Cookie`, `WWW-Authenticate`, `Link` do).
public struct HTTPHeaders: Equatable, Sendable {
    public private(set) var fields: [HTTPHeaderField]

    public init() { fields = [] }

    public init(_ pairs: [(String, String)]) {
        fields = []
        fields.reserveCapacity(pairs.count)
        for (name, value) in pairs { fields.append(HTTPHeaderField(name: name, value: value)) }
    }

    public var count: Int { fields.count }
    public var isEmpty: Bool { fields.isEmpty }

    /// The first value of `name`, nil when absent.
    public subscript(name: String) -> String? {
        for field in fields where HTTPASCII.equalIgnoringCase(field.name, name) { return field.value }
        return nil
    }

    /// Every value of `name`, in order.
    public func values(of name: String) -> [String] {
        var values: [String] = []
        for field in fields where HTTPASCII.equalIgnoringCase(field.name, name) { values.append(field.value) }
        return values
    }

    public func contains(_ name: String) -> Bool { self[name] != nil }

    /// Adds a field after the others (a repeated name keeps both).
    public mutating func add(_ name: String, _ value: String) {
        fields.append(HTTPHeaderField(name: name, value: value))
    }

    /// Replaces every field named `name` with one holding `value`, where the first was.
    public mutating func set(_ name: String, _ value: String) {
        var kept: [HTTPHeaderField] = []
        kept.reserveCapacity(fields.count + 1)
        var placed = false
        for field in fields {
            if HTTPASCII.equalIgnoringCase(field.name, name) {
                if !placed {
                    kept.append(HTTPHeaderField(name: name, value: value))
                    placed = true
                }
            } else {
                kept.append(field)
            }
        }
        if !placed { kept.append(HTTPHeaderField(name: name, value: value)) }
        fields = kept
    }

    /// Removes every field named `name`.
    public mutating func remove(_ name: String) {
        var kept: [HTTPHeaderField] = []
        kept.reserveCapacity(fields.count)
        for field in fields where !HTTPASCII.equalIgnoringCase(field.name, name) { kept.append(field) }
        fields = kept
    }
}
