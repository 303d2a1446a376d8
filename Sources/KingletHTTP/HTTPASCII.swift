/// Byte-level helpers for the protocol's HTTPASCII text (the Embedded subset has no Foundation).
enum HTTPASCII {
    static let cr: UInt8 = 0x0d
    static let lf: UInt8 = 0x0a
    static let space: UInt8 = 0x20
    static let tab: UInt8 = 0x09
    static let colon: UInt8 = 0x3a

    static func lowercased(_ byte: UInt8) -> UInt8 {
        byte >= 0x41 && byte <= 0x5a ? byte + 0x20 : byte
    }

    static func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }

    static func isAlpha(_ byte: UInt8) -> Bool {
        (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a)
    }

    /// The value of a hexadecimal digit, nil for anything else.
    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: return byte - 0x30
        case 0x41...0x46: return byte - 0x41 + 10
        case 0x61...0x66: return byte - 0x61 + 10
        default: return nil
        }
    }

    /// RFC 9110 token characters (header names, methods).
    static func isTokenByte(_ byte: UInt8) -> Bool {
        if isAlpha(byte) || isDigit(byte) { return true }
        switch byte {
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"),
             UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."),
             UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }

    static func isToken(_ text: String) -> Bool {
        if text.utf8.isEmpty { return false }
        for byte in text.utf8 where !isTokenByte(byte) { return false }
        return true
    }

    /// Compares two strings ignoring HTTPASCII case (header names, schemes, host names).
    static func equalIgnoringCase(_ a: String, _ b: String) -> Bool {
        var left = a.utf8.makeIterator()
        var right = b.utf8.makeIterator()
        while true {
            let x = left.next()
            let y = right.next()
            guard let x, let y else { return x == nil && y == nil }
            if lowercased(x) != lowercased(y) { return false }
        }
    }

    static func lowercased(_ text: String) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        for byte in text.utf8 { bytes.append(lowercased(byte)) }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Removes spaces and tabs at both ends.
    static func trimmed<C: Collection>(_ bytes: C) -> C.SubSequence where C.Element == UInt8 {
        var slice = bytes[...]
        while let first = slice.first, first == space || first == tab { slice = slice.dropFirst() }
        while !slice.isEmpty {
            let lastIndex = slice.index(slice.startIndex, offsetBy: slice.count - 1)
            let last = slice[lastIndex]
            guard last == space || last == tab else { break }
            slice = slice[slice.startIndex..<lastIndex]
        }
        return slice
    }

    /// A non-negative decimal number of at most 18 digits (no sign, no spaces), else nil.
    static func decimal<C: Collection>(_ bytes: C) -> Int64? where C.Element == UInt8 {
        if bytes.isEmpty || bytes.count > 18 { return nil }
        var value: Int64 = 0
        for byte in bytes {
            guard isDigit(byte) else { return nil }
            value = value * 10 + Int64(byte - 0x30)
        }
        return value
    }

    /// Text for messages: bytes as they came, controls and non-HTTPASCII as \xNN, cut at `limit`.
    static func quoted<C: Collection>(_ bytes: C, limit: Int = 80) -> String where C.Element == UInt8 {
        let hex = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        var count = 0
        for byte in bytes {
            if count == limit {
                out.append(contentsOf: "...".utf8)
                break
            }
            count += 1
            if byte >= 0x20 && byte < 0x7f {
                out.append(byte)
            } else {
                out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "x"), hex[Int(byte >> 4)], hex[Int(byte & 0x0f)]])
            }
        }
        return "'" + String(decoding: out, as: UTF8.self) + "'"
    }
}
