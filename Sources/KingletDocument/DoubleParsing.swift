import CKingletSystem

/// Decimal text to Double through C's strtod: Embedded Swift's `Double(String)` needs a
/// runtime function (_swift_stdlib_strtod_clocale) the embedded standard library lacks.
enum DoubleParsing {
    enum Outcome {
        case value(Double)
        /// Beyond ±Double.greatestFiniteMagnitude.
        case overflow
        case invalid
    }

    /// `text` must already match a decimal number grammar (strtod also reads hex, inf, nan).
    static func parse(_ text: UnsafeBufferPointer<UInt8>) -> Outcome {
        guard let base = text.baseAddress, !text.isEmpty else { return .invalid }
        var result = 0.0
        let status = base.withMemoryRebound(to: CChar.self, capacity: text.count) { chars in
            kinglet_parse_double(chars, text.count, &result)
        }
        switch status {
        case KINGLET_DOUBLE_OK: return .value(result)
        case KINGLET_DOUBLE_OVERFLOW: return .overflow
        default: return .invalid
        }
    }
}

/// Decimal text ("21.5", "-3", "1e3") to Double, in both build modes; nil for anything
/// else (hex, inf, nan, spaces, an empty string). Device values arrive as such strings.
public enum DecimalText {
    public static func double(_ text: String) -> Double? {
        var copy = text
        return copy.withUTF8 { bytes -> Double? in
            guard isDecimal(bytes) else { return nil }
            if case .value(let value) = DoubleParsing.parse(bytes) { return value }
            return nil
        }
    }

    /// sign? digits ('.' digits?)? ([eE] sign? digits)?, or sign? '.' digits ...
    static func isDecimal(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var index = 0
        func digits() -> Int {
            let start = index
            while index < bytes.count && bytes[index] >= ASCII.zero && bytes[index] <= ASCII.nine { index += 1 }
            return index - start
        }
        if index < bytes.count && (bytes[index] == ASCII.minus || bytes[index] == ASCII.plus) { index += 1 }
        var mantissa = digits()
        if index < bytes.count && bytes[index] == UInt8(ascii: ".") {
            index += 1
            mantissa += digits()
        }
        guard mantissa > 0 else { return false }
        if index < bytes.count && (bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E")) {
            index += 1
            if index < bytes.count && (bytes[index] == ASCII.minus || bytes[index] == ASCII.plus) { index += 1 }
            guard digits() > 0 else { return false }
        }
        return index == bytes.count
    }
}
