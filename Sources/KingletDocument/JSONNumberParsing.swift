/// JSON numbers (RFC 8259 §6): `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
extension JSONParser {
    mutating func parseNumber() throws(DocumentError) -> Value {
        let start = position
        let numberStart = offset
        if input[offset] == ASCII.minus { offset += 1 }
        guard offset < input.count, isDigit(input[offset]) else {
            throw error("expected a digit after '-', found " + found())
        }
        if input[offset] == ASCII.zero {
            offset += 1
            if offset < input.count && isDigit(input[offset]) {
                throw error("a number cannot have a leading zero", at: start)
            }
        } else {
            skipDigits()
        }
        var isInteger = true
        if offset < input.count && input[offset] == ASCII.dot {
            isInteger = false
            offset += 1
            guard offset < input.count, isDigit(input[offset]) else {
                throw error("expected a digit after '.' in a number, found " + found())
            }
            skipDigits()
        }
        if offset < input.count && (input[offset] == ASCII.lowerE || input[offset] == ASCII.upperE) {
            isInteger = false
            offset += 1
            if offset < input.count && (input[offset] == ASCII.plus || input[offset] == ASCII.minus) { offset += 1 }
            guard offset < input.count, isDigit(input[offset]) else {
                throw error("expected a digit in the exponent of a number, found " + found())
            }
            skipDigits()
        }
        let text = UnsafeBufferPointer(rebasing: input[numberStart..<offset])
        if isInteger, let integer = Self.exactInteger(text) { return .integer(integer) }
        switch DoubleParsing.parse(text) {
        case .value(let value): return .double(value)
        case .overflow: throw error("number is out of range of a 64-bit float (at most about 1.8e308)", at: start)
        case .invalid: throw error("invalid number", at: start)
        }
    }

    mutating func skipDigits() {
        while offset < input.count && isDigit(input[offset]) { offset += 1 }
    }

    func isDigit(_ byte: UInt8) -> Bool { byte >= ASCII.zero && byte <= ASCII.nine }

    /// The value of an optionally negative run of decimal digits, when it fits Int64.
    /// Accumulates negatively so Int64.min fits.
    static func exactInteger(_ text: UnsafeBufferPointer<UInt8>) -> Int64? {
        var index = 0
        let negative = text.first == ASCII.minus
        if negative { index = 1 }
        var value: Int64 = 0
        while index < text.count {
            let (shifted, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (next, overflow2) = shifted.subtractingReportingOverflow(Int64(text[index] - ASCII.zero))
            if overflow1 || overflow2 { return nil }
            value = next
            index += 1
        }
        if negative { return value }
        return value == Int64.min ? nil : -value
    }
}
