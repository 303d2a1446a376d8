import KingletCore
import KingletHTTP

/// A container's `imagePullPolicy`; unset means the kubelet's default: `Always` for a
/// `:latest` (or untagged) reference, else `IfNotPresent`.
public enum ImagePullPolicy: String, Equatable, Sendable {
    case always = "Always"
    case ifNotPresent = "IfNotPresent"
    case never = "Never"

    public static func effective(_ policy: ImagePullPolicy?, for reference: ImageReference) -> ImagePullPolicy {
        if let policy { return policy }
        return reference.digest == nil && reference.tag == "latest" ? .always : .ifNotPresent
    }
}

/// Where an image stands for a container that wants it, with the kubelet's reasons.
public enum ImageAvailability: Equatable, Sendable {
    /// In the store: run it.
    case ready(StoredImage)
    /// Being pulled (the container waits as `ContainerCreating`).
    case pulling
    /// Not usable now: `reason` is the kubelet's (`ErrImagePull`, `ImagePullBackOff`,
    /// `InvalidImageName`, `ErrImageNeverPull`), `message` its text.
    case waiting(reason: String, message: String)
}

/// The board's image manager: one pull at a time per image however many containers want
/// it, the pull policy, and the kubelet's image back-off (10 s after a failed pull,
/// doubling to 5 min; `ImagePullBackOff` while it waits, `ErrImagePull` right after a failure).
public final class ImagePuller {
    public let store: ImageStore
    private let client: HTTPClient
    private let loop: any EventLoop
    private let settings: ImagePullSettings
    private let wallClock: () -> Int64
    /// The board's own credentials (a docker config.json), read at each pull, under those
    /// of pull secrets.
    public var boardCredentials: () -> RegistryCredentialStore = { RegistryCredentialStore() }
    public var log: (String) -> Void = { _ in }
    /// Called on the loop whenever an image's availability may have changed.
    public var changed: (String) -> Void = { _ in }

    /// The kubelet's image back-off.
    public var initialBackOff = Duration.seconds(10)
    public var maximumBackOff = Duration.seconds(300)

    private struct Failure {
        var message: String
        var at: Instant
        var backOff: Duration
        /// The pod's credentials the pull had. A pod that brings other credentials pulls at
        /// once instead of waiting out a back-off earned without them (the kubelet keeps a
        /// back-off per pod and image, so one pod's failure does not hold another back).
        var secrets: RegistryCredentialStore
    }

    private var pulls: [String: ImagePull] = [:]
    /// Pulls wait here while another runs: one at a time, since two pulls of images that
    /// share a config or a layer would share staging folders and download files (and a
    /// board's link is better spent on one image at a time).
    private var queued: [(key: String, reference: ImageReference, image: String, secrets: RegistryCredentialStore,
                          local: StoredImage?)] = []
    /// Image key -> the latest failure under each set of pod credentials that failed.
    private var failures: [String: [Failure]] = [:]
    /// References pulled under policy Always since the agent started (pulled once per start,
    /// not at every container restart).
    private var pulledThisRun: Set<String> = []

    public init(store: ImageStore, client: HTTPClient, settings: ImagePullSettings, wallClock: @escaping () -> Int64) {
        self.store = store
        self.client = client
        self.loop = client.loop
        self.settings = settings
        self.wallClock = wallClock
    }

