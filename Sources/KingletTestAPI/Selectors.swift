/// A `labelSelector` query: `a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a`, `!a`,
/// joined by commas (all must hold).
public struct LabelSelector: Sendable {
    enum Requirement: Sendable {
        case equals(String, String)
        case notEquals(String, String)
        case isIn(String, Set<String>)
        case notIn(String, Set<String>)
        case exists(String)
        case doesNotExist(String)
    }

    let requirements: [Requirement]

    public static let everything = LabelSelector(requirements: [])

    public init(parsing text: String) throws(APIError) {
        var requirements: [Requirement] = []
        for term in Self.splitTerms(text) {
            let term = term.trimmingSpaces
            if term.isEmpty { continue }
            requirements.append(try Self.requirement(term, in: text))
        }
        self.requirements = requirements
    }

    private init(requirements: [Requirement]) { self.requirements = requirements }

    /// Splits at commas outside parentheses.
    static func splitTerms(_ text: String) -> [String] {
        var terms: [String] = []
        var current = ""
        var depth = 0
        for character in text {
            if character == "(" { depth += 1 }
            if character == ")" { depth -= 1 }
            if character == ",", depth == 0 { terms.append(current); current = ""; continue }
            current.append(character)
        }
        terms.append(current)
        return terms
    }

    private static func requirement(_ term: String, in text: String) throws(APIError) -> Requirement {
        func bad(_ why: String) -> APIError { .badRequest("unable to parse requirement: \(why) in label selector \"\(text)\"") }
        if term.hasPrefix("!") {
            let key = String(term.dropFirst()).trimmingSpaces
            guard Self.isKey(key) else { throw bad("invalid label key \"\(key)\"") }
            return .doesNotExist(key)
        }
        if let range = term.range(of: "!=") {
            return .notEquals(String(term[..<range.lowerBound]).trimmingSpaces, String(term[range.upperBound...]).trimmingSpaces)
        }
        if let range = term.range(of: "==") {
            return .equals(String(term[..<range.lowerBound]).trimmingSpaces, String(term[range.upperBound...]).trimmingSpaces)
        }
        if let range = term.range(of: "=") {
            return .equals(String(term[..<range.lowerBound]).trimmingSpaces, String(term[range.upperBound...]).trimmingSpaces)
        }
        let words = term.split(separator: " ", maxSplits: 1).map(String.init)
        if words.count == 2 {
            let key = words[0]
            var rest = words[1].trimmingSpaces
            var negated = false
            if rest.hasPrefix("notin") { negated = true; rest = String(rest.dropFirst(5)) }
            else if rest.hasPrefix("in") { rest = String(rest.dropFirst(2)) }
            else { throw bad("unknown operator in \"\(term)\"") }
            rest = rest.trimmingSpaces
            guard rest.hasPrefix("("), rest.hasSuffix(")") else { throw bad("expected a parenthesised set in \"\(term)\"") }
            let values = Set(rest.dropFirst().dropLast().split(separator: ",").map { String($0).trimmingSpaces })
            return negated ? .notIn(key, values) : .isIn(key, values)
        }
        guard Self.isKey(term) else { throw bad("invalid label key \"\(term)\"") }
        return .exists(term)
    }

    static func isKey(_ key: String) -> Bool {
        !key.isEmpty && key.allSatisfy { $0.isLetter || $0.isNumber || "-_./".contains($0) }
    }

    public func matches(_ labels: [String: String]) -> Bool {
        for requirement in requirements {
            switch requirement {
            case .equals(let key, let value): if labels[key] != value { return false }
            case .notEquals(let key, let value): if labels[key] == value { return false }
            case .isIn(let key, let values): guard let value = labels[key], values.contains(value) else { return false }
            case .notIn(let key, let values): if let value = labels[key], values.contains(value) { return false }
            case .exists(let key): if labels[key] == nil { return false }
            case .doesNotExist(let key): if labels[key] != nil { return false }
            }
        }
        return true
    }
}

/// A `fieldSelector` query: `field=value`, `field==value`, `field!=value`, joined by commas.
/// Only the fields the real server indexes for the resource are accepted (400 otherwise).
public struct FieldSelector: Sendable {
    let requirements: [(field: String, value: String, equal: Bool)]

    public static let everything = FieldSelector(requirements: [])

    private init(requirements: [(field: String, value: String, equal: Bool)]) { self.requirements = requirements }

    public init(parsing text: String, for resource: ResourceType) throws(APIError) {
        var requirements: [(field: String, value: String, equal: Bool)] = []
        for term in text.split(separator: ",").map({ String($0).trimmingSpaces }) where !term.isEmpty {
            let field: String, value: String, equal: Bool
            if let range = term.range(of: "!=") {
                field = String(term[..<range.lowerBound]); value = String(term[range.upperBound...]); equal = false
            } else if let range = term.range(of: "==") {
                field = String(term[..<range.lowerBound]); value = String(term[range.upperBound...]); equal = true
            } else if let range = term.range(of: "=") {
                field = String(term[..<range.lowerBound]); value = String(term[range.upperBound...]); equal = true
            } else {
                throw .badRequest("invalid selector: '\(text)'; can't understand '\(term)'")
            }
            let name = field.trimmingSpaces
            guard name == "metadata.name" || name == "metadata.namespace" || resource.fieldLabels.contains(name) else {
                throw .badRequest("field label not supported: \(name)")
            }
            requirements.append((name, value.trimmingSpaces, equal))
        }
        self.requirements = requirements
    }

    public var isEverything: Bool { requirements.isEmpty }

    /// The name a `metadata.name=x` term pins, so a list can read one key.
    public var exactName: String? { requirements.first { $0.field == "metadata.name" && $0.equal }?.value }

    public func matches(_ object: JSON) -> Bool {
        for requirement in requirements {
            let actual = Self.value(of: requirement.field, in: object)
            if (actual == requirement.value) != requirement.equal { return false }
        }
        return true
    }

    /// The field's value as the real server's field sets spell it ("" when unset).
    static func value(of field: String, in object: JSON) -> String {
        if field == "source" { return object.at(["source", "component"])?.stringValue ?? "" }
        if field == "spec.unschedulable" || field == "spec.hostNetwork" {
            return object.at(field.split(separator: ".").map(String.init))?.boolValue == true ? "true" : "false"
        }
        switch object.at(field.split(separator: ".").map(String.init)) {
        case .string(let s)?: return s
        case .int(let i)?: return String(i)
        case .bool(let b)?: return b ? "true" : "false"
        default: return ""
        }
    }
}

extension String {
    var trimmingSpaces: String {
        var scalars = Substring(self)
        while scalars.first == " " { scalars = scalars.dropFirst() }
        while scalars.last == " " { scalars = scalars.dropLast() }
        return String(scalars)
    }
}
