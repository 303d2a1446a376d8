/// Reads one JSON text (RFC 8259, strict) into a tree of `Node`s, each with its 1-based
/// line and column (columns count bytes).
///
/// Strict means: no comments, no trailing commas, no leading zeros, no NaN or Infinity,
/// no control characters or invalid UTF-8 in strings, no lone surrogates, no duplicate
/// keys, nothing after the value. A leading UTF-8 byte order mark is skipped (RFC 8259
/// §8.1 lets a parser ignore it); columns on the first line start after it.
///
/// Numbers: a literal with no fraction and no exponent that fits Int64 is `.integer`
/// ("-0" is `.integer(0)`); any other is `.double`, correctly rounded. A literal beyond
/// the double range (1e400) is an error, as in Go's encoding/json: JSON cannot carry
/// infinity, so reading one would only move the surprise further down.
public struct JSONReader: Sendable {
    /// How deep objects and arrays may nest. The reader recurses once per level, so this
    /// keeps hostile input from exhausting the stack; it is capped at 1024.
    public var maxDepth: Int

    public init(maxDepth: Int = 64) {
        self.maxDepth = min(max(maxDepth, 0), 1024)
    }

    public func parseDocument(_ bytes: UnsafeRawBufferPointer, file: String = "") throws(DocumentError) -> Node {
        var parser = JSONParser(input: bytes.assumingMemoryBound(to: UInt8.self), file: file, maxDepth: min(max(maxDepth, 0), 1024))
        return try parser.parseDocument()
    }

    public func parseDocument(_ bytes: [UInt8], file: String = "") throws(DocumentError) -> Node {
        let result = bytes.withUnsafeBytes { raw in
            Result { () throws(DocumentError) -> Node in try parseDocument(raw, file: file) }
        }
        return try result.get()
    }

    public func parseDocument(_ text: String, file: String = "") throws(DocumentError) -> Node {
        var text = text
        let result = text.withUTF8 { utf8 in
            Result { () throws(DocumentError) -> Node in try parseDocument(UnsafeRawBufferPointer(utf8), file: file) }
        }
        return try result.get()
    }
}

/// One pass over one JSON text. Recursive descent: `depth` bounds the recursion.
struct JSONParser {
    let input: UnsafeBufferPointer<UInt8>
    let file: String
    let maxDepth: Int
    var offset = 0
    var line = 1
    /// Where the current line starts, for columns.
    var lineStart = 0
    var depth = 0
    /// Decoded bytes of the string being read, when it has escapes (reused).
    var scratch: [UInt8] = []

    init(input: UnsafeBufferPointer<UInt8>, file: String, maxDepth: Int) {
        self.input = input
        self.file = file
        self.maxDepth = maxDepth
    }

    mutating func parseDocument() throws(DocumentError) -> Node {
        if input.count >= 3 && input[0] == 0xEF && input[1] == 0xBB && input[2] == 0xBF {
            offset = 3
            lineStart = 3
        }
        skipWhitespace()
        guard offset < input.count else { throw error("expected a JSON value, found end of input") }
        let root = try parseValue(after: "")
        skipWhitespace()
        guard offset == input.count else {
            throw error("expected end of input after the JSON value, found " + found())
        }
        return root
    }

    // MARK: Positions and errors

    var position: SourcePosition { SourcePosition(line: line, column: offset - lineStart + 1) }

    func error(_ message: String) -> DocumentError { error(message, at: position) }

    func error(_ message: String, at position: SourcePosition) -> DocumentError {
        DocumentError(file: file, position: position, message: message)
    }

    /// The byte at the current offset, described for a message.
    func found() -> String { ByteDescriptions.found(in: input, at: offset) }

    mutating func skipWhitespace() {
        while offset < input.count {
            switch input[offset] {
            case ASCII.space, ASCII.tab, ASCII.carriageReturn:
                offset += 1
            case ASCII.lineFeed:
                offset += 1
                line += 1
                lineStart = offset
            default:
                return
            }
        }
    }

    // MARK: Values

    /// Reads the value at the current offset (whitespace already skipped). `context`
    /// names what came before ("after ':'") for the message when no value is there.
    mutating func parseValue(after context: String) throws(DocumentError) -> Node {
        let start = position
        guard offset < input.count else {
            throw error("expected a value" + context + ", found end of input")
        }
        switch input[offset] {
        case ASCII.openBrace: return try parseObject()
        case ASCII.openBracket: return try parseArray()
        case ASCII.quote: return Node(.string(try parseString()), at: start)
        case ASCII.minus, ASCII.zero...ASCII.nine: return Node(try parseNumber(), at: start)
        case ASCII.lowerT: try expectLiteral("true"); return Node(.bool(true), at: start)
        case ASCII.lowerF: try expectLiteral("false"); return Node(.bool(false), at: start)
        case ASCII.lowerN: try expectLiteral("null"); return Node(.null, at: start)
        default:
            throw error("expected a value" + context + " (an object, array, string, number, true, false or null), found " + found())
        }
    }

