import KingletDocument
import KingletLoopTesting
import Testing

/// Seeded, bounded properties: any tree the writer writes reads back as the same tree.
@Suite struct PropertyTests {
    @Test func writtenTreesReadBackEqual() throws {
        var trees = RandomTrees(seed: 0x4B49_4E47_4C45_5401)
        var writer = JSONWriter()
        var rewriter = JSONWriter()
        for round in 0..<4_000 {
            let tree = trees.node()
            writer.reset()
            writer.write(tree)
            let back: Node
            do {
                back = try JSONReader().parseDocument(writer.bytes, file: "round-\(round).json")
            } catch {
                Issue.record("round \(round): \(error.description)\n\(writer.text)")
                return
            }
            #expect(back.hasSameContent(as: tree), "round \(round): \(writer.text)")
            rewriter.reset()
            rewriter.write(back)
            #expect(rewriter.bytes == writer.bytes, "round \(round): writing is not stable")
        }
    }

    @Test func doublesReadBackBitForBit() throws {
        var random = SplitMix64(seed: 7)
        var writer = JSONWriter()
        for _ in 0..<20_000 {
            let value = Double(bitPattern: random.next())
            guard value.isFinite else { continue }
            writer.reset()
            writer.double(value)
            guard case .double(let back) = try JSONReader().parseDocument(writer.bytes).value else {
                Issue.record("\(writer.text) did not read as a double")
                return
            }
            #expect(back.bitPattern == value.bitPattern, "\(writer.text)")
        }
    }

    @Test func integersReadBackExactly() throws {
        var random = SplitMix64(seed: 11)
        var writer = JSONWriter()
        for _ in 0..<20_000 {
            let value = Int64(bitPattern: random.next()) >> (random.next() % 64)
            writer.reset()
            writer.integer(value)
            #expect(try JSONReader().parseDocument(writer.bytes).value == .integer(value))
        }
    }

    @Test func writtenTreesReadTheSameAsYAML() throws {
        // The writer's JSON is also YAML; the YAML reader's resolution must agree with the
        // JSON reader on every scalar the writer produces.
        var trees = RandomTrees(seed: 0x5941_4D4C, yamlSafe: true)
        var writer = JSONWriter()
        for round in 0..<1_500 {
            let tree = trees.node()
            writer.reset()
            writer.write(tree)
            do {
                let back = try YAMLReader().parseDocument(writer.bytes, file: "round-\(round).yaml")
                #expect(back.hasSameContent(as: tree), "round \(round): \(writer.text)")
            } catch {
                Issue.record("round \(round): \(error.description)\n\(writer.text)")
                return
            }
        }
    }
}
