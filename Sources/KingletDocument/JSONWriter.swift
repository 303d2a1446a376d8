/// Writes compact, deterministic JSON into a byte buffer that is reused: `reset()` keeps
/// its capacity, so once the buffer has grown to the largest document, writing the same
/// shape again allocates nothing (one exception: a double whose shortest form is longer
/// than 15 characters passes through a temporary String).
///
/// The caller pairs the calls (`beginObject`, then `key` before each value, `endObject`);
/// the writer only places the commas.
///
/// Choices:
/// - Strings escape `"` and `\`, write `\n` `\r` `\t` in their short form and every other
///   control character (U+0000-U+001F) as `\u00xx`; everything else, non-ASCII text
///   included, is written as its UTF-8 (a Swift String is always valid UTF-8).
/// - Doubles are written in Swift's shortest round-trip form ("0.1", "1e+100", "-0.0"), so
///   `JSONReader` reads back the same Double. JSON has no infinity or NaN: those are
///   written as `null` (as JavaScript's JSON.stringify does).
public struct JSONWriter {
    /// The JSON written since the last `reset()`.
    public private(set) var bytes: [UInt8]
    private var needsComma = false

    public init(capacity: Int = 1024) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    /// Clears the output, keeping the buffer's capacity.
    public mutating func reset() {
        bytes.removeAll(keepingCapacity: true)
        needsComma = false
    }

    /// The output as text.
    public var text: String { String(decoding: bytes, as: UTF8.self) }

    /// Calls `body` with the output, without copying it.
    public func withBytes<Output>(_ body: (UnsafeBufferPointer<UInt8>) -> Output) -> Output {
        bytes.withUnsafeBufferPointer(body)
    }

    // MARK: Streaming

    public mutating func beginObject() {
        separate()
        bytes.append(ASCII.openBrace)
        needsComma = false
    }

    public mutating func endObject() {
        bytes.append(ASCII.closeBrace)
        needsComma = true
    }

    public mutating func beginArray() {
        separate()
        bytes.append(ASCII.openBracket)
        needsComma = false
    }

    public mutating func endArray() {
        bytes.append(ASCII.closeBracket)
        needsComma = true
    }

    /// The key of the next member of the current object.
    public mutating func key(_ name: String) {
        separate()
        appendQuoted(name)
        bytes.append(ASCII.colon)
        needsComma = false
    }

    public mutating func string(_ value: String) {
        separate()
        appendQuoted(value)
        needsComma = true
    }

    /// A string given as UTF-8 bytes (a caller's reused buffer: nothing is allocated).
    public mutating func stringBytes(_ utf8: [UInt8]) {
        separate()
        bytes.append(ASCII.quote)
        utf8.withUnsafeBufferPointer { appendEscaped($0) }
        bytes.append(ASCII.quote)
        needsComma = true
    }

    /// An integer written as a JSON string ("1796032805123"), as KubeEdge's timestamps are.
    public mutating func integerString(_ value: Int64) {
        separate()
        bytes.append(ASCII.quote)
        appendDecimal(value)
        bytes.append(ASCII.quote)
        needsComma = true
    }

    public mutating func integer(_ value: Int64) {
        separate()
        appendDecimal(value)
        needsComma = true
    }

    public mutating func double(_ value: Double) {
        separate()
        if value.isFinite {
            bytes.append(contentsOf: value.description.utf8)
        } else {
            appendASCII("null")
        }
        needsComma = true
    }

    public mutating func bool(_ value: Bool) {
        separate()
        appendASCII(value ? "true" : "false")
        needsComma = true
    }

    public mutating func null() {
        separate()
        appendASCII("null")
        needsComma = true
    }

    // MARK: Trees

    public mutating func write(_ node: Node) {
        write(node.value)
    }

    public mutating func write(_ value: Value) {
        switch value {
        case .null: null()
        case .bool(let flag): bool(flag)
        case .integer(let number): integer(number)
        case .double(let number): double(number)
        case .string(let text): string(text)
        case .array(let items):
            beginArray()
            for item in items { write(item.value) }
            endArray()
        case .object(let members):
            beginObject()
            for member in members {
                key(member.key)
                write(member.node.value)
            }
            endObject()
        }
    }

    // MARK: Bytes

    private mutating func separate() {
        if needsComma { bytes.append(ASCII.comma) }
    }

    private mutating func appendASCII(_ text: StaticString) {
        bytes.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    private mutating func appendDecimal(_ value: Int64) {
        if value < 0 { bytes.append(ASCII.minus) }
        var magnitude = value.magnitude
        let start = bytes.count
        repeat {
            bytes.append(ASCII.zero + UInt8(magnitude % 10))
            magnitude /= 10
        } while magnitude != 0
        // Swapped in place: reversing `bytes[start...]` would copy the slice (an allocation).
        var low = start, high = bytes.count - 1
        while low < high {
            bytes.swapAt(low, high)
            low += 1
            high -= 1
        }
    }

    private mutating func appendQuoted(_ text: String) {
        bytes.append(ASCII.quote)
        let done: Void? = text.utf8.withContiguousStorageIfAvailable { utf8 in
            appendEscaped(utf8)
        }
        if done == nil {
            var copy = text
            copy.withUTF8 { appendEscaped($0) }
        }
        bytes.append(ASCII.quote)
    }

    private mutating func appendEscaped(_ utf8: UnsafeBufferPointer<UInt8>) {
        var runStart = 0
        for index in 0..<utf8.count {
            let byte = utf8[index]
            guard byte < 0x20 || byte == ASCII.quote || byte == ASCII.backslash else { continue }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<index]))
            runStart = index + 1
            bytes.append(ASCII.backslash)
            switch byte {
            case ASCII.quote, ASCII.backslash: bytes.append(byte)
            case ASCII.lineFeed: bytes.append(ASCII.lowerN)
            case ASCII.carriageReturn: bytes.append(ASCII.lowerR)
            case ASCII.tab: bytes.append(ASCII.lowerT)
            default:
                let digits: StaticString = "0123456789abcdef"
                bytes.append(ASCII.lowerU)
                bytes.append(ASCII.zero)
                bytes.append(ASCII.zero)
                bytes.append(digits.utf8Start[Int(byte >> 4)])
                bytes.append(digits.utf8Start[Int(byte & 0xF)])
            }
        }
        bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<utf8.count]))
    }
}
