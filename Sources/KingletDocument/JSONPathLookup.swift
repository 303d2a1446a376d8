/// One value of a JSON text found by its path, without building the tree: MQTT devices
/// read a field or two of every message, and a tree per message is a dozen allocations.
///
/// The whole text is still checked as `parseDocument` checks it (same messages, same
/// positions), except that a duplicate key is only caught on the path itself: finding one
/// anywhere would need every object's keys kept, the allocations this exists to avoid.
extension JSONReader {
    /// The value at `path` (object keys, or decimal array indexes), nil when the text has no
    /// such value. Scalars come whole (a string is the only one that allocates); an object
    /// or an array comes empty, saying only what kind of value is there.
    public func value(at path: [String], in bytes: UnsafeRawBufferPointer, file: String = "") throws(DocumentError) -> Value? {
        var parser = JSONParser(input: bytes.assumingMemoryBound(to: UInt8.self), file: file, maxDepth: min(max(maxDepth, 0), 1024))
        return try parser.lookUp(path)
    }

    public func value(at path: [String], in bytes: [UInt8], file: String = "") throws(DocumentError) -> Value? {
        let result = bytes.withUnsafeBytes { raw in
            Result { () throws(DocumentError) -> Value? in try value(at: path, in: raw, file: file) }
        }
        return try result.get()
    }
}

extension JSONParser {
    mutating func lookUp(_ path: [String]) throws(DocumentError) -> Value? {
        if input.count >= 3 && input[0] == 0xEF && input[1] == 0xBB && input[2] == 0xBF {
            offset = 3
            lineStart = 3
        }
        skipWhitespace()
        guard offset < input.count else { throw error("expected a JSON value, found end of input") }
        var result: Value? = nil
        try skimValue(after: "", path: path, level: 0, onPath: true, result: &result)
        skipWhitespace()
        guard offset == input.count else {
            throw error("expected end of input after the JSON value, found " + found())
        }
        return result
    }

    /// Checks the value at the current offset as `parseValue` does; when it sits at the
    /// whole `path` (`onPath` and `level == path.count`), keeps it in `result`.
    mutating func skimValue(after context: String, path: [String], level: Int, onPath: Bool, result: inout Value?) throws(DocumentError) {
        guard offset < input.count else {
            throw error("expected a value" + context + ", found end of input")
        }
        let wanted = onPath && level == path.count && result == nil
        let step: String? = onPath && level < path.count ? path[level] : nil
        switch input[offset] {
        case ASCII.openBrace:
            try skimObject(path: path, level: level, step: step, result: &result)
            if wanted { result = .object([]) }
        case ASCII.openBracket:
            try skimArray(path: path, level: level, index: step.flatMap { Int($0) }, result: &result)
            if wanted { result = .array([]) }
        case ASCII.quote:
            if wanted {
                result = .string(try parseString())
            } else {
                _ = try scanString()
            }
        case ASCII.minus, ASCII.zero...ASCII.nine:
            let number = try parseNumber()
            if wanted { result = number }
        case ASCII.lowerT:
            try expectLiteral("true")
            if wanted { result = .bool(true) }
        case ASCII.lowerF:
            try expectLiteral("false")
            if wanted { result = .bool(false) }
        case ASCII.lowerN:
            try expectLiteral("null")
            if wanted { result = .null }
        default:
            throw error("expected a value" + context + " (an object, array, string, number, true, false or null), found " + found())
        }
    }

    private mutating func skimObject(path: [String], level: Int, step: String?, result: inout Value?) throws(DocumentError) {
        guard try openContainer(closedBy: ASCII.closeBrace) else { return }
        var afterComma = false
        var stepAt: SourcePosition? = nil
        repeat {
            try expectKey(afterComma: afterComma)
            let keyPosition = position
            let key = try scanString()
            let matches = step.map { keyEquals(key, $0) } ?? false
            if matches, let step {
                if let first = stepAt { throw duplicateKey(step, first: first, at: keyPosition) }
                stepAt = keyPosition
            }
            try expectColon()
            try skimValue(after: " after ':'", path: path, level: level + 1, onPath: matches, result: &result)
            afterComma = true
        } while try continueContainer(closedBy: ASCII.closeBrace)
    }

    private mutating func skimArray(path: [String], level: Int, index wanted: Int?, result: inout Value?) throws(DocumentError) {
        guard try openContainer(closedBy: ASCII.closeBracket) else { return }
        var context = ""
        var index = 0
        repeat {
            try skimValue(after: context, path: path, level: level + 1, onPath: index == wanted, result: &result)
            index += 1
            context = " after ','"
        } while try continueContainer(closedBy: ASCII.closeBracket)
    }

    private func keyEquals(_ key: (bytes: Range<Int>, decoded: Bool), _ name: String) -> Bool {
        var utf8 = name.utf8.makeIterator()
        if key.decoded {
            for byte in scratch { guard utf8.next() == byte else { return false } }
        } else {
            for position in key.bytes { guard utf8.next() == input[position] else { return false } }
        }
        return utf8.next() == nil
    }
}
