import Foundation
import KingletDocument
import Testing
@testable import KingletImages

/// Fixtures written from the OCI image spec (manifest.md, image-index.md, config.md) and
/// Docker's image manifest v2 schema 2.
@Suite struct ImageManifestTests {
    static func digest(_ byte: String) -> String { "sha256:" + String(repeating: byte, count: 64) }

    func document(_ json: String, contentType: String? = nil) throws -> ImageManifestDocument {
        try ImageManifestDocument.parse(Array(json.utf8), contentType: contentType, source: "manifest")
    }

    static let ociManifest = """
        {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
         "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "\(digest("1"))", "size": 700},
         "layers": [
           {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": "\(digest("2"))", "size": 1048576},
           {"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": "\(digest("3"))", "size": 10240}],
         "annotations": {"org.opencontainers.image.created": "2026-11-30T00:00:00Z"}}
        """

    @Test func anOCIManifestListsItsConfigAndLayersBottomFirst() throws {
        guard case .manifest(let manifest) = try document(ImageManifestTests.ociManifest) else {
            Issue.record("not a manifest")
            return
        }
        #expect(manifest.config.digest.description == ImageManifestTests.digest("1"))
        #expect(manifest.config.size == 700)
        #expect(manifest.layers.map(\.digest.description) == [ImageManifestTests.digest("2"), ImageManifestTests.digest("3")])
        #expect(manifest.layers.map { ImageManifestDocument.compression(of: $0.mediaType) } == [.gzip, LayerCompression.none])
    }

    @Test func aDockerSchema2ManifestReadsTheSame() throws {
        let json = """
            {"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
             "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 1469, "digest": "\(ImageManifestTests.digest("4"))"},
             "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 2, "digest": "\(ImageManifestTests.digest("5"))"}]}
            """
        guard case .manifest(let manifest) = try document(json) else {
            Issue.record("not a manifest")
            return
        }
        #expect(manifest.layers.first?.digest.description == ImageManifestTests.digest("5"))
    }

    @Test func withoutAMediaTypeTheContentTypeOrTheFieldsTellTheKind() throws {
        let bare = """
            {"schemaVersion": 2, "manifests": [{"digest": "\(ImageManifestTests.digest("6"))", "size": 9,
              "platform": {"os": "linux", "architecture": "amd64"}}]}
            """
        guard case .index(let entries) = try document(bare) else {
            Issue.record("not an index")
            return
        }
        #expect(entries.first?.platform == ImagePlatform(architecture: "amd64"))
        let noType = ImageManifestTests.ociManifest.replacingOccurrences(of: "\"mediaType\": \"application/vnd.oci.image.manifest.v1+json\",", with: "")
        guard case .manifest = try document(noType, contentType: "application/vnd.oci.image.manifest.v1+json; charset=utf-8") else {
            Issue.record("not a manifest")
            return
        }
    }

    @Test func unsupportedManifestsAndLayersAreRefusedWithTheReason() {
        func message(_ json: String) -> String {
            do { _ = try document(json); return "" } catch { return (error as? DocumentError)?.description ?? String(describing: error) }
        }
        #expect(message(#"{"schemaVersion": 1, "mediaType": "application/vnd.docker.distribution.manifest.v1+prettyjws", "fsLayers": []}"#)
                    .contains("schema 1 is not supported"))
        let zstd = ImageManifestTests.ociManifest.replacingOccurrences(of: "v1.tar+gzip", with: "v1.tar+zstd")
        #expect(message(zstd).contains("layer media type application/vnd.oci.image.layer.v1.tar+zstd is not supported"))
        let badDigest = ImageManifestTests.ociManifest.replacingOccurrences(of: ImageManifestTests.digest("1"), with: "sha256:xyz")
        #expect(message(badDigest).hasPrefix("manifest:2:80: config.digest: \"sha256:xyz\" is not a digest"), "the error names the line: \(message(badDigest))")
        #expect(message(#"{"schemaVersion": 2}"#).contains("neither an image manifest nor an index"))
        #expect(message("{").hasPrefix("manifest:1:"))
    }

    static let index = """
        {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [
          {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "\(digest("a"))", "size": 1, "platform": {"os": "linux", "architecture": "amd64"}},
          {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "\(digest("b"))", "size": 1, "platform": {"os": "linux", "architecture": "arm", "variant": "v6"}},
          {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "\(digest("c"))", "size": 1, "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}},
          {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "\(digest("d"))", "size": 1, "platform": {"os": "unknown", "architecture": "unknown"},
           "annotations": {"vnd.docker.reference.type": "attestation-manifest", "vnd.docker.reference.digest": "\(digest("a"))"}},
          {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "\(digest("e"))", "size": 1, "platform": {"os": "windows", "architecture": "amd64"}}]}
        """

    @Test func theBoardTakesItsOwnPlatformFromAnIndexAndAnOlderArmVariantWhenThatIsAll() throws {
        guard case .index(let entries) = try document(ImageManifestTests.index) else {
            Issue.record("not an index")
            return
        }
        func chosen(_ machine: String) -> String? { BoardPlatform(machine: machine)?.choose(from: entries)?.digest.description }
        #expect(chosen("x86_64") == ImageManifestTests.digest("a"))
        #expect(chosen("aarch64") == ImageManifestTests.digest("c"))
        // An ARMv7 board runs the v6 build when there is no v7 one.
        #expect(chosen("armv7l") == ImageManifestTests.digest("b"))
        #expect(chosen("armv5tel") == nil)
        #expect(BoardPlatform(machine: "armv5tel")?.noMatchMessage(entries) ==
                "no linux/arm/v5 image in the index (it has linux/amd64, linux/arm/v6, linux/arm64/v8, windows/amd64)")
        #expect(BoardPlatform(machine: "sparc64") == nil)
    }

    @Test func anImageConfigGivesTheProcessDefaultsAndTheDiffIDs() throws {
        let json = """
            {"architecture": "arm", "variant": "v7", "os": "linux",
             "config": {"User": "1000:1000", "Env": ["PATH=/usr/local/bin:/usr/bin:/bin", "MODE=edge"],
                        "Entrypoint": ["/bin/sh", "-c"], "Cmd": ["exec sleep 3600"], "WorkingDir": "/srv", "StopSignal": "SIGINT"},
             "rootfs": {"type": "layers", "diff_ids": ["\(ImageManifestTests.digest("7"))", "\(ImageManifestTests.digest("8"))"]},
             "history": [{"created_by": "umoci"}]}
            """
        let config = try ImageConfig.parse(Array(json.utf8), source: "config")
        #expect(config.platform == ImagePlatform(architecture: "arm", variant: "v7"))
        #expect(config.user == "1000:1000")
        #expect(config.environment == ["PATH=/usr/local/bin:/usr/bin:/bin", "MODE=edge"])
        #expect(config.entrypoint == ["/bin/sh", "-c"])
        #expect(config.command == ["exec sleep 3600"])
        #expect(config.workingDirectory == "/srv")
        #expect(config.stopSignal == "SIGINT")
        #expect(config.diffIDs.map(\.description) == [ImageManifestTests.digest("7"), ImageManifestTests.digest("8")])
        #expect(BoardPlatform(machine: "armv7l")!.runs(config.platform))
        #expect(!BoardPlatform(machine: "armv6l")!.runs(config.platform))
        #expect(!BoardPlatform(machine: "x86_64")!.runs(config.platform))
    }
}
