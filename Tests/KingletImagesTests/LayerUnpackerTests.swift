import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import KingletImages

/// Layers made by independent tools (GNU tar and gzip, Python's tarfile) at test time,
/// unpacked by LayerUnpacker fed in seeded random chunks, and compared with what `tar -x`
/// of the same layers gives once the OCI whiteouts (image-spec layer.md) are applied.
@Suite struct LayerUnpackerTests {
    @Test func gzipLayersFedInRandomChunksMatchGNUTarExtractionWithWhiteouts() throws {
        let scratch = ImagesScratchFolder()
        defer { scratch.remove() }
        let layers = try LayerFixtures.twoLayers(in: scratch)

        let reference = scratch.file("reference")
        try LayerFixtures.extractWithGNUTar(layers.tars, into: reference, scratch: scratch)

        for seed: UInt64 in [1, 2, 3] {
            let root = scratch.file("root-\(seed)")
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: false)
            let first = try LayerFixtures.unpack(layers.gzips[0], into: root, seed: seed)
            let second = try LayerFixtures.unpack(layers.gzips[1], into: root, seed: seed &* 7919)
            #expect(first.whiteoutsApplied == 0)
            #expect(second.whiteoutsApplied == 4, "the opaque folder and the three whiteouts")
            #expect(first.skippedSpecialFiles == 0, "running as root, the FIFO is made")

            let differences = LayerTreeSnapshot(root).differences(from: LayerTreeSnapshot(reference))
            #expect(differences.isEmpty, "seed \(seed): \(differences.joined(separator: "\n"))")
        }

