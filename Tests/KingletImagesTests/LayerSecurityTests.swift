import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import KingletImages

/// Layers that try to write outside the root folder: `..` names, symlinks to outside
/// folders (made by the same layer or a lower one) used as a path, hard links out, and
/// whiteouts through symlinks. Each is refused with an error naming the entry, and nothing
/// outside the root changes.
@Suite struct LayerSecurityTests {
    /// Writes a tar with Python's tarfile: entries are (name, kind, link target).
    static func tar(_ path: String, _ entries: [(String, String, String)]) throws {
        let list = entries.map { "(\"\($0.0)\", \"\($0.1)\", \"\($0.2)\")" }.joined(separator: ", ")
        try LayerFixtures.python("""
            import io, sys, tarfile
            kinds = {"file": tarfile.REGTYPE, "dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE, "hardlink": tarfile.LNKTYPE}
            with tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT) as tf:
                for name, kind, link in [\(list)]:
                    info = tarfile.TarInfo(name)
                    info.type, info.linkname, info.mode = kinds[kind], link, 0o644
                    data = b"written by the layer\\n" if kind == "file" else b""
                    info.size = len(data)
                    tf.addfile(info, io.BytesIO(data))
            """, [path])
    }

    @Test func whiteoutsOfDotAndDotDotAreRefusedAndRemoveNothing() throws {
        for name in [".wh...", "sub/.wh...", ".wh..", "sub/.wh.."] {
            let scratch = ImagesScratchFolder()
            defer { scratch.remove() }
            let layer = scratch.file("layer.tar")
            try Self.tar(layer, [("sub", "dir", ""), ("sub/keep", "file", ""), (name, "file", "")])
            let root = try LayerFixtures.emptyRoot(in: scratch)
            let before = try LayerFixtures.outsideListing(scratch)
            let error = LayerFixtures.unpackError(layer, into: root, seed: 5)
            #expect(error == .pathEscapesRoot(entry: name), "\(name)")
            #expect(try LayerFixtures.outsideListing(scratch) == before, "\(name)")
            #expect(FileManager.default.fileExists(atPath: root + "/sub/keep"), "\(name)")
        }
    }

    @Test func namesDeeperOrLongerThanTheKernelAllowsAreRefused() throws {
        let scratch = ImagesScratchFolder()
        defer { scratch.remove() }
        let deep = scratch.file("deep.tar")
        try Self.tar(deep, [(Array(repeating: "a", count: 300).joined(separator: "/"), "file", "")])
        let error = LayerFixtures.unpackError(deep, into: try LayerFixtures.emptyRoot(in: scratch), seed: 1)
        #expect(error?.description.contains("a path deeper than 256 folders") == true, "\(String(describing: error))")
        let long = scratch.file("long.tar")
        try Self.tar(long, [(String(repeating: "b", count: 5000), "file", "")])
        let longError = LayerFixtures.unpackError(long, into: try LayerFixtures.emptyRoot(in: scratch), seed: 1)
        #expect(longError?.description.contains("a name longer than 4096 bytes") == true, "\(String(describing: longError))")
    }

    @Test func dotDotNamesAreRefusedWithTheEntryName() throws {
        for name in ["../evil", "a/../../evil", "./../evil", "ok/../../../evil"] {
            let scratch = ImagesScratchFolder()
            defer { scratch.remove() }
            let layer = scratch.file("layer.tar")
            try Self.tar(layer, [("fine", "file", ""), (name, "file", "")])
            let root = try LayerFixtures.emptyRoot(in: scratch)
            let before = try LayerFixtures.outsideListing(scratch)
            let error = LayerFixtures.unpackError(layer, into: root, seed: 21)
            #expect(error == .pathEscapesRoot(entry: name))
            #expect(error?.description == "tar entry \"\(name)\" escapes the root folder (a .. component)")
            #expect(try LayerFixtures.outsideListing(scratch) == before)
            #expect(!LayerTreeSnapshot.exists(scratch.path + "/evil"))
            #expect(!LayerTreeSnapshot.exists(scratch.path + "/../evil"))
        }
    }

    @Test func entryThroughASymlinkToTmpIsRefusedAndTmpIsUntouched() throws {
        let scratch = ImagesScratchFolder()
        defer { scratch.remove() }
        let escaped = "kinglet-escape-" + UUID().uuidString
        let layer = scratch.file("layer.tar")
        try Self.tar(layer, [("a", "symlink", "/tmp"), ("a/" + escaped, "file", "")])
        let root = try LayerFixtures.emptyRoot(in: scratch)
        let error = LayerFixtures.unpackError(layer, into: root, seed: 22)
        #expect(error == .symlinkInPath(entry: "a/" + escaped, symlink: "a"))
        #expect(error?.description == "tar entry \"a/\(escaped)\" refused: its path goes through the symlink \"a\"")
        #expect(!LayerTreeSnapshot.exists("/tmp/" + escaped))
    }

