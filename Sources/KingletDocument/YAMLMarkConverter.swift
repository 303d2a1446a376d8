/// Turns libyaml's marks into `SourcePosition`s. libyaml counts a mark's index and column
/// in characters, from 0, and skips a UTF-8 byte order mark without counting it; Kinglet's
/// columns count bytes from 1 (Node.swift). The converter walks the input to the mark's
/// character index and counts lines and bytes itself (libyaml's own line is one too far at
/// the end of a stream that lacks a final line break). Marks arrive in document order, so
/// the walk moves forward and converting a whole stream is linear.
struct YAMLMarkConverter {
    let input: UnsafeBufferPointer<UInt8>
    /// Where content starts: after a UTF-8 byte order mark, if any.
    let contentStart: Int
    private var characterIndex = 0
    private var byteOffset: Int
    /// The byte offset where the line holding `byteOffset` starts.
    private var lineStart: Int
    /// The 1-based line holding `byteOffset`.
    private var line = 1

    init(input: UnsafeBufferPointer<UInt8>) {
        self.input = input
        let hasByteOrderMark = input.count >= 3 && input[0] == 0xEF && input[1] == 0xBB && input[2] == 0xBF
        contentStart = hasByteOrderMark ? 3 : 0
        byteOffset = contentStart
        lineStart = contentStart
    }

    /// The position of the character at `index` (a libyaml mark's index).
    mutating func position(characterIndex index: Int) -> SourcePosition {
        if index < characterIndex {
            characterIndex = 0
            byteOffset = contentStart
            lineStart = contentStart
            line = 1
        }
        while characterIndex < index && byteOffset < input.count {
            advanceOneCharacter()
        }
        return SourcePosition(line: line, column: byteOffset - lineStart + 1)
    }

    /// The position of a raw byte offset (libyaml's reader errors report those).
    func position(byteOffset target: Int) -> SourcePosition {
        var walker = YAMLMarkConverter(input: input)
        let end = min(max(target, walker.contentStart), input.count)
        while walker.byteOffset < end {
            walker.advanceOneCharacter()
        }
        return SourcePosition(line: walker.line, column: max(target, walker.contentStart) - walker.lineStart + 1)
    }

    /// Steps over one UTF-8 character, noting line breaks as libyaml counts them: LF, CR,
    /// CR LF (one break), NEL (U+0085), LS (U+2028) and PS (U+2029).
    private mutating func advanceOneCharacter() {
        let lead = input[byteOffset]
        let width: Int
        switch lead {
        case 0xC0...0xDF: width = 2
        case 0xE0...0xEF: width = 3
        case 0xF0...0xF7: width = 4
        default: width = 1
        }
        let next = min(byteOffset + width, input.count)
        var isBreak = false
        switch lead {
        case ASCII.lineFeed:
            isBreak = true
        case ASCII.carriageReturn:
            isBreak = next >= input.count || input[next] != ASCII.lineFeed
        case 0xC2:
            isBreak = width == 2 && next - byteOffset == 2 && input[byteOffset + 1] == 0x85
        case 0xE2:
            isBreak = next - byteOffset == 3 && input[byteOffset + 1] == 0x80
                && (input[byteOffset + 2] == 0xA8 || input[byteOffset + 2] == 0xA9)
        default:
            break
        }
        byteOffset = next
        characterIndex += 1
        if isBreak {
            lineStart = next
            line += 1
        }
    }
}