        // The spec's three whiteout cases, checked by name too (not only against tar).
        let root = scratch.file("root-1")
        let names = Set(LayerTreeSnapshot(root).entries.keys)
        #expect(!names.contains("gone") && !names.contains("gone/file") && !names.contains("gonefile"))
        #expect(names.contains("opq/new-before") && names.contains("opq/new-after"))
        #expect(!names.contains("opq/old1") && !names.contains("opq/olddir"))
        #expect(!names.contains("opq/.wh..wh..opq") && !names.contains(".wh.gone"))
        #expect(names.contains("keep/a") && names.contains("keep/b"))
        #expect(names.contains("gone2/new") && !names.contains("gone2/old"),
                "a whiteout after the layer's own entries hides only the lower ones")
        #expect(names.contains("abs2/file"), "absolute names are taken below the root")

        // What the comparison covers, pinned on its own in case tar and the unpacker agree
        // on something wrong.
        let tree = LayerTreeSnapshot(root)
        #expect(tree.entries["bin/tool-hard"]?.hardLinks == ["bin/tool", "bin/tool-hard"])
        #expect(tree.entries["etc/config-hard"]?.hardLinks == ["etc/config", "etc/config-hard"])
        #expect(tree.entries["bin/suid"]?.mode == 0o4755)
        #expect(tree.entries["etc/secret"].map { [$0.mode, $0.uid, $0.gid] } == [0o600, 1000, 1000])
        #expect(tree.entries["bigids"].map { [$0.uid, $0.gid] } == [3_000_000, 3_000_001])
        #expect(tree.entries["fraction"]?.mtime == "1700000000.250000000")
        #expect(tree.entries["ro"]?.mode == 0o555 && tree.entries["keep"]?.mode == 0o700 && tree.entries["opq"]?.mode == 0o750)
        #expect(tree.entries[String(repeating: "n", count: 150)]?.contents == Data("long name\n".utf8))
        #expect(tree.entries["longlink"]?.linkTarget == String(repeating: "t", count: 150))
        #expect(tree.entries["abs"]?.linkTarget == "/etc/config")
        #expect(tree.entries["pipe"]?.kind == "fifo")
        #expect(tree.entries["typechange"]?.kind == "file" && !names.contains("typechange/child"))
        #expect(tree.entries["becomeslink"]?.linkTarget == "etc/config")
        #expect(tree.entries["unicod\u{e9}-\u{540d}\u{524d}.txt"]?.contents == Data("\u{fc}n\u{ef}c\u{f6}d\u{e9}\n".utf8))
        #expect(tree.entries["p/" + String(repeating: "q", count: 120) + "/file"] != nil)
        #expect(tree.entries["big.bin"]?.contents?.count == 1 << 20)
    }

    @Test func diffIDIsTheSha256OfTheUncompressedTar() throws {
        let scratch = ImagesScratchFolder()
        defer { scratch.remove() }
        let layers = try LayerFixtures.twoLayers(in: scratch)
        let root = try LayerFixtures.emptyRoot(in: scratch)
        for index in 0..<2 {
            let unpacker = try LayerFixtures.unpack(layers.gzips[index], into: root, seed: UInt64(40 + index))
            let expected = try LayerFixtures.sha256sum(layers.tars[index])
            #expect(unpacker.diffID?.description == "sha256:" + expected)
            #expect(unpacker.tarBytes == UInt64(try Data(contentsOf: URL(fileURLWithPath: layers.tars[index])).count))
        }
    }

    @Test func plainTarLayersAreDetectedAndGiveTheSameTreeAsGzip() throws {
        let scratch = ImagesScratchFolder()
        defer { scratch.remove() }
        let layers = try LayerFixtures.twoLayers(in: scratch)
        let fromGzip = scratch.file("gzip")
        let fromTar = scratch.file("tar")
        let declared = scratch.file("declared")
        for folder in [fromGzip, fromTar, declared] {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false)
        }
        for index in 0..<2 {
            _ = try LayerFixtures.unpack(layers.gzips[index], into: fromGzip, seed: 9)
            let plain = try LayerFixtures.unpack(layers.tars[index], into: fromTar, seed: 10)
            #expect(plain.diffID?.description == "sha256:" + (try LayerFixtures.sha256sum(layers.tars[index])))
            _ = try LayerFixtures.unpack(layers.gzips[index], into: declared, seed: 11, compression: .gzip)
        }
        #expect(LayerTreeSnapshot(fromTar).differences(from: LayerTreeSnapshot(fromGzip)).isEmpty)
        #expect(LayerTreeSnapshot(declared).differences(from: LayerTreeSnapshot(fromGzip)).isEmpty)
    }

    @Test func truncatedGzipIsReportedAndNothingIsWrittenOutsideTheRoot() throws {
        let scratch = ImagesScratchFolder()
        defer { scratch.remove() }
        let layers = try LayerFixtures.twoLayers(in: scratch)
        let whole = try Data(contentsOf: URL(fileURLWithPath: layers.gzips[0]))
        let cut = scratch.file("cut.tar.gz")
        try whole.prefix(whole.count / 2).write(to: URL(fileURLWithPath: cut))
        let root = try LayerFixtures.emptyRoot(in: scratch)
        let before = try LayerFixtures.outsideListing(scratch)
        let error = LayerFixtures.unpackError(cut, into: root, seed: 5)
        #expect(error == .truncatedGzip)
        #expect(error?.description.contains("truncated gzip") == true)
        #expect(try LayerFixtures.outsideListing(scratch) == before)
    }

    @Test func corruptGzipDataIsReported() throws {
        let scratch = ImagesScratchFolder()
        defer { scratch.remove() }
        let layers = try LayerFixtures.twoLayers(in: scratch)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: layers.gzips[0]))
        // Past the 10-byte gzip header: deflate data (or, at worst, the CRC trailer).
        for offset in stride(from: bytes.count / 3, to: bytes.count / 3 + 64, by: 1) { bytes[offset] ^= 0x5A }
        let corrupt = scratch.file("corrupt.tar.gz")
        try bytes.write(to: URL(fileURLWithPath: corrupt))
        let root = try LayerFixtures.emptyRoot(in: scratch)
        let error = LayerFixtures.unpackError(corrupt, into: root, seed: 6)
        guard case .corruptGzip = error else {
            Issue.record("expected corrupt gzip, got \(error?.description ?? "success")")
            return
        }
        #expect(error?.description.hasPrefix("corrupt gzip stream: ") == true)
    }

    @Test func trailingGarbageAfterTheLastGzipMemberIsCorrupt() throws {
        let scratch = ImagesScratchFolder()
        defer { scratch.remove() }
        let layers = try LayerFixtures.twoLayers(in: scratch)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: layers.gzips[0]))
        bytes.append(contentsOf: Array("not gzip".utf8))
        let path = scratch.file("garbage.tar.gz")
        try bytes.write(to: URL(fileURLWithPath: path))
        let error = LayerFixtures.unpackError(path, into: try LayerFixtures.emptyRoot(in: scratch), seed: 8)
        guard case .corruptGzip = error else {
            Issue.record("expected corrupt gzip, got \(error?.description ?? "success")")
            return
        }
    }

    @Test func deviceNodesAreCreatedWhenPrivilegedOrSkippedAndCounted() throws {
        let scratch = ImagesScratchFolder()
        defer { scratch.remove() }
        let tar = scratch.file("devices.tar")
        try LayerFixtures.python("""
            import sys, tarfile
            with tarfile.open(sys.argv[1], "w", format=tarfile.USTAR_FORMAT) as tf:
                for name, kind, major, minor in (("dev/null", tarfile.CHRTYPE, 1, 3), ("dev/loop9", tarfile.BLKTYPE, 7, 9),
                                                 ("dev/fifo", tarfile.FIFOTYPE, 0, 0)):
                    info = tarfile.TarInfo(name)
                    info.type, info.mode, info.devmajor, info.devminor = kind, 0o620, major, minor
                    tf.addfile(info)
            """, [tar])
        let root = try LayerFixtures.emptyRoot(in: scratch)
        let unpacker = try LayerFixtures.unpack(tar, into: root, seed: 12)
        let snapshot = LayerTreeSnapshot(root)
        #expect(snapshot.entries["dev/fifo"]?.kind == "fifo")
        #expect(snapshot.entries["dev/fifo"]?.mode == 0o620)
        if getuid() == 0 && unpacker.skippedSpecialFiles == 0 {
            #expect(snapshot.entries["dev/null"]?.kind == "char 1,3")
            #expect(snapshot.entries["dev/loop9"]?.kind == "block 7,9")
            #expect(snapshot.entries["dev/null"]?.mode == 0o620)
        } else {
            #expect(unpacker.skippedSpecialFiles == 2)
            #expect(snapshot.entries["dev/null"] == nil)
        }
    }

    @Test func largeLayerUnpacksWithBoundedChunksAndMatchesTar() throws {
        let scratch = ImagesScratchFolder()
        defer { scratch.remove() }
        let source = scratch.file("large")
        // 48 MiB in 96 files, half random and half text: about what a runtime layer holds.
        try LayerFixtures.python("""
            import os, sys, random
            random.seed(7)
            root = sys.argv[1]
            for i in range(96):
                folder = os.path.join(root, "d%02d" % (i % 12))
                os.makedirs(folder, exist_ok=True)
                with open(os.path.join(folder, "f%03d" % i), "wb") as f:
                    f.write(random.randbytes(256 * 1024))
                    f.write((("line %d of file %d\\n" % (i, i)) * 20000)[: 256 * 1024].encode())
            """, [source])
        let tar = scratch.file("large.tar")
        try LayerFixtures.run("tar", ["--format=gnu", "--sort=name", "--numeric-owner", "-cf", tar, "-C", source, "."])
        let gzip = try LayerFixtures.gzip(tar, in: scratch)
        let reference = scratch.file("reference")
        try LayerFixtures.extractWithGNUTar([tar], into: reference, scratch: scratch)

        let root = try LayerFixtures.emptyRoot(in: scratch)
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: gzip)))
        let started = Date()
        let unpacker = try LayerUnpacker(root: root)
        try bytes.withUnsafeBytes { (all: UnsafeRawBufferPointer) throws in
            var offset = 0
            // What a TLS read hands over: 16 KiB records.
            while offset < all.count {
                let end = min(offset + 16 * 1024, all.count)
                try unpacker.feed(UnsafeRawBufferPointer(rebasing: all[offset..<end]))
                offset = end
            }
        }
        try unpacker.finish()
        let seconds = Date().timeIntervalSince(started)
        let megabytes = Double(unpacker.tarBytes) / 1_048_576
        print("LayerUnpacker: \(Int(megabytes)) MiB tar (\(bytes.count / 1024) KiB gzip) in \(Int(seconds * 1000)) ms: "
              + "\(Int(megabytes / seconds)) MiB/s uncompressed")
        #expect(unpacker.diffID?.description == "sha256:" + (try LayerFixtures.sha256sum(tar)))
        #expect(LayerTreeSnapshot(root).differences(from: LayerTreeSnapshot(reference)).isEmpty)
    }
}

