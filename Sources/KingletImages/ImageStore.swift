import CKingletSystem
import KingletCore
import KingletDocument
import KingletPod

/// The images on the board, under `<state>/images`, content-addressed so images share
/// what they have in common:
///
///     blobs/sha256/<hex>             manifests, indexes and configs, verified
///     downloads/sha256/<hex>         a layer blob being fetched (kept across restarts: the
///                                    fetch resumes from its length), removed once unpacked
///     layers/sha256/<diffID hex>/    one layer, unpacked once and shared by every image
///                                    that has it (staged as <hex>.unpacking and renamed
///                                    when whole):
///         overlay/                   its files, whiteouts in overlayfs's format: a lower
///                                    folder of a container's overlayfs root
///         files/                     or its files with the tar's `.wh.` whiteout files
///                                    (unpacked without the privilege for overlayfs's):
///                                    for flattening only
///     rootfs/sha256/<config hex>/    an image's flattened root file system, its layers
///                                    applied in order, only where its layers cannot be
///                                    stacked (no overlayfs, a layer in `files/`, too many
///                                    layers for one mount); staged as <hex>.unpacking
///     images.json                    which references name which manifests, their layers
///                                    and sizes, and when each was last used
///
/// Layers are keyed by diffID (the sha256 of the uncompressed tar): a layer folder holds
/// that layer's changes alone, whatever lies below it, since overlayfs merges the layers
/// when it mounts them; so one folder serves every image that has the layer, on any base.
///
/// A layer or root file system is used only once renamed into place, and an image only
/// once its record is in images.json (written to a temporary file and renamed), so a pull
/// cut short by `kill -9` leaves leftovers to finish or clean up, never half an image in
/// use. Against a power cut, every rename is preceded by an fsync (a syncfs for a layer's
/// folder) of what it publishes and followed by one of its folder, all on `sync`'s thread,
/// never on the loop; and since `sync` runs its lists in order, an image's record reaches
/// images.json only after its layers, root and blobs are durable. A store written before layers had folders of their own (flattened roots only) is
/// read as it is: its images run from their flattened roots.
public final class ImageStore {
    public let root: String
    public private(set) var images: [StoredImage] = []
    /// Set when images.json could not be read at start: it was moved aside to
    /// images.json.corrupt and the store starts empty (images are pulled again as pods
    /// need them), rather than the agent refusing to start.
    public private(set) var indexProblem: String?
    /// Whether containers' roots may stack the layer folders with overlayfs (the agent
    /// finds out at start, `OCIRuntime.probeOverlay`). When false, every image gets a
    /// flattened root.
    public var overlayRoots = true
    /// The fsyncs, renames and removals, off the loop once `sync.start(on:)` is called.
    public let sync = StoreSync()
    /// Failures of writes nobody waits for (the last-used times).
    public var log: (String) -> Void = { _ in }
    private var indexSaving = false
    private var indexWaiters: [(ImageStoreError?) -> Void] = []
    private var indexDirty = false

    /// The most layers one overlayfs root stacks, and the longest `lowerdir=` list: the
    /// kernel takes at most a page of mount options (lowerdir, upperdir, workdir). An
    /// image beyond either gets a flattened root instead.
    public static let maximumStackedLayers = 128
    public static let maximumLowerOption = 3000

    public init(root: String) throws(ImageStoreError) {
        self.root = root
        for folder in ["blobs/sha256", "downloads/sha256", "layers/sha256", "rootfs/sha256"] {
            let path = root + "/" + folder
            if kinglet_make_folders(path, 0o700) != 0 { throw .system("create \(path)", kinglet_errno()) }
        }
        do throws(ImageStoreError) {
            images = try loadIndex()
        } catch {
            guard case .corruptIndex = error else { throw error }
            indexProblem = error.description + " (moved aside to images.json.corrupt)"
            _ = rename(indexPath, indexPath + ".corrupt")
        }
    }

