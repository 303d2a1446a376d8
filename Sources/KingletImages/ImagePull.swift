import CKingletSystem
import KingletCore
import KingletDocument
import KingletHTTP

/// How pulls reach registries.
public struct ImagePullSettings: Sendable {
    /// The platform images are chosen for.
    public var board: BoardPlatform
    /// Registries (`host[:port]`) spoken to over plain http. Loopback registries
    /// (`localhost`, 127.0.0.0/8, `[::1]`) always are, as Docker does.
    public var insecureRegistries: [String] = []
    /// Blob redirects followed at most (registries send blobs to their storage host).
    public var maximumRedirects = 5
    /// Bytes of a downloaded layer hashed or unpacked per loop turn.
    public var chunkBytes = 256 * 1024

    public init(board: BoardPlatform) { self.board = board }

    func scheme(for registry: String) -> String {
        if insecureRegistries.contains(registry) { return "http" }
        var host = registry
        if host.hasPrefix("[") {
            if let end = host.firstIndex(of: "]") { host = String(host[host.index(after: host.startIndex)..<end]) }
        } else if let colon = host.firstIndex(of: ":") {
            host = String(host[..<colon])
        }
        let numericLoopback = host.hasPrefix("127.") && host.utf8.allSatisfy { isDigit($0) || $0 == UInt8(ascii: ".") }
        return host == "localhost" || host == "::1" || numericLoopback ? "http" : "https"
    }
}

/// Why a pull failed, with the kubelet's wording where it has one. Every pull failure is
/// an `ErrImagePull` for the container; `retryable` tells a registry that may recover
/// (unreachable, 5xx) from an image that is wrong (no such tag, wrong digest).
public struct ImagePullError: Error, Equatable, Sendable, CustomStringConvertible {
    public var message: String
    public var retryable: Bool

    public init(_ message: String, retryable: Bool) {
        self.message = message
        self.retryable = retryable
    }

    public var description: String { message }
}

/// Progress of a pull, for logs and `kinglet pull`.
public struct ImagePullProgress: Equatable, Sendable {
    public var phase: String
    public var layer = 0
    public var layers = 0
    public var bytes: Int64 = 0
    public var total: Int64 = 0
}

/// One pull on the loop: manifest (an index resolved to the board's entry), config, then
/// each layer the store does not have yet downloaded to `downloads/` with its sha256
/// checked as it arrives (resuming a download left by an earlier pull with a Range
/// request), and only then unpacked, a chunk per loop turn, into its own layer folder; its
/// diffID is checked against the config before the folder is renamed into place. Where the
/// image's layers cannot be stacked, its flattened root is built from the layer folders.
/// The image is recorded once everything is in place.
///
/// Authentication follows the registry's `WWW-Authenticate` challenge: Bearer (the Docker
/// token flow: a token from the realm for `repository:<name>:pull`, with Basic credentials
/// when there are some for the registry) or Basic.
public final class ImagePull: HTTPResponseHandler {
    public let reference: ImageReference
    public private(set) var progress = ImagePullProgress(phase: "resolving")
    private let store: ImageStore
    private let client: HTTPClient
    private let loop: any EventLoop
    private let credentials: RegistryCredentialStore
    private let settings: ImagePullSettings
    private let wallClock: () -> Int64
    private var completion: ((Result<StoredImage, ImagePullError>) -> Void)?
    public var onProgress: (ImagePullProgress) -> Void = { _ in }

    private enum Step {
        case manifest(String)
        case token(retry: HTTPRequest)
        case config
        case layer(Int)
        case flatten
    }

    private var step = Step.manifest("")
    /// The step a token request interrupted, to go back to with the token.
    private var interrupted = Step.config
    private var request: HTTPRequest?
    private var requestID: HTTPRequestID?
    private var head: HTTPResponseHead?
    private var redirects = 0
    private var authorization: String?
    private var triedAuthorization = false
    private var body: [UInt8] = []
    private var bodyLimit = 0
    private var manifestDigest: ImageDigest?
    private var manifest: ImageManifest?
    private var config: ImageConfig?
    private var configDigest: ImageDigest?
    private var download: BlobDownload?
    private var unpacker: LayerUnpacker?
    private var unpackFile: Int32 = -1
    private var flattener: LayerFlattener?
    private var readBuffer: [UInt8] = []
    /// Manifests, configs and tokens must arrive whole within this (a server dribbling
    /// bytes would otherwise keep the idle timeout from ever firing).
    static let smallDocumentDeadline = Duration.seconds(120)
    private var deadline: TimerHandle?
    private var ended = false