// MARK: - Fixtures

/// The layer fixtures and the independent tools that make and check them.
enum LayerFixtures {
    struct Layers {
        /// Uncompressed tars, bottom layer first.
        var tars: [String]
        /// The same, gzip-compressed (the second as two concatenated gzip members).
        var gzips: [String]
    }

    struct ToolFailure: Error, CustomStringConvertible {
        var description: String
    }

    /// Layer 1: GNU tar (GNU format: `L`/`K` long names) of a tree with modes, owners, nested
    /// folders, symlinks, hard links, a FIFO, names longer than 100 bytes and a 1 MiB file.
    /// Layer 2: Python's tarfile in pax format (a global header, pax paths, a fractional
    /// mtime, large ids) with a whiteout of a folder and of a file, an opaque folder with
    /// entries before and after its marker, a whiteout after the layer's own entry in the
    /// folder it hides, type changes and a hard link to layer 1.
    static func twoLayers(in scratch: ImagesScratchFolder) throws -> Layers {
        let source = scratch.file("layer1-source")
        let manager = FileManager.default
        func folder(_ path: String, _ mode: Int = 0o755) throws {
            try manager.createDirectory(atPath: source + "/" + path, withIntermediateDirectories: true)
            chmod(source + "/" + path, mode_t(mode))
        }
        func file(_ path: String, _ contents: String, _ mode: Int = 0o644, owner: (uid_t, gid_t)? = nil) throws {
            try Data(contents.utf8).write(to: URL(fileURLWithPath: source + "/" + path))
            chmod(source + "/" + path, mode_t(mode))
            if let owner { lchown(source + "/" + path, owner.0, owner.1) }
        }
        try folder("")
        try folder("etc")
        try file("etc/config", "hello config\n")
        try file("etc/secret", "secret\n", 0o600, owner: (1000, 1000))
        try folder("bin")
        try file("bin/tool", "#!/bin/sh\necho tool\n", 0o755)
        try file("bin/suid", "setuid\n", 0o4755)
        try manager.createSymbolicLink(atPath: source + "/bin/link", withDestinationPath: "tool")
        link(source + "/bin/tool", source + "/bin/tool-hard")
        try manager.createSymbolicLink(atPath: source + "/abs", withDestinationPath: "/etc/config")
        try manager.createSymbolicLink(atPath: source + "/dangling", withDestinationPath: "nowhere/at/all")
        try manager.createSymbolicLink(atPath: source + "/longlink", withDestinationPath: String(repeating: "t", count: 150))
        try folder("usr/share/doc")
        try file("usr/share/doc/readme", "read me\n")
        let deep = "deep/" + String(repeating: "d", count: 60) + "/" + String(repeating: "e", count: 60)
        try folder(deep)
        try file(deep + "/" + String(repeating: "f", count: 70), "deep file\n")
        try file(String(repeating: "n", count: 150), "long name\n", 0o640)
        try file("empty", "")
        var random = ChunkRandom(seed: 99)
        var big = Data(count: 1 << 20)
        for index in 0..<(1 << 19) { big[index] = UInt8(truncatingIfNeeded: random.next()) }
        try big.write(to: URL(fileURLWithPath: source + "/big.bin"))
        mkfifo(source + "/pipe", 0o644)
        try folder("gone/sub")
        try file("gone/file", "to be whited out\n")
        try file("gone/sub/x", "x\n")
        try file("gonefile", "to be whited out\n")
        try folder("gone2")
        try file("gone2/old", "hidden by a whiteout after the layer's own gone2/new\n")
        try folder("opq/olddir")
        try file("opq/old1", "lower\n")
        try file("opq/olddir/old2", "lower\n")
        try folder("typechange")
        try file("typechange/child", "child\n")
        try file("becomeslink", "a file first\n")
        try folder("keep", 0o700)
        try file("keep/a", "a\n")
        try file("ro-file", "in a read-only folder\n")
        try folder("ro")
        try manager.moveItem(atPath: source + "/ro-file", toPath: source + "/ro/file")
        chmod(source + "/ro", 0o555)

        let tar1 = scratch.file("layer1.tar")
        try run("tar", ["--format=gnu", "--sort=name", "--numeric-owner", "-cf", tar1, "-C", source, "."])

        let tar2 = scratch.file("layer2.tar")
        try python("""
            import io, sys, tarfile
            def add(tf, name, kind=tarfile.REGTYPE, data=b"", mode=0o644, link="", mtime=1700000000, uid=0, gid=0):
                info = tarfile.TarInfo(name)
                info.type, info.mode, info.mtime, info.uid, info.gid, info.linkname = kind, mode, mtime, uid, gid, link
                info.size = len(data) if kind == tarfile.REGTYPE else 0
                tf.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)
            with tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT, pax_headers={"comment": "kinglet test"}) as tf:
                add(tf, "opq", tarfile.DIRTYPE, mode=0o750)
                add(tf, "opq/new-before", data=b"written before the marker\\n")
                add(tf, "opq/.wh..wh..opq")
                add(tf, "opq/new-after", data=b"written after the marker\\n")
                add(tf, "./.wh.gone")
                add(tf, ".wh.gonefile")
                add(tf, "typechange", data=b"now a file\\n", mode=0o640)
                add(tf, "becomeslink", tarfile.SYMTYPE, link="etc/config")
                add(tf, "etc/config-hard", tarfile.LNKTYPE, link="etc/config")
                add(tf, "p/" + "q" * 120 + "/file", data=b"a pax path\\n")
                add(tf, "unicod\\u00e9-\\u540d\\u524d.txt", data="\\u00fcn\\u00efc\\u00f6d\\u00e9\\n".encode())
                add(tf, "fraction", data=b"x", mtime=1700000000.25)
                add(tf, "bigids", data=b"ids\\n", uid=3000000, gid=3000001)
                add(tf, "keep/b", data=b"b\\n")
                add(tf, "gone2/new", data=b"this layer's own\\n")
                add(tf, ".wh.gone2")
                add(tf, "/abs2/file", data=b"absolute\\n")
            """, [tar2])

        let gzip1 = try gzip(tar1, in: scratch)
        // Layer 2 as two gzip members, split inside a tar header: gzip(1) reads that as one
        // stream, and so must the unpacker.
        let whole = try Data(contentsOf: URL(fileURLWithPath: tar2))
        let split = 512 * 3 + 100
        let part1 = scratch.file("layer2.part1")
        let part2 = scratch.file("layer2.part2")
        try whole.prefix(split).write(to: URL(fileURLWithPath: part1))
        try whole.dropFirst(split).write(to: URL(fileURLWithPath: part2))
        var members = try Data(contentsOf: URL(fileURLWithPath: try gzip(part1, in: scratch)))
        members.append(try Data(contentsOf: URL(fileURLWithPath: try gzip(part2, in: scratch))))
        let gzip2 = scratch.file("layer2.tar.gz")
        try members.write(to: URL(fileURLWithPath: gzip2))
        return Layers(tars: [tar1, tar2], gzips: [gzip1, gzip2])
    }