    public func blobPath(_ digest: ImageDigest) -> String { root + "/blobs/sha256/" + digest.hex }
    public func downloadPath(_ digest: ImageDigest) -> String { root + "/downloads/sha256/" + digest.hex }
    public func rootfsPath(_ config: ImageDigest) -> String { root + "/rootfs/sha256/" + config.hex }
    public func rootfsStagingPath(_ config: ImageDigest) -> String { rootfsPath(config) + ".unpacking" }
    /// A layer's folder, `layers/sha256/<diffID hex>`.
    public func layerPath(_ diffID: ImageDigest) -> String { root + "/layers/sha256/" + diffID.hex }
    public func layerStagingPath(_ diffID: ImageDigest) -> String { layerPath(diffID) + ".unpacking" }
    var indexPath: String { root + "/images.json" }

    /// The folder holding a stored layer's files, and its whiteouts' format; nil when the
    /// layer is not in the store.
    public func layerFiles(_ diffID: ImageDigest) -> (path: String, format: StoredLayerFormat)? {
        let folder = layerPath(diffID)
        for format in [StoredLayerFormat.overlay, .files] where kinglet_file_exists(folder + "/" + format.rawValue) != 0 {
            return (folder + "/" + format.rawValue, format)
        }
        return nil
    }

    public func hasLayer(_ diffID: ImageDigest) -> Bool { layerFiles(diffID) != nil }
    public func hasBlob(_ digest: ImageDigest) -> Bool { kinglet_file_exists(blobPath(digest)) != 0 }
    public func hasRootfs(_ config: ImageDigest) -> Bool { kinglet_file_exists(rootfsPath(config)) != 0 }

    /// The image a reference names, when it has been pulled.
    public func image(named reference: ImageReference) -> StoredImage? {
        let name = reference.description
        return images.first { $0.reference == name }
    }

    /// What a container of the image runs on: its layer folders stacked by overlayfs, or its
    /// flattened root; nil while neither is in place.
    public func root(of image: StoredImage) -> ImageRoot? {
        if let layers = stackableLayers(image.layers) { return .layers(layers) }
        if hasRootfs(image.config) { return .flattened(rootfsPath(image.config)) }
        return nil
    }

    /// Whether the image can run now.
    public func isComplete(_ image: StoredImage) -> Bool { root(of: image) != nil }

    /// Whether everything the image needs is in the store, so what it lacks to run (a
    /// flattened root) can be built without the registry.
    public func canCompleteLocally(_ image: StoredImage) -> Bool {
        hasBlob(image.manifest) && hasBlob(image.config) && !image.layers.isEmpty && image.layers.allSatisfy { hasLayer($0) }
    }

    /// Whether an image with these layers (bottom first) needs a flattened root.
    public func needsFlattenedRoot(_ layers: [ImageDigest]) -> Bool { stackableLayers(layers) == nil }