    public init(reference: ImageReference, store: ImageStore, client: HTTPClient, credentials: RegistryCredentialStore,
                settings: ImagePullSettings, wallClock: @escaping () -> Int64,
                completion: @escaping (Result<StoredImage, ImagePullError>) -> Void) {
        self.reference = reference
        self.store = store
        self.client = client
        self.loop = client.loop
        self.credentials = credentials
        self.settings = settings
        self.wallClock = wallClock
        self.completion = completion
    }

    public func start() {
        loop.schedule(after: .zero) { [self] in
            guard !self.ended else { return }
            self.requestManifest(self.reference.manifestReference)
        }
    }

    /// Finishes an image whose record, manifest, config and layers are all in the store but
    /// which cannot run yet (a flattened root is missing), without asking the registry.
    public func start(locallyFrom stored: StoredImage) {
        loop.schedule(after: .zero) { [self] in
            guard !self.ended else { return }
            let manifestBytes: [UInt8]
            do throws(ImageStoreError) {
                manifestBytes = try self.store.readBlob(stored.manifest)
                self.body = try self.store.readBlob(stored.config)
            } catch {
                return self.fail(error.description, retryable: true)
            }
            do throws(DocumentError) {
                let document = try ImageManifestDocument.parse(manifestBytes, contentType: ImageMediaType.ociManifest,
                                                               source: "manifest " + stored.manifest.description)
                guard case .manifest(let manifest) = document else {
                    return self.fail("\(stored.manifest.description) is not an image manifest", retryable: false)
                }
                self.manifest = manifest
                self.manifestDigest = stored.manifest
            } catch {
                return self.fail(error.description, retryable: false)
            }
            self.step = .config
            self.configArrived()
        }
    }

    /// Stops the pull; the completion is not called. A partial download stays for the next pull.
    public func cancel() {
        cancelDeadline()
        if let requestID { client.cancel(requestID) }
        requestID = nil
        closeUnpack()
        flattener = nil
        download?.close()
        download = nil
        ended = true
        completion = nil
    }

    // MARK: Steps

    private var base: String { settings.scheme(for: reference.registry) + "://" + reference.endpoint + "/v2/" + reference.repository }

    private func requestManifest(_ name: String) {
        step = .manifest(name)
        report("resolving")
        var headers = HTTPHeaders()
        headers.add("Accept", ImageMediaType.manifestAccept)
        send(url: base + "/manifests/" + name, headers: headers, limit: ImageManifestDocument.maximumSize)
    }

    private func manifestArrived(_ name: String) {
        let digest = ImageDigest.sha256(of: body)
        if let pinned = ImageDigest.parseOptional(name), pinned != digest {
            return fail("manifest \(name) of \(reference.description) has digest \(digest.description): it does not match", retryable: false)
        }
        let document: ImageManifestDocument
        do throws(DocumentError) {
            document = try ImageManifestDocument.parse(body, contentType: head?["Content-Type"], source: "manifest \(name)")
        } catch {
            return fail(error.description, retryable: false)
        }
        switch document {
        case .index(let entries):
            guard let entry = settings.board.choose(from: entries) else {
                return fail("\(reference.description): \(settings.board.noMatchMessage(entries))", retryable: false)
            }
            requestManifest(entry.digest.description)
        case .manifest(let manifest):
            store.storeBlob(body, digest: digest) { [self] error in
                guard !self.ended else { return }
                if let error { return self.fail(error.description, retryable: true) }
                self.manifestStored(manifest, digest: digest)
            }
        }
    }