    /// The reference tree: `tar -x` of each layer in turn, with the layer's whiteouts applied
    /// to the tree below it first (image-spec layer.md) and entries that change an entry's
    /// type removing the old one, as the spec's "Modifications" require.
    static func extractWithGNUTar(_ tars: [String], into reference: String, scratch: ImagesScratchFolder) throws {
        let manager = FileManager.default
        try manager.createDirectory(atPath: reference, withIntermediateDirectories: true)
        for tar in tars {
            let listing = String(decoding: try run("tar", ["--quoting-style=literal", "-tf", tar]), as: UTF8.self)
            for line in listing.split(separator: "\n") {
                var name = String(line)
                let isFolder = name.hasSuffix("/")
                while name.hasPrefix("/") || name.hasPrefix("./") { name.removeFirst(name.hasPrefix("/") ? 1 : 2) }
                while name.hasSuffix("/") { name.removeLast() }
                if name.isEmpty || name == "." { continue }
                let parent = (name as NSString).deletingLastPathComponent
                let base = (name as NSString).lastPathComponent
                let parentPath = parent.isEmpty ? reference : reference + "/" + parent
                if base == ".wh..wh..opq" {
                    for child in (try? manager.contentsOfDirectory(atPath: parentPath)) ?? [] {
                        try manager.removeItem(atPath: parentPath + "/" + child)
                    }
                } else if base.hasPrefix(".wh.") {
                    let hidden = parentPath + "/" + String(base.dropFirst(4))
                    if LayerTreeSnapshot.exists(hidden) { try manager.removeItem(atPath: hidden) }
                } else if !isFolder, LayerTreeSnapshot.isFolder(reference + "/" + name) {
                    try manager.removeItem(atPath: reference + "/" + name)
                }
            }
            try run("tar", ["--numeric-owner", "--wildcards", "--exclude=.wh.*", "-xf", tar, "-C", reference])
        }
    }

