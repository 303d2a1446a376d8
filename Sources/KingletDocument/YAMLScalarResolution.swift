/// How YAML scalars become values: the rules of go-yaml v2 (gopkg.in/yaml.v2 v2.4.0,
/// resolve.go and decode.go), which Kubernetes applies to YAML manifests through
/// sigs.k8s.io/yaml's YAMLToJSON (it unmarshals into interface{} with yaml.v2, since
/// sigs.k8s.io/yaml v1.4 through its fork sigs.k8s.io/yaml/goyaml.v2, then writes JSON).
/// The kubelet reads static pod files this way, with no Go target type to coerce into.
///
/// Plain (unquoted), untagged scalars:
/// - null: empty, `~`, `null`, `Null`, `NULL`
/// - booleans, YAML 1.1 style: `y Y yes Yes YES true True TRUE on On ON` and
///   `n N no No NO false False FALSE off Off OFF` (yaml.v2 keeps these; only yaml.v3 dropped
///   yes/no/on/off, and Kubernetes does not use v3 for manifests)
/// - `.inf .Inf .INF +.inf +.Inf +.INF` → +∞, `-.inf -.Inf -.INF` → -∞, `.nan .NaN .NAN` → NaN
/// - integers, after removing every `_`, as Go's strconv.ParseInt(text, 0, 64): optional
///   sign, then `0x`/`0X` hex, `0o`/`0O` octal, `0b`/`0B` binary, a leading `0` octal
///   (`0777` = 511), else decimal. Beyond Int64 but within UInt64 (unsigned, no sign)
///   yaml.v2 gives a uint64; this model has no such integer, so it becomes `.double`.
/// - floats, after removing `_`, matching `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`
///   (so `1.`, `.5`, `1e3` and `08`, which is no valid octal, are floats). A float beyond
///   the double range (`1e400`) fails Go's ParseFloat, so it stays a string.
/// - anything else, including timestamps (yaml.v2 hands timestamps to interface{} targets
///   as strings) and base-60 numbers (never supported), is a string.
///
/// Quoted and block scalars (`"…"`, `'…'`, `|`, `>`) are strings. Explicit tags are honored:
/// `!!str` (and `!!binary`, `!!timestamp`, local tags such as `!foo`, the bare `!`) give
/// the text as a string; `!!int`, `!!float`, `!!bool`, `!!null` resolve the text (quoted or
/// not) and reject text of another kind, as yaml.v2 does ("cannot decode ..."); `!!float`
/// accepts integers and converts them. `!!binary` text is kept as written, not decoded.
enum YAMLScalarResolution {
    /// What a plain scalar's text reads as, before mapping to `Value`.
    enum Plain {
        case null
        case bool(Bool)
        case integer(Int64)
        /// Beyond Int64.max, within UInt64 (yaml.v2's uint64).
        case unsigned(UInt64)
        case float(Double)
        case string
    }

    /// The core schema tags, from an event's resolved tag ("tag:yaml.org,2002:int").
    enum Tag {
        case none, string, integer, float, bool, null, merge
        /// Any other tag: the text stays a string.
        case other

        init(_ tag: UnsafeBufferPointer<UInt8>?) {
            guard let tag, !tag.isEmpty else { self = .none; return }
            let prefix = "tag:yaml.org,2002:".utf8
            guard tag.count > prefix.count, tag.starts(with: prefix) else { self = .other; return }
            let name = String(decoding: UnsafeBufferPointer(rebasing: tag[prefix.count...]), as: UTF8.self)
            switch name {
            case "str": self = .string
            case "int": self = .integer
            case "float": self = .float
            case "bool": self = .bool
            case "null": self = .null
            case "merge": self = .merge
            default: self = .other
            }
        }

        var shortName: String {
            switch self {
            case .none: return ""
            case .string: return "!!str"
            case .integer: return "!!int"
            case .float: return "!!float"
            case .bool: return "!!bool"
            case .null: return "!!null"
            case .merge: return "!!merge"
            case .other: return "a local tag"
            }
        }
    }