    private func manifestStored(_ manifest: ImageManifest, digest: ImageDigest) {
        self.manifest = manifest
        manifestDigest = digest
        step = .config
        report("fetching the config")
        if store.hasBlob(manifest.config.digest), let bytes = try? store.readBlob(manifest.config.digest) {
            if ImageDigest.sha256(of: bytes) == manifest.config.digest {
                body = bytes
                return configArrived()
            }
            // Damaged (a power cut before it was durable): fetched again.
            _ = unlink(store.blobPath(manifest.config.digest))
        }
        send(url: base + "/blobs/" + manifest.config.digest.description, headers: HTTPHeaders(), limit: ImageManifestDocument.maximumSize)
    }

    private func configArrived() {
        guard let manifest else { return }
        let digest = ImageDigest.sha256(of: body)
        guard digest == manifest.config.digest else {
            return fail("config \(manifest.config.digest.description) of \(reference.description) arrived with digest \(digest.description)", retryable: true)
        }
        let config: ImageConfig
        do throws(DocumentError) {
            config = try ImageConfig.parse(body, source: "config " + digest.description)
        } catch {
            return fail(error.description, retryable: false)
        }
        guard settings.board.runs(config.platform) else {
            return fail("\(reference.description) is a \(config.platform.description) image; this board runs \(settings.board.platform.description)", retryable: false)
        }
        guard config.diffIDs.count == manifest.layers.count else {
            return fail("\(reference.description): the config lists \(config.diffIDs.count) layers, the manifest \(manifest.layers.count)", retryable: false)
        }
        store.storeBlob(body, digest: digest) { [self] error in
            guard !self.ended else { return }
            if let error { return self.fail(error.description, retryable: true) }
            self.config = config
            self.configDigest = digest
            self.progress.layers = manifest.layers.count
            self.startLayer(0)
        }
    }

    private func startLayer(_ index: Int) {
        guard let manifest, let config else { return }
        guard index < manifest.layers.count else { return layersComplete() }
        step = .layer(index)
        progress.layer = index + 1
        // Shared with an image pulled before: nothing to fetch.
        if store.hasLayer(config.diffIDs[index]) { return startLayer(index + 1) }
        let layer = manifest.layers[index]
        let download: BlobDownload
        do throws(ImagePullError) {
            download = try BlobDownload(path: store.downloadPath(layer.digest), descriptor: layer)
        } catch {
            return fail(error.message, retryable: true)
        }
        self.download = download
        progress.bytes = 0
        progress.total = layer.size
        report("verifying what an earlier pull downloaded")
        hashExisting()
    }

    /// A download left by an earlier pull is hashed again (a chunk per turn) before the
    /// rest is asked for.
    private func hashExisting() {
        guard !ended, let download else { return }
        if download.rehash(chunk: settings.chunkBytes, buffer: &readBuffer) {
            loop.schedule(after: .zero) { [self] in self.hashExisting() }
            return
        }
        progress.bytes = download.received
        if download.received >= download.descriptor.size { return layerDownloaded() }
        report("downloading")
        var headers = HTTPHeaders()
        if download.received > 0 { headers.add("Range", "bytes=\(download.received)-") }
        send(url: base + "/blobs/" + download.descriptor.digest.description, headers: headers, limit: 0)
    }

    private func layerDownloaded() {
        guard let download, case .layer(let index) = step else { return }
        if let problem = download.verify() {
            download.discard()
            self.download = nil
            return fail("layer \(index + 1) of \(reference.description): \(problem)", retryable: true)
        }
        download.close()
        report("unpacking")
        guard let config else { return }
        let staging = store.layerStagingPath(config.diffIDs[index])
        let files = staging + "/" + StoredLayerFormat.overlay.rawValue
        if kinglet_remove_tree(staging) != 0 || kinglet_make_folders(files, 0o755) != 0 {
            return fail("cannot prepare \(staging): \(String(cString: strerror(kinglet_errno())))", retryable: true)
        }
        let fd = kinglet_open(download.path, O_RDONLY, 0)
        if fd < 0 { return fail("cannot open \(download.path): \(String(cString: strerror(kinglet_errno())))", retryable: true) }
        unpackFile = fd
        readOffset = 0
        readCount = 0
        progress.bytes = 0
        do throws(LayerError) {
            unpacker = try LayerUnpacker(root: files, compression: ImageManifestDocument.compression(of: download.descriptor.mediaType),
                                         whiteouts: .overlay,
                                         lowerLayers: config.diffIDs[..<index].reversed().compactMap { store.layerFiles($0)?.path })
        } catch {
            return fail(error.description, retryable: false)
        }
        unpackChunk()
    }