    static func emptyRoot(in scratch: ImagesScratchFolder) throws -> String {
        let root = scratch.file("root")
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        return root
    }

    /// Everything in the scratch folder outside `root`.
    static func outsideListing(_ scratch: ImagesScratchFolder) throws -> [String] {
        (FileManager.default.subpaths(atPath: scratch.path) ?? []).filter { !$0.hasPrefix("root/") && $0 != "root" }.sorted()
    }

    /// Feeds the file at `path` in chunks of seeded random sizes (1 byte to 8 KiB, with
    /// runs of tiny ones), then finishes.
    @discardableResult
    static func unpack(_ path: String, into root: String, seed: UInt64, compression: LayerCompression? = nil,
                       whiteouts: LayerWhiteouts = .apply, lowerLayers: [String] = []) throws -> LayerUnpacker {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let unpacker = try LayerUnpacker(root: root, compression: compression, whiteouts: whiteouts, lowerLayers: lowerLayers)
        var random = ChunkRandom(seed: seed)
        try bytes.withUnsafeBytes { (all: UnsafeRawBufferPointer) throws in
            var offset = 0
            while offset < all.count {
                let roll = random.next()
                let size = roll % 8 == 0 ? Int((roll >> 8) % 3) + 1 : Int((roll >> 16) % 8192) + 1
                let end = min(offset + size, all.count)
                try unpacker.feed(UnsafeRawBufferPointer(rebasing: all[offset..<end]))
                offset = end
            }
        }
        try unpacker.finish()
        return unpacker
    }

