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

/// Layers in folders of their own, shared between images and counted by reference.
@Suite struct ImageLayerStoreTests {
    static func digest(_ byte: String) throws -> ImageDigest { try ImageDigest(parsing: "sha256:" + String(repeating: byte, count: 64)) }

    /// A layer folder as a pull leaves it, holding one file.
    func addLayer(_ store: ImageStore, _ byte: String, format: StoredLayerFormat = .overlay) throws {
        let folder = store.layerPath(try Self.digest(byte)) + "/" + format.rawValue
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try Data("layer \(byte)\n".utf8).write(to: URL(fileURLWithPath: folder + "/file-\(byte)"))
    }

    func image(_ name: String, config: String, layers: [String], used: Int64) throws -> StoredImage {
        StoredImage(reference: "r/\(name):1", manifest: try Self.digest(name), config: try Self.digest(config),
                    layers: try layers.map { try Self.digest($0) }, size: 100, pulledAt: 0, lastUsedAt: used)
    }

    @Test func aLayerSharedByTwoImagesStaysUntilTheLastOfThemGoes() throws {
        let folder = ImagesScratchFolder()
        defer { folder.remove() }
        let store = try ImageStore(root: folder.path)
        for layer in ["1", "2", "3"] { try addLayer(store, layer) }
        try store.record(try image("a", config: "c", layers: ["1", "2"], used: 10))
        try store.record(try image("b", config: "d", layers: ["1", "3"], used: 20))
        // Top layer first, as overlayfs lists lower folders.
        #expect(store.root(of: store.images[1]) == .layers([store.layerPath(try Self.digest("3")) + "/overlay",
                                                             store.layerPath(try Self.digest("1")) + "/overlay"]))

        // `a`, least recently used, goes; its own layer with it, the shared one stays.
        let removed = try store.collectGarbage(high: 85, low: 80, inUse: [], usage: { store.images.count == 2 ? 90 : 70 })
        #expect(removed == ["r/a:1"])
        #expect(!store.hasLayer(try Self.digest("2")))
        #expect(try store.hasLayer(Self.digest("1")) && store.hasLayer(Self.digest("3")))
        #expect(store.isComplete(store.images[0]))
        // Sizes are the image's own, shared layers or not.
        #expect(store.images.map(\.size) == [100])
    }

    @Test func layersNoImageHasAndInterruptedUnpacksGoUnderPressure() throws {
        let folder = ImagesScratchFolder()
        defer { folder.remove() }
        let store = try ImageStore(root: folder.path)
        for layer in ["1", "5"] { try addLayer(store, layer) }
        try store.record(try image("a", config: "c", layers: ["1"], used: 10))
        try FileManager.default.createDirectory(atPath: store.layerStagingPath(try Self.digest("6")) + "/overlay/x",
                                                withIntermediateDirectories: true)
        var freed = false
        let removed = try store.collectGarbage(high: 85, low: 80, inUse: ["r/a:1"], usage: {
            defer { freed = true }
            return freed ? 70 : 90
        })
        #expect(removed.isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path + "/layers/sha256") == [try Self.digest("1").hex])
    }

    @Test func anImageWhoseLayersCannotBeStackedRunsFromAFlattenedRootBuiltWithoutTheRegistry() throws {
        let folder = ImagesScratchFolder()
        defer { folder.remove() }
        let store = try ImageStore(root: folder.path)
        try addLayer(store, "1")
        try addLayer(store, "2", format: .files)
        let stored = try image("a", config: "c", layers: ["1", "2"], used: 10)
        try store.record(stored)
        // A layer kept the tar's whiteout files: no stacking, and no flattened root yet.
        #expect(store.root(of: stored) == nil)
        #expect(!store.isComplete(stored))
        #expect(store.needsFlattenedRoot(stored.layers))
        #expect(!store.canCompleteLocally(stored), "the manifest and config are not stored yet")
        try store.storeBlob(Array("{}".utf8), digest: stored.manifest)
        try store.storeBlob(Array("{}".utf8), digest: stored.config)
        #expect(store.canCompleteLocally(stored))
        try FileManager.default.createDirectory(atPath: store.rootfsPath(stored.config) + "/bin", withIntermediateDirectories: true)
        #expect(store.root(of: stored) == .flattened(store.rootfsPath(stored.config)))

        // Stackable layers, but overlayfs unusable on this board: the flattened root too.
        let other = try image("b", config: "d", layers: ["1"], used: 10)
        #expect(store.root(of: other) == .layers([store.layerPath(try Self.digest("1")) + "/overlay"]))
        store.overlayRoots = false
        #expect(store.root(of: other) == nil)
        #expect(store.needsFlattenedRoot(other.layers))
        // More layers than one overlayfs mount takes.
        store.overlayRoots = true
        #expect(store.needsFlattenedRoot(Array(repeating: try Self.digest("1"), count: ImageStore.maximumStackedLayers + 1)))
    }

    @Test func aStoreFromBeforeLayerFoldersRunsItsImagesFromTheirFlattenedRoots() throws {
        let folder = ImagesScratchFolder()
        defer { folder.remove() }
        // The earlier layout: flattened roots only, the same images.json.
        let config = try Self.digest("c")
        let rootfs = folder.path + "/rootfs/sha256/" + config.hex
        try FileManager.default.createDirectory(atPath: rootfs + "/bin", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: folder.path + "/rootfs/sha256/" + String(repeating: "9", count: 64) + ".unpacking",
                                                withIntermediateDirectories: true)
        let index = """
            {"images":[{"reference":"r/old:1","manifest":"\(try Self.digest("a").description)","config":"\(config.description)",
            "layers":["\(try Self.digest("1").description)"],"size":2100000,"pulledAt":1790000000,"lastUsedAt":1790000100}]}
            """
        try Data(index.utf8).write(to: URL(fileURLWithPath: folder.file("images.json")))

        let store = try ImageStore(root: folder.path)
        #expect(store.indexProblem == nil)
        let old = try #require(store.images.first)
        #expect(old.size == 2_100_000)
        #expect(store.root(of: old) == .flattened(rootfs))
        #expect(FileManager.default.fileExists(atPath: folder.path + "/layers/sha256"))
        // Its root is in use by its record; the old layout's leftovers go.
        var freed = false
        _ = try store.collectGarbage(high: 85, low: 80, inUse: ["r/old:1"], usage: {
            defer { freed = true }
            return freed ? 70 : 90
        })
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path + "/rootfs/sha256") == [config.hex])
        #expect(store.isComplete(old))
    }
}
