import KingletCore
import KingletDocument
import KingletImages
import KingletLink
import KingletPodManager
import KingletRuntime

/// The pod manager's view of the image store: the image manager's answer, and for a
/// pulled image its root (layer folders or a flattened copy) and config, read once per
/// image.
final class AgentImages: ContainerImages {
    let puller: ImagePuller
    private var configs: [ImageDigest: PreparedImage] = [:]
    private let wallClock: () -> Int64
    /// Where the link keeps each relay pod's pull credentials (`PodVolumeFiles`).
    private let stateFolder: String
    var log: (String) -> Void = { _ in }

    init(puller: ImagePuller, wallClock: @escaping () -> Int64, stateFolder: String) {
        self.puller = puller
        self.wallClock = wallClock
        self.stateFolder = stateFolder
    }

    func prepare(image: String, pullPolicy: String, podUID: String) -> ImagePreparation {
        // The pod's pull secrets, over the board's credentials file for the registries they
        // name, as the kubelet prefers them. Read from the state folder, so a pod restored
        // from the cache after a restart while offline still has them.
        let secrets = ImageCommands.credentials(PodVolumeFiles.pullCredentialsPath(stateFolder: stateFolder, uid: podUID))
        switch puller.availability(of: image, policy: ImagePullPolicy(rawValue: pullPolicy), secrets: secrets) {
        case .pulling:
            return .pulling
        case .waiting(let reason, let message):
            return .waiting(reason: reason, message: message)
        case .ready(let stored):
            if let prepared = configs[stored.config] {
                markUsed(stored)
                return .ready(prepared)
            }
            let config: ImageConfig
            do throws(ImageStoreError) {
                let bytes = try puller.store.readBlob(stored.config)
                do throws(DocumentError) {
                    config = try ImageConfig.parse(bytes, source: "config " + stored.config.description)
                } catch {
                    return .waiting(reason: "CreateContainerError", message: error.description)
                }
            } catch {
                return .waiting(reason: "CreateContainerError", message: error.description)
            }
            let rootfs: String
            let layers: [String]
            switch puller.store.root(of: stored) {
            case .layers(let folders)?:
                (rootfs, layers) = ("", folders)
            case .flattened(let path)?:
                (rootfs, layers) = (path, [])
            case nil:
                return .waiting(reason: "CreateContainerError", message: "the image \(stored.reference) is incomplete in the store")
            }
            let user: OCIUser
            do throws(OCIUserError) {
                user = try OCIUser.parse(config.user ?? "", roots: layers.isEmpty ? [rootfs] : layers)
            } catch {
                return .waiting(reason: "CreateContainerConfigError", message: error.description)
            }
            let prepared = PreparedImage(rootfs: rootfs, layers: layers, entrypoint: config.entrypoint, command: config.command,
                                         environment: config.environment, workingDirectory: config.workingDirectory, user: user)
            configs[stored.config] = prepared
            markUsed(stored)
            return .ready(prepared)
        }
    }

    /// The kubelet's image GC (docs/images.md), skipped while a pull runs: `images` are the
    /// `image` fields of every pod the node should run.
    func collectGarbage(images: [String], high: Int64, low: Int64) {
        guard puller.pullsInProgress == 0, !puller.isHeld else { return }
        var inUse: Set<String> = []
        for image in images {
            if let reference = try? ImageReference(parsing: image) { inUse.insert(reference.description) }
        }
        // Pulls wait until it is done: it removes what no recorded image has.
        puller.hold()
        puller.store.collectGarbage(high: high, low: low, inUse: inUse) { [self] result in
            self.puller.release()
            switch result {
            case .success(let removed):
                for reference in removed { self.log("image garbage collection removed \(reference)") }
            case .failure(let error):
                self.log("image garbage collection failed: \(error.description)")
            }
        }
    }

    private func markUsed(_ stored: StoredImage) {
        puller.store.markUsed(stored.reference, at: wallClock())
    }
}
