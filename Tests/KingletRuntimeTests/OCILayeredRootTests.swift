import Foundation
@testable import KingletRuntime
import CKingletSystem
import Testing

/// Containers whose root stacks an image's layer folders (the image store's per-layer
/// format: a whiteout device and an opaque folder in the upper layer).
@Suite(.enabled(if: OCITestEnvironment.canRunRunc, "needs root, runc and /bin/busybox"))
struct OCILayeredRootTests {
    /// `<folder>/bottom`: the busybox image; `<folder>/top`: a new file, /etc/original
    /// whited out, and /tmp opaque with one file of its own.
    static func layers(in folder: String) throws -> (top: String, bottom: String) {
        let bottom = folder + "/layers/bottom"
        let top = folder + "/layers/top"
        try OCIImage.build(at: bottom)
        try "old\n".write(toFile: bottom + "/tmp/lower", atomically: false, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: top + "/etc", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: top + "/tmp", withIntermediateDirectories: true)
        try "from the top layer\n".write(toFile: top + "/etc/added", atomically: false, encoding: .utf8)
        try "new\n".write(toFile: top + "/tmp/upper", atomically: false, encoding: .utf8)
        let etc = open(top + "/etc", O_RDONLY | O_DIRECTORY)
        defer { close(etc) }
        #expect(kinglet_tree_make_whiteout(etc, "original") == 0)
        let tmp = open(top + "/tmp", O_RDONLY | O_DIRECTORY)
        defer { close(tmp) }
        #expect(kinglet_tree_set_opaque(tmp) == 0)
        return (top, bottom)
    }

    @Test func aContainersRootStacksTheImagesLayerFoldersWithTheirWhiteouts() throws {
        let harness = try OCIHarness()
        #expect(harness.runtime.probeOverlay(lowerScratch: harness.folder + "/probe") == nil)
        #expect(!FileManager.default.fileExists(atPath: harness.folder + "/probe"))
        let (top, bottom) = try Self.layers(in: harness.folder)
        let launch = harness.shell("layered", "cat /etc/added; test -e /etc/original || echo whited out; ls /tmp") {
            $0.imageRootfs = ""
            $0.imageLayers = [top, bottom]
        }
        _ = try #require(try harness.start(launch))
        // The container may have exited already (its command is short): count, not look.
        #expect(harness.runtime.statistics.overlayRoots == 1)
        #expect(harness.runtime.statistics.copiedRoots == 0)
        let exit = try #require(try harness.exit(of: launch.id))
        #expect(exit.status == .exited(code: 0))
        #expect(harness.messages("layered") == ["from the top layer", "whited out", "upper"])
        // The layers were never written.
        #expect(FileManager.default.fileExists(atPath: bottom + "/etc/original"))
        try harness.finish()
    }

    @Test func withoutOverlayfsLayersAreRefusedRatherThanCopiedWithTheirWhiteouts() throws {
        let harness = try OCIHarness(useOverlay: false)
        #expect(harness.runtime.probeOverlay(lowerScratch: harness.folder + "/probe")?.contains("turned off") == true)
        let (top, bottom) = try Self.layers(in: harness.folder)
        let launch = harness.shell("refused", "true") {
            $0.imageRootfs = ""
            $0.imageLayers = [top, bottom]
        }
        #expect(try harness.start(launch) == nil)
        let failure = try #require(harness.recorder.failure(launch.id))
        #expect(failure.reason == "CreateContainerError")
        #expect(failure.message.contains("cannot stack the image's layers"), "\(failure.message)")
        try harness.finish()
    }
}
