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
