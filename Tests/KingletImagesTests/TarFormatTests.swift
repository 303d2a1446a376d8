import Foundation
import Testing
@testable import KingletImages

/// Damaged and unusual tar streams: where the error points, and that the stream is read as
/// the formats define whatever the chunking.
@Suite struct TarFormatTests {
    /// A GNU tar of `first` (10 bytes) and `second`: headers at 0 and 1024.
    static func twoFiles(_ scratch: ImagesScratchFolder) throws -> [UInt8] {
        let source = scratch.file("source")
        try FileManager.default.createDirectory(atPath: source, withIntermediateDirectories: false)
        try Data("0123456789".utf8).write(to: URL(fileURLWithPath: source + "/first"))
        try Data(repeating: 0x41, count: 3000).write(to: URL(fileURLWithPath: source + "/second"))
        let tar = scratch.file("two.tar")
        try LayerFixtures.run("tar", ["--format=gnu", "-cf", tar, "-C", source, "first", "second"])
        return [UInt8](try Data(contentsOf: URL(fileURLWithPath: tar)))
    }

    static func write(_ bytes: [UInt8], _ path: String) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    @Test func badHeaderChecksumIsReportedWithTheEntryNameAndOffset() throws {
        let scratch = ImagesScratchFolder()
        defer { scratch.remove() }
        var bytes = try Self.twoFiles(scratch)
        #expect(String(decoding: bytes[1024..<1030], as: UTF8.self) == "second")
        bytes[1024 + 136 + 2] ^= 0x01  // one mtime digit: the name still reads "second"
        let tar = scratch.file("bad.tar")
        try Self.write(bytes, tar)
        let gzip = try LayerFixtures.gzip(tar, in: scratch)
        for (index, layer) in [tar, gzip].enumerated() {
            let root = scratch.file("root-\(index)")
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: false)
            let error = LayerFixtures.unpackError(layer, into: root, seed: 31)
            #expect(error == .badHeaderChecksum(entry: "second", offset: 1024))
            #expect(error?.description == "bad tar header checksum at byte 1024 (entry \"second\")")
            #expect(LayerTreeSnapshot.exists(root + "/first"))
            #expect(!LayerTreeSnapshot.exists(root + "/second"))
        }
    }

    @Test func tarCutInsideAnEntryIsTruncatedWithItsName() throws {
        let scratch = ImagesScratchFolder()
        defer { scratch.remove() }
        let bytes = try Self.twoFiles(scratch)
        let tar = scratch.file("cut.tar")
        try Self.write(Array(bytes[..<(1536 + 700)]), tar)
        let error = LayerFixtures.unpackError(tar, into: try LayerFixtures.emptyRoot(in: scratch), seed: 32)
        #expect(error == .truncatedTar(entry: "second"))
        #expect(error?.description == "truncated tar: the layer ends inside entry \"second\"")
    }

    @Test func tarCutInsideAHeaderIsTruncated() throws {
        let scratch = ImagesScratchFolder()
        defer { scratch.remove() }
        let bytes = try Self.twoFiles(scratch)
        let tar = scratch.file("cut.tar")
        try Self.write(Array(bytes[..<(1024 + 300)]), tar)
        let error = LayerFixtures.unpackError(tar, into: try LayerFixtures.emptyRoot(in: scratch), seed: 33)
        #expect(error == .truncatedTar(entry: nil))
    }

    @Test func gzipOfATruncatedTarIsATruncatedTar() throws {
        let scratch = ImagesScratchFolder()
        defer { scratch.remove() }
        let bytes = try Self.twoFiles(scratch)
        let tar = scratch.file("cut.tar")
        try Self.write(Array(bytes[..<(1536 + 700)]), tar)
        let gzip = try LayerFixtures.gzip(tar, in: scratch)
        let error = LayerFixtures.unpackError(gzip, into: try LayerFixtures.emptyRoot(in: scratch), seed: 34)
        #expect(error == .truncatedTar(entry: "second"))
    }

    @Test func dataThatIsNeitherGzipNorTarIsNotALayer() throws {
        let scratch = ImagesScratchFolder()
        defer { scratch.remove() }
        var random = ChunkRandom(seed: 35)
        let garbage = (0..<2048).map { _ in UInt8(truncatingIfNeeded: random.next() | 1) }
        let zstdMagic: [UInt8] = [0x28, 0xB5, 0x2F, 0xFD] + garbage
        for (bytes, expected) in [(garbage, "the data starts with neither the gzip magic nor a tar header"),
                                  (zstdMagic, "zstd-compressed layers are not supported")] {
            let path = scratch.file("garbage")
            try Self.write(bytes, path)
            let root = scratch.file("root-\(bytes.count)")
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: false)
            #expect(LayerFixtures.unpackError(path, into: root, seed: 36) == .notALayer(expected))
            #expect(try FileManager.default.contentsOfDirectory(atPath: root).isEmpty)
        }
    }

    @Test func emptyInputIsNotALayer() throws {
        let scratch = ImagesScratchFolder()
        defer { scratch.remove() }
        let unpacker = try LayerUnpacker(root: try LayerFixtures.emptyRoot(in: scratch))
        #expect(throws: LayerError.notALayer("the layer is empty")) { try unpacker.finish() }
    }

    @Test func feedAfterAnErrorRepeatsTheErrorAndFinishTwiceIsRefused() throws {
        let scratch = ImagesScratchFolder()
        defer { scratch.remove() }
        let original = try Self.twoFiles(scratch)
        var bytes = original
        bytes[100] ^= 0x01  // the first header's mode field
        let root = try LayerFixtures.emptyRoot(in: scratch)
        let unpacker = try LayerUnpacker(root: root)
        let expected = LayerError.badHeaderChecksum(entry: "first", offset: 0)
        try bytes.withUnsafeBytes { (all: UnsafeRawBufferPointer) throws in
            #expect(throws: expected) { try unpacker.feed(all) }
            #expect(throws: expected) { try unpacker.feed(all) }
            #expect(throws: expected) { try unpacker.finish() }
        }

        let good = try LayerUnpacker(root: scratch.file("source"))
        try original.withUnsafeBytes { try good.feed($0) }
        try good.finish()
        #expect(throws: LayerError.finished) { try good.finish() }
    }

    @Test func pathsLongerThanTheHeaderFieldSurviveAnyChunking() throws {
        let scratch = ImagesScratchFolder()
        defer { scratch.remove() }
        // GNU format (`L`/`K` members), POSIX ustar (prefix field) and pax (`path`,
        // `linkpath`), all from Python's tarfile.
        let name = "a/" + String(repeating: "b", count: 90) + "/" + String(repeating: "c", count: 90)
        let target = String(repeating: "t", count: 200)
        for format in ["GNU_FORMAT", "USTAR_FORMAT", "PAX_FORMAT"] {
            let tar = scratch.file("\(format).tar")
            try LayerFixtures.python("""
                import io, sys, tarfile
                with tarfile.open(sys.argv[1], "w", format=tarfile.\(format)) as tf:
                    info = tarfile.TarInfo(sys.argv[2]); data = b"long\\n"; info.size = len(data)
                    tf.addfile(info, io.BytesIO(data))
                    if tarfile.\(format) != tarfile.USTAR_FORMAT:
                        info = tarfile.TarInfo("link"); info.type = tarfile.SYMTYPE; info.linkname = sys.argv[3]
                        tf.addfile(info)
                """, [tar, name, target])
            for seed: UInt64 in 40..<44 {
                let root = scratch.file("root-\(format)-\(seed)")
                try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: false)
                try LayerFixtures.unpack(tar, into: root, seed: seed)
                let tree = LayerTreeSnapshot(root)
                #expect(tree.entries[name]?.contents == Data("long\n".utf8), "\(format)")
                if format != "USTAR_FORMAT" { #expect(tree.entries["link"]?.linkTarget == target, "\(format)") }
            }
        }
    }
}
