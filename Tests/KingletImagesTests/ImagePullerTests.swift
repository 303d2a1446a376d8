import Foundation
import KingletCore
import KingletEpoll
import KingletHTTP
import KingletTestPeers
import Testing
@testable import KingletImages

@Suite(.serialized) struct ImagePullerTests {
    struct Board {
        let loop: EpollEventLoop
        let client: HTTPClient
        let puller: ImagePuller
        var changes: [String] { changed.value }
        let changed = Box()
        final class Box: @unchecked Sendable { var value: [String] = [] }

        init(store: ImageStore) throws {
            loop = try EpollEventLoop()
            client = HTTPClient(loop: loop)
            puller = ImagePuller(store: store, client: client, settings: ImagePullSettings(board: BoardPlatform(machine: "x86_64")!),
                                 wallClock: { Int64(Date().timeIntervalSince1970) })
            let box = changed
            puller.changed = { box.value.append($0) }
        }

        /// Runs the loop until `done` (bounded).
        func run(seconds: Double = 30, until done: () -> Bool) throws {
            let deadline = Date().addingTimeInterval(seconds)
            while !done() && Date() < deadline { try loop.runOnce(timeoutMilliseconds: 20) }
        }
    }

    @Test(.enabled(if: ImagePullTests.peersInstalled, Comment(rawValue: ImagePullTests.skipReason)))
    func aStoredImageWhoseLayersCannotBeStackedGetsItsFlattenedRootWithoutTheRegistry() throws {
        let registry = try RegistryPeer.start(label: "puller-local")
        defer { registry.stop() }  // stopped again at the end: a second stop does nothing
        let images = try TestImages(label: "puller-local")
        defer { images.remove() }
        let pushed = try images.push(try images.busybox(tag: "1"), to: registry, repository: "kinglet/app", tag: "1")
        let folder = ImagesScratchFolder()
        defer { folder.remove() }
        let store = try ImageStore(root: folder.path)
        let board = try Board(store: store)
        #expect(board.puller.availability(of: pushed.reference, policy: .ifNotPresent) == .pulling)
        try board.run { board.puller.pullsInProgress == 0 }
        let record = try #require(store.images.first)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path + "/rootfs/sha256").isEmpty)
        // The registry is gone, and this board cannot stack layers (as `kinglet pull` on
        // another machine filled its store).
        registry.stop()
        store.overlayRoots = false
        #expect(!store.isComplete(record))
        for policy in [ImagePullPolicy.ifNotPresent, .never] {
            #expect(board.puller.availability(of: pushed.reference, policy: policy) == .pulling, "\(policy)")
        }
        try board.run { board.puller.pullsInProgress == 0 }
        guard case .ready(let stored) = board.puller.availability(of: pushed.reference, policy: .never) else {
            Issue.record("not ready: \(board.puller.availability(of: pushed.reference, policy: .never))")
            return
        }
        #expect(store.root(of: stored) == .flattened(store.rootfsPath(stored.config)))
        #expect(FileManager.default.isExecutableFile(atPath: store.rootfsPath(stored.config) + "/bin/busybox"))
    }

    @Test(.enabled(if: ImagePullTests.peersInstalled, Comment(rawValue: ImagePullTests.skipReason)))
    func containersWantingOneImageShareOnePullAndThePolicyDecidesWhenToPullAgain() throws {
        let registry = try RegistryPeer.start(label: "puller")
        defer { registry.stop() }
        let images = try TestImages(label: "puller")
        defer { images.remove() }
        let pushed = try images.push(try images.busybox(tag: "1"), to: registry, repository: "kinglet/app", tag: "1")
        let folder = ImagesScratchFolder()
        defer { folder.remove() }
        let board = try Board(store: try ImageStore(root: folder.path))
        let image = pushed.reference

        // Never, before the image is there.
        #expect(board.puller.availability(of: image, policy: .never) ==
                .waiting(reason: "ErrImageNeverPull", message: "Container image \"\(image)\" is not present with pull policy of Never"))
        // Three containers ask; one pull.
        for _ in 0..<3 { #expect(board.puller.availability(of: image, policy: nil) == .pulling) }
        #expect(board.puller.pullsInProgress == 1)
        try board.run { board.puller.pullsInProgress == 0 }
        #expect(board.changes == ["\(registry.host)/kinglet/app:1"])
        guard case .ready(let stored) = board.puller.availability(of: image, policy: .ifNotPresent) else {
            Issue.record("not ready after the pull")
            return
        }
        #expect(stored.manifest.description == pushed.digest)
        #expect(board.puller.availability(of: image, policy: .never) == .ready(stored))
        #expect(board.puller.pullsInProgress == 0)
        // Always pulls once per agent run: a later container restart does not pull again.
        #expect(board.puller.availability(of: image, policy: .always) == .ready(stored))
        #expect(board.puller.pullsInProgress == 0)
    }