    mutating func expectLiteral(_ literal: String) throws(DocumentError) {
        let start = position
        for expected in literal.utf8 {
            guard offset < input.count, input[offset] == expected else {
                throw error("invalid literal: expected '" + literal + "', found " + found(), at: start)
            }
            offset += 1
        }
    }

    mutating func enterContainer() throws(DocumentError) {
        guard depth < maxDepth else {
            throw error("objects and arrays nest deeper than " + String(maxDepth) + " levels")
        }
        depth += 1
    }

    mutating func parseObject() throws(DocumentError) -> Node {
        let start = position
        var members = MemberList()
        guard try openContainer(closedBy: ASCII.closeBrace) else { return Node(.object([]), at: start) }
        var afterComma = false
        repeat {
            let keyPosition = position
            let key = try parseString(asKeyAfterComma: afterComma)
            try expectColon()
            let value = try parseValue(after: " after ':'")
            if let first = members.add(Member(key: key, keyPosition: keyPosition, node: value)) {
                throw duplicateKey(key, first: first.keyPosition, at: keyPosition)
            }
            afterComma = true
        } while try continueContainer(closedBy: ASCII.closeBrace)
        return Node(.object(members.members), at: start)
    }

    mutating func parseArray() throws(DocumentError) -> Node {
        let start = position
        var items: [Node] = []
        guard try openContainer(closedBy: ASCII.closeBracket) else { return Node(.array([]), at: start) }
        var context = ""
        repeat {
            items.append(try parseValue(after: context))
            context = " after ','"
        } while try continueContainer(closedBy: ASCII.closeBracket)
        return Node(.array(items), at: start)
    }

    // MARK: Container punctuation (shared with the path lookup)

    /// Enters the object or array whose opening bracket is at the current offset. False
    /// for an empty one (its closing bracket read and the level left again).
    mutating func openContainer(closedBy close: UInt8) throws(DocumentError) -> Bool {
        try enterContainer()
        offset += 1 // '{' or '['
        skipWhitespace()
        guard offset < input.count && input[offset] == close else { return true }
        offset += 1
        depth -= 1
        return false
    }

    /// After a member or element: true when a ',' announces another (read, and the space
    /// after it), false at the closing bracket (read, and the level left).
    mutating func continueContainer(closedBy close: UInt8) throws(DocumentError) -> Bool {
        let what = close == ASCII.closeBrace ? "expected ',' or '}' after object member" : "expected ',' or ']' after array element"
        skipWhitespace()
        guard offset < input.count else { throw error(what + ", found end of input") }
        switch input[offset] {
        case ASCII.comma:
            offset += 1
            skipWhitespace()
            return true
        case close:
            offset += 1
            depth -= 1
            return false
        default:
            throw error(what + ", found " + found())
        }
    }

    /// Checks that an object key starts at the current offset.
    func expectKey(afterComma: Bool) throws(DocumentError) {
        guard offset < input.count, input[offset] == ASCII.quote else {
            throw error((afterComma ? "expected a string key after ','" : "expected a string key or '}'") + ", found " + found())
        }
    }

    mutating func parseString(asKeyAfterComma afterComma: Bool) throws(DocumentError) -> String {
        try expectKey(afterComma: afterComma)
        return try parseString()
    }

    /// The ':' after a key, and the space around it.
    mutating func expectColon() throws(DocumentError) {
        skipWhitespace()
        guard offset < input.count, input[offset] == ASCII.colon else {
            throw error("expected ':' after object key, found " + found())
        }
        offset += 1
        skipWhitespace()
    }

    func duplicateKey(_ key: String, first: SourcePosition, at position: SourcePosition) -> DocumentError {
        error("duplicate key " + ByteDescriptions.quoted(key) + " (first at " + String(first.line) + ":" + String(first.column) + ")",
              at: position)
    }
}

/// The ASCII bytes the readers look for.
enum ASCII {
    static let tab: UInt8 = 0x09
    static let lineFeed: UInt8 = 0x0A
    static let carriageReturn: UInt8 = 0x0D
    static let space: UInt8 = 0x20
    static let quote: UInt8 = 0x22
    static let plus: UInt8 = 0x2B
    static let comma: UInt8 = 0x2C
    static let minus: UInt8 = 0x2D
    static let dot: UInt8 = 0x2E
    static let slash: UInt8 = 0x2F
    static let zero: UInt8 = 0x30
    static let one: UInt8 = 0x31
    static let nine: UInt8 = 0x39
    static let colon: UInt8 = 0x3A
    static let upperE: UInt8 = 0x45
    static let openBracket: UInt8 = 0x5B
    static let backslash: UInt8 = 0x5C
    static let closeBracket: UInt8 = 0x5D
    static let underscore: UInt8 = 0x5F
    static let lowerB: UInt8 = 0x62
    static let lowerE: UInt8 = 0x65
    static let lowerF: UInt8 = 0x66
    static let lowerN: UInt8 = 0x6E
    static let lowerR: UInt8 = 0x72
    static let lowerT: UInt8 = 0x74
    static let lowerU: UInt8 = 0x75
    static let openBrace: UInt8 = 0x7B
    static let closeBrace: UInt8 = 0x7D
}