    /// The layer folders, top first (overlayfs's `lowerdir` order), when the image's layers
    /// are all in the store in overlayfs's format and fit one mount.
    func stackableLayers(_ layers: [ImageDigest]) -> [String]? {
        guard overlayRoots, !layers.isEmpty, layers.count <= ImageStore.maximumStackedLayers else { return nil }
        var folders: [String] = []
        var optionLength = 0
        for layer in layers.reversed() {
            guard let (path, format) = layerFiles(layer), format == .overlay,
                  !path.utf8.contains(where: { $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: ",") }) else { return nil }
            optionLength += path.utf8.count + 1
            folders.append(path)
        }
        return optionLength <= ImageStore.maximumLowerOption ? folders : nil
    }

    /// Records a pulled image (replacing what the reference named before) and writes the
    /// index; `completion` once it is durable. The manifest, config and layers must be in
    /// the store already, durably (`storeBlob`, `publish`).
    public func record(_ image: StoredImage, completion: @escaping (ImageStoreError?) -> Void) {
        images = images.filter { $0.reference != image.reference } + [image]
        saveIndex(completion)
    }

    /// Forgets the image a reference names (its blobs and layers stay until collected).
    public func forget(_ reference: String, completion: @escaping (ImageStoreError?) -> Void) {
        let updated = images.filter { $0.reference != reference }
        guard updated.count != images.count else { return completion(nil) }
        images = updated
        saveIndex(completion)
    }

    /// Stores a small verified blob (manifest, index, config) under its digest, durably.
    public func storeBlob(_ bytes: [UInt8], digest: ImageDigest, completion: @escaping (ImageStoreError?) -> Void) {
        writeDurably(bytes, to: blobPath(digest), completion: completion)
    }

    /// Publishes a folder staged beside its final name (a layer's `<hex>.unpacking`, a
    /// root's): made durable, renamed into place, the rename made durable.
    public func publish(_ staging: String, as path: String, completion: @escaping (ImageStoreError?) -> Void) {
        sync.run([.syncFileSystem(staging), .rename(staging, path), .sync(FolderListing.parentFolder(of: path))],
                 completion: completion)
    }

    /// A stored small blob's bytes.
    public func readBlob(_ digest: ImageDigest, limit: Int = ImageManifestDocument.maximumSize) throws(ImageStoreError) -> [UInt8] {
        do {
            return try WholeFile.read(blobPath(digest), limit: limit)
        } catch {
            throw .system("\(error.call) \(blobPath(digest))", error.errno)
        }
    }

    /// Notes that a container started from the image (garbage collection removes the least
    /// recently used first).
    public func markUsed(_ reference: String, at seconds: Int64) {
        guard let index = images.firstIndex(where: { $0.reference == reference }) else { return }
        images[index].lastUsedAt = seconds
        saveIndex { [self] error in
            if let error { self.log("cannot record the use of \(reference): \(error.description)") }
        }
    }

    /// How full the store's file system is, in percent; nil when statvfs fails.
    public func diskUsagePercent() -> Int64? {
        var total: Int64 = 0
        var available: Int64 = 0
        guard kinglet_filesystem_kib(root, &total, &available) == 0, total > 0 else { return nil }
        return (total - available) * 100 / total
    }

    /// The kubelet's image garbage collection: when the file system is at least `high`
    /// percent full, first what no image uses any more (the layers, root file systems and
    /// blobs of images a newer pull of their reference replaced, downloads and staging left
    /// by interrupted pulls), then images no container uses (`inUse`: references), least
    /// recently used first, until it is at most `low` percent full or nothing unused is
    /// left. A layer goes with the last image that has it. Each image's removal from the
    /// index is durable before its folders go, and the folders are removed on `sync`'s
    /// thread, one image at a time, so the usage is measured again after each. Call it
    /// only while no pull runs. `completion` gets the references removed.
    public func collectGarbage(high: Int64, low: Int64, inUse: Set<String>, usage: @escaping () -> Int64? = { nil },
                               completion: @escaping (Result<[String], ImageStoreError>) -> Void) {
        guard let start = usage() ?? diskUsagePercent(), start >= high else { return completion(.success([])) }
        let candidates = images.filter { !inUse.contains($0.reference) }.sorted { $0.lastUsedAt < $1.lastUsedAt }
        removeUnreferenced { [self] error in
            if let error { return completion(.failure(error)) }
            self.collect(candidates, from: 0, removed: [], low: low, usage: usage, completion: completion)
        }
    }

    private func collect(_ candidates: [StoredImage], from index: Int, removed: [String], low: Int64,
                         usage: @escaping () -> Int64?, completion: @escaping (Result<[String], ImageStoreError>) -> Void) {
        if index == candidates.count { return completion(.success(removed)) }
        if let now = usage() ?? diskUsagePercent(), now <= low { return completion(.success(removed)) }
        let reference = candidates[index].reference
        forget(reference) { [self] error in
            if let error { return completion(.failure(error)) }
            self.removeUnreferenced { [self] error in
                if let error { return completion(.failure(error)) }
                self.collect(candidates, from: index + 1, removed: removed + [reference], low: low, usage: usage,
                             completion: completion)
            }
        }
    }

    /// Layers, root file systems, blobs and downloads no recorded image uses, and leftovers
    /// of interrupted pulls and removals (`*.unpacking`, `*.deleting`). A layer goes only
    /// when no image left has it. Folders are renamed aside on the loop (so a removal cut
    /// short never leaves half of one under a name a pull would take for complete) and
    /// removed on `sync`'s thread. Only while no pull runs.
    public func removeUnreferenced(completion: @escaping (ImageStoreError?) -> Void) {
        var used: Set<String> = []
        var usedLayers: Set<String> = []
        for image in images {
            used.insert(image.config.hex)
            used.insert(image.manifest.hex)
            for layer in image.layers { usedLayers.insert(layer.hex) }
        }
        var steps: [StoreSync.Step] = []
        for (folder, keep) in [("/layers/sha256", usedLayers), ("/rootfs/sha256", used)] {
            let parent = root + folder
            for name in FolderListing.folders(in: parent) ?? [] where !keep.contains(name) {
                let path = parent + "/" + name
                var aside = path
                if !name.hasSuffix(".deleting") {
                    aside = path + ".deleting"
                    if rename(path, aside) != 0 { return completion(.system("rename \(path)", kinglet_errno())) }
                }
                steps.append(.remove(aside))
            }
            if !steps.isEmpty { steps.insert(.sync(parent), at: 0) }
        }
        for name in FolderListing.files(in: root + "/blobs/sha256") ?? [] where !used.contains(name) {
            _ = unlink(root + "/blobs/sha256/" + name)
        }
        for name in FolderListing.files(in: root + "/downloads/sha256") ?? [] {
            _ = unlink(root + "/downloads/sha256/" + name)
        }
        guard !steps.isEmpty else { return completion(nil) }
        sync.run(steps, completion: completion)
    }

    // MARK: The index

    func loadIndex() throws(ImageStoreError) -> [StoredImage] {
        guard kinglet_file_exists(indexPath) != 0 else { return [] }
        let bytes: [UInt8]
        do {
            bytes = try WholeFile.read(indexPath, limit: 16 * 1024 * 1024)
        } catch {
            throw .system("\(error.call) \(indexPath)", error.errno)
        }
        do throws(DocumentError) {
            var images: [StoredImage] = []
            let root = FieldReader(try JSONReader().parseDocument(bytes, file: indexPath), file: indexPath)
            for item in try root.object().array("images") { images.append(try StoredImage(item)) }
            return images
        } catch {
            throw .corruptIndex(error.description)
        }
    }

    /// Writes images.json from `images`: one write at a time, the next one taking whatever
    /// changed meanwhile; `completion` once a write that includes this call's state is
    /// durable.
    private func saveIndex(_ completion: ((ImageStoreError?) -> Void)?) {
        if let completion { indexWaiters.append(completion) }
        guard !indexSaving else {
            indexDirty = true
            return
        }
        indexSaving = true
        indexDirty = false
        let waiters = indexWaiters
        indexWaiters = []
        var writer = JSONWriter(capacity: 512 * (images.count + 1))
        writer.beginObject()
        writer.key("images")
        writer.beginArray()
        for image in images { image.write(to: &writer) }
        writer.endArray()
        writer.endObject()
        writeDurably(writer.bytes, to: indexPath) { [self] error in
            self.indexSaving = false
            for waiter in waiters { waiter(error) }
            if self.indexDirty { self.saveIndex(nil) }
        }
    }

    /// Writes `<path>.tmp` (on the loop: small files), then on `sync`'s thread fsyncs it,
    /// renames it over `path` and fsyncs the folder: a reader sees the old file or the new
    /// one, whole, and after a power cut too.
    func writeDurably(_ bytes: [UInt8], to path: String, completion: @escaping (ImageStoreError?) -> Void) {
        let temporary = path + ".tmp"
        _ = unlink(temporary)
        let fd = kinglet_file_create_exclusive(temporary)
        if fd < 0 { return completion(.system("create \(temporary)", kinglet_errno())) }
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { CKingletSystem.write(fd, $0.baseAddress! + offset, bytes.count - offset) }
            if written < 0 {
                if kinglet_errno() == EINTR { continue }
                let error = kinglet_errno()
                _ = close(fd)
                _ = unlink(temporary)
                return completion(.system("write \(temporary)", error))
            }
            offset += written
        }
        _ = close(fd)
        sync.run([.sync(temporary), .rename(temporary, path), .sync(FolderListing.parentFolder(of: path))]) { error in
            if error != nil { _ = unlink(temporary) }
            completion(error)
        }
    }
}