    /// The LayerError unpacking `path` ends with, or nil when it succeeds.
    static func unpackError(_ path: String, into root: String, seed: UInt64) -> LayerError? {
        do {
            try unpack(path, into: root, seed: seed)
            return nil
        } catch let error as LayerError {
            return error
        } catch {
            Issue.record("not a LayerError: \(error)")
            return nil
        }
    }

    static func gzip(_ path: String, in scratch: ImagesScratchFolder) throws -> String {
        let compressed = try run("gzip", ["-n", "-c", path])
        let out = path + ".gz"
        try compressed.write(to: URL(fileURLWithPath: out))
        return out
    }

    static func sha256sum(_ path: String) throws -> String {
        String(String(decoding: try run("sha256sum", [path]), as: UTF8.self).prefix(64))
    }

    static func python(_ script: String, _ arguments: [String]) throws {
        try run("python3", ["-c", script] + arguments)
    }

    /// Runs a tool found on PATH to completion (reaped) and returns its standard output.
    @discardableResult
    static func run(_ tool: String, _ arguments: [String]) throws -> Data {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [tool] + arguments
        let output = Pipe()
        let errors = FileManager.default.temporaryDirectory.appendingPathComponent("kinglet-layer-tool-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: errors.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: errors) }
        let errorHandle = try FileHandle(forWritingTo: errors)
        defer { try? errorHandle.close() }
        process.standardOutput = output
        process.standardError = errorHandle
        try process.run()
        // Read to EOF before waiting: a full pipe would otherwise stall the tool.
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let message = (try? String(contentsOf: errors, encoding: .utf8)) ?? ""
            throw ToolFailure(description: "\(tool) \(arguments.prefix(3).joined(separator: " ")) exited \(process.terminationStatus): \(message)")
        }
        return data
    }
}

