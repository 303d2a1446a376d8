import KingletDocument
import Testing

/// Every class of JSON error, with the exact position and message a user sees.
@Suite struct JSONReaderErrorTests {
    @Test(arguments: [
        ("", "1:1: expected a JSON value, found end of input"),
        ("  \n  ", "2:3: expected a JSON value, found end of input"),
        ("}", "1:1: expected a value (an object, array, string, number, true, false or null), found '}'"),
        ("'a'", "1:1: expected a value (an object, array, string, number, true, false or null), found '''"),
        ("é", "1:1: expected a value (an object, array, string, number, true, false or null), found 'é'"),
        ("[1,]", "1:4: expected a value after ',' (an object, array, string, number, true, false or null), found ']'"),
        ("[1 2]", "1:4: expected ',' or ']' after array element, found '2'"),
        ("[1", "1:3: expected ',' or ']' after array element, found end of input"),
        ("[", "1:2: expected a value, found end of input"),
        ("{a:1}", "1:2: expected a string key or '}', found 'a'"),
        ("{\"a\":1,}", "1:8: expected a string key after ',', found '}'"),
        ("{\"a\" 1}", "1:6: expected ':' after object key, found '1'"),
        ("{\"a\":1 \"b\":2}", "1:8: expected ',' or '}' after object member, found '\"'"),
        ("{\"a\":1\n\n  x}", "3:3: expected ',' or '}' after object member, found 'x'"),
        ("{\"a\":", "1:6: expected a value after ':', found end of input"),
        ("{\"a\":1", "1:7: expected ',' or '}' after object member, found end of input"),
    ])
    func structureErrors(text: String, expected: String) {
        #expect(summary(jsonError(text)) == expected)
    }

    @Test(arguments: [
        ("tru", "1:1: invalid literal: expected 'true', found end of input"),
        ("[nul1]", "1:2: invalid literal: expected 'null', found '1'"),
        ("falsy", "1:1: invalid literal: expected 'false', found 'y'"),
        ("True", "1:1: expected a value (an object, array, string, number, true, false or null), found 'T'"),
        ("NaN", "1:1: expected a value (an object, array, string, number, true, false or null), found 'N'"),
        ("[Infinity]", "1:2: expected a value (an object, array, string, number, true, false or null), found 'I'"),
    ])
    func literalErrors(text: String, expected: String) {
        #expect(summary(jsonError(text)) == expected)
    }

    @Test(arguments: [
        ("01", "1:1: a number cannot have a leading zero"),
        ("[-012]", "1:2: a number cannot have a leading zero"),
        ("-", "1:2: expected a digit after '-', found end of input"),
        ("-a", "1:2: expected a digit after '-', found 'a'"),
        ("1.", "1:3: expected a digit after '.' in a number, found end of input"),
        ("1.e5", "1:3: expected a digit after '.' in a number, found 'e'"),
        ("1e", "1:3: expected a digit in the exponent of a number, found end of input"),
        ("1e+", "1:4: expected a digit in the exponent of a number, found end of input"),
        (".5", "1:1: expected a value (an object, array, string, number, true, false or null), found '.'"),
        ("+1", "1:1: expected a value (an object, array, string, number, true, false or null), found '+'"),
        ("0x10", "1:2: expected end of input after the JSON value, found 'x'"),
        ("[1e400]", "1:2: number is out of range of a 64-bit float (at most about 1.8e308)"),
        ("-1e400", "1:1: number is out of range of a 64-bit float (at most about 1.8e308)"),
    ])
    func numberErrors(text: String, expected: String) {
        #expect(summary(jsonError(text)) == expected)
    }

    @Test(arguments: [
        ("\"abc", "1:1: unterminated string: no closing '\"' before end of input"),
        ("[\"a\nb\"]", "1:4: a line break in a string must be escaped (or the string lacks its closing '\"')"),
        ("\"a\u{1}\"", "1:3: control character 0x01 in a string must be escaped (or the string lacks its closing '\"')"),
        ("\"\\x\"", "1:2: invalid escape in a string: expected one of \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u after '\\', found 'x'"),
        ("\"\\", "1:3: unterminated string: end of input after '\\'"),
        ("\"\\u12G4\"", "1:6: expected 4 hex digits after '\\u', found 'G'"),
        ("\"\\u12", "1:6: expected 4 hex digits after '\\u', found end of input"),
        ("\"\\ud83d\"", "1:2: lone surrogate \\uD83D: a high surrogate must be followed by a low surrogate escape (\\uDC00-\\uDFFF)"),
        ("\"ab\\ud83dx\"", "1:4: lone surrogate \\uD83D: a high surrogate must be followed by a low surrogate escape (\\uDC00-\\uDFFF)"),
        ("\"\\ud83d\\u0041\"", "1:2: lone surrogate \\uD83D: expected a low surrogate (\\uDC00-\\uDFFF) after it, found \\u0041"),
        ("\"\\ud83d\\ud83d\"", "1:2: lone surrogate \\uD83D: expected a low surrogate (\\uDC00-\\uDFFF) after it, found \\uD83D"),
        ("\"\\ude00\"", "1:2: lone surrogate \\uDE00: a low surrogate must follow a high one"),
    ])
    func stringErrors(text: String, expected: String) {
        #expect(summary(jsonError(text)) == expected)
    }