/// How a stored layer's folder records whiteouts (the name of its sub-folder).
public enum StoredLayerFormat: String, Equatable, Sendable {
    /// overlayfs's: character devices 0/0 and trusted.overlay.opaque. Stackable.
    case overlay
    /// The tar's `.wh.` files, kept where overlayfs's could not be made. Flattened only.
    case files
}

/// What a container's root is made from.
public enum ImageRoot: Equatable, Sendable {
    /// The image's layer folders, top first, to stack with overlayfs.
    case layers([String])
    /// The image's flattened root file system.
    case flattened(String)
}

/// One pulled image as images.json keeps it.
public struct StoredImage: Equatable, Sendable {
    /// The fully qualified reference it was pulled by (`docker.io/library/busybox:latest`).
    public var reference: String
    /// The manifest the reference named when pulled (for an index, the board's entry).
    public var manifest: ImageDigest
    public var config: ImageDigest
    /// The layers' diffIDs, bottom first.
    public var layers: [ImageDigest]
    /// The image's size as the registry gives it: config and compressed layers.
    public var size: Int64
    /// Seconds since the epoch.
    public var pulledAt: Int64
    public var lastUsedAt: Int64

    public init(reference: String, manifest: ImageDigest, config: ImageDigest, layers: [ImageDigest], size: Int64,
                pulledAt: Int64, lastUsedAt: Int64) {
        self.reference = reference
        self.manifest = manifest
        self.config = config
        self.layers = layers
        self.size = size
        self.pulledAt = pulledAt
        self.lastUsedAt = lastUsedAt
    }

