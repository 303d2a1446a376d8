/// Kubernetes resource quantities ("500m", "0.5", "64Mi", "1G", "129e6"), converted to an
/// integer count of some unit (millicores, bytes), rounding up as the API server does.
///
/// Grammar (k8s.io/apimachinery resource.Quantity): a signed decimal number, then one
/// optional suffix: binary Ki Mi Gi Ti Pi Ei (powers of 1024), decimal n u m k M G T P E
/// (powers of 1000), or an exponent e<int> / E<int>. Exact integer arithmetic, no floats.
public enum Quantity {
    public enum Unit {
        /// CPU: 1 core = 1000.
        case millis
        /// Memory: plain bytes.
        case units

        var scale: Int64 { self == .millis ? 1000 : 1 }
    }

    /// The quantity in `unit`, rounded up, or what is wrong with the text.
    public static func parse(_ text: String, as unit: Unit) -> Result<Int64, QuantityError> {
        var bytes = Array(text.utf8)[...]
        guard !bytes.isEmpty else { return .failure(QuantityError("empty quantity")) }
        var negative = false
        if bytes.first == UInt8(ascii: "+") || bytes.first == UInt8(ascii: "-") {
            negative = bytes.first == UInt8(ascii: "-")
            bytes = bytes.dropFirst()
        }
        var digits: Int64 = 0
        var significantDigits = 0
        var sawDigit = false
        var fractionDigits = 0
        var seenPoint = false
        while let byte = bytes.first {
            if byte == UInt8(ascii: ".") && !seenPoint {
                seenPoint = true
            } else if byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") {
                // 18 significant digits always fit an Int64; more precision than that is
                // meaningless for a resource limit.
                if significantDigits >= 18 { return .failure(QuantityError("too many digits in '\(text)'")) }
                digits = digits * 10 + Int64(byte - UInt8(ascii: "0"))
                if digits > 0 { significantDigits += 1 }
                if seenPoint { fractionDigits += 1 }
                sawDigit = true
            } else {
                break
            }
            bytes = bytes.dropFirst()
        }
        if !sawDigit { return .failure(QuantityError("'\(text)' does not start with a number")) }
        guard let (binaryPower, decimalExponent) = suffix(String(decoding: bytes, as: UTF8.self)) else {
            return .failure(QuantityError("unknown suffix in '\(text)' (expected one of Ki Mi Gi Ti Pi Ei n u m k M G T P E, or e<exponent>)"))
        }
        if negative && digits != 0 { return .failure(QuantityError("'\(text)' is negative")) }

        var numerator = digits
        var denominatorExponent = fractionDigits
        guard multiply(&numerator, by: unit.scale) else { return .failure(tooLarge(text)) }
        for _ in 0..<binaryPower {
            guard multiply(&numerator, by: 1024) else { return .failure(tooLarge(text)) }
        }
        if decimalExponent >= 0 {
            for _ in 0..<decimalExponent {
                guard multiply(&numerator, by: 10) else { return .failure(tooLarge(text)) }
            }
        } else {
            denominatorExponent += -decimalExponent
        }
        var denominator: Int64 = 1
        for _ in 0..<denominatorExponent {
            // Past 10^18 the result rounds up to 1 for any non-zero value.
            if denominator > Int64.max / 10 { return .success(numerator == 0 ? 0 : 1) }
            denominator *= 10
        }
        let (quotient, remainder) = numerator.quotientAndRemainder(dividingBy: denominator)
        return .success(remainder == 0 ? quotient : quotient + 1)
    }

    /// (powers of 1024, powers of 10) for a suffix; nil when unknown.
    private static func suffix(_ text: String) -> (Int, Int)? {
        switch text {
        case "": return (0, 0)
        case "Ki": return (1, 0)
        case "Mi": return (2, 0)
        case "Gi": return (3, 0)
        case "Ti": return (4, 0)
        case "Pi": return (5, 0)
        case "Ei": return (6, 0)
        case "n": return (0, -9)
        case "u": return (0, -6)
        case "m": return (0, -3)
        case "k": return (0, 3)
        case "M": return (0, 6)
        case "G": return (0, 9)
        case "T": return (0, 12)
        case "P": return (0, 15)
        case "E": return (0, 18)
        default:
            var exponentText = Array(text.utf8)[...]
            guard let marker = exponentText.first, marker == UInt8(ascii: "e") || marker == UInt8(ascii: "E") else { return nil }
            exponentText = exponentText.dropFirst()
            guard let exponent = Int(String(decoding: exponentText, as: UTF8.self)), exponent > -40, exponent < 40 else { return nil }
            return (0, exponent)
        }
    }

    private static func multiply(_ value: inout Int64, by factor: Int64) -> Bool {
        let (product, overflow) = value.multipliedReportingOverflow(by: factor)
        if overflow { return false }
        value = product
        return true
    }

    private static func tooLarge(_ text: String) -> QuantityError { QuantityError("'\(text)' is too large") }
}

public struct QuantityError: Error, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
}