    @Test(arguments: [
        ([0x22, 0xFF, 0x22], "1:2: invalid UTF-8 in a string: unexpected byte 0xFF"),
        ([0x22, 0xC0, 0xAF, 0x22], "1:2: invalid UTF-8 in a string: unexpected byte 0xC0"), // overlong '/'
        ([0x22, 0xE0, 0x80, 0xAF, 0x22], "1:3: invalid UTF-8 in a string: unexpected byte 0x80"), // overlong
        ([0x22, 0xED, 0xA0, 0x80, 0x22], "1:3: invalid UTF-8 in a string: unexpected byte 0xA0"), // U+D800
        ([0x22, 0xF4, 0x90, 0x80, 0x80, 0x22], "1:3: invalid UTF-8 in a string: unexpected byte 0x90"), // > U+10FFFF
        ([0x22, 0x61, 0xC3, 0x28, 0x22], "1:4: invalid UTF-8 in a string: unexpected byte 0x28"),
        ([0x22, 0xE2, 0x82], "1:4: invalid UTF-8 in a string: unexpected end of input"),
        ([0x5B, 0xFF, 0x5D], "1:2: expected a value (an object, array, string, number, true, false or null), found byte 0xFF"),
    ] as [([UInt8], String)])
    func invalidUTF8IsRejectedWhereItIs(bytes: [UInt8], expected: String) {
        #expect(summary(jsonError(bytes: bytes)) == expected)
    }

    @Test(arguments: [
        ("{} x", "1:4: expected end of input after the JSON value, found 'x'"),
        ("1 2", "1:3: expected end of input after the JSON value, found '2'"),
        ("[]]", "1:3: expected end of input after the JSON value, found ']'"),
        ("{}\n\u{0}", "2:1: expected end of input after the JSON value, found control character 0x00"),
        ("truex", "1:5: expected end of input after the JSON value, found 'x'"),
        ("null // comment", "1:6: expected end of input after the JSON value, found '/'"),
    ])
    func trailingGarbageIsRejected(text: String, expected: String) {
        #expect(summary(jsonError(text)) == expected)
    }

    @Test func duplicateKeysAreRejectedAtTheSecondKey() {
        #expect(summary(jsonError("{\"a\": 1,\n \"b\": 2,\n \"a\": 3}")) == "3:2: duplicate key \"a\" (first at 1:2)")
        #expect(summary(jsonError(#"{"x": {"k": 1, "k": 1}}"#)) == "1:16: duplicate key \"k\" (first at 1:8)")
    }

    @Test func duplicateKeysAreFoundInLargeObjectsToo() {
        var text = "{"
        for index in 0..<200 { text += "\"key\(index)\": \(index), " }
        text += "\"key123\": 0}"
        let bytes = Array(text.utf8)
        let needle = Array("\"key123\"".utf8)
        let starts = bytes.indices.filter { bytes[$0...].starts(with: needle) }
        #expect(starts.count == 2)
        #expect(summary(jsonError(text)) == "1:\(starts[1] + 1): duplicate key \"key123\" (first at 1:\(starts[0] + 1))")
        #expect(jsonError(String(text.dropLast(14)) + "}") == nil)
    }

    @Test func keysThatDifferOnlyInEscapesAreStillDuplicates() {
        #expect(summary(jsonError(#"{"a": 1, "\u0061": 2}"#)) == "1:10: duplicate key \"a\" (first at 1:2)")
    }

    @Test func longDuplicateKeysAreShortenedInTheMessage() throws {
        let key = String(repeating: "é", count: 100)
        let message = try #require(jsonError("{\"\(key)\": 1, \"\(key)\": 2}")).message
        #expect(message.hasPrefix("duplicate key \"" + String(repeating: "é", count: 30) + "…\""))
    }
}
