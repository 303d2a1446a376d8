/// Words for bytes and numbers in error messages ("found 'x'", "byte 0xFF"), built by hand:
/// Embedded Swift has no String(format:).
enum ByteDescriptions {
    /// Uppercase hexadecimal, zero-padded to `digits`.
    static func hex(_ value: UInt32, digits: Int) -> String {
        let symbols: [UInt8] = Array("0123456789ABCDEF".utf8)
        var text: [UInt8] = []
        var rest = value
        var count = 0
        while rest != 0 || count < digits {
            text.append(symbols[Int(rest & 0xF)])
            rest >>= 4
            count += 1
        }
        return String(decoding: text.reversed(), as: UTF8.self)
    }

    /// What a reader found at `offset`: "'x'", "a line break", "byte 0xFF", "end of input".
    static func found(in input: UnsafeBufferPointer<UInt8>, at offset: Int) -> String {
        guard offset < input.count else { return "end of input" }
        let byte = input[offset]
        switch byte {
        case 0x0A: return "a line break"
        case 0x0D: return "a carriage return"
        case 0x09: return "a tab"
        case 0x20: return "a space"
        case 0x21...0x7E: return "'" + String(decoding: CollectionOfOne(byte), as: UTF8.self) + "'"
        case 0x00..<0x20, 0x7F: return "control character 0x" + hex(UInt32(byte), digits: 2)
        default:
            let length = UTF8Validation.sequenceLength(in: input, at: offset)
            guard length > 0 else { return "byte 0x" + hex(UInt32(byte), digits: 2) }
            return "'" + String(decoding: UnsafeBufferPointer(rebasing: input[offset..<offset + length]), as: UTF8.self) + "'"
        }
    }

    /// A key quoted for a message, shortened when long.
    static func quoted(_ text: String) -> String {
        let limit = 60
        var utf8 = Array(text.utf8)
        guard utf8.count > limit else { return "\"" + text + "\"" }
        var cut = limit
        while cut > 0 && utf8[cut] & 0xC0 == 0x80 { cut -= 1 } // keep whole characters
        utf8.removeSubrange(cut...)
        return "\"" + String(decoding: utf8, as: UTF8.self) + "…\""
    }
}
