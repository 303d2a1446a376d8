import CKingletSystem
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import KingletImages

/// The store's per-layer folders: each layer unpacked alone with its whiteouts in
/// overlayfs's format, then either stacked by the kernel's overlayfs or flattened by
/// `LayerFlattener`; both must give what `tar -x` of the layers in turn gives with the
/// OCI whiteouts applied (LayerFixtures' reference).
@Suite struct LayerStoreTests {
    static var canMountOverlay: Bool {
        getuid() == 0 && ((try? String(contentsOfFile: "/proc/filesystems", encoding: .utf8)) ?? "").contains("overlay")
    }

    /// The fixture's two layers, each in its own folder (`.overlay` whiteouts), and the
    /// reference tree.
    func layerFolders(_ scratch: ImagesScratchFolder) throws -> (bottom: String, top: String, reference: String) {
        let layers = try LayerFixtures.twoLayers(in: scratch)
        let reference = scratch.file("reference")
        try LayerFixtures.extractWithGNUTar(layers.tars, into: reference, scratch: scratch)
        let bottom = scratch.file("layer1")
        let top = scratch.file("layer2")
        for folder in [bottom, top] { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false) }
        _ = try LayerFixtures.unpack(layers.gzips[0], into: bottom, seed: 3, whiteouts: .overlay)
        let second = try LayerFixtures.unpack(layers.gzips[1], into: top, seed: 4, whiteouts: .overlay, lowerLayers: [bottom])
        #expect(!second.keptWhiteoutFiles, "as root every whiteout is in overlayfs's format")
        return (bottom, top, reference)
    }

    @Test(.enabled(if: canMountOverlay, "needs root and overlayfs"))
    func layerFoldersStackedByOverlayfsMatchTarExtractionWithWhiteouts() throws {
        let scratch = ImagesScratchFolder()
        defer { scratch.remove() }
        let (bottom, top, reference) = try layerFolders(scratch)

        // What each folder holds: this layer's entries and its whiteouts, nothing lower.
        let upper = LayerTreeSnapshot(top)
        #expect(upper.entries["gone"]?.kind == "char 0,0" && upper.entries["gonefile"]?.kind == "char 0,0")
        #expect(upper.entries["opq/new-before"] != nil && upper.entries["opq/old1"] == nil)
        #expect(upper.entries[".wh.gone"] == nil && upper.entries["opq/.wh..wh..opq"] == nil)
        #expect(LayerStoreTests.isOpaque(top + "/opq") && LayerStoreTests.isOpaque(top + "/gone2"))
        #expect(!LayerStoreTests.isOpaque(top + "/keep"))
        // A hard link to the lower layer's file: the file is copied up beside it.
        #expect(upper.entries["etc/config-hard"]?.hardLinks == ["etc/config", "etc/config-hard"])
        // A folder written into without an entry of its own keeps the lower layer's mode.
        #expect(upper.entries["keep"]?.mode == 0o700)

        let merged = scratch.file("merged")
        try FileManager.default.createDirectory(atPath: merged, withIntermediateDirectories: false)
        let mounted = try LayerFixtures.run("mount", ["-t", "overlay", "overlay", "-o", "ro,lowerdir=\(top):\(bottom)", merged])
        _ = mounted
        defer { _ = try? LayerFixtures.run("umount", [merged]) }
        let differences = LayerTreeSnapshot(merged).differences(from: LayerTreeSnapshot(reference))
        #expect(differences.isEmpty, "\(differences.joined(separator: "\n"))")
    }

    @Test(.enabled(if: getuid() == 0, "needs root (device whiteouts, trusted xattrs)"))
    func layerFoldersFlattenedMatchTarExtractionWithWhiteoutsInEitherFormat() throws {
        let scratch = ImagesScratchFolder()
        defer { scratch.remove() }
        let (bottom, top, reference) = try layerFolders(scratch)

        let flattened = scratch.file("flattened")
        try FileManager.default.createDirectory(atPath: flattened, withIntermediateDirectories: false)
        let flattener = LayerFlattener(layers: [bottom, top], target: flattened)
        var steps = 0
        // Small steps: the work is cut across many calls, each bounded.
        while try flattener.step(bytes: 64 * 1024, entries: 5) { steps += 1; if steps > 10_000 { break } }
        #expect(steps > 10, "the copy took \(steps) steps")
        let differences = LayerTreeSnapshot(flattened).differences(from: LayerTreeSnapshot(reference))
        #expect(differences.isEmpty, "\(differences.joined(separator: "\n"))")

        // The same layer with the tar's `.wh.` files (as an unprivileged pull keeps them).
        try LayerStoreTests.convertToWhiteoutFiles(top)
        #expect(LayerTreeSnapshot(top).entries[".wh.gone"]?.kind == "file")
        let fromFiles = scratch.file("from-files")
        try FileManager.default.createDirectory(atPath: fromFiles, withIntermediateDirectories: false)
        let again = LayerFlattener(layers: [bottom, top], target: fromFiles)
        steps = 0
        while try again.step(bytes: 1 << 20, entries: 1000) { steps += 1; if steps > 10_000 { break } }
        let fromFilesDifferences = LayerTreeSnapshot(fromFiles).differences(from: LayerTreeSnapshot(reference))
        #expect(fromFilesDifferences.isEmpty, "\(fromFilesDifferences.joined(separator: "\n"))")
    }

    static func isOpaque(_ path: String) -> Bool {
        let fd = open(path, O_RDONLY | O_DIRECTORY)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return kinglet_tree_is_opaque(fd) == 1
    }

    /// overlayfs's whiteouts back to the tar's: a 0/0 device becomes `.wh.<name>`, an opaque
    /// folder gets `.wh..wh..opq`.
    static func convertToWhiteoutFiles(_ root: String) throws {
        let manager = FileManager.default
        guard let walker = manager.enumerator(atPath: root) else { return }
        var devices: [String] = []
        var opaque: [String] = []
        for case let path as String in walker {
            var info = stat()
            guard lstat(root + "/" + path, &info) == 0 else { continue }
            if info.st_mode & S_IFMT == S_IFCHR && info.st_rdev == 0 { devices.append(path) }
            if info.st_mode & S_IFMT == S_IFDIR && isOpaque(root + "/" + path) { opaque.append(path) }
        }
        for path in devices {
            try manager.removeItem(atPath: root + "/" + path)
            let name = (path as NSString).lastPathComponent
            let parent = (path as NSString).deletingLastPathComponent
            manager.createFile(atPath: root + "/" + (parent.isEmpty ? "" : parent + "/") + ".wh." + name, contents: Data())
        }
        for path in opaque {
            try LayerFixtures.python("import os, sys; os.removexattr(sys.argv[1], 'trusted.overlay.opaque')", [root + "/" + path])
            manager.createFile(atPath: root + "/" + path + "/.wh..wh..opq", contents: Data())
        }
    }
}
