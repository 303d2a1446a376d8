import CKingletSystem
import KingletConfig
import KingletCore
import KingletDocument
import KingletEpoll
import KingletHTTP
import KingletImages

/// `kinglet images` and `kinglet pull`: the image store from the command line.
enum ImageCommands {
    static func images(_ options: ImagesOptions) -> Int32 {
        guard let config = loadConfig(options.configPath) else { return AgentMain.exitUsage }
        guard let store = openStore(config.paths.images) else { return AgentMain.exitFailure }
        if let problem = store.indexProblem { StandardStream.error.write("kinglet: \(problem)\n") }
        switch options.output {
        case .json:
            var writer = JSONWriter()
            writer.beginObject()
            writer.key("images")
            writer.beginArray()
            for image in store.images {
                writer.beginObject()
                writer.key("reference"); writer.string(image.reference)
                writer.key("id"); writer.string(image.config.description)
                writer.key("manifest"); writer.string(image.manifest.description)
                writer.key("size"); writer.integer(image.size)
                writer.key("pulledAt"); writer.string(UTCTimestamp.format(nanoseconds: image.pulledAt * 1_000_000_000, fractionDigits: 0))
                writer.key("lastUsedAt"); writer.string(UTCTimestamp.format(nanoseconds: image.lastUsedAt * 1_000_000_000, fractionDigits: 0))
                writer.key("complete"); writer.bool(store.isComplete(image))
                writer.endObject()
            }
            writer.endArray()
            writer.endObject()
            StandardStream.output.write(writer.text + "\n")
        case .table:
            var rows = [["IMAGE", "IMAGE ID", "SIZE", "PULLED", "LAST USED"]]
            for image in store.images.sorted(by: { $0.reference < $1.reference }) {
                rows.append([image.reference + (store.isComplete(image) ? "" : " (incomplete)"),
                             String(image.config.hex.prefix(12)), humanSize(image.size),
                             UTCTimestamp.format(nanoseconds: image.pulledAt * 1_000_000_000, fractionDigits: 0), UTCTimestamp.format(nanoseconds: image.lastUsedAt * 1_000_000_000, fractionDigits: 0)])
            }
            StandardStream.output.write(StatusTables.table(rows))
        }
        return AgentMain.exitSuccess
    }

    static func pull(_ options: PullOptions) -> Int32 {
        guard let config = loadConfig(options.configPath) else { return AgentMain.exitUsage }
        let reference: ImageReference
        do throws(ImageReferenceError) {
            reference = try ImageReference(parsing: options.image)
        } catch {
            StandardStream.error.write("kinglet: \(error.description)\n")
            return AgentMain.exitUsage
        }
        guard let board = BoardPlatform.current(override: options.platform ?? config.images.platform) else {
            StandardStream.error.write("kinglet: cannot tell this board's platform: give --platform, e.g. linux/arm/v7\n")
            return AgentMain.exitUsage
        }
        guard let store = openStore(config.paths.images) else { return AgentMain.exitFailure }
        let loop: EpollEventLoop
        do throws(LoopError) {
            loop = try EpollEventLoop()
        } catch {
            StandardStream.error.write("kinglet: \(error.description)\n")
            return AgentMain.exitFailure
        }
        do throws(ImageStoreError) {
            try store.sync.start(on: loop)
        } catch {
            StandardStream.error.write("kinglet: \(error.description)\n")
            return AgentMain.exitFailure
        }
        defer { store.sync.stop() }
        var settings = ImagePullSettings(board: board)
        settings.insecureRegistries = config.images.insecureRegistries
        let client = HTTPClient(loop: loop)
        var outcome: Result<StoredImage, ImagePullError>? = nil
        StandardStream.output.write("pulling \(reference.description) for \(board.platform.description)\n")
        let pull = ImagePull(reference: reference, store: store, client: client,
                             credentials: credentials(config.images.credentialsFile), settings: settings,
                             wallClock: { kinglet_realtime_ns() / 1_000_000_000 }) { outcome = $0 }
        var lastLine = ""
        var lastReport = loop.now
        pull.onProgress = { progress in
            let line = progressLine(progress)
            // A phase change at once; byte counts at most once a second.
            guard line != lastLine, progress.phase != lastPhase(lastLine) || loop.now.since(lastReport) >= .seconds(1) else { return }
            lastLine = line
            lastReport = loop.now
            StandardStream.output.write(line + "\n")
        }
        pull.start()
        while outcome == nil {
            do throws(LoopError) {
                try loop.runOnce(timeoutMilliseconds: 1000)
            } catch {
                StandardStream.error.write("kinglet: event loop failed: \(error.description)\n")
                return AgentMain.exitFailure
            }
            if outcome == nil, pull.progress.phase == "downloading" || pull.progress.phase == "unpacking" {
                pull.onProgress(pull.progress)
            }
        }
        switch outcome {
        case .success(let image)?:
            StandardStream.output.write("pulled \(image.reference)\n  manifest \(image.manifest.description)\n  image id \(image.config.description)\n  \(humanSize(image.size))\n")
            return AgentMain.exitSuccess
        case .failure(let error)?:
            StandardStream.error.write("kinglet: \(error.message)\n")
            return AgentMain.exitFailure
        case nil:
            return AgentMain.exitFailure
        }
    }

    /// The board's registry credentials, when its credentials file exists.
    static func credentials(_ path: String) -> RegistryCredentialStore {
        guard kinglet_file_exists(path) != 0 else { return RegistryCredentialStore() }
        let bytes: [UInt8]
        do throws(WholeFileError) {
            bytes = try WholeFile.read(path, limit: 1024 * 1024)
        } catch {
            StandardStream.error.write("kinglet: ignoring \(path): cannot \(error.call) it\n")
            return RegistryCredentialStore()
        }
        do throws(DocumentError) {
            return try RegistryCredentialStore.parse(bytes, source: path)
        } catch {
            StandardStream.error.write("kinglet: ignoring \(error.description)\n")
            return RegistryCredentialStore()
        }
    }

    static func progressLine(_ progress: ImagePullProgress) -> String {
        var line = progress.phase
        if progress.layers > 0 { line = "layer \(progress.layer)/\(progress.layers): " + line }
        if progress.total > 0 && (progress.phase == "downloading" || progress.phase == "unpacking") {
            line += " \(humanSize(progress.bytes)) of \(humanSize(progress.total))"
        }
        return line
    }

    static func lastPhase(_ line: String) -> String {
        guard let colon = line.firstIndex(of: ":") else { return line }
        let rest = line[line.index(after: colon)...].dropFirst()
        return String(rest.prefix { $0 != " " })
    }

    /// 1.1 MB, 340 kB, 12 B (decimal units, as docker images shows).
    static func humanSize(_ bytes: Int64) -> String {
        if bytes < 1000 { return "\(bytes) B" }
        if bytes < 1_000_000 { return "\(bytes / 1000) kB" }
        let tenths = bytes / 100_000
        return "\(tenths / 10).\(tenths % 10) MB"
    }

    private static func openStore(_ root: String) -> ImageStore? {
        do throws(ImageStoreError) {
            return try ImageStore(root: root)
        } catch {
            StandardStream.error.write("kinglet: \(error.description)\n")
            return nil
        }
    }

    private static func loadConfig(_ path: String) -> AgentConfig? {
        do {
            return try ConfigFile.load(path, defaultNodeName: ConfigFile.hostName())
        } catch {
            StandardStream.error.write("kinglet: \(error.description)\n")
            return nil
        }
    }
}