    @Test(.enabled(if: ImagePullTests.peersInstalled, Comment(rawValue: ImagePullTests.skipReason)))
    func aFailedPullIsErrImagePullThenImagePullBackOffUntilTheBackOffEnds() throws {
        let registry = try RegistryPeer.start(label: "puller-backoff")
        defer { registry.stop() }
        let folder = ImagesScratchFolder()
        defer { folder.remove() }
        let board = try Board(store: try ImageStore(root: folder.path))
        board.puller.initialBackOff = .milliseconds(1500)
        let image = "\(registry.host)/kinglet/missing:1"

        #expect(board.puller.availability(of: image, policy: nil) == .pulling)
        try board.run { board.puller.pullsInProgress == 0 }
        guard case .waiting(let reason, let message) = board.puller.availability(of: image, policy: nil) else {
            Issue.record("no waiting reason after a failed pull")
            return
        }
        #expect(reason == "ErrImagePull")
        #expect(message.hasPrefix("Failed to pull image \"\(image)\": "))
        #expect(message.contains("not found"), "\(message)")
        // A second later it is the back-off, and no new pull starts while it lasts.
        try board.run(seconds: 1.2) { false }
        #expect(board.puller.availability(of: image, policy: nil) ==
                .waiting(reason: "ImagePullBackOff", message: "Back-off pulling image \"\(image)\""))
        #expect(board.puller.pullsInProgress == 0)
        // ErrImagePull turning into ImagePullBackOff, then the end of the back-off, are
        // announced; the next ask pulls again.
        try board.run(seconds: 3) { board.changes.count >= 3 }
        #expect(board.changes.count == 3)
        #expect(board.puller.availability(of: image, policy: nil) == .pulling)
    }

    @Test(.enabled(if: ImagePullTests.peersInstalled, Comment(rawValue: ImagePullTests.skipReason)))
    func aPodsPullSecretsGoFirstAndAFailureWithoutThemDoesNotHoldThemBack() throws {
        let user = KingletTestPeers.RegistryCredentials(username: "pod-user", password: "pod-password")
        let registry = try RegistryPeer.start(label: "puller-secrets", auth: .basic(user))
        defer { registry.stop() }
        let images = try TestImages(label: "puller-secrets")
        defer { images.remove() }
        let pushed = try images.push(try images.busybox(tag: "1"), to: registry, repository: "kinglet/private", tag: "1")
        let folder = ImagesScratchFolder()
        defer { folder.remove() }
        let board = try Board(store: try ImageStore(root: folder.path))
        // The board's credentials file names the registry with a stale password.
        board.puller.boardCredentials = {
            var store = RegistryCredentialStore()
            store.add(registry: registry.host, KingletImages.RegistryCredentials(username: "pod-user", password: "stale"))
            return store
        }
        let image = pushed.reference

        // Without the pod's secrets: refused, then the back-off.
        #expect(board.puller.availability(of: image, policy: nil) == .pulling)
        try board.run { board.puller.pullsInProgress == 0 }
        guard case .waiting(let reason, let message) = board.puller.availability(of: image, policy: nil) else {
            Issue.record("a pull with the stale password succeeded")
            return
        }
        #expect(reason == "ErrImagePull")
        #expect(message.contains("pull access denied") && message.contains("the registry refused the credentials"), "\(message)")

        // A pod with its own secret for the registry pulls at once, and its credentials win.
        var secrets = RegistryCredentialStore()
        secrets.add(registry: "http://" + registry.host + "/", KingletImages.RegistryCredentials(username: "pod-user", password: "pod-password"))
        #expect(board.puller.availability(of: image, policy: nil, secrets: secrets) == .pulling)
        try board.run { board.puller.pullsInProgress == 0 }
        guard case .ready(let stored) = board.puller.availability(of: image, policy: .ifNotPresent, secrets: secrets) else {
            Issue.record("not pulled with the pod's secret: \(board.puller.availability(of: image, policy: .ifNotPresent, secrets: secrets))")
            return
        }
        #expect(stored.manifest.description == pushed.digest)
        // Once stored, the image is there for every pod, as on a kubelet's node.
        #expect(board.puller.availability(of: image, policy: .ifNotPresent) == .ready(stored))
    }

    @Test func anInvalidNameWaitsWithTheKubeletsReason() throws {
        let folder = ImagesScratchFolder()
        defer { folder.remove() }
        let board = try Board(store: try ImageStore(root: folder.path))
        #expect(board.puller.availability(of: "Acme/App:1", policy: nil) == .waiting(reason: "InvalidImageName", message:
            "Failed to apply default image tag \"Acme/App:1\": couldn't parse image name \"Acme/App:1\": invalid reference format: the repository name \"Acme/App\" must be lowercase"))
    }

    @Test func theDefaultPolicyIsAlwaysForLatestAndIfNotPresentOtherwise() throws {
        func policy(_ text: String) throws -> ImagePullPolicy { ImagePullPolicy.effective(nil, for: try ImageReference(parsing: text)) }
        #expect(try policy("busybox") == .always)
        #expect(try policy("busybox:latest") == .always)
        #expect(try policy("busybox:1.36") == .ifNotPresent)
        #expect(try policy("busybox@sha256:" + String(repeating: "a", count: 64)) == .ifNotPresent)
        #expect(ImagePullPolicy.effective(.never, for: try ImageReference(parsing: "busybox")) == .never)
    }
}