    /// A scalar whose tag does not fit its text (`!!int abc`).
    struct TagMismatch: Error {
        let tag: Tag
    }

    /// Resolves one scalar. `plainImplicit` is libyaml's flag: a plain scalar without a tag.
    static func resolve(_ text: UnsafeBufferPointer<UInt8>, tag: Tag, plainImplicit: Bool, scratch: inout [UInt8]) throws(TagMismatch) -> Value {
        switch tag {
        case .none:
            guard plainImplicit else { return .string(string(text)) }
            return value(of: resolvePlain(text, scratch: &scratch), text: text)
        case .string, .other, .merge:
            return .string(string(text))
        case .integer:
            let plain = resolvePlain(text, scratch: &scratch)
            switch plain {
            case .integer, .unsigned: return value(of: plain, text: text)
            default: throw TagMismatch(tag: tag)
            }
        case .float:
            switch resolvePlain(text, scratch: &scratch) {
            case .integer(let number): return .double(Double(number))
            case .unsigned(let number): return .double(Double(number))
            case .float(let number): return .double(number)
            default: throw TagMismatch(tag: tag)
            }
        case .bool:
            guard case .bool(let flag) = resolvePlain(text, scratch: &scratch) else { throw TagMismatch(tag: tag) }
            return .bool(flag)
        case .null:
            guard case .null = resolvePlain(text, scratch: &scratch) else { throw TagMismatch(tag: tag) }
            return .null
        }
    }

    static func string(_ text: UnsafeBufferPointer<UInt8>) -> String {
        String(decoding: text, as: UTF8.self)
    }

    static func value(of plain: Plain, text: UnsafeBufferPointer<UInt8>) -> Value {
        switch plain {
        case .null: return .null
        case .bool(let flag): return .bool(flag)
        case .integer(let number): return .integer(number)
        case .unsigned(let number): return .double(Double(number))
        case .float(let number): return .double(number)
        case .string: return .string(string(text))
        }
    }

    /// yaml.v2's resolve() for an untagged plain scalar: the first byte hints at the kind.
    static func resolvePlain(_ text: UnsafeBufferPointer<UInt8>, scratch: inout [UInt8]) -> Plain {
        guard let first = text.first else { return .null }
        switch first {
        case ASCII.plus, ASCII.minus, ASCII.zero...ASCII.nine:
            if let word = word(text) { return word }
            return number(text, scratch: &scratch)
        case ASCII.dot:
            if let word = word(text) { return word }
            if isFloatSyntax(text) { return float(text) }
            return .string
        case 0x79, 0x59, 0x6E, 0x4E, 0x74, 0x54, 0x66, 0x46, 0x6F, 0x4F, 0x7E: // yYnNtTfFoO~
            return word(text) ?? .string
        default:
            return .string
        }
    }

    /// The fixed words of yaml.v2's resolve table.
    static func word(_ text: UnsafeBufferPointer<UInt8>) -> Plain? {
        guard text.count <= 5 else { return nil }
        switch String(decoding: text, as: UTF8.self) { // at most 5 bytes: a small String, no allocation
        case "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON": return .bool(true)
        case "n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF": return .bool(false)
        case "~", "null", "Null", "NULL": return .null
        case ".nan", ".NaN", ".NAN": return .float(.nan)
        case ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF": return .float(.infinity)
        case "-.inf", "-.Inf", "-.INF": return .float(-.infinity)
        default: return nil
        }
    }

    /// Integer, then float, with underscores removed first (yaml.v2 strips every '_').
    static func number(_ text: UnsafeBufferPointer<UInt8>, scratch: inout [UInt8]) -> Plain {
        guard text.contains(ASCII.underscore) else { return number(withoutUnderscores: text) }
        scratch.removeAll(keepingCapacity: true)
        for byte in text where byte != ASCII.underscore { scratch.append(byte) }
        return scratch.withUnsafeBufferPointer { number(withoutUnderscores: $0) }
    }

