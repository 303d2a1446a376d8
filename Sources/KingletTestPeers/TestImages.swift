import Foundation

/// An OCI platform: `linux/amd64`, `linux/arm64`, `linux/arm/v7`.
public struct TestImagePlatform: Sendable, Hashable, CustomStringConvertible {
    public var os: String
    public var architecture: String
    public var variant: String?

    public init(os: String = "linux", architecture: String, variant: String? = nil) {
        self.os = os
        self.architecture = architecture
        self.variant = variant
    }

    public static let amd64 = TestImagePlatform(architecture: "amd64")
    public static let arm64 = TestImagePlatform(architecture: "arm64")
    public static let armV7 = TestImagePlatform(architecture: "arm", variant: "v7")

    /// This machine's platform (the busybox in every test image is this machine's).
    public static var native: TestImagePlatform {
        var name = utsname()
        uname(&name)
        let machine = withUnsafeBytes(of: &name.machine) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        switch machine {
        case "x86_64": return .amd64
        case "aarch64", "arm64": return .arm64
        case let arm where arm.hasPrefix("armv7"): return .armV7
        case let arm where arm.hasPrefix("armv6"): return TestImagePlatform(architecture: "arm", variant: "v6")
        default: return TestImagePlatform(architecture: machine)
        }
    }

    /// `os/architecture[/variant]`.
    public var description: String { [os, architecture, variant].compactMap { $0 }.joined(separator: "/") }

    /// The OCI descriptor's `platform` object.
    var json: [String: Any] {
        var object: [String: Any] = ["os": os, "architecture": architecture]
        if let variant { object["variant"] = variant }
        return object
    }
}

/// How skopeo writes the manifests into the registry.
public enum TestImageFormat: String, Sendable, CaseIterable {
    /// As built: OCI image manifests and an OCI image index.
    case oci
    /// Converted by skopeo (`--format v2s2`): Docker schema 2 manifests and, for an index,
    /// a Docker manifest list.
    case docker
}

/// An image built into the OCI layout of a `TestImages`, ready to push.
public struct TestImage: Sendable {
    /// The OCI layout folder.
    public let layout: String
    /// Its name in the layout (`org.opencontainers.image.ref.name`).
    public let tag: String
    /// One platform, or the index's entries in order.
    public let platforms: [TestImagePlatform]
    public let isIndex: Bool
    /// The digest of its manifest (or index) in the layout.
    public let digest: String
    /// Seconds the build took.
    public let buildSeconds: Double
    /// `oci:<layout>:<tag>`, skopeo's name for it.
    public var ociReference: String { "oci:\(layout):\(tag)" }
}

/// A layer as a manifest describes it.
public struct TestImageLayer: Sendable, Equatable {
    public let digest: String
    public let size: Int
    public let mediaType: String
}

/// An image pushed to a registry, described from the manifest read back with skopeo.
public struct PushedImage: Sendable {
    /// One manifest of an index (or the image itself when it is single-platform).
    public struct Entry: Sendable {
        public let platform: TestImagePlatform
        public let digest: String
        public let mediaType: String
        public let size: Int
    }

    /// `127.0.0.1:<port>/<repository>:<tag>`.
    public let reference: String
    public let registryHost: String
    public let repository: String
    public let tag: String
    /// The digest of the top manifest (the index's for a multi-platform image), the SHA-256
    /// of `rawManifest` and what the registry answers in Docker-Content-Digest.
    public let digest: String
    public let mediaType: String
    /// The top manifest as the registry serves it.
    public let rawManifest: Data
    /// The index's entries; for a single image one entry, its own platform and digest.
    public let entries: [Entry]
    /// The layers (single images only; empty for an index).
    public let layers: [TestImageLayer]
    /// The config blob's digest (single images only).
    public let configDigest: String?
    /// Seconds the push took (skopeo copy).
    public let pushSeconds: Double

