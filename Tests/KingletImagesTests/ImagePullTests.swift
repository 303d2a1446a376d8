import Foundation
import KingletCore
import KingletEpoll
import KingletHTTP
import KingletTestPeers
import Testing
@testable import KingletImages

/// Pulls from Debian's docker-registry on loopback, images built by umoci and pushed by
/// skopeo (KingletTestPeers), through the agent's HTTP client on a real epoll loop.
@Suite(.serialized) struct ImagePullTests {
    static let skipReason = "docker-registry, umoci, skopeo or busybox-static is missing (make test installs them)"
    static var peersInstalled: Bool { RegistryPeer.isInstalled && TestImages.isInstalled }

    /// One pull run to its end on a fresh loop (bounded: at most `seconds`).
    func pull(_ text: String, store: ImageStore, credentials: KingletImages.RegistryCredentials? = nil, registry: String = "",
              machine: String = "x86_64", seconds: Double = 60, on loop: EpollEventLoop? = nil) throws -> Result<StoredImage, ImagePullError> {
        let loop = try loop ?? EpollEventLoop()
        let client = HTTPClient(loop: loop)
        var store_ = RegistryCredentialStore()
        if let credentials { store_.add(registry: registry, credentials) }
        var outcome: Result<StoredImage, ImagePullError>?
        let pull = ImagePull(reference: try ImageReference(parsing: text), store: store,
                             client: client, credentials: store_,
                             settings: ImagePullSettings(board: BoardPlatform(machine: machine)!),
                             wallClock: { Int64(Date().timeIntervalSince1970) }) { outcome = $0 }
        pull.start()
        let deadline = Date().addingTimeInterval(seconds)
        while outcome == nil && Date() < deadline { try loop.runOnce(timeoutMilliseconds: 50) }
        if outcome == nil { pull.cancel() }
        client.cancelAll()
        return try #require(outcome, "the pull of \(text) did not end within \(seconds) s")
    }

    func image(_ result: Result<StoredImage, ImagePullError>) -> StoredImage? {
        if case .success(let image) = result { return image }
        return nil
    }

    /// Where a container of the image finds `path` (no leading slash): in the topmost layer
    /// folder that has it, or in the flattened root.
    static func file(_ path: String, of image: StoredImage, in store: ImageStore) -> String? {
        switch store.root(of: image) {
        case .layers(let folders)?:
            return folders.map { $0 + "/" + path }.first { LayerTreeSnapshot.exists($0) }
        case .flattened(let root)?:
            return root + "/" + path
        case nil:
            return nil
        }
    }

    func message(_ result: Result<StoredImage, ImagePullError>) -> String {
        if case .failure(let error) = result { return error.message }
        return "pulled"
    }

