import CKingletSystem
import KingletDocument
import KingletPod

/// What an image's config blob says about running it (the OCI image spec's config.md; the
/// Docker config has the same fields), and the layers' uncompressed digests.
public struct ImageConfig: Equatable, Sendable {
    public var platform: ImagePlatform
    public var user: String?
    public var environment: [String] = []
    public var entrypoint: [String] = []
    public var command: [String] = []
    public var workingDirectory: String?
    public var stopSignal: String?
    /// The sha256 of each layer's uncompressed tar, bottom first (`rootfs.diff_ids`).
    public var diffIDs: [ImageDigest] = []

    public static func parse(_ bytes: [UInt8], source: String) throws(DocumentError) -> ImageConfig {
        let root = FieldReader(try JSONReader().parseDocument(bytes, file: source), file: source)
        let object = try root.object()
        var config = ImageConfig(platform: ImagePlatform(os: try object.string("os") ?? "linux",
                                                          architecture: try object.string("architecture") ?? "",
                                                          variant: try object.string("variant")))
        if let run = try object.object("config") {
            config.user = try run.string("User").flatMap { $0.isEmpty ? nil : $0 }
            config.environment = try run.stringList("Env")
            config.entrypoint = try run.stringList("Entrypoint")
            config.command = try run.stringList("Cmd")
            config.workingDirectory = try run.string("WorkingDir").flatMap { $0.isEmpty ? nil : $0 }
            config.stopSignal = try run.string("StopSignal").flatMap { $0.isEmpty ? nil : $0 }
        }
        let rootfs = try object.required("rootfs").object()
        let type = try rootfs.requiredString("type")
        guard type == "layers" else { throw try rootfs.required("type").error("rootfs type \(type) is not supported (expected layers)") }
        for item in try rootfs.array("diff_ids") { config.diffIDs.append(try ImageDigest.read(item)) }
        return config
    }
}

/// The platform images are chosen for: the board's, from the kernel (`uname -m`), unless
/// the config names one.
public struct BoardPlatform: Equatable, Sendable {
    public let platform: ImagePlatform

    public init(_ platform: ImagePlatform) { self.platform = platform }

    /// From `uname -m`: x86_64 is amd64, aarch64 is arm64, armv7l arm/v7, armv6l arm/v6.
    public init?(machine: String) {
        switch machine {
        case "x86_64", "amd64": platform = ImagePlatform(architecture: "amd64")
        case "aarch64", "arm64", "armv8l", "armv8b": platform = ImagePlatform(architecture: "arm64", variant: "v8")
        case "armv7l", "armv7": platform = ImagePlatform(architecture: "arm", variant: "v7")
        case "armv6l", "armv6": platform = ImagePlatform(architecture: "arm", variant: "v6")
        case "armv5tel", "armv5l": platform = ImagePlatform(architecture: "arm", variant: "v5")
        case "i686", "i586", "i386": platform = ImagePlatform(architecture: "386")
        case "riscv64": platform = ImagePlatform(architecture: "riscv64")
        default: return nil
        }
    }

    /// The variants this board runs, best first: an ARMv7 board runs v7, v6 and v5 code;
    /// arm64 is v8 (an index entry may leave the variant out).
    var acceptedVariants: [String?] {
        switch (platform.architecture, platform.variant) {
        case ("arm", "v7"): return ["v7", "v6", "v5", nil]
        case ("arm", "v6"): return ["v6", "v5", nil]
        case ("arm", "v5"): return ["v5", nil]
        case ("arm64", _): return ["v8", nil]
        default: return [platform.variant, nil]
        }
    }

    /// The index entry for this board: os and architecture equal, the best variant it
    /// runs; attestation manifests never count. Nil when the index has none.
    public func choose(from index: [ImageDescriptor]) -> ImageDescriptor? {
        for variant in acceptedVariants {
            for entry in index where !entry.isAttestation {
                guard let candidate = entry.platform, candidate.os == platform.os,
                      candidate.architecture == platform.architecture, candidate.variant == variant else { continue }
                return entry
            }
        }
        return nil
    }

    /// Whether an image whose config says `config` runs here (a single-platform image
    /// for another architecture is refused before its layers are fetched).
    public func runs(_ config: ImagePlatform) -> Bool {
        guard config.os == platform.os, config.architecture == platform.architecture else { return false }
        guard let variant = config.variant else { return true }
        return acceptedVariants.contains(variant)
    }

    /// "no linux/arm/v7 image in the index (it has linux/amd64, linux/arm64)"
    public func noMatchMessage(_ index: [ImageDescriptor]) -> String {
        let offered = index.filter { !$0.isAttestation }.compactMap { $0.platform?.description }
        return "no \(platform.description) image in the index (it has \(offered.isEmpty ? "no platforms" : offered.joined(separator: ", ")))"
    }
}

extension BoardPlatform {
    /// The kernel's platform (`uname -m`), or the one `text` names (`linux/arm/v6`).
    public static func current(override text: String? = nil) -> BoardPlatform? {
        if let text {
            let parts = text.split(separator: "/").map(String.init)
            guard parts.count >= 2 else { return nil }
            return BoardPlatform(ImagePlatform(os: parts[0], architecture: parts[1], variant: parts.count > 2 ? parts[2] : nil))
        }
        var names = utsname()
        guard uname(&names) == 0 else { return nil }
        let machine = withUnsafeBytes(of: &names.machine) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        return BoardPlatform(machine: machine)
    }
}
