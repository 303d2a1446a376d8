import KingletDocument
import KingletPod

/// The media types of the OCI image spec and their Docker schema 2 twins, which registries
/// still serve for older images.
public enum ImageMediaType {
    public static let ociIndex = "application/vnd.oci.image.index.v1+json"
    public static let ociManifest = "application/vnd.oci.image.manifest.v1+json"
    public static let ociConfig = "application/vnd.oci.image.config.v1+json"
    public static let ociLayer = "application/vnd.oci.image.layer.v1.tar"
    public static let ociLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip"
    public static let ociLayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd"
    public static let ociNondistributableGzip = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
    public static let dockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
    public static let dockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
    public static let dockerManifestSchema1 = "application/vnd.docker.distribution.manifest.v1+json"
    public static let dockerManifestSchema1Signed = "application/vnd.docker.distribution.manifest.v1+prettyjws"
    public static let dockerConfig = "application/vnd.docker.container.image.v1+json"
    public static let dockerLayerGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip"
    public static let dockerForeignLayerGzip = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"

    /// The Accept header of a manifest request: every manifest and index kind we read.
    public static let manifestAccept = [ociIndex, ociManifest, dockerManifestList, dockerManifest].joined(separator: ", ")
}

/// How a layer's bytes are packed.
public enum LayerCompression: Equatable, Sendable {
    case none
    case gzip
}

/// A platform as an index entry or an image config names it.
public struct ImagePlatform: Equatable, Sendable, CustomStringConvertible {
    public var os: String
    public var architecture: String
    public var variant: String?

    public init(os: String = "linux", architecture: String, variant: String? = nil) {
        self.os = os
        self.architecture = architecture
        self.variant = variant
    }

    /// `linux/arm/v7`, `linux/amd64`.
    public var description: String { os + "/" + architecture + (variant.map { "/" + $0 } ?? "") }
}

/// A content descriptor: what a manifest or index points at.
public struct ImageDescriptor: Equatable, Sendable {
    public var mediaType: String
    public var digest: ImageDigest
    public var size: Int64
    public var platform: ImagePlatform?
    /// Set on the attestation manifests BuildKit puts in indexes (platform unknown/unknown).
    public var isAttestation = false
}

/// An image manifest: the config blob and the layers, bottom first.
public struct ImageManifest: Equatable, Sendable {
    public var config: ImageDescriptor
    public var layers: [ImageDescriptor]
}

/// What a manifest request returned: a manifest, or an index of manifests by platform.
public enum ImageManifestDocument: Equatable, Sendable {
    case manifest(ImageManifest)
    case index([ImageDescriptor])

    /// The largest manifest or index the agent reads (containerd's limit too): anything
    /// bigger is refused before it is buffered.
    public static let maximumSize = 4 * 1024 * 1024

    /// Reads a manifest or index. `contentType` is the response's Content-Type; the
    /// document's own `mediaType` wins when it has one, and an OCI document without either
    /// is told apart by its `manifests` or `layers` field, as the image spec allows.
    public static func parse(_ bytes: [UInt8], contentType: String?, source: String) throws(DocumentError) -> ImageManifestDocument {
        let root = FieldReader(try JSONReader().parseDocument(bytes, file: source), file: source)
        let object = try root.object()
        var mediaType = try object.string("mediaType") ?? ""
        if mediaType.isEmpty, let contentType {
            // "application/vnd.oci.image.manifest.v1+json; charset=utf-8"
            mediaType = String(contentType.split(separator: ";").first ?? "").trimmingSpaces()
        }
        switch mediaType {
        case ImageMediaType.ociIndex, ImageMediaType.dockerManifestList:
            return .index(try readIndex(object))
        case ImageMediaType.ociManifest, ImageMediaType.dockerManifest:
            return .manifest(try readManifest(object))
        case ImageMediaType.dockerManifestSchema1, ImageMediaType.dockerManifestSchema1Signed:
            throw root.error("Docker image manifest schema 1 is not supported (deprecated since 2017; push the image again with a current tool)")
        default:
            if object.field("manifests") != nil { return .index(try readIndex(object)) }
            if object.field("layers") != nil { return .manifest(try readManifest(object)) }
            throw root.error(mediaType.isEmpty ? "neither an image manifest nor an index" : "unsupported manifest media type \(mediaType)")
        }
    }

    static func readIndex(_ object: ObjectReader) throws(DocumentError) -> [ImageDescriptor] {
        var entries: [ImageDescriptor] = []
        for item in try object.required("manifests").array() {
            let entry = try item.object()
            var descriptor = try readDescriptor(entry)
            if let platform = try entry.object("platform") {
                descriptor.platform = ImagePlatform(os: try platform.requiredString("os"),
                                                    architecture: try platform.requiredString("architecture"),
                                                    variant: try platform.string("variant"))
            }
            if let annotations = try entry.object("annotations"),
               try annotations.string("vnd.docker.reference.type") == "attestation-manifest" {
                descriptor.isAttestation = true
            }
            entries.append(descriptor)
        }
        return entries
    }

    static func readManifest(_ object: ObjectReader) throws(DocumentError) -> ImageManifest {
        if let version = try object.integer("schemaVersion"), version != 2 {
            throw try object.required("schemaVersion").error("schemaVersion \(version) is not supported (expected 2)")
        }
        let config = try readDescriptor(try object.required("config").object())
        var layers: [ImageDescriptor] = []
        for item in try object.required("layers").array() {
            let layer = try readDescriptor(try item.object())
            guard ImageManifestDocument.compression(of: layer.mediaType) != nil else {
                throw item.error("layer media type \(layer.mediaType) is not supported (tar and tar+gzip are)")
            }
            layers.append(layer)
        }
        return ImageManifest(config: config, layers: layers)
    }

    static func readDescriptor(_ object: ObjectReader) throws(DocumentError) -> ImageDescriptor {
        let digest = try ImageDigest.read(try object.required("digest"))
        let sizeField = try object.required("size")
        let size = try sizeField.integer()
        guard size >= 0 else { throw sizeField.error("a size cannot be negative") }
        return ImageDescriptor(mediaType: try object.string("mediaType") ?? "", digest: digest, size: size, platform: nil)
    }

    /// How a layer of this media type is packed; nil for what the agent cannot unpack
    /// (zstd, encrypted layers, foreign layers that live outside the registry).
    public static func compression(of mediaType: String) -> LayerCompression? {
        switch mediaType {
        case ImageMediaType.ociLayer: return LayerCompression.none
        case ImageMediaType.ociLayerGzip, ImageMediaType.dockerLayerGzip: return .gzip
        default: return nil
        }
    }
}

extension String {
    func trimmingSpaces() -> String {
        var bytes = Array(utf8)[...]
        while let first = bytes.first, first == UInt8(ascii: " ") || first == UInt8(ascii: "\t") { bytes = bytes.dropFirst() }
        while let last = bytes.last, last == UInt8(ascii: " ") || last == UInt8(ascii: "\t") { bytes = bytes.dropLast() }
        return String(decoding: bytes, as: UTF8.self)
    }
}
