import KingletDocument
import Testing

@Suite struct JSONWriterTests {
    @Test func outputIsCompactAndKeepsMemberOrder() throws {
        let node = try readJSON("""
        { "b": [1, true, null, "x"],
          "a": {"nested": {}, "list": []} }
        """)
        var writer = JSONWriter()
        writer.write(node)
        #expect(writer.text == #"{"b":[1,true,null,"x"],"a":{"nested":{},"list":[]}}"#)
    }

    @Test func streamingCallsPlaceTheCommas() {
        var writer = JSONWriter()
        writer.beginObject()
        writer.key("kind")
        writer.string("Pod")
        writer.key("ports")
        writer.beginArray()
        writer.integer(80)
        writer.integer(-1)
        writer.beginObject()
        writer.endObject()
        writer.beginArray()
        writer.endArray()
        writer.endArray()
        writer.key("ok")
        writer.bool(false)
        writer.key("none")
        writer.null()
        writer.key("ratio")
        writer.double(0.5)
        writer.endObject()
        #expect(writer.text == #"{"kind":"Pod","ports":[80,-1,{},[]],"ok":false,"none":null,"ratio":0.5}"#)
    }

    @Test func stringsEscapeQuotesBackslashesAndControlCharactersOnly() {
        var writer = JSONWriter()
        writer.string("\"\\\u{0}\u{1}\u{1F}\n\r\t\u{8}\u{C}/é😀\u{7F}")
        #expect(writer.text == #""\"\\\u0000\u0001\u001f\n\r\t\u0008\u000c/é😀\#u{7F}""#)
        writer.reset()
        writer.key("a\"b")
        writer.integer(1)
        #expect(writer.text == #""a\"b":1"#)
    }

    @Test func escapedStringsReadBackUnchanged() throws {
        let text = "\"\\\u{0}\u{1}\u{1F}\n\r\t\u{8}\u{C}/é😀\u{7F}\u{2028}"
        var writer = JSONWriter()
        writer.string(text)
        #expect(try JSONReader().parseDocument(writer.bytes).value == .string(text))
    }

    @Test func integersAtTheLimits() {
        var writer = JSONWriter()
        writer.beginArray()
        for number in [Int64.min, -1, 0, 7, 10, Int64.max] { writer.integer(number) }
        writer.endArray()
        #expect(writer.text == "[-9223372036854775808,-1,0,7,10,9223372036854775807]")
    }

    @Test(arguments: [
        (0.1, "0.1"), (1.0, "1.0"), (-0.0, "-0.0"), (1e100, "1e+100"), (123456.789e-10, "1.23456789e-05"),
        (.leastNonzeroMagnitude, "5e-324"), (1.7976931348623157e308, "1.7976931348623157e+308"), (-2.5, "-2.5"),
    ])
    func doublesUseTheShortestFormThatReadsBack(value: Double, expected: String) throws {
        var writer = JSONWriter()
        writer.double(value)
        #expect(writer.text == expected)
        guard case .double(let back) = try JSONReader().parseDocument(writer.bytes).value else {
            Issue.record("did not read back a double")
            return
        }
        #expect(back.bitPattern == value.bitPattern)
    }

    @Test func nonFiniteDoublesBecomeNullSinceJSONCannotCarryThem() {
        var writer = JSONWriter()
        writer.beginArray()
        writer.double(.infinity)
        writer.double(-.infinity)
        writer.double(.nan)
        writer.endArray()
        #expect(writer.text == "[null,null,null]")
    }

    @Test func resetKeepsTheBufferSoRewritingDoesNotGrowIt() throws {
        let node = try readJSON(#"{"name": "web", "ports": [80, 443], "labels": {"app": "web"}}"#)
        var writer = JSONWriter(capacity: 16)
        writer.write(node)
        let first = writer.bytes
        let capacity = writer.bytes.capacity
        for _ in 0..<100 {
            writer.reset()
            #expect(writer.bytes.isEmpty)
            writer.write(node)
        }
        #expect(writer.bytes == first)
        #expect(writer.bytes.capacity == capacity)
    }

    @Test func outputIsDeterministic() throws {
        let node = try readJSON(#"{"z": 1, "a": [2.5, "é"], "m": null}"#)
        var one = JSONWriter()
        var two = JSONWriter()
        one.write(node)
        two.write(node)
        #expect(one.bytes == two.bytes)
        #expect(one.withBytes { Array($0) } == one.bytes)
    }
}
