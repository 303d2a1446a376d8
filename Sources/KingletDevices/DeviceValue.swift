import KingletDocument

/// A value read from or written to a device property.
public enum DeviceValue: Equatable {
    case bool(Bool)
    case integer(Int64)
    case double(Double)
    case text(String)

    /// The twin's spelling (KubeEdge carries every value as a string): "true", "42",
    /// "21.5" (at most six decimals, trailing zeros dropped).
    public func twinText(into writer: inout [UInt8]) {
        switch self {
        case .bool(let value): writer.append(contentsOf: (value ? "true" : "false").utf8)
        case .integer(let value): DeviceValue.appendInteger(value, to: &writer)
        case .double(let value): DeviceValue.appendDecimal(value, to: &writer)
        case .text(let value): writer.append(contentsOf: value.utf8)
        }
    }

    public var twinText: String {
        var bytes: [UInt8] = []
        twinText(into: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    public var asDouble: Double? {
        switch self {
        case .bool(let value): return value ? 1 : 0
        case .integer(let value): return Double(value)
        case .double(let value): return value
        case .text(let value): return DecimalText.double(value)
        }
    }

    /// Parses a desired value (a string, as the API holds it) for a property of `type`.
    public static func parse(_ text: String, as type: DevicePropertyType) -> DeviceValue? {
        switch type {
        case .int:
            if let value = Int64(text) { return .integer(value) }
            if let value = DecimalText.double(text), let whole = Int64(exactly: value) { return .integer(whole) }
            return nil
        case .float, .double:
            guard let value = DecimalText.double(text), value.isFinite else { return nil }
            return .double(value)
        case .boolean:
            switch text.lowercased() {
            case "true", "1", "on": return .bool(true)
            case "false", "0", "off": return .bool(false)
            default: return nil
            }
        case .string, .bytes:
            return .text(text)
        }
    }

    /// Whether a read-back value confirms a desired one (numbers within a millionth).
    public func confirms(_ desired: DeviceValue) -> Bool {
        switch (self, desired) {
        case (.text(let a), .text(let b)): return a == b
        case (.bool(let a), .bool(let b)): return a == b
        default:
            guard let a = asDouble, let b = desired.asDouble else { return false }
            let scale = max(1.0, abs(b))
            return abs(a - b) <= scale * 1e-6
        }
    }

    static func appendInteger(_ value: Int64, to bytes: inout [UInt8]) {
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        withUnsafeMutableBytes(of: &digits) { buffer in
            repeat {
                buffer[count] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
                count += 1
            } while magnitude > 0
            for index in stride(from: count - 1, through: 0, by: -1) { bytes.append(buffer[index]) }
        }
    }

    /// Fixed notation with up to six decimals, without allocating: readings are formatted
    /// on every report.
    static func appendDecimal(_ value: Double, to bytes: inout [UInt8]) {
        guard value.isFinite else {
            bytes.append(contentsOf: (value.isNaN ? "NaN" : value < 0 ? "-Inf" : "Inf").utf8)
            return
        }
        let micros = (value * 1_000_000).rounded()
        guard abs(micros) < 9.0e18 else {
            // Beyond Int64 micro-units: the standard library's spelling is good enough.
            bytes.append(contentsOf: String(value).utf8)
            return
        }
        var units = Int64(micros)
        if units < 0 {
            bytes.append(UInt8(ascii: "-"))
            units = -units
        }
        appendInteger(units / 1_000_000, to: &bytes)
        var fraction = units % 1_000_000
        guard fraction != 0 else { return }
        bytes.append(UInt8(ascii: "."))
        var divisor: Int64 = 100_000
        while fraction != 0 {
            bytes.append(UInt8(ascii: "0") + UInt8(fraction / divisor))
            fraction %= divisor
            divisor /= 10
        }
    }
}

/// Whether a device answers: the Device status's `state`.
public enum DeviceState: String, Sendable {
    case unknown
    case online
    case offline
}