    /// `127.0.0.1:<port>/<repository>@sha256:...`.
    public var digestReference: String { "\(registryHost)/\(repository)@\(digest)" }
    public var isIndex: Bool { mediaType.contains("index") || mediaType.contains("manifest.list") }
    /// The sum of the layers' compressed sizes (single images).
    public var layerBytes: Int { layers.reduce(0) { $0 + $1.size } }
    /// The manifest digest of `platform`'s entry.
    public func digest(for platform: TestImagePlatform) -> String? { entries.first { $0.platform == platform }?.digest }
}

/// Builds test images from Debian's busybox-static with `umoci` in an OCI layout, and
/// pushes them to a `RegistryPeer` with `skopeo`:
///
///     let images = try TestImages(label: "pull")
///     let image = try images.busybox(tag: "busybox")                 // one platform, this machine's
///     let big = try images.withRandomLayer(megabytes: 10, tag: "10mb") // + 10 MiB incompressible
///     let multi = try images.multiPlatform(tag: "multi")             // amd64, arm64, arm/v7 index
///     let pushed = try images.push(image, to: registry, repository: "kinglet/busybox", tag: "1")
///     // pushed.reference, pushed.digest, pushed.entries, pushed.layers
///
/// The busybox layer (busybox + applet symlinks under /bin, about 1.1 MB gzip) is built once
/// per `TestImages` and shared by every image made from it. Every image's config says
/// PATH=/bin, working directory /, and the command given (default `sh`). Each entry of a
/// multi-platform index adds a layer with /etc/kinglet-platform ("linux/arm/v7\n") and
/// sets KINGLET_PLATFORM=linux/arm/v7, so a test can tell which entry a client picked; all
/// entries carry this machine's busybox (only the native entry's binary runs). Methods are
/// serialized (one layout); `remove()` deletes the folder.
public final class TestImages: @unchecked Sendable {
    public static let umoci = "/usr/bin/umoci"
    public static let skopeo = "/usr/bin/skopeo"
    /// Debian's busybox-static (statically linked: runs in an image with no libc).
    public static let busyboxBinary = "/bin/busybox"
    /// The applets linked to busybox in /bin.
    public static let applets = ["sh", "echo", "cat", "ls", "sleep", "env", "true", "false", "test", "[", "httpd", "nc",
                                 "wget", "ps", "kill", "mkdir", "rm", "sha256sum", "head", "tail", "date", "id", "hostname"]
    /// The file every multi-platform entry carries, holding its platform and a newline.
    public static let platformMarker = "/etc/kinglet-platform"

    /// Whether umoci, skopeo and busybox-static are installed (tests skip, saying why, when not).
    public static var isInstalled: Bool {
        [umoci, skopeo, busyboxBinary].allSatisfy { FileManager.default.isExecutableFile(atPath: $0) }
            && isStaticallyLinked(busyboxBinary)
    }

    public let folder: String
    /// The OCI layout folder.
    public var layout: String { folder + "/layout" }
    private let lock = NSLock()
    private var baseReady = false
    static let baseTag = "kinglet-busybox-base"
    static let bound = 120.0

    /// A new OCI layout in `folder`, or in a fresh temporary folder named after `label`.
    public init(folder: String? = nil, label: String = "images") throws {
        guard Self.isInstalled else {
            throw PeerError("the image tools are missing (apt-get install umoci skopeo busybox-static)")
        }
        self.folder = try folder ?? BuiltProducts.temporaryFolder("images-\(label)")
        try FileManager.default.createDirectory(atPath: self.folder, withIntermediateDirectories: true)
        try TestImageTool.check(Self.umoci, ["init", "--layout", layout], within: Self.bound)
    }

    /// Deletes the layout and the work folders.
    public func remove() { try? FileManager.default.removeItem(atPath: folder) }

    // MARK: - Building

