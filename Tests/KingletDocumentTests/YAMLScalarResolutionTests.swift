import KingletDocument
import Testing

/// The table of plain scalars and what they become, as go-yaml v2 (Kubernetes' YAML→JSON
/// step) resolves them. Each scalar is read as the value of a one-key mapping.
@Suite struct YAMLScalarResolutionTests {
    private func resolve(_ scalar: String) throws -> Plain {
        let node = try readYAMLDocument("v: " + scalar + "\n")
        return Plain(try #require(node.objectMember("v")).node)
    }

    @Test(arguments: ["", "~", "null", "Null", "NULL"])
    func nulls(text: String) throws {
        #expect(try resolve(text) == .null)
    }

    @Test(arguments: ["y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"])
    func yaml11TrueWords(text: String) throws {
        #expect(try resolve(text) == .bool(true))
    }

    @Test(arguments: ["n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"])
    func yaml11FalseWords(text: String) throws {
        #expect(try resolve(text) == .bool(false))
    }

    @Test(arguments: [
        ("0", Int64(0)), ("-0", 0), ("+12", 12), ("-17", -17), ("1_000", 1000), ("1__0", 10), ("1_", 1),
        ("0x1F", 31), ("0X1f", 31), ("-0x10", -16), ("+0x10", 16), ("0x_1F", 31),
        ("0o17", 15), ("0O17", 15), ("017", 15), ("0777", 511), ("00", 0), ("-017", -15),
        ("0b101", 5), ("0B11", 3), ("-0b11", -3),
        ("9223372036854775807", Int64.max), ("-9223372036854775808", Int64.min),
        ("0x7FFFFFFFFFFFFFFF", Int64.max),
    ] as [(String, Int64)])
    func integers(text: String, expected: Int64) throws {
        let value = try resolve(text)
        #expect(value.isSameKind(as: .int(0)) && value == .int(expected))
    }

    @Test(arguments: [
        ("1.5", 1.5), ("1.", 1.0), (".5", 0.5), ("-.5", -0.5), ("+1.5e3", 1500), ("1e3", 1000),
        ("1E-2", 0.01), ("0.0", 0), ("1_000.5", 1000.5),
        // No valid octal, so Go's ParseInt fails and the float pattern matches.
        ("08", 8), ("09.5", 9.5),
        // Beyond Int64: yaml.v2 gives a uint64 up to 2^64-1, a float past it.
        // (2^64-1 and -2^63-1 round to the nearest double, 2^64 and -2^63.)
        ("9223372036854775808", 0x1p63), ("18446744073709551615", 0x1p64),
        ("0xFFFFFFFFFFFFFFFF", 0x1p64), ("18446744073709551616", 0x1p64),
        ("+9223372036854775808", 0x1p63), ("-9223372036854775809", -0x1p63),
        (".inf", .infinity), (".Inf", .infinity), (".INF", .infinity), ("+.inf", .infinity),
        ("-.inf", -.infinity), ("-.Inf", -.infinity), ("-.INF", -.infinity),
        ("1e-400", 0),
    ] as [(String, Double)])
    func floats(text: String, expected: Double) throws {
        let value = try resolve(text)
        #expect(value.isSameKind(as: .double(0)) && value == .double(expected))
    }

    @Test(arguments: [".nan", ".NaN", ".NAN"])
    func notANumber(text: String) throws {
        guard case .double(let number) = try resolve(text) else { Issue.record("not a double"); return }
        #expect(number.isNaN)
    }

    @Test(arguments: [
        "yES", "tRUE", "nULL", "NuLL", "Nan", ".nAn", "inf", "+inf", "0x", "0b2", "0o", "0x1G", "1.2.3", "1e", "1e+",
        "12abc", "+", "_1", ".5_0", "1e400", ".5e400", "-1e400", "2001-12-14", "2001-12-14T21:59:43.10Z", "1:20",
        "<<", "hello world", "yes please", "0.0.0.0", "v1", "100m", "64Mi", "-a", "--1",
    ])
    func everythingElseIsAString(text: String) throws {
        #expect(try resolve(text) == .string(text))
    }

    @Test(arguments: [
        ("\"123\"", "123"), ("'true'", "true"), ("\"~\"", "~"), ("''", ""), ("\"0x10\"", "0x10"),
        ("|\n  42\n", "42\n"), (">\n  yes\n", "yes\n"),
    ] as [(String, String)])
    func quotedAndBlockScalarsAreStrings(text: String, expected: String) throws {
        #expect(try resolve(text) == .string(expected))
    }

    @Test(arguments: [
        ("!!str 123", Plain.string("123")), ("!!str yes", .string("yes")), ("!!str", .string("")),
        ("!!int \"42\"", .int(42)), ("!!int 0x10", .int(16)),
        ("!!float 1", .double(1)), ("!!float \"2.5\"", .double(2.5)), ("!!float .inf", .double(.infinity)),
        ("!!bool yes", .bool(true)), ("!!bool 'off'", .bool(false)),
        ("!!null ~", .null), ("!!null ''", .null),
        ("!foo 12", .string("12")), ("! 12", .string("12")), ("!!binary aGk=", .string("aGk=")),
        ("!!timestamp 2001-12-14", .string("2001-12-14")), ("!<tag:yaml.org,2002:int> 7", .int(7)),
    ] as [(String, Plain)])
    func explicitTagsAreHonored(text: String, expected: Plain) throws {
        let value = try resolve(text)
        #expect(value.isSameKind(as: expected) && value == expected)
    }

    @Test(arguments: [
        ("!!int abc", "1:4: \"abc\" is not a valid !!int (it carries that tag)"),
        ("!!int 1.5", "1:4: \"1.5\" is not a valid !!int (it carries that tag)"),
        ("!!bool 1", "1:4: \"1\" is not a valid !!bool (it carries that tag)"),
        ("!!float yes", "1:4: \"yes\" is not a valid !!float (it carries that tag)"),
        ("!!null 0", "1:4: \"0\" is not a valid !!null (it carries that tag)"),
    ] as [(String, String)])
    func tagsThatDoNotFitTheTextAreErrors(text: String, expected: String) {
        #expect(summary(yamlError("v: " + text + "\n")) == expected)
    }

    @Test(arguments: [
        ("name", "name"), ("yes", "true"), ("Off", "false"), ("y", "true"), ("1", "1"), ("0x10", "16"), ("-7", "-7"),
        ("1.5", "1.5"), ("1.50", "1.5"), ("1e6", "1e+06"), ("1e3", "1000"), ("100000.0", "100000"),
        ("1000000.0", "1e+06"), ("123456789.0", "1.2345679e+08"), ("0.1", "0.1"), ("0.0001", "0.0001"),
        ("0.00001", "1e-05"), ("3.14159265358979", "3.1415927"), ("-0.0", "-0"), ("0.0", "0"), ("1e40", ".inf"),
        (".inf", ".inf"), ("-.inf", "-.inf"), (".nan", ".nan"), ("\"~\"", "~"), ("'1'", "1"),
    ] as [(String, String)])
    func nonStringKeysBecomeTheirKubernetesStringForm(key: String, expected: String) throws {
        let node = try readYAMLDocument(key + ": x\n")
        guard case .object(let members) = node.value else { Issue.record("not a mapping"); return }
        #expect(members.map(\.key) == [expected])
    }
}