    @Test func symlinksOfALowerLayerAreNotFollowedEither() throws {
        let scratch = ImagesScratchFolder()
        defer { scratch.remove() }
        let outside = scratch.file("outside")
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: false)
        let lower = scratch.file("lower.tar")
        // Absolute and relative ways out, and one that stays inside (still refused: the
        // unpacker never resolves symlinks while creating entries).
        try Self.tar(lower, [("abs", "symlink", outside), ("rel", "symlink", "../outside"),
                             ("inside", "symlink", "real"), ("real", "dir", "")])
        let root = try LayerFixtures.emptyRoot(in: scratch)
        try LayerFixtures.unpack(lower, into: root, seed: 23)
        for (name, kind) in [("abs/x", "file"), ("rel/x", "file"), ("abs/sub/deeper", "file"), ("rel/sub", "dir"),
                             ("inside/x", "file")] {
            let upper = scratch.file("upper.tar")
            try Self.tar(upper, [(name, kind, "")])
            let error = LayerFixtures.unpackError(upper, into: root, seed: 24)
            let symlink = String(name.prefix(while: { $0 != "/" }))
            // Python's tarfile writes a folder's name with its trailing slash; errors quote the tar.
            let entry = kind == "dir" ? name + "/" : name
            #expect(error == .symlinkInPath(entry: entry, symlink: symlink))
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: outside).isEmpty)
        #expect(LayerTreeSnapshot.isFolder(root + "/real"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/real").isEmpty)
    }

    @Test func entriesOverASymlinkReplaceTheSymlinkNotItsTarget() throws {
        let scratch = ImagesScratchFolder()
        defer { scratch.remove() }
        let outside = scratch.file("outside")
        try FileManager.default.createDirectory(atPath: outside + "/folder", withIntermediateDirectories: true)
        try Data("victim\n".utf8).write(to: URL(fileURLWithPath: outside + "/victim"))
        let lower = scratch.file("lower.tar")
        try Self.tar(lower, [("file", "symlink", outside + "/victim"), ("folder", "symlink", outside + "/folder")])
        let upper = scratch.file("upper.tar")
        try Self.tar(upper, [("file", "file", ""), ("folder", "dir", ""), ("folder/inside", "file", "")])
        let root = try LayerFixtures.emptyRoot(in: scratch)
        try LayerFixtures.unpack(lower, into: root, seed: 25)
        try LayerFixtures.unpack(upper, into: root, seed: 26)
        let tree = LayerTreeSnapshot(root)
        #expect(tree.entries["file"]?.kind == "file")
        #expect(tree.entries["folder"]?.kind == "folder")
        #expect(tree.entries["folder/inside"]?.kind == "file")
        #expect(try String(contentsOfFile: outside + "/victim", encoding: .utf8) == "victim\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: outside + "/folder").isEmpty)
    }

    @Test func hardLinksCannotReachOutsideTheRoot() throws {
        let scratch = ImagesScratchFolder()
        defer { scratch.remove() }
        let cases: [([(String, String, String)], LayerError)] = [
            ([("h", "hardlink", "../../../etc/passwd")], .pathEscapesRoot(entry: "h")),
            ([("etc", "symlink", "/etc"), ("h", "hardlink", "etc/passwd")], .symlinkInPath(entry: "h", symlink: "etc")),
            // An absolute target is a name in the layer: the root's own etc/passwd, absent here.
            ([("h", "hardlink", "/etc/passwd")], .hardLinkTargetMissing(entry: "h", target: "/etc/passwd")),
        ]
        for (index, (entries, expected)) in cases.enumerated() {
            let root = scratch.file("root-\(index)")
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: false)
            let layer = scratch.file("layer-\(index).tar")
            try Self.tar(layer, entries)
            let error = LayerFixtures.unpackError(layer, into: root, seed: 27)
            #expect(error == expected)
            #expect(!LayerTreeSnapshot.exists(root + "/h"))
        }
    }

    @Test func whiteoutsThroughASymlinkRemoveNothingOutside() throws {
        let scratch = ImagesScratchFolder()
        defer { scratch.remove() }
        let outside = scratch.file("outside")
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: false)
        try Data("victim\n".utf8).write(to: URL(fileURLWithPath: outside + "/victim"))
        let lower = scratch.file("lower.tar")
        try Self.tar(lower, [("s", "symlink", outside)])
        let root = try LayerFixtures.emptyRoot(in: scratch)
        try LayerFixtures.unpack(lower, into: root, seed: 28)
        for name in ["s/.wh.victim", "s/.wh..wh..opq"] {
            let upper = scratch.file("upper.tar")
            try Self.tar(upper, [(name, "file", "")])
            #expect(LayerFixtures.unpackError(upper, into: root, seed: 29) == .symlinkInPath(entry: name, symlink: "s"))
            #expect(LayerTreeSnapshot.exists(outside + "/victim"))
        }
        // A whiteout of the symlink itself removes the symlink, not its target.
        let upper = scratch.file("upper.tar")
        try Self.tar(upper, [(".wh.s", "file", "")])
        try LayerFixtures.unpack(upper, into: root, seed: 30)
        #expect(!LayerTreeSnapshot.exists(root + "/s"))
        #expect(LayerTreeSnapshot.exists(outside + "/victim"))
    }
}
