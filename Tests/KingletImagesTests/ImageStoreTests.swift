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

@Suite struct ImageGarbageCollectionTests {
    static func digest(_ byte: String) throws -> ImageDigest { try ImageDigest(parsing: "sha256:" + String(repeating: byte, count: 64)) }

    /// Three images with root file systems; `c` shares its config (and so its root) with `d`.
    func store(_ folder: ImagesScratchFolder) throws -> ImageStore {
        let store = try ImageStore(root: folder.path)
        for (name, config, used) in [("a", "1", 300), ("b", "2", 100), ("c", "3", 200), ("d", "3", 50)] {
            let configDigest = try ImageGarbageCollectionTests.digest(config)
            try FileManager.default.createDirectory(atPath: store.rootfsPath(configDigest) + "/bin", withIntermediateDirectories: true)
            try store.storeBlob(Array("{}".utf8), digest: configDigest)
            try store.record(StoredImage(reference: "r/\(name):1", manifest: try ImageGarbageCollectionTests.digest(name == "d" ? "e" : name),
                                         config: configDigest, layers: [], size: 10, pulledAt: 0, lastUsedAt: Int64(used)))
        }
        return store
    }

    @Test func belowTheHighThresholdNothingIsRemoved() throws {
        let folder = ImagesScratchFolder()
        defer { folder.remove() }
        let store = try store(folder)
        #expect(try store.collectGarbage(high: 85, low: 80, inUse: [], usage: { 84 }).isEmpty)
        #expect(store.images.count == 4)
    }

    @Test func unusedImagesGoLeastRecentlyUsedFirstUntilTheLowThreshold() throws {
        let folder = ImagesScratchFolder()
        defer { folder.remove() }
        let store = try store(folder)
        // Each removal frees 5 %; 90 % → 80 % takes two unused images. `b` (used at 100) is
        // in use, so `d` (50) and then `c` (200) go.
        let removed = try store.collectGarbage(high: 85, low: 80, inUse: ["r/b:1"], usage: { 70 + 5 * Int64(store.images.count) })
        #expect(removed == ["r/d:1", "r/c:1"])
        #expect(store.images.map(\.reference).sorted() == ["r/a:1", "r/b:1"])
        // `c` and `d` shared a root: it went with the last of them, the others stay.
        #expect(!FileManager.default.fileExists(atPath: store.rootfsPath(try ImageGarbageCollectionTests.digest("3"))))
        #expect(!store.hasBlob(try ImageGarbageCollectionTests.digest("3")))
        #expect(FileManager.default.fileExists(atPath: store.rootfsPath(try ImageGarbageCollectionTests.digest("1"))))
        #expect(FileManager.default.fileExists(atPath: store.rootfsPath(try ImageGarbageCollectionTests.digest("2"))))
        #expect(try ImageStore(root: folder.path).images.count == 2)
    }

    @Test func imagesInUseAreNeverRemovedEvenWhenTheDiskStaysFull() throws {
        let folder = ImagesScratchFolder()
        defer { folder.remove() }
        let store = try store(folder)
        let removed = try store.collectGarbage(high: 85, low: 80, inUse: ["r/a:1", "r/c:1"], usage: { 99 })
        #expect(Set(removed) == ["r/b:1", "r/d:1"])
        #expect(store.images.map(\.reference).sorted() == ["r/a:1", "r/c:1"])
        // `d` went but `c` still uses the shared root.
        #expect(FileManager.default.fileExists(atPath: store.rootfsPath(try ImageGarbageCollectionTests.digest("3"))))
    }

    @Test func underPressureWhatNoImageUsesGoesFirst() throws {
        let folder = ImagesScratchFolder()
        defer { folder.remove() }
        let store = try store(folder)
        // A replaced image's root and config, an interrupted download and unpacking, and a
        // removal cut short.
        let replaced = try ImageGarbageCollectionTests.digest("9")
        try FileManager.default.createDirectory(atPath: store.rootfsPath(replaced) + "/bin", withIntermediateDirectories: true)
        try store.storeBlob(Array("{}".utf8), digest: replaced)
        try Data("partial".utf8).write(to: URL(fileURLWithPath: store.downloadPath(try ImageGarbageCollectionTests.digest("8"))))
        try FileManager.default.createDirectory(atPath: store.rootfsStagingPath(try ImageGarbageCollectionTests.digest("7")),
                                                withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: store.rootfsPath(try ImageGarbageCollectionTests.digest("6")) + ".deleting/x",
                                                withIntermediateDirectories: true)
        // Freeing those is enough: no image goes.
        var freed = false
        let removed = try store.collectGarbage(high: 85, low: 80, inUse: [], usage: {
            defer { freed = true }
            return freed ? 70 : 90
        })
        #expect(removed.isEmpty)
        #expect(store.images.count == 4)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path + "/rootfs/sha256").sorted()
                == [try ImageGarbageCollectionTests.digest("1").hex, try ImageGarbageCollectionTests.digest("2").hex,
                    try ImageGarbageCollectionTests.digest("3").hex])
        #expect(!store.hasBlob(replaced))
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path + "/downloads/sha256").isEmpty)
    }

    @Test func theRealFileSystemIsMeasured() throws {
        let folder = ImagesScratchFolder()
        defer { folder.remove() }
        let usage = try #require(try ImageStore(root: folder.path).diskUsagePercent())
        #expect((0...100).contains(usage))
    }
}