    /// Compressed bytes fed to the unpacker at a time, and the uncompressed bytes one loop
    /// turn may produce: deflate expands up to about 1000 times, so a turn is bounded by
    /// what it writes, not by what it reads (a gzip bomb must not hold the loop).
    static let feedPieceBytes = 4 * 1024
    static let outputPerTurn: UInt64 = 8 * 1024 * 1024
    private var readOffset = 0
    private var readCount = 0

    private func unpackChunk() {
        guard !ended, let unpacker, let download, let config, case .layer(let index) = step else { return }
        if readOffset == readCount {
            if readBuffer.count < settings.chunkBytes { readBuffer = [UInt8](repeating: 0, count: settings.chunkBytes) }
            let count = readBuffer.withUnsafeMutableBytes { CKingletSystem.read(unpackFile, $0.baseAddress, $0.count) }
            if count < 0 {
                if kinglet_errno() == EINTR { return unpackChunk() }
                return fail("cannot read \(download.path): \(String(cString: strerror(kinglet_errno())))", retryable: true)
            }
            readOffset = 0
            readCount = count
        }
        do throws(LayerError) {
            if readCount > 0 {
                let outputBefore = unpacker.tarBytes
                var failure: LayerError? = nil
                while readOffset < readCount && failure == nil && unpacker.tarBytes - outputBefore < ImagePull.outputPerTurn {
                    let end = min(readOffset + ImagePull.feedPieceBytes, readCount)
                    readBuffer.withUnsafeBytes { raw in
                        do throws(LayerError) {
                            try unpacker.feed(UnsafeRawBufferPointer(rebasing: raw[readOffset..<end]))
                        } catch {
                            failure = error
                        }
                    }
                    progress.bytes += Int64(end - readOffset)
                    readOffset = end
                }
                if let failure { throw failure }
                loop.schedule(after: .zero) { [self] in self.unpackChunk() }
                return
            }
            try unpacker.finish()
        } catch {
            return fail("layer \(index + 1) of \(reference.description): \(error.description)", retryable: false)
        }
        closeUnpack()
        let diffID = config.diffIDs[index]
        guard unpacker.diffID == diffID else {
            return fail("layer \(index + 1) of \(reference.description) unpacks to \(unpacker.diffID?.description ?? "nothing"), the config says \(diffID.description)", retryable: false)
        }
        let staging = store.layerStagingPath(diffID)
        if unpacker.keptWhiteoutFiles {
            let from = staging + "/" + StoredLayerFormat.overlay.rawValue
            if rename(from, staging + "/" + StoredLayerFormat.files.rawValue) != 0 {
                return fail("cannot rename \(from): \(String(cString: strerror(kinglet_errno())))", retryable: true)
            }
        }
        report("making layer \(index + 1) durable")
        store.publish(staging, as: store.layerPath(diffID)) { [self] error in
            guard !self.ended else { return }
            if let error { return self.fail("cannot move layer \(index + 1) into place: \(error.description)", retryable: true) }
            download.discard()
            self.download = nil
            self.startLayer(index + 1)
        }
    }

    private func closeUnpack() {
        if unpackFile >= 0 { _ = close(unpackFile) }
        unpackFile = -1
        unpacker = nil
    }

    /// Every layer is in the store: build the flattened root when the layers cannot be
    /// stacked, else record the image.
    private func layersComplete() {
        guard let config, let configDigest else { return }
        guard store.needsFlattenedRoot(config.diffIDs) && !store.hasRootfs(configDigest) else { return complete() }
        var folders: [String] = []
        for diffID in config.diffIDs {
            guard let (path, _) = store.layerFiles(diffID) else {
                return fail("\(reference.description): layer \(diffID.description) left the store during the pull", retryable: true)
            }
            folders.append(path)
        }
        let staging = store.rootfsStagingPath(configDigest)
        if kinglet_remove_tree(staging) != 0 || kinglet_make_folders(staging, 0o755) != 0 {
            return fail("cannot prepare \(staging): \(String(cString: strerror(kinglet_errno())))", retryable: true)
        }
        step = .flatten
        progress.bytes = 0
        progress.total = 0
        report("flattening")
        flattener = LayerFlattener(layers: folders, target: staging)
        flattenChunk()
    }