    /// What a container with this `image` and policy can do now; starts a pull when one is
    /// due. `changed` is called with the reference text when the answer changes.
    public func availability(of image: String, policy: ImagePullPolicy?, secrets: RegistryCredentialStore = RegistryCredentialStore())
        -> ImageAvailability {
        let reference: ImageReference
        do throws(ImageReferenceError) {
            reference = try ImageReference(parsing: image)
        } catch {
            return .waiting(reason: "InvalidImageName", message: "Failed to apply default image tag \"\(image)\": \(error.description)")
        }
        let key = reference.description
        let record = store.image(named: reference)
        let stored = record.flatMap { store.isComplete($0) ? $0 : nil }
        // Pulled, but its flattened root is still to be built from its layers: no registry
        // needed for that.
        let local = record.flatMap { stored == nil && store.canCompleteLocally($0) ? $0 : nil }
        let policy = ImagePullPolicy.effective(policy, for: reference)
        switch policy {
        case .never:
            if let stored { return .ready(stored) }
            if local == nil {
                return .waiting(reason: "ErrImageNeverPull", message: "Container image \"\(image)\" is not present with pull policy of Never")
            }
        case .ifNotPresent:
            if let stored { return .ready(stored) }
        case .always:
            if let stored, pulledThisRun.contains(key) { return .ready(stored) }
        }
        if pulls[key] != nil || queued.contains(where: { $0.key == key }) { return .pulling }
        if let failure = failures[key]?.first(where: { $0.secrets == secrets }) {
            if loop.now < failure.at.advanced(by: failure.backOff) {
                let justFailed = loop.now < failure.at.advanced(by: .seconds(1))
                return justFailed ? .waiting(reason: "ErrImagePull", message: failure.message)
                                  : .waiting(reason: "ImagePullBackOff", message: "Back-off pulling image \"\(image)\"")
            }
        }
        let fromStore = policy == .always && !pulledThisRun.contains(key) ? nil : local
        startPull(reference, image: image, secrets: secrets, local: fromStore)
        return .pulling
    }

    /// A pull under way, for progress.
    public func progress(of image: String) -> ImagePullProgress? {
        guard let reference = try? ImageReference(parsing: image) else { return nil }
        return pulls[reference.description]?.progress
    }

    /// Pulls under way or waiting for their turn.
    public var pullsInProgress: Int { pulls.count + queued.count }

    /// Whether new pulls wait (`hold`): the image GC runs, and must not remove the layers
    /// of a pull it cannot see yet.
    public private(set) var isHeld = false

    public func hold() { isHeld = true }

    /// Lets held pulls start.
    public func release() {
        isHeld = false
        if pulls.isEmpty, !queued.isEmpty {
            let next = queued.removeFirst()
            startPull(next.reference, image: next.image, secrets: next.secrets, local: next.local)
        }
    }

    public func cancelAll() {
        for pull in pulls.values { pull.cancel() }
        pulls.removeAll()
        queued.removeAll()
    }

    private func startPull(_ reference: ImageReference, image: String, secrets: RegistryCredentialStore, local: StoredImage?) {
        let key = reference.description
        guard pulls.isEmpty, !isHeld else {
            queued.append((key, reference, image, secrets, local))
            return
        }
        var credentials = boardCredentials()
        credentials.merge(secrets)
        log(local == nil ? "pulling image \"\(image)\"" : "building the flattened root of image \"\(image)\" from its layers")
        let began = loop.now
        let pull = ImagePull(reference: reference, store: store, client: client, credentials: credentials, settings: settings,
                             wallClock: wallClock) { [self] result in
            self.pulls[key] = nil
            switch result {
            case .success(let stored):
                self.failures[key] = nil
                self.pulledThisRun.insert(key)
                let took = self.loop.now.since(began).milliseconds
                self.log("pulled image \"\(image)\" (\(stored.manifest.description), \(stored.size.description) bytes) in \(took.description) ms")
            case .failure(let error):
                var failures = self.failures[key] ?? []
                var backOff = self.initialBackOff
                if let previous = failures.firstIndex(where: { $0.secrets == secrets }) {
                    backOff = min(failures.remove(at: previous).backOff * 2, self.maximumBackOff)
                }
                let message = "Failed to pull image \"\(image)\": \(error.message)"
                failures.append(Failure(message: message, at: self.loop.now, backOff: backOff, secrets: secrets))
                self.failures[key] = failures
                self.log(message + "; next try in \(backOff.milliseconds / 1000) s")
                // Tell the waiting containers when ErrImagePull becomes ImagePullBackOff, and
                // when the back-off ends.
                self.loop.schedule(after: .seconds(1)) { [self] in self.changed(key) }
                self.loop.schedule(after: backOff) { [self] in self.changed(key) }
            }
            self.changed(key)
            if self.pulls.isEmpty, !self.queued.isEmpty, !self.isHeld {
                let next = self.queued.removeFirst()
                self.startPull(next.reference, image: next.image, secrets: next.secrets, local: next.local)
            }
        }
        pulls[key] = pull
        if let local { pull.start(locallyFrom: local) } else { pull.start() }
    }
}