    /// A single-platform busybox image (`platform` only labels the config: the binary is
    /// this machine's). `files` (absolute path in the image → contents) go into one more
    /// layer when given.
    public func busybox(tag: String = "busybox", platform: TestImagePlatform = .native, entrypoint: [String] = [],
                        command: [String] = ["sh"], environment: [String] = ["PATH=/bin"], workingDirectory: String = "/",
                        files: [String: Data] = [:]) throws -> TestImage {
        try lock.withLock {
            let started = Date()
            try ensureBase()
            if files.isEmpty {
                try configure(from: Self.baseTag, to: tag, platform: platform, entrypoint: entrypoint, command: command,
                              environment: environment, workingDirectory: workingDirectory)
            } else {
                try addLayer(files: files, to: tag)
                try configure(from: tag, to: nil, platform: platform, entrypoint: entrypoint, command: command,
                              environment: environment, workingDirectory: workingDirectory)
            }
            let digest = try descriptor(tag: tag).digest
            return TestImage(layout: layout, tag: tag, platforms: [platform], isIndex: false, digest: digest,
                             buildSeconds: Date().timeIntervalSince(started))
        }
    }

    /// The busybox image plus a layer holding /kinglet/random.bin: `megabytes` MiB of
    /// random (incompressible) bytes, so the layer's gzip is about that size and the whole
    /// image about 1.1 MB more. For the pull benchmarks (1 MB, 10 MB).
    public func withRandomLayer(megabytes: Double, tag: String? = nil, platform: TestImagePlatform = .native) throws -> TestImage {
        let bytes = Int(megabytes * 1024 * 1024)
        guard bytes > 0, let random = FileHandle(forReadingAtPath: "/dev/urandom") else {
            throw PeerError("withRandomLayer: \(megabytes) MiB of random bytes cannot be had")
        }
        defer { try? random.close() }
        var data = Data()
        while data.count < bytes { data.append(random.readData(ofLength: min(1 << 20, bytes - data.count))) }
        return try busybox(tag: tag ?? "random-\(bytes)", platform: platform, files: ["/kinglet/random.bin": data])
    }

    /// An OCI image index with one busybox image per platform (each with its marker file
    /// and KINGLET_PLATFORM), `platform` set on every descriptor and `variant` in the
    /// configs that have one. The per-platform images stay in the layout as `<tag>-<os>-<arch>[-<variant>]`.
    public func multiPlatform(tag: String = "multi", platforms: [TestImagePlatform] = [.amd64, .arm64, .armV7],
                              command: [String] = ["sh"]) throws -> TestImage {
        guard !platforms.isEmpty, Set(platforms).count == platforms.count else {
            throw PeerError("multiPlatform: give distinct platforms")
        }
        return try lock.withLock {
            let started = Date()
            try ensureBase()
            var manifests: [[String: Any]] = []
            for platform in platforms {
                let entryTag = tag + "-" + platform.description.replacingOccurrences(of: "/", with: "-")
                try addLayer(files: [Self.platformMarker: Data((platform.description + "\n").utf8)], to: entryTag)
                try configure(from: entryTag, to: nil, platform: platform, entrypoint: [], command: command,
                              environment: ["PATH=/bin", "KINGLET_PLATFORM=\(platform.description)"], workingDirectory: "/")
                let entry = try descriptor(tag: entryTag)
                manifests.append(["mediaType": entry.mediaType, "digest": entry.digest, "size": entry.size,
                                  "platform": platform.json])
            }
            let index: [String: Any] = ["schemaVersion": 2, "mediaType": Self.ociIndex, "manifests": manifests]
            let (digest, size) = try writeBlob(try Self.json(index))
            try setReference(tag: tag, descriptor: ["mediaType": Self.ociIndex, "digest": digest, "size": size])
            return TestImage(layout: layout, tag: tag, platforms: platforms, isIndex: true, digest: digest,
                             buildSeconds: Date().timeIntervalSince(started))
        }
    }

    // MARK: - Pushing