    static func number(withoutUnderscores text: UnsafeBufferPointer<UInt8>) -> Plain {
        if let integer = goInteger(text) { return integer }
        if isFloatSyntax(text) { return float(text) }
        return .string
    }

    static func float(_ text: UnsafeBufferPointer<UInt8>) -> Plain {
        guard case .value(let number) = DoubleParsing.parse(text) else { return .string }
        return .float(number)
    }

    /// Go's strconv.ParseInt(text, 0, 64), then ParseUint(text, 0, 64) (no sign allowed).
    static func goInteger(_ text: UnsafeBufferPointer<UInt8>) -> Plain? {
        guard let first = text.first else { return nil }
        let signed = first == ASCII.plus || first == ASCII.minus
        let digits = UnsafeBufferPointer(rebasing: text[(signed ? 1 : 0)...])
        guard let magnitude = goUnsigned(digits) else { return nil }
        if first == ASCII.minus {
            if magnitude == UInt64(Int64.max) + 1 { return .integer(Int64.min) }
            return magnitude <= UInt64(Int64.max) ? .integer(-Int64(magnitude)) : nil
        }
        if magnitude <= UInt64(Int64.max) { return .integer(Int64(magnitude)) }
        return signed ? nil : .unsigned(magnitude)
    }

    /// Go's strconv.ParseUint(text, 0, 64) on unsigned text: base prefixes 0x, 0o, 0b
    /// (either case, only with a digit after them), a bare leading 0 for octal.
    static func goUnsigned(_ text: UnsafeBufferPointer<UInt8>) -> UInt64? {
        guard !text.isEmpty else { return nil }
        var base: UInt64 = 10
        var index = 0
        if text[0] == ASCII.zero {
            let letter = text.count >= 3 ? text[1] | 0x20 : 0 // lowercase
            switch letter {
            case 0x62: base = 2; index = 2 // b
            case 0x6F: base = 8; index = 2 // o
            case 0x78: base = 16; index = 2 // x
            default: base = 8; index = 1
            }
        }
        var value: UInt64 = 0
        while index < text.count {
            let byte = text[index]
            let digit: UInt64
            switch byte {
            case 0x30...0x39: digit = UInt64(byte - 0x30)
            case 0x61...0x7A: digit = UInt64(byte - 0x61 + 10)
            case 0x41...0x5A: digit = UInt64(byte - 0x41 + 10)
            default: return nil
            }
            guard digit < base else { return nil }
            let (shifted, overflow1) = value.multipliedReportingOverflow(by: base)
            let (next, overflow2) = shifted.addingReportingOverflow(digit)
            if overflow1 || overflow2 { return nil }
            value = next
            index += 1
        }
        return value
    }

    /// `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`, yaml.v2's yamlStyleFloat.
    static func isFloatSyntax(_ text: UnsafeBufferPointer<UInt8>) -> Bool {
        var index = 0
        func digits() -> Int {
            let start = index
            while index < text.count && text[index] >= ASCII.zero && text[index] <= ASCII.nine { index += 1 }
            return index - start
        }
        if index < text.count && (text[index] == ASCII.plus || text[index] == ASCII.minus) { index += 1 }
        if index < text.count && text[index] == ASCII.dot {
            index += 1
            guard digits() > 0 else { return false }
        } else {
            guard digits() > 0 else { return false }
            if index < text.count && text[index] == ASCII.dot {
                index += 1
                _ = digits()
            }
        }
        if index < text.count && (text[index] == ASCII.lowerE || text[index] == ASCII.upperE) {
            index += 1
            if index < text.count && (text[index] == ASCII.plus || text[index] == ASCII.minus) { index += 1 }
            guard digits() > 0 else { return false }
        }
        return index == text.count
    }
}