    init(_ reader: FieldReader) throws(DocumentError) {
        let object = try reader.object()
        reference = try object.requiredString("reference")
        manifest = try ImageDigest.read(try object.required("manifest"))
        config = try ImageDigest.read(try object.required("config"))
        layers = []
        for item in try object.array("layers") { layers.append(try ImageDigest.read(item)) }
        size = try object.integer("size") ?? 0
        pulledAt = try object.integer("pulledAt") ?? 0
        lastUsedAt = try object.integer("lastUsedAt") ?? pulledAt
    }

    func write(to writer: inout JSONWriter) {
        writer.beginObject()
        writer.key("reference")
        writer.string(reference)
        writer.key("manifest")
        writer.string(manifest.description)
        writer.key("config")
        writer.string(config.description)
        writer.key("layers")
        writer.beginArray()
        for layer in layers { writer.string(layer.description) }
        writer.endArray()
        writer.key("size")
        writer.integer(size)
        writer.key("pulledAt")
        writer.integer(pulledAt)
        writer.key("lastUsedAt")
        writer.integer(lastUsedAt)
        writer.endObject()
    }
}

public enum ImageStoreError: Error, Equatable, Sendable, CustomStringConvertible {
    case system(String, Int32)
    case corruptIndex(String)

    public var description: String {
        switch self {
        case .system(let what, let errno): return "\(what): \(String(cString: strerror(errno)))"
        case .corruptIndex(let why): return "the image index is unreadable: \(why)"
        }
    }
}