    /// Pushes `image` to `registry` as `<repository>:<tag>` (the image's tag by default)
    /// with `skopeo copy` (`--all` for an index; `--dest-creds` from the registry's
    /// credentials unless given), then reads the manifest back with `skopeo inspect --raw`.
    public func push(_ image: TestImage, to registry: RegistryPeer, repository: String, tag: String? = nil,
                     format: TestImageFormat = .oci, credentials: RegistryCredentials? = nil,
                     within seconds: Double = 120) throws -> PushedImage {
        let tag = tag ?? image.tag
        let creds = credentials ?? registry.credentials
        let reference = registry.reference(repository, tag: tag)
        let started = Date()
        try lock.withLock {
            var arguments = ["--insecure-policy", "copy", "--retry-times", "2", "--dest-tls-verify=false"]
            if image.isIndex { arguments.append("--all") }
            if format == .docker { arguments += ["--format", "v2s2"] }
            if let creds { arguments += ["--dest-creds", creds.colonSeparated] } else { arguments.append("--dest-no-creds") }
            arguments += [image.ociReference, "docker://" + reference]
            try TestImageTool.check(Self.skopeo, arguments, within: seconds)
        }
        let pushSeconds = Date().timeIntervalSince(started)
        let raw = try Self.inspectRaw(reference, credentials: creds)
        return try Self.describe(raw: raw, reference: reference, registryHost: registry.host, repository: repository, tag: tag,
                                 platforms: image.platforms, pushSeconds: pushSeconds)
    }

    /// `skopeo inspect --raw` of `docker://<reference>` (TLS not verified): the manifest
    /// bytes exactly as the registry serves them.
    public static func inspectRaw(_ reference: String, credentials: RegistryCredentials? = nil,
                                  within seconds: Double = 60) throws -> Data {
        var arguments = ["--insecure-policy", "inspect", "--raw", "--tls-verify=false"]
        if let credentials { arguments += ["--creds", credentials.colonSeparated] } else { arguments.append("--no-creds") }
        arguments.append("docker://" + reference)
        return try TestImageTool.check(skopeo, arguments, within: seconds).standardOutput
    }

    static func describe(raw: Data, reference: String, registryHost: String, repository: String, tag: String,
                         platforms: [TestImagePlatform], pushSeconds: Double) throws -> PushedImage {
        guard let manifest = try JSONSerialization.jsonObject(with: raw) as? [String: Any] else {
            throw PeerError("\(reference): the manifest is not a JSON object")
        }
        let digest = TestImageDigest.ociDigest(raw)
        var entries: [PushedImage.Entry] = []
        var layers: [TestImageLayer] = []
        var configDigest: String?
        let mediaType: String
        if let list = manifest["manifests"] as? [[String: Any]] {
            mediaType = manifest["mediaType"] as? String ?? ociIndex
            for item in list {
                let platform = item["platform"] as? [String: Any] ?? [:]
                entries.append(PushedImage.Entry(
                    platform: TestImagePlatform(os: platform["os"] as? String ?? "", architecture: platform["architecture"] as? String ?? "",
                                                variant: platform["variant"] as? String),
                    digest: item["digest"] as? String ?? "", mediaType: item["mediaType"] as? String ?? "",
                    size: item["size"] as? Int ?? 0))
            }
        } else {
            mediaType = manifest["mediaType"] as? String ?? ociManifest
            for layer in manifest["layers"] as? [[String: Any]] ?? [] {
                layers.append(TestImageLayer(digest: layer["digest"] as? String ?? "", size: layer["size"] as? Int ?? 0,
                                             mediaType: layer["mediaType"] as? String ?? ""))
            }
            configDigest = (manifest["config"] as? [String: Any])?["digest"] as? String
            entries.append(PushedImage.Entry(platform: platforms.first ?? .native, digest: digest, mediaType: mediaType, size: raw.count))
        }
        return PushedImage(reference: reference, registryHost: registryHost, repository: repository, tag: tag, digest: digest,
                           mediaType: mediaType, rawManifest: raw, entries: entries, layers: layers, configDigest: configDigest,
                           pushSeconds: pushSeconds)
    }

    // MARK: - The layout

    static let ociIndex = "application/vnd.oci.image.index.v1+json"
    static let ociManifest = "application/vnd.oci.image.manifest.v1+json"
    static let refName = "org.opencontainers.image.ref.name"