    /// Entries one loop turn may copy when flattening (with `outputPerTurn` bytes).
    static let flattenEntriesPerTurn = 2000

    private func flattenChunk() {
        guard !ended, let flattener, let configDigest else { return }
        do throws(LayerError) {
            if try flattener.step(bytes: Int64(ImagePull.outputPerTurn), entries: ImagePull.flattenEntriesPerTurn) {
                progress.bytes = flattener.bytesCopied
                loop.schedule(after: .zero) { [self] in self.flattenChunk() }
                return
            }
        } catch {
            self.flattener = nil
            return fail("\(reference.description): flattening its layers: \(error.description)", retryable: false)
        }
        self.flattener = nil
        store.publish(store.rootfsStagingPath(configDigest), as: store.rootfsPath(configDigest)) { [self] error in
            guard !self.ended else { return }
            if let error { return self.fail("cannot move the root file system into place: \(error.description)", retryable: true) }
            self.complete()
        }
    }

    private func complete() {
        guard let manifest, let manifestDigest, let configDigest, let config else { return }
        let now = wallClock()
        let image = StoredImage(reference: reference.description, manifest: manifestDigest, config: configDigest,
                                layers: config.diffIDs, size: manifest.config.size + manifest.layers.reduce(0) { $0 + $1.size },
                                pulledAt: now, lastUsedAt: now)
        store.record(image) { [self] error in
            guard !self.ended else { return }
            if let error { return self.fail(error.description, retryable: true) }
            self.report("done")
            self.finish(.success(image))
        }
    }

    // MARK: Requests

    private func send(url text: String, headers: HTTPHeaders, limit: Int) {
        let url: HTTPURL
        do throws(HTTPURLError) {
            url = try HTTPURL(text)
        } catch {
            return fail("\(reference.description): \(error.description)", retryable: false)
        }
        var headers = headers
        if let authorization { headers.set("Authorization", authorization) }
        redirects = 0
        send(HTTPRequest(url: url, headers: headers), limit: limit)
    }

    private func send(_ request: HTTPRequest, limit: Int) {
        self.request = request
        head = nil
        body.removeAll(keepingCapacity: true)
        bodyLimit = limit
        cancelDeadline()
        let id = client.send(request, handler: self)
        requestID = id
        if limit > 0 {
            deadline = loop.schedule(after: ImagePull.smallDocumentDeadline) { [self] in
                self.deadline = nil
                guard self.requestID == id else { return }
                self.fail("\(self.reference.description): \(request.url.hostAndPort) did not answer within \(ImagePull.smallDocumentDeadline.milliseconds / 1000) s", retryable: true)
            }
        }
    }

    private func cancelDeadline() {
        if let deadline { loop.cancel(deadline) }
        deadline = nil
    }

    public func response(_ head: HTTPResponseHead) -> Bool {
        self.head = head
        if head.isRedirect { return false }
        guard head.status == 200 || head.status == 206 else { return head.status != 401 && body.count < 64 * 1024 }
        if case .layer = step, let download {
            if head.status == 200 && download.received > 0 {
                // The registry ignored the Range: start the blob over.
                download.restart()
            }
            if head.status == 206 && ImagePull.rangeStart(head["Content-Range"]) != download.received {
                // Not the range asked for: what arrives would not continue the file.
                download.restart()
                fail("\(reference.description): the registry answered a resumed download with \(head["Content-Range"] ?? "no Content-Range"); it starts over at the next pull", retryable: true)
                return false
            }
            if let problem = download.openForAppend() {
                fail(problem, retryable: true)
                return false
            }
        }
        return true
    }