/// SplitMix64: a seeded generator, so a failing chunking can be replayed.
struct ChunkRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A tree as lstat sees it: every entry's kind, mode, owner, contents or link target,
/// mtime (not for folders: removing children moves it) and hard-link siblings.
struct LayerTreeSnapshot {
    struct Entry: Equatable, CustomStringConvertible {
        var kind: String
        var mode: UInt32
        var uid: UInt32
        var gid: UInt32
        var contents: Data?
        var linkTarget: String?
        var mtime: String?
        var hardLinks: [String]

        var description: String {
            "\(kind) mode \(String(mode, radix: 8)) owner \(uid):\(gid) \(contents.map { "\($0.count) bytes" } ?? "")"
                + " \(linkTarget.map { "-> " + $0 } ?? "") mtime \(mtime ?? "-") links \(hardLinks)"
        }
    }

    var entries: [String: Entry] = [:]

    init(_ root: String) {
        var inodes: [UInt64: [String]] = [:]
        var pending = [""]
        var visited = 0
        while let relative = pending.popLast(), visited < 100_000 {
            visited += 1
            let folder = relative.isEmpty ? root : root + "/" + relative
            for name in ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).sorted() {
                let path = relative.isEmpty ? name : relative + "/" + name
                var info = stat()
                guard lstat(root + "/" + path, &info) == 0 else { continue }
                let type = info.st_mode & S_IFMT
                var entry = Entry(kind: "", mode: UInt32(info.st_mode & 0o7777), uid: info.st_uid, gid: info.st_gid,
                                  contents: nil, linkTarget: nil,
                                  mtime: "\(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec)", hardLinks: [])
                switch type {
                case S_IFDIR:
                    entry.kind = "folder"
                    entry.mtime = nil
                    pending.append(path)
                case S_IFREG:
                    entry.kind = "file"
                    entry.contents = FileManager.default.contents(atPath: root + "/" + path)
                    inodes[UInt64(info.st_ino), default: []].append(path)
                case S_IFLNK:
                    entry.kind = "symlink"
                    entry.mode = 0
                    entry.linkTarget = try? FileManager.default.destinationOfSymbolicLink(atPath: root + "/" + path)
                case S_IFIFO:
                    entry.kind = "fifo"
                case S_IFCHR:
                    entry.kind = "char " + LayerTreeSnapshot.device(UInt64(info.st_rdev))
                case S_IFBLK:
                    entry.kind = "block " + LayerTreeSnapshot.device(UInt64(info.st_rdev))
                default:
                    entry.kind = "other"
                }
                entries[path] = entry
            }
        }
        for (_, paths) in inodes where paths.count > 1 {
            for path in paths { entries[path]?.hardLinks = paths.sorted() }
        }
    }

    /// Human-readable differences, empty when the trees are the same.
    func differences(from expected: LayerTreeSnapshot) -> [String] {
        var found: [String] = []
        for (path, entry) in expected.entries.sorted(by: { $0.key < $1.key }) {
            guard let actual = entries[path] else { found.append("missing \(path): \(entry)"); continue }
            if actual != entry { found.append("\(path): got \(actual), expected \(entry)") }
        }
        for path in entries.keys.sorted() where expected.entries[path] == nil {
            found.append("unexpected \(path): \(entries[path]!)")
        }
        return found
    }

    /// `major,minor` from glibc's dev_t encoding (gnu_dev_major/gnu_dev_minor).
    static func device(_ rdev: UInt64) -> String {
        let major = ((rdev >> 8) & 0xFFF) | ((rdev >> 32) & ~UInt64(0xFFF))
        let minor = (rdev & 0xFF) | ((rdev >> 12) & ~UInt64(0xFF))
        return "\(major),\(minor)"
    }

    static func exists(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0
    }

    static func isFolder(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFDIR
    }
}
