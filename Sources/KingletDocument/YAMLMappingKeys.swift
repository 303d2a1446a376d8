/// Mapping keys that are not strings become strings as sigs.k8s.io/yaml's
/// convertToJSONableObject makes them: integers in decimal, booleans as "true"/"false",
/// floats with Go's strconv.FormatFloat(key, 'g', -1, 32) (float32 precision!) and
/// ".inf", "-.inf", ".nan". A null key, or a mapping or sequence as a key, is an error
/// there and here.
enum YAMLMappingKeys {
    /// The key text for a resolved key value, or nil when the value cannot be a key.
    static func text(for value: Value) -> String? {
        switch value {
        case .string(let text): return text
        case .integer(let number): return String(number)
        case .bool(let flag): return flag ? "true" : "false"
        case .double(let number): return goFloat32Text(number)
        case .null, .array, .object: return nil
        }
    }

    /// Go's FormatFloat(value, 'g', -1, 32): the shortest digits that identify the float32,
    /// in %e form when the decimal exponent is below -4 or at least 6 ("1e+06",
    /// "1.5e-05"), plain otherwise ("123456", "0.001").
    static func goFloat32Text(_ value: Double) -> String {
        if value.isNaN { return ".nan" }
        let single = Float(value)
        if single == .infinity { return ".inf" }
        if single == -.infinity { return "-.inf" }
        let (negative, digits, pointPosition) = shortestDigits(single)
        var out: [UInt8] = []
        if negative { out.append(ASCII.minus) }
        guard !digits.isEmpty else {
            out.append(ASCII.zero)
            return String(decoding: out, as: UTF8.self)
        }
        let exponent = pointPosition - 1
        if exponent < -4 || exponent >= 6 {
            out.append(digits[0])
            if digits.count > 1 {
                out.append(ASCII.dot)
                out.append(contentsOf: digits[1...])
            }
            out.append(ASCII.lowerE)
            out.append(exponent < 0 ? ASCII.minus : ASCII.plus)
            let magnitude = exponent.magnitude
            if magnitude < 10 { out.append(ASCII.zero) }
            out.append(contentsOf: String(magnitude).utf8)
        } else if pointPosition <= 0 {
            out.append(ASCII.zero)
            out.append(ASCII.dot)
            out.append(contentsOf: repeatElement(ASCII.zero, count: -pointPosition))
            out.append(contentsOf: digits)
        } else {
            for index in 0..<max(pointPosition, digits.count) {
                if index == pointPosition { out.append(ASCII.dot) }
                out.append(index < digits.count ? digits[index] : ASCII.zero)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The shortest round-trip digits of `value` (Swift's description finds them) without
    /// leading or trailing zeros, and where the decimal point goes: value = 0.digits × 10^point.
    static func shortestDigits(_ value: Float) -> (negative: Bool, digits: [UInt8], point: Int) {
        let text = Array(value.description.utf8)
        var negative = false
        var digits: [UInt8] = []
        var integerDigits = 0
        var seenPoint = false
        var exponent = 0
        var index = 0
        if index < text.count && text[index] == ASCII.minus {
            negative = true
            index += 1
        }
        while index < text.count {
            let byte = text[index]
            index += 1
            if byte == ASCII.dot {
                seenPoint = true
            } else if byte == ASCII.lowerE || byte == ASCII.upperE {
                var sign = 1
                if index < text.count && (text[index] == ASCII.minus || text[index] == ASCII.plus) {
                    sign = text[index] == ASCII.minus ? -1 : 1
                    index += 1
                }
                var magnitude = 0
                while index < text.count && text[index] >= ASCII.zero && text[index] <= ASCII.nine && magnitude < 10_000 {
                    magnitude = magnitude * 10 + Int(text[index] - ASCII.zero)
                    index += 1
                }
                exponent = sign * magnitude
                break
            } else {
                digits.append(byte)
                if !seenPoint { integerDigits += 1 }
            }
        }
        var point = integerDigits + exponent
        while let first = digits.first, first == ASCII.zero {
            digits.removeFirst()
            point -= 1
        }
        while let last = digits.last, last == ASCII.zero { digits.removeLast() }
        return (negative, digits, point)
    }
}