    public func body(_ bytes: UnsafeRawBufferPointer) {
        guard let head else { return }
        if head.status == 200 || head.status == 206, case .layer = step, let download {
            if let problem = download.append(bytes) {
                fail(problem, retryable: true)
                return
            }
            progress.bytes = download.received
            return
        }
        // Manifests, configs, tokens and error bodies: small, and refused when not.
        let limit = (head.status == 200 || head.status == 206) ? bodyLimit : 64 * 1024
        guard body.count + bytes.count <= limit else {
            fail("\(reference.description): the registry's answer is larger than \(limit) bytes", retryable: false)
            return
        }
        body.append(contentsOf: bytes)
    }

    public func finished() {
        requestID = nil
        guard !ended, let head, let request else { return }
        if head.isRedirect {
            redirects += 1
            guard redirects <= settings.maximumRedirects else {
                return fail("\(reference.description): more than \(settings.maximumRedirects) redirects", retryable: true)
            }
            do throws(HTTPClientError) {
                if let next = try request.redirected(by: head) { return send(next, limit: bodyLimit) }
            } catch {
                return fail(error.description, retryable: true)
            }
        }
        if head.status == 401 { return authenticate(head) }
        if case .token(let retry) = step { return tokenArrived(retry) }
        guard head.status == 200 || head.status == 206 else { return failed(status: head) }
        // Authorized again: a token that expires later in a long pull may be renewed.
        triedAuthorization = false
        switch step {
        case .manifest(let name): manifestArrived(name)
        case .config: configArrived()
        case .layer:
            progress.bytes = download?.received ?? 0
            layerDownloaded()
        case .token, .flatten: break
        }
    }

    public func failed(_ error: HTTPClientError) {
        requestID = nil
        if case .peerClosedEarly = error, case .layer = step {
            download?.close()  // what arrived stays: the next pull resumes from it
        }
        fail("\(reference.description): \(error.description)", retryable: true)
    }

    /// The first byte of `Content-Range: bytes <first>-<last>/<length>`.
    static func rangeStart(_ header: String?) -> Int64? {
        guard let header, header.hasPrefix("bytes ") else { return nil }
        let digits = header.utf8.dropFirst(6).prefix { isDigit($0) }
        guard !digits.isEmpty, digits.count < 19 else { return nil }
        return digits.reduce(Int64(0)) { $0 * 10 + Int64($1 - UInt8(ascii: "0")) }
    }

    // MARK: Authentication

    private func authenticate(_ head: HTTPResponseHead) {
        guard let request else { return }
        if case .token = step {
            return fail("\(reference.description): the token server refused the credentials (401)", retryable: false)
        }
        // Credentials and tokens are the registry's: a redirect target (blob storage) that
        // asks for them gets nothing.
        guard let registry = try? HTTPURL(base), request.url.hasSameOrigin(as: registry) else {
            return fail("\(reference.description): \(request.url.hostAndPort) (a redirect from the registry) asked for credentials; none are sent there",
                        retryable: false)
        }
        let registryCredentials = credentials.credentials(for: reference.registry)
        guard !triedAuthorization, let challenge = head["WWW-Authenticate"].flatMap(RegistryChallenge.init(header:)) else {
            return fail(accessDenied(registryCredentials != nil), retryable: false)
        }
        triedAuthorization = true
        switch challenge.scheme.lowercased() {
        case "basic":
            guard let registryCredentials else { return fail(accessDenied(false), retryable: false) }
            authorization = registryCredentials.basicAuthorization
            var retry = request
            retry.headers.set("Authorization", registryCredentials.basicAuthorization)
            send(retry, limit: bodyLimit)
        case "bearer":
            let url: HTTPURL?
            do throws(HTTPURLError) {
                url = try challenge.tokenURL(repository: reference.repository)
            } catch {
                return fail("\(reference.description): the registry's token realm is unusable: \(error.description)", retryable: false)
            }
            guard let url else { return fail("\(reference.description): a Bearer challenge without a realm", retryable: false) }
            // Basic credentials go to the realm: never in clear text unless the registry
            // itself is spoken to in clear text.
            if registryCredentials != nil && !url.isTLS && registry.isTLS {
                return fail("\(reference.description): the registry's token realm \(url.description) is plain http; credentials are not sent there",
                            retryable: false)
            }
            var headers = HTTPHeaders()
            if let registryCredentials { headers.add("Authorization", registryCredentials.basicAuthorization) }
            interrupted = step
            step = .token(retry: request)
            redirects = 0
            send(HTTPRequest(url: url, headers: headers), limit: 1024 * 1024)
        default:
            fail("\(reference.description): unsupported authentication scheme \(challenge.scheme)", retryable: false)
        }
    }

