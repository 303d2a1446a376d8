import KingletDocument
import KingletLoopTesting
import Testing

/// Seeded, bounded mutation fuzzing: damaged JSON and YAML must give a tree or a
/// DocumentError with a position inside the input, never a crash or a hang.
@Suite struct FuzzTests {
    static let jsonSeeds: [[UInt8]] = [
        Array(PodManifestTests.podJSON.utf8),
        Array(#"{"s": "a\"b\\c\/\b\f\n\r\t\u00e9\ud83d\ude00", "n": [0, -0, 1.5e-3, -9223372036854775808, 1E+2], "t": true, "f": false, "z": null}"#.utf8),
        Array("[[[[{\"a\":[{}]}]]], \"é😀\", 123456789012345678901234567890]".utf8),
    ]

    static let yamlSeeds: [[UInt8]] = [
        Array(PodManifestTests.podYAML.utf8),
        Array("""
        %YAML 1.1
        ---
        base: &base {cpu: 100m, replicas: 0x10, ok: yes}
        list: &list [1, 2.5, .inf, ~, "q", 'single', !!str 12, !!int "7"]
        pod:
          <<: [*base, {extra: 1}]
          copy: *list
          text: |
            line
          folded: >-
            a
            b
          1.5: float key
          ? plain key
          : value
        ...
        --- !!map
        second: [é, 😀]
        """.utf8),
    ]

    @Test func mutatedJSONReadsOrFailsCleanly() {
        var random = SplitMix64(seed: 0x4A53_4F4E)
        let reader = JSONReader()
        var writer = JSONWriter()
        var errors = 0
        for _ in 0..<20_000 {
            let input = Mutator.mutate(Self.jsonSeeds[Int(random.next() % UInt64(Self.jsonSeeds.count))], using: &random)
            do {
                let node = try reader.parseDocument(input, file: "fuzz.json")
                writer.reset()
                writer.write(node)
                let again = try reader.parseDocument(writer.bytes)
                #expect(again.hasSameContent(as: node))
            } catch {
                errors += 1
                Mutator.expectPlausible(error, in: input)
            }
        }
        #expect(errors > 10_000) // the mutations really damage documents
    }

    @Test func mutatedYAMLReadsOrFailsCleanly() {
        var random = SplitMix64(seed: 0x5941_4D4C)
        let reader = YAMLReader(maxNodes: 10_000)
        var writer = JSONWriter()
        var errors = 0
        for _ in 0..<20_000 {
            let input = Mutator.mutate(Self.yamlSeeds[Int(random.next() % UInt64(Self.yamlSeeds.count))], using: &random)
            do {
                let documents = try reader.parseDocuments(input, file: "fuzz.yaml")
                for document in documents where !Mutator.hasNonFinite(document.value) {
                    writer.reset()
                    writer.write(document)
                    let again = try JSONReader().parseDocument(writer.bytes)
                    #expect(again.hasSameContent(as: document))
                }
            } catch {
                errors += 1
                Mutator.expectPlausible(error, in: input)
            }
        }
        #expect(errors > 2_000)
    }

    @Test func everyPrefixOfAValidDocumentReadsOrFailsCleanly() {
        for seed in Self.jsonSeeds {
            for end in 0...seed.count {
                do { _ = try JSONReader().parseDocument(Array(seed[..<end])) } catch { Mutator.expectPlausible(error, in: Array(seed[..<end])) }
            }
        }
        for seed in Self.yamlSeeds {
            for end in 0...seed.count {
                do { _ = try YAMLReader().parseDocuments(Array(seed[..<end])) } catch { Mutator.expectPlausible(error, in: Array(seed[..<end])) }
            }
        }
    }
}

/// Byte-level damage: flips, inserts, deletions, duplicated and swapped spans, truncation.
enum Mutator {
    /// Bytes that matter to the grammars, favoured over uniform noise.
    static let interesting: [UInt8] = Array("{}[]:,\"'\\-?&*!|>#%@`~ \t\n\r0123456789.eE+u<".utf8) + [0x00, 0x7F, 0x80, 0xBF, 0xC0, 0xC3, 0xE2, 0xED, 0xF0, 0xF4, 0xFE, 0xFF]

    static func mutate(_ seed: [UInt8], using random: inout SplitMix64) -> [UInt8] {
        var bytes = seed
        for _ in 0..<Int.random(in: 1...4, using: &random) {
            let index = bytes.isEmpty ? 0 : Int.random(in: 0..<bytes.count, using: &random)
            switch Int.random(in: 0..<7, using: &random) {
            case 0 where !bytes.isEmpty:
                bytes[index] = UInt8.random(in: 0...255, using: &random)
            case 1 where !bytes.isEmpty:
                bytes[index] = interesting[Int.random(in: 0..<interesting.count, using: &random)]
            case 2:
                bytes.insert(interesting[Int.random(in: 0..<interesting.count, using: &random)], at: index)
            case 3 where !bytes.isEmpty:
                let end = min(bytes.count, index + Int.random(in: 1...16, using: &random))
                bytes.removeSubrange(index..<end)
            case 4 where !bytes.isEmpty:
                let end = min(bytes.count, index + Int.random(in: 1...32, using: &random))
                let at = Int.random(in: 0...bytes.count, using: &random)
                bytes.insert(contentsOf: Array(bytes[index..<end]), at: at)
            case 5 where bytes.count > 1:
                bytes.swapAt(index, Int.random(in: 0..<bytes.count, using: &random))
            case 6:
                bytes.removeSubrange(index...)
            default:
                break
            }
        }
        return bytes
    }

    /// An error from damaged input must point inside it (or just past its end).
    static func expectPlausible(_ error: DocumentError, in input: [UInt8]) {
        #expect(!error.message.isEmpty)
        guard let position = error.position else {
            Issue.record("no position: \(error.description)")
            return
        }
        let lines = input.reduce(1) { $0 + ($1 == 0x0A ? 1 : 0) }
        #expect(position.line >= 1 && position.line <= lines + 1, "\(error.description)")
        #expect(position.column >= 1 && position.column <= input.count + 1, "\(error.description)")
    }

    static func hasNonFinite(_ value: Value) -> Bool {
        switch value {
        case .double(let number): return !number.isFinite
        case .array(let items): return items.contains { hasNonFinite($0.value) }
        case .object(let members): return members.contains { hasNonFinite($0.node.value) }
        default: return false
        }
    }
}
