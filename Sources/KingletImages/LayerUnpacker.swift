/// Unpacks one image layer into a root folder, on top of the layers unpacked there before,
/// as its bytes arrive: `feed` each chunk of the blob (any size, straight from the
/// network), then `finish`. No data is buffered beyond a 64 KiB inflate window, one tar
/// header block and one pax header (at most 1 MiB); what grows with the layer is one name
/// per entry (an opaque whiteout must spare what the layer itself wrote) and one per folder
/// (its mode and mtime are set last). The work of one `feed` is that chunk's bytes once
/// inflated: deflate can expand about 1000 times, so feed network-sized chunks.
///
/// The input is a gzip-compressed tar (`...tar+gzip`, `...tar.gzip`), several gzip members
/// in a row included, or a plain tar; with no media type the gzip magic decides. The sha256
/// of the uncompressed tar, the layer's diffID, is computed on the way: after `finish`,
/// compare `diffID` with the config's `rootfs.diff_ids` entry for this layer before using
/// the tree (image-spec config.md).
///
/// `whiteouts` says whether the root already holds the lower layers (`.apply`, a flattened
/// root) or is this layer's own folder (`.overlay`, whiteouts recorded for overlayfs;
/// `lowerLayers` are then the folders of the layers below, top first, for hard links to
/// their files).
///
/// On an error the root may hold part of the layer: the caller discards the folder (the
/// image store unpacks into a fresh one and renames it into place when it is whole).
public final class LayerUnpacker {
    private let tree: LayerTree
    private var reader = TarReader()
    private let digest: LayerDigest
    private var inflater: GzipInflater?
    private var compression: LayerCompression?
    /// Whether the gzip magic decided (no media type given): a first header that is not
    /// tar then means the input is neither format.
    private var detected = false
    private var magic: (UInt8, UInt8) = (0, 0)
    /// The first byte, when the input's first chunk was too short to show the gzip magic.
    private var firstByte: UInt8?
    private var failure: LayerError?
    private var done = false

    /// The layer's diffID (`sha256:` and the hash of the uncompressed tar), after `finish`.
    public private(set) var diffID: ImageDigest?
    /// Compressed bytes fed so far.
    public private(set) var inputBytes: UInt64 = 0

    /// `compression` nil: gzip when the input starts with the gzip magic (1f 8b), else tar.
    /// Pass `ImageManifestDocument.compression(of: descriptor.mediaType)` when the manifest
    /// says. The root folder must exist.
    public init(root: String, compression: LayerCompression? = nil, whiteouts: LayerWhiteouts = .apply,
                lowerLayers: [String] = []) throws(LayerError) {
        tree = try LayerTree(root: root, whiteouts: whiteouts, lowerLayers: lowerLayers)
        digest = try LayerDigest()
        self.compression = compression
        if compression == .gzip { inflater = try GzipInflater() }
    }

    /// Uncompressed (tar) bytes read so far.
    public var tarBytes: UInt64 { reader.offset }
    /// Files, folders, links and nodes written.
    public var entriesApplied: Int { tree.entriesApplied }
    /// Whiteouts (`.wh.` files and opaque markers) applied.
    public var whiteoutsApplied: Int { tree.whiteoutsApplied }
    /// With `.overlay`: some whiteout had to be kept as its `.wh.` file (the root is then
    /// for flattening only, not an overlayfs lower folder).
    public var keptWhiteoutFiles: Bool { tree.keptWhiteoutFiles }
    /// Device nodes not created for want of privilege (not root, or no CAP_MKNOD).
    public var skippedSpecialFiles: Int { tree.skippedSpecialFiles }

    public func feed(_ bytes: UnsafeRawBufferPointer) throws(LayerError) {
        if let failure { throw failure }
        guard !done else { throw LayerError.finished }
        guard bytes.count > 0 else { return }
        do throws(LayerError) {
            try consume(bytes)
        } catch {
            let reported = explained(error)
            failure = reported
            throw reported
        }
    }

    /// Checks the layer ended where its formats say (gzip trailer, tar member boundary),
    /// gives folders their final modes and times, and sets `diffID`.
    public func finish() throws(LayerError) {
        if let failure { throw failure }
        guard !done else { throw LayerError.finished }
        do throws(LayerError) {
            if let first = firstByte {
                // One byte in all: not gzip; a one-byte tar is truncated.
                firstByte = nil
                compression = LayerCompression.none
                try withUnsafeBytes(of: first) { (byte) throws(LayerError) in try feedTar(byte) }
            }
            guard inputBytes > 0 else { throw LayerError.notALayer("the layer is empty") }
            if let inflater, !inflater.atMemberEnd {
                throw LayerError.truncatedGzip
            }
            try reader.finish()
            try tree.finish()
            done = true
            diffID = digest.finish()
        } catch {
            failure = error
            throw error
        }
    }

    private func consume(_ bytes: UnsafeRawBufferPointer) throws(LayerError) {
        inputBytes += UInt64(bytes.count)
        if compression == nil {
            if let first = firstByte {
                firstByte = nil
                try decide(first, bytes[0])
                try withUnsafeBytes(of: first) { (byte) throws(LayerError) in try route(byte) }
            } else if bytes.count == 1 {
                firstByte = bytes[0]
                return
            } else {
                try decide(bytes[0], bytes[1])
            }
        }
        try route(bytes)
    }

    /// RFC 1952: a gzip member starts with ID1 = 0x1f, ID2 = 0x8b.
    private func decide(_ first: UInt8, _ second: UInt8) throws(LayerError) {
        detected = true
        magic = (first, second)
        if first == 0x1f && second == 0x8b {
            compression = .gzip
            inflater = try GzipInflater()
        } else {
            compression = LayerCompression.none
        }
    }

    /// A detected "plain tar" whose first block is not a tar header (bad checksum, no
    /// `ustar` magic) was never a tar.
    private func explained(_ error: LayerError) -> LayerError {
        guard detected, compression == LayerCompression.none, case .badHeaderChecksum(_, let offset) = error, offset == 0,
              !reader.headerHasMagic else {
            return error
        }
        // RFC 8878: a zstd frame starts with 28 b5 2f fd (media type ...tar+zstd).
        if magic == (0x28, 0xB5) { return LayerError.notALayer("zstd-compressed layers are not supported") }
        return LayerError.notALayer("the data starts with neither the gzip magic nor a tar header")
    }

    private func route(_ bytes: UnsafeRawBufferPointer) throws(LayerError) {
        if let inflater {
            try inflater.inflate(bytes) { (window) throws(LayerError) in try self.feedTar(window) }
        } else {
            try feedTar(bytes)
        }
    }

    private func feedTar(_ bytes: UnsafeRawBufferPointer) throws(LayerError) {
        digest.update(bytes)
        try reader.consume(bytes, into: tree)
    }
}