    private func tokenArrived(_ retry: HTTPRequest) {
        guard let head, head.status == 200 else {
            return fail("\(reference.description): the token server answered \(self.head?.status.description ?? "nothing")", retryable: true)
        }
        let token: RegistryToken
        do throws(DocumentError) {
            token = try RegistryToken.parse(body, source: "token")
        } catch {
            return fail("\(reference.description): \(error.description)", retryable: false)
        }
        authorization = "Bearer " + token.token
        var again = retry
        again.headers.set("Authorization", "Bearer " + token.token)
        step = interrupted
        if case .layer = step {
            send(again, limit: 0)
        } else {
            send(again, limit: ImageManifestDocument.maximumSize)
        }
    }

    private func accessDenied(_ hadCredentials: Bool) -> String {
        "pull access denied for \(reference.registry)/\(reference.repository), repository does not exist or may require authorization: "
            + (hadCredentials ? "the registry refused the credentials" : "no credentials for \(reference.registry)")
    }

    private func failed(status head: HTTPResponseHead) {
        let what: String
        switch step {
        case .manifest(let name): what = "manifest \(name)"
        case .config: what = "config"
        case .layer(let index): what = "layer \(index + 1)"
        case .token: what = "token"
        case .flatten: what = "flattening"
        }
        let detail = RegistryErrors.summary(body)
        if head.status == 404 {
            return fail("\(reference.description): \(what) not found\(detail.isEmpty ? "" : " (" + detail + ")")", retryable: false)
        }
        if head.status == 416, case .layer = step, let download {
            // The partial download is longer than the blob: start it over.
            download.discard()
            return fail("\(reference.description): \(what): the registry refused to resume the download (416)", retryable: true)
        }
        fail("\(reference.description): \(what): the registry answered \(head.status) \(head.reason)\(detail.isEmpty ? "" : " (" + detail + ")")",
             retryable: head.status >= 500 || head.status == 429 || head.status == 408)
    }

    // MARK: Ending

    private func report(_ phase: String) {
        progress.phase = phase
        onProgress(progress)
    }

    private func fail(_ message: String, retryable: Bool) {
        finish(.failure(ImagePullError(message, retryable: retryable)))
    }

    private func finish(_ result: Result<StoredImage, ImagePullError>) {
        guard !ended else { return }
        ended = true
        cancelDeadline()
        if let requestID { client.cancel(requestID) }
        requestID = nil
        closeUnpack()
        flattener = nil
        download?.close()
        let completion = self.completion
        self.completion = nil
        completion?(result)
    }
}

/// The registry's error body (distribution spec: `{"errors": [{"code", "message"}]}`), as
/// one line; "" when it has none.
enum RegistryErrors {
    static func summary(_ body: [UInt8]) -> String {
        guard !body.isEmpty, let root = try? JSONReader().parseDocument(body) else { return "" }
        guard case .array(let errors)? = root.objectMember("errors")?.node.value else { return "" }
        var parts: [String] = []
        for error in errors {
            var text = ""
            if case .string(let code)? = error.objectMember("code")?.node.value { text = code }
            if case .string(let message)? = error.objectMember("message")?.node.value { text += (text.isEmpty ? "" : ": ") + message }
            if !text.isEmpty { parts.append(text) }
        }
        return parts.joined(separator: "; ")
    }
}

extension ImageDigest {
    static func sha256(of bytes: [UInt8]) -> ImageDigest {
        guard let digest = try? LayerDigest() else { return ImageDigest(sha256: [UInt8](repeating: 0, count: 32)) }
        bytes.withUnsafeBytes { digest.update($0) }
        return digest.finish()
    }

    static func parseOptional(_ text: String) -> ImageDigest? {
        guard text.hasPrefix("sha256:") else { return nil }
        return try? ImageDigest(parsing: text)
    }
}