    /// The busybox layer, once: `umoci new`, unpack (rootless), copy busybox and link the
    /// applets, repack.
    private func ensureBase() throws {
        guard !baseReady else { return }
        try TestImageTool.check(Self.umoci, ["new", "--image", "\(layout):\(Self.baseTag)"], within: Self.bound)
        let bundle = try unpack(Self.baseTag)
        defer { try? FileManager.default.removeItem(atPath: bundle) }
        let bin = bundle + "/rootfs/bin"
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Self.busyboxBinary, toPath: bin + "/busybox")
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: bin + "/busybox")
        for applet in Self.applets {
            try FileManager.default.createSymbolicLink(atPath: bin + "/" + applet, withDestinationPath: "busybox")
        }
        for folder in ["/etc", "/tmp", "/root", "/var/www"] {
            try FileManager.default.createDirectory(atPath: bundle + "/rootfs" + folder, withIntermediateDirectories: true)
        }
        try FileManager.default.setAttributes([.posixPermissions: 0o1777], ofItemAtPath: bundle + "/rootfs/tmp")
        try "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n"
            .write(toFile: bundle + "/rootfs/etc/passwd", atomically: true, encoding: .utf8)
        try "root:x:0:\nnogroup:x:65534:\n".write(toFile: bundle + "/rootfs/etc/group", atomically: true, encoding: .utf8)
        try TestImageTool.check(Self.umoci, ["repack", "--image", "\(layout):\(Self.baseTag)", bundle], within: Self.bound)
        baseReady = true
    }

    /// Unpacks `tag` into a fresh bundle folder (rootless: works for any user).
    private func unpack(_ tag: String) throws -> String {
        let bundle = folder + "/bundle-\(UUID().uuidString.prefix(8))"
        try TestImageTool.check(Self.umoci, ["unpack", "--rootless", "--image", "\(layout):\(tag)", bundle], within: Self.bound)
        return bundle
    }

    /// `tag` becomes the base image plus one layer holding `files`.
    private func addLayer(files: [String: Data], to tag: String) throws {
        let bundle = try unpack(Self.baseTag)
        defer { try? FileManager.default.removeItem(atPath: bundle) }
        for (path, contents) in files {
            guard path.hasPrefix("/"), !path.split(separator: "/").contains("..") else {
                throw PeerError("image file path must be absolute without '..': \(path)")
            }
            let target = bundle + "/rootfs" + path
            try FileManager.default.createDirectory(atPath: (target as NSString).deletingLastPathComponent,
                                                    withIntermediateDirectories: true)
            try contents.write(to: URL(fileURLWithPath: target))
            try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: target)
        }
        try TestImageTool.check(Self.umoci, ["repack", "--image", "\(layout):\(tag)", bundle], within: Self.bound)
    }

    /// `umoci config` from `source` into `target` (nil: in place), then `variant` by hand
    /// (umoci 0.4 has no flag for it).
    private func configure(from source: String, to target: String?, platform: TestImagePlatform, entrypoint: [String],
                           command: [String], environment: [String], workingDirectory: String) throws {
        var arguments = ["config", "--image", "\(layout):\(source)", "--os", platform.os, "--architecture", platform.architecture,
                         "--config.workingdir", workingDirectory, "--history.created_by", "KingletTestPeers.TestImages"]
        if let target { arguments += ["--tag", target] }
        for value in environment { arguments += ["--config.env", value] }
        for value in entrypoint { arguments += ["--config.entrypoint", value] }
        for value in command { arguments += ["--config.cmd", value] }
        try TestImageTool.check(Self.umoci, arguments, within: Self.bound)
        if let variant = platform.variant { try setVariant(variant, tag: target ?? source) }
    }

    /// Adds `variant` to the config of `tag`, rewriting the config, the manifest and the
    /// layout's reference.
    private func setVariant(_ variant: String, tag: String) throws {
        let current = try descriptor(tag: tag)
        guard var manifest = try JSONSerialization.jsonObject(with: try readBlob(current.digest)) as? [String: Any],
              var configDescriptor = manifest["config"] as? [String: Any], let configDigest = configDescriptor["digest"] as? String,
              var config = try JSONSerialization.jsonObject(with: try readBlob(configDigest)) as? [String: Any]
        else { throw PeerError("\(tag): unreadable manifest or config in \(layout)") }
        config["variant"] = variant
        let (newConfig, configSize) = try writeBlob(try Self.json(config))
        configDescriptor["digest"] = newConfig
        configDescriptor["size"] = configSize
        manifest["config"] = configDescriptor
        let (newManifest, manifestSize) = try writeBlob(try Self.json(manifest))
        try setReference(tag: tag, descriptor: ["mediaType": current.mediaType, "digest": newManifest, "size": manifestSize])
    }

    private struct Descriptor {
        let mediaType: String
        let digest: String
        let size: Int
    }

    private var indexPath: String { layout + "/index.json" }

    private func readIndex() throws -> [String: Any] {
        guard let index = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: indexPath))) as? [String: Any]
        else { throw PeerError("\(indexPath) is not a JSON object") }
        return index
    }

    private func descriptor(tag: String) throws -> Descriptor {
        let manifests = try readIndex()["manifests"] as? [[String: Any]] ?? []
        guard let found = manifests.last(where: { ($0["annotations"] as? [String: String])?[Self.refName] == tag }),
              let digest = found["digest"] as? String, let size = found["size"] as? Int
        else { throw PeerError("no image '\(tag)' in \(layout)") }
        return Descriptor(mediaType: found["mediaType"] as? String ?? Self.ociManifest, digest: digest, size: size)
    }

    /// Points `tag` at `descriptor` in index.json (replacing what it named).
    private func setReference(tag: String, descriptor: [String: Any]) throws {
        var index = try readIndex()
        var manifests = (index["manifests"] as? [[String: Any]] ?? []).filter {
            ($0["annotations"] as? [String: String])?[Self.refName] != tag
        }
        var entry = descriptor
        entry["annotations"] = [Self.refName: tag]
        manifests.append(entry)
        index["manifests"] = manifests
        try Self.json(index).write(to: URL(fileURLWithPath: indexPath), options: .atomic)
    }

    private func blobPath(_ digest: String) -> String { layout + "/blobs/sha256/" + digest.replacingOccurrences(of: "sha256:", with: "") }

    private func readBlob(_ digest: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: blobPath(digest))) }

    private func writeBlob(_ data: Data) throws -> (digest: String, size: Int) {
        let digest = TestImageDigest.ociDigest(data)
        try data.write(to: URL(fileURLWithPath: blobPath(digest)), options: .atomic)
        return (digest, data.count)
    }

    static func json(_ object: Any) throws -> Data {
        try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
    }

    /// Whether `path` is an ELF file without a PT_INTERP program header (no dynamic loader).
    static func isStaticallyLinked(_ path: String) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        let head = [UInt8](handle.readData(ofLength: 64))
        guard head.count == 64, head[0] == 0x7f, head[1] == 0x45, head[2] == 0x4c, head[3] == 0x46 else { return false }
        let is64 = head[4] == 2
        let little = head[5] == 1
        func read(_ offset: Int, _ size: Int, _ bytes: [UInt8]) -> Int {
            let slice = bytes[offset..<offset + size]
            return (little ? slice.reversed() : Array(slice)).reduce(0) { $0 << 8 | Int($1) }
        }
        let phoff = is64 ? read(0x20, 8, head) : read(0x1c, 4, head)
        let phentsize = is64 ? read(0x36, 2, head) : read(0x2a, 2, head)
        let phnum = is64 ? read(0x38, 2, head) : read(0x2c, 2, head)
        guard phentsize > 0, phnum > 0, phnum < 256 else { return false }
        try? handle.seek(toOffset: UInt64(phoff))
        let table = [UInt8](handle.readData(ofLength: phentsize * phnum))
        guard table.count == phentsize * phnum else { return false }
        for i in 0..<phnum where read(i * phentsize, 4, table) == 3 { return false }  // PT_INTERP
        return true
    }
}
