/// JSON strings (RFC 8259 §7): escapes, `\uXXXX` with surrogate pairs, UTF-8 validation.
extension JSONParser {
    /// Reads the string whose opening quote is at the current offset. A string without
    /// escapes becomes a String straight from the input bytes; one with escapes is decoded
    /// into the reused scratch buffer first.
    mutating func parseString() throws(DocumentError) -> String {
        let content = try scanString()
        return content.decoded
            ? String(decoding: scratch, as: UTF8.self)
            : String(decoding: UnsafeBufferPointer(rebasing: input[content.bytes]), as: UTF8.self)
    }

    /// Validates the string whose opening quote is at the current offset and moves past it,
    /// building nothing: its content is `input[bytes]`, or `scratch` when it had escapes
    /// (`decoded`).
    mutating func scanString() throws(DocumentError) -> (bytes: Range<Int>, decoded: Bool) {
        let open = position
        offset += 1
        let contentStart = offset
        var decoding = false
        while offset < input.count {
            let byte = input[offset]
            switch byte {
            case ASCII.quote:
                offset += 1
                return (contentStart..<offset - 1, decoding)
            case ASCII.backslash:
                if !decoding {
                    scratch.removeAll(keepingCapacity: true)
                    scratch.append(contentsOf: UnsafeBufferPointer(rebasing: input[contentStart..<offset]))
                    decoding = true
                }
                try parseEscape()
            case 0x00..<0x20:
                let what = byte == ASCII.lineFeed ? "a line break" : "control character 0x" + ByteDescriptions.hex(UInt32(byte), digits: 2)
                throw error(what + " in a string must be escaped (or the string lacks its closing '\"')")
            case 0x20..<0x80:
                if decoding { scratch.append(byte) }
                offset += 1
            default:
                var bad = offset
                let length = UTF8Validation.sequenceLength(in: input, at: offset, firstBadByte: &bad)
                guard length > 0 else {
                    let what = bad < input.count ? "byte 0x" + ByteDescriptions.hex(UInt32(input[bad]), digits: 2) : "end of input"
                    offset = bad
                    throw error("invalid UTF-8 in a string: unexpected " + what)
                }
                if decoding { scratch.append(contentsOf: UnsafeBufferPointer(rebasing: input[offset..<offset + length])) }
                offset += length
            }
        }
        throw error("unterminated string: no closing '\"' before end of input", at: open)
    }

    /// Reads one escape sequence (the backslash is at the current offset) into `scratch`.
    mutating func parseEscape() throws(DocumentError) {
        let start = position
        offset += 1
        guard offset < input.count else { throw error("unterminated string: end of input after '\\'") }
        let letter = input[offset]
        offset += 1
        switch letter {
        case ASCII.quote, ASCII.backslash, ASCII.slash: scratch.append(letter)
        case ASCII.lowerB: scratch.append(0x08)
        case ASCII.lowerF: scratch.append(0x0C)
        case ASCII.lowerN: scratch.append(ASCII.lineFeed)
        case ASCII.lowerR: scratch.append(ASCII.carriageReturn)
        case ASCII.lowerT: scratch.append(ASCII.tab)
        case ASCII.lowerU:
            let unit = try parseHexUnit(escapeStart: start)
            var scalar = UInt32(unit)
            switch unit {
            case 0xD800...0xDBFF:
                // A high surrogate must be followed by an escaped low one (RFC 8259 §7).
                guard offset + 1 < input.count, input[offset] == ASCII.backslash, input[offset + 1] == ASCII.lowerU else {
                    throw error("lone surrogate \\u" + ByteDescriptions.hex(UInt32(unit), digits: 4)
                        + ": a high surrogate must be followed by a low surrogate escape (\\uDC00-\\uDFFF)", at: start)
                }
                let lowStart = position
                offset += 2
                let low = try parseHexUnit(escapeStart: lowStart)
                guard (0xDC00...0xDFFF).contains(low) else {
                    throw error("lone surrogate \\u" + ByteDescriptions.hex(UInt32(unit), digits: 4)
                        + ": expected a low surrogate (\\uDC00-\\uDFFF) after it, found \\u" + ByteDescriptions.hex(UInt32(low), digits: 4), at: start)
                }
                scalar = 0x10000 + ((UInt32(unit) - 0xD800) << 10) + (UInt32(low) - 0xDC00)
            case 0xDC00...0xDFFF:
                throw error("lone surrogate \\u" + ByteDescriptions.hex(UInt32(unit), digits: 4)
                    + ": a low surrogate must follow a high one", at: start)
            default:
                break
            }
            appendUTF8(scalar)
        default:
            offset -= 1
            throw error("invalid escape in a string: expected one of \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u after '\\', found " + found(), at: start)
        }
    }

    /// Reads the four hex digits after "\u".
    mutating func parseHexUnit(escapeStart: SourcePosition) throws(DocumentError) -> UInt16 {
        var unit: UInt16 = 0
        for _ in 0..<4 {
            guard offset < input.count, let digit = hexDigitValue(input[offset]) else {
                throw error("expected 4 hex digits after '\\u', found " + found())
            }
            unit = unit << 4 | UInt16(digit)
            offset += 1
        }
        return unit
    }

    func hexDigitValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: return byte - 0x30
        case 0x41...0x46: return byte - 0x41 + 10
        case 0x61...0x66: return byte - 0x61 + 10
        default: return nil
        }
    }

    mutating func appendUTF8(_ scalar: UInt32) {
        switch scalar {
        case 0..<0x80:
            scratch.append(UInt8(scalar))
        case 0x80..<0x800:
            scratch.append(UInt8(0xC0 | scalar >> 6))
            scratch.append(UInt8(0x80 | scalar & 0x3F))
        case 0x800..<0x10000:
            scratch.append(UInt8(0xE0 | scalar >> 12))
            scratch.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            scratch.append(UInt8(0x80 | scalar & 0x3F))
        default:
            scratch.append(UInt8(0xF0 | scalar >> 18))
            scratch.append(UInt8(0x80 | scalar >> 12 & 0x3F))
            scratch.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            scratch.append(UInt8(0x80 | scalar & 0x3F))
        }
    }
}