    @Test(.enabled(if: peersInstalled, Comment(rawValue: skipReason)))
    func anImageIsPulledVerifiedAndUnpackedIntoTheStore() throws {
        let registry = try RegistryPeer.start(label: "pull-plain")
        defer { registry.stop() }
        let images = try TestImages(label: "pull-plain")
        defer { images.remove() }
        let pushed = try images.push(try images.busybox(tag: "1", command: ["sleep", "3600"]), to: registry,
                                     repository: "kinglet/busybox", tag: "1")
        let folder = ImagesScratchFolder()
        defer { folder.remove() }
        let store = try ImageStore(root: folder.path)

        let result = try pull(pushed.reference, store: store)
        let stored = try #require(image(result), "\(message(result))")
        #expect(stored.reference == "\(registry.host)/kinglet/busybox:1")
        #expect(stored.manifest.description == pushed.digest)
        #expect(stored.config.description == pushed.configDigest)
        // Each layer in a folder of its own, stacked by overlayfs: no flattened copy.
        guard case .layers(let folders)? = store.root(of: stored) else {
            Issue.record("not stacked: \(String(describing: store.root(of: stored)))")
            return
        }
        #expect(folders.count == stored.layers.count)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path + "/rootfs/sha256").isEmpty)
        #expect(FileManager.default.isExecutableFile(atPath: ImagePullTests.file("bin/busybox", of: stored, in: store) ?? ""))
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: ImagePullTests.file("bin/sh", of: stored, in: store) ?? "")
            .hasSuffix("busybox"))
        // The config is kept and says how to run it.
        let config = try ImageConfig.parse(try store.readBlob(stored.config), source: "config")
        #expect(config.command == ["sleep", "3600"])
        #expect(config.environment == ["PATH=/bin"])
        // Nothing is left in downloads/, and a new store sees the image.
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path + "/downloads/sha256").isEmpty)
        #expect(try ImageStore(root: folder.path).image(named: try ImageReference(parsing: pushed.reference)) == stored)

        // Pulled again: the same image, with nothing fetched but the manifest and config.
        let again = try pull(pushed.reference, store: store)
        #expect(image(again)?.config == stored.config)
    }

    @Test(.enabled(if: peersInstalled, Comment(rawValue: skipReason)))
    func fromAnIndexTheBoardsOwnPlatformIsPulled() throws {
        let registry = try RegistryPeer.start(label: "pull-index")
        defer { registry.stop() }
        let images = try TestImages(label: "pull-index")
        defer { images.remove() }
        let pushed = try images.push(try images.multiPlatform(tag: "multi"), to: registry, repository: "kinglet/multi")
        for (machine, platform) in [("x86_64", "linux/amd64"), ("armv7l", "linux/arm/v7"), ("aarch64", "linux/arm64")] {
            let folder = ImagesScratchFolder()
            defer { folder.remove() }
            let store = try ImageStore(root: folder.path)
            let result = try pull(pushed.reference, store: store, machine: machine)
            let stored = try #require(image(result), "\(machine): \(message(result))")
            let marker = try String(contentsOfFile: ImagePullTests.file("etc/kinglet-platform", of: stored, in: store) ?? "", encoding: .utf8)
            #expect(marker == platform + "\n", "\(machine)")
        }
        // A board the index has no entry for gets the reason.
        let folder = ImagesScratchFolder()
        defer { folder.remove() }
        let result = try pull(pushed.reference, store: try ImageStore(root: folder.path), machine: "armv6l")
        #expect(message(result).contains("no linux/arm/v6 image in the index (it has linux/amd64, linux/arm64, linux/arm/v7)"),
                "\(message(result))")
    }

    @Test(.enabled(if: peersInstalled, Comment(rawValue: skipReason)))
    func basicAuthAndTheTokenFlowPullWithCredentialsAndRefuseWithout() throws {
        let user = KingletTestPeers.RegistryCredentials(username: "board", password: "right-password")
        let basic = try RegistryPeer.start(label: "pull-basic", auth: .basic(user))
        defer { basic.stop() }
        let tokens = try TokenServerPeer.start()
        defer { tokens.stop() }
        let tokenRegistry = try RegistryPeer.start(label: "pull-token", auth: .token(tokens))
        defer { tokenRegistry.stop() }
        let images = try TestImages(label: "pull-auth")
        defer { images.remove() }
        let busyboxImage = try images.busybox(tag: "1")
        for registry in [basic, tokenRegistry] {
            let pushed = try images.push(busyboxImage, to: registry, repository: "kinglet/private", tag: "1")
            let credentials = try #require(registry.credentials)
            let folder = ImagesScratchFolder()
            defer { folder.remove() }
            let store = try ImageStore(root: folder.path)
            let good = KingletImages.RegistryCredentials(username: credentials.username, password: credentials.password)
            let pulled = try pull(pushed.reference, store: store, credentials: good, registry: registry.host)
            #expect(image(pulled) != nil, "\(registry.host): \(message(pulled))")

            let wrong = KingletImages.RegistryCredentials(username: credentials.username, password: "wrong")
            let refused = try pull(pushed.reference, store: store, credentials: wrong, registry: registry.host)
            #expect(message(refused).contains("pull access denied") || message(refused).contains("refused the credentials"),
                    "\(message(refused))")
            if case .failure(let error) = refused { #expect(!error.retryable) }
            let anonymous = try pull(pushed.reference, store: store)
            #expect(image(anonymous) == nil, "an anonymous pull of a private image must fail")
        }
    }

    @Test(.enabled(if: peersInstalled, Comment(rawValue: skipReason)))
    func aMissingTagAWrongDigestACorruptBlobAndAnUnreachableRegistryEachGiveTheirReason() throws {
        let registry = try RegistryPeer.start(label: "pull-faults")
        defer { registry.stop() }
        let images = try TestImages(label: "pull-faults")
        defer { images.remove() }
        let pushed = try images.push(try images.busybox(tag: "1"), to: registry, repository: "kinglet/faults", tag: "1")
        let folder = ImagesScratchFolder()
        defer { folder.remove() }
        let store = try ImageStore(root: folder.path)

        let missing = try pull("\(registry.host)/kinglet/faults:nope", store: store)
        #expect(message(missing).contains("manifest nope not found"), "\(message(missing))")
        let unknownDigest = "sha256:" + String(repeating: "0", count: 64)
        let wrongDigest = try pull("\(registry.host)/kinglet/faults@\(unknownDigest)", store: store)
        #expect(message(wrongDigest).contains("not found"), "\(message(wrongDigest))")

        // The registry's copy of the layer is damaged behind its back: the digest check catches it.
        let layer = try #require(pushed.layers.first)
        let blob = registry.blobPath(layer.digest)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: blob))
        bytes[bytes.count / 2] ^= 0xFF
        try bytes.write(to: URL(fileURLWithPath: blob))
        let corrupt = try pull(pushed.reference, store: store)
        #expect(message(corrupt).contains("arrived with digest"), "\(message(corrupt))")
        #expect(store.images.isEmpty, "nothing corrupt is recorded")

        let closedPort = try Loopback.freePort()
        let unreachable = try pull("127.0.0.1:\(closedPort)/kinglet/faults:1", store: store)
        #expect(message(unreachable).contains("refused"), "\(message(unreachable))")
        if case .failure(let error) = unreachable { #expect(error.retryable) }
    }

    @Test(.enabled(if: peersInstalled, Comment(rawValue: skipReason)))
    func aDownloadLeftByAnEarlierPullResumesFromItsLength() throws {
        let registry = try RegistryPeer.start(label: "pull-resume")
        defer { registry.stop() }
        let images = try TestImages(label: "pull-resume")
        defer { images.remove() }
        let pushed = try images.push(try images.withRandomLayer(megabytes: 2, tag: "2mb"), to: registry, repository: "kinglet/big")
        let folder = ImagesScratchFolder()
        defer { folder.remove() }
        let store = try ImageStore(root: folder.path)
        let big = try #require(pushed.layers.max { $0.size < $1.size })
        let digest = try ImageDigest(parsing: big.digest)
        let whole = try Data(contentsOf: URL(fileURLWithPath: registry.blobPath(big.digest)))

        // The first half, as an interrupted pull leaves it, but damaged: a pull that resumed
        // (rather than starting over) finds the digest wrong and throws the partial file away.
        var damaged = whole.prefix(whole.count / 2)
        damaged[damaged.startIndex + 100] ^= 0xFF
        try damaged.write(to: URL(fileURLWithPath: store.downloadPath(digest)))
        let resumedDamaged = try pull(pushed.reference, store: store)
        #expect(message(resumedDamaged).contains("arrived with digest"), "\(message(resumedDamaged))")
        #expect(!FileManager.default.fileExists(atPath: store.downloadPath(digest)))

        // An intact first half resumes to a whole, verified layer.
        try whole.prefix(whole.count / 2).write(to: URL(fileURLWithPath: store.downloadPath(digest)))
        let resumed = try pull(pushed.reference, store: store)
        let stored = try #require(image(resumed), "\(message(resumed))")
        let random = try Data(contentsOf: URL(fileURLWithPath: ImagePullTests.file("kinglet/random.bin", of: stored, in: store) ?? ""))
        #expect(random.count == 2 * 1024 * 1024)
    }

    @Test(.enabled(if: peersInstalled, Comment(rawValue: skipReason)))
    func onSlowStorageAPullSyncsOffTheLoopAndRecordsTheImageOnlyOnceItsDataIsDurable() throws {
        let registry = try RegistryPeer.start(label: "pull-durable")
        defer { registry.stop() }
        let images = try TestImages(label: "pull-durable")
        defer { images.remove() }
        let pushed = try images.push(try images.withRandomLayer(megabytes: 1, tag: "1"), to: registry, repository: "kinglet/durable")
        let folder = ImagesScratchFolder()
        defer { folder.remove() }
        let store = try ImageStore(root: folder.path)
        let loop = try EpollEventLoop()
        // Every sync list waits 150 ms first: far slower than any SD card.
        try store.sync.start(on: loop, delayMicroseconds: 150_000)
        defer { store.sync.stop() }
        final class Watch: @unchecked Sendable {
            let lock = NSLock()
            var recordedEarly = false
            var checks = 0
            var done = false
        }
        let seen = Watch()
        let root = folder.path
        // Watch images.json while the pull runs: it never names the image before every
        // layer folder is in place.
        let watch = Thread {
            let deadline = Date().addingTimeInterval(60)
            while Date() < deadline {
                let index = (try? String(contentsOfFile: root + "/images.json", encoding: .utf8)) ?? ""
                let layers = (try? FileManager.default.contentsOfDirectory(atPath: root + "/layers/sha256")) ?? []
                let recorded = index.contains("kinglet/durable")
                seen.lock.withLock {
                    if recorded { seen.recordedEarly = layers.filter { !$0.contains(".") }.count < 2 }
                    seen.checks += 1
                    seen.done = recorded
                }
                if recorded { return }
                usleep(2000)
            }
        }
        watch.start()
        let result = try pull(pushed.reference, store: store, on: loop)
        let stored = try #require(image(result), "\(message(result))")
        let waited = Date().addingTimeInterval(10)
        while !seen.lock.withLock({ seen.done }) && Date() < waited { usleep(10_000) }
        #expect(seen.lock.withLock { !seen.recordedEarly && seen.done })
        #expect(seen.lock.withLock { seen.checks } > 1)
        // Manifest, config, two layers, the index: each a list of its own, each 150 ms on
        // the flusher thread, none of it on the loop.
        #expect(store.sync.listsRun >= 5)
        #expect(loop.longestDispatch < .milliseconds(150), "the loop waited on storage: \(loop.longestDispatch)")
        #expect(store.sync.pending == 0)
        #expect(try ImageStore(root: folder.path).image(named: try ImageReference(parsing: pushed.reference)) == stored)
    }

    @Test(.enabled(if: peersInstalled, Comment(rawValue: skipReason)))
    func imagesSharingALayerUnpackItOnceAndAFlattenedRootIsBuiltWhereLayersCannotBeStacked() throws {
        let registry = try RegistryPeer.start(label: "pull-shared")
        defer { registry.stop() }
        let images = try TestImages(label: "pull-shared")
        defer { images.remove() }
        let base = try images.push(try images.busybox(tag: "base"), to: registry, repository: "kinglet/base", tag: "1")
        let big = try images.push(try images.withRandomLayer(megabytes: 1, tag: "big"), to: registry, repository: "kinglet/big", tag: "1")
        let folder = ImagesScratchFolder()
        defer { folder.remove() }
        let store = try ImageStore(root: folder.path)

        let first = try #require(image(try pull(base.reference, store: store)))
        let shared = try #require(first.layers.first)
        var before = stat()
        #expect(stat(store.layerPath(shared), &before) == 0)
        let second = try #require(image(try pull(big.reference, store: store)))
        #expect(second.layers.first == shared, "both images start with the busybox layer")
        // The shared layer was not unpacked again: the same folder.
        var after = stat()
        #expect(stat(store.layerPath(shared), &after) == 0)
        #expect(after.st_ino == before.st_ino)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path + "/layers/sha256").count == 2)
        // Each image's size is its own: config and compressed layers, shared or not.
        #expect(second.size == Int64(big.layerBytes) + Int64(try store.readBlob(second.config).count))

        // On a board where overlayfs cannot be used, the same layers give a flattened root.
        let flatFolder = ImagesScratchFolder()
        defer { flatFolder.remove() }
        let flat = try ImageStore(root: flatFolder.path)
        flat.overlayRoots = false
        let flattened = try #require(image(try pull(big.reference, store: flat)))
        #expect(flat.root(of: flattened) == .flattened(flat.rootfsPath(flattened.config)))
        let random = try Data(contentsOf: URL(fileURLWithPath: flat.rootfsPath(flattened.config) + "/kinglet/random.bin"))
        #expect(random.count == 1024 * 1024)
        #expect(FileManager.default.isExecutableFile(atPath: flat.rootfsPath(flattened.config) + "/bin/busybox"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: flatFolder.path + "/layers/sha256").count == 2)
    }
}
