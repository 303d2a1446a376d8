/// UTF-8 as RFC 3629 defines it: no overlong forms, no surrogates, nothing past U+10FFFF.
enum UTF8Validation {
    /// The length of the well-formed sequence starting at `offset`, or 0 when the bytes
    /// there are not one.
    static func sequenceLength(in input: UnsafeBufferPointer<UInt8>, at offset: Int) -> Int {
        var bad = 0
        return sequenceLength(in: input, at: offset, firstBadByte: &bad)
    }

    /// As above; `bad` receives the offset of the byte that breaks the sequence (which may
    /// be `input.count` when the input ends inside it).
    static func sequenceLength(in input: UnsafeBufferPointer<UInt8>, at offset: Int, firstBadByte bad: inout Int) -> Int {
        let lead = input[offset]
        bad = offset
        if lead < 0x80 { return 1 }
        let length: Int
        var secondRange: ClosedRange<UInt8> = 0x80...0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; secondRange = 0xA0...0xBF
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; secondRange = 0x80...0x9F // U+D800...U+DFFF are surrogates
        case 0xF0: length = 4; secondRange = 0x90...0xBF
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; secondRange = 0x80...0x8F
        default: return 0
        }
        for index in 1..<length {
            bad = offset + index
            guard offset + index < input.count else { return 0 }
            let byte = input[offset + index]
            let range = index == 1 ? secondRange : 0x80...0xBF
            guard range.contains(byte) else { return 0 }
        }
        return length
    }
}
