import Foundation
import Testing
@testable import KingletImages

@Suite struct ImageStoreTests {
    static func digest(_ byte: String) throws -> ImageDigest { try ImageDigest(parsing: "sha256:" + String(repeating: byte, count: 64)) }

    func sample(_ reference: String, manifest: String) throws -> StoredImage {
        StoredImage(reference: reference, manifest: try ImageStoreTests.digest(manifest), config: try ImageStoreTests.digest("c"),
                    layers: [try ImageStoreTests.digest("1"), try ImageStoreTests.digest("2")], size: 1_234_567,
                    pulledAt: 1_790_000_000, lastUsedAt: 1_790_000_100)
    }

    @Test func recordedImagesSurviveReopeningTheStore() throws {
        let folder = ImagesScratchFolder()
        defer { folder.remove() }
        let store = try ImageStore(root: folder.path)
        try store.record(try sample("docker.io/library/busybox:latest", manifest: "a"))
        try store.record(try sample("127.0.0.1:5000/kinglet/app:1", manifest: "b"))
        // Pulling the same reference again replaces its record.
        try store.record(try sample("docker.io/library/busybox:latest", manifest: "d"))

        let reopened = try ImageStore(root: folder.path)
        #expect(reopened.images == store.images)
        #expect(reopened.images.count == 2)
        #expect(reopened.image(named: try ImageReference(parsing: "busybox"))?.manifest == (try ImageStoreTests.digest("d")))
        #expect(reopened.indexProblem == nil)
        #expect(!FileManager.default.fileExists(atPath: folder.file("images.json.tmp")))
    }

    @Test func anImageIsCompleteOnlyOnceItsRootFileSystemIsRenamedIntoPlace() throws {
        let folder = ImagesScratchFolder()
        defer { folder.remove() }
        let store = try ImageStore(root: folder.path)
        let image = try sample("docker.io/library/busybox:latest", manifest: "a")
        // A root file system still being unpacked does not count.
        try FileManager.default.createDirectory(atPath: store.rootfsStagingPath(image.config), withIntermediateDirectories: true)
        #expect(!store.isComplete(image))
        try FileManager.default.moveItem(atPath: store.rootfsStagingPath(image.config), toPath: store.rootfsPath(image.config))
        #expect(store.isComplete(image))
    }

    @Test func smallBlobsAreStoredUnderTheirDigest() throws {
        let folder = ImagesScratchFolder()
        defer { folder.remove() }
        let store = try ImageStore(root: folder.path)
        let digest = try ImageStoreTests.digest("e")
        #expect(!store.hasBlob(digest))
        try store.storeBlob(Array("{}".utf8), digest: digest)
        #expect(store.hasBlob(digest))
        #expect(try store.readBlob(digest) == Array("{}".utf8))
    }

    @Test func anUnreadableIndexIsMovedAsideAndTheStoreStartsEmpty() throws {
        let folder = ImagesScratchFolder()
        defer { folder.remove() }
        try Data(#"{"images": [{"reference": 3}]}"#.utf8).write(to: URL(fileURLWithPath: folder.file("images.json")))
        let store = try ImageStore(root: folder.path)
        #expect(store.images.isEmpty)
        #expect(store.indexProblem?.contains("images.json:1:27: images[0].reference: expected a string") == true,
                "\(store.indexProblem ?? "")")
        #expect(FileManager.default.fileExists(atPath: folder.file("images.json.corrupt")))
    }
}
