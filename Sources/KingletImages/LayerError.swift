import CKingletSystem

/// Why a layer could not be unpacked. Entry names are the tar's own (before the leading
/// `/` or `./` is dropped), so the message points at the archive, not at the board's tree.
public enum LayerError: Error, Equatable, Sendable, CustomStringConvertible {
    /// zlib refused the stream (bad header, bad deflate data, CRC or length mismatch).
    case corruptGzip(String)
    /// The gzip stream stopped before its end (the download was cut short).
    case truncatedGzip
    /// Neither gzip nor tar: what the first bytes were taken for.
    case notALayer(String)
    /// The tar stopped inside a header or an entry's data.
    case truncatedTar(entry: String?)
    /// A tar header whose checksum does not match its bytes; `offset` counts uncompressed bytes.
    case badHeaderChecksum(entry: String, offset: UInt64)
    /// A header field that is not a number, a pax record that does not parse, a name with NUL.
    case badHeader(entry: String, reason: String)
    /// An entry kind the unpacker does not write (GNU sparse files, multi-volume parts).
    case unsupportedEntry(entry: String, kind: String)
    /// A name or hard-link target with a `..` component.
    case pathEscapesRoot(entry: String)
    /// An entry whose folder is reached through a symlink in the tree: following it could
    /// leave the root, so it is refused.
    case symlinkInPath(entry: String, symlink: String)
    /// An entry whose folder path meets a file that is not a folder.
    case notAFolder(entry: String, path: String)
    /// A hard link whose target is not in the tree.
    case hardLinkTargetMissing(entry: String, target: String)
    /// A pax header or GNU long name larger than the unpacker keeps in memory.
    case metadataTooLarge(entry: String, limit: Int)
    /// A system call failed while writing the tree.
    case system(call: String, entry: String, errno: Int32)
    /// `feed` after `finish`, or after an error.
    case finished

    public var description: String {
        switch self {
        case .corruptGzip(let reason):
            return "corrupt gzip stream: " + reason
        case .truncatedGzip:
            return "truncated gzip stream: the layer ends before its gzip trailer"
        case .notALayer(let reason):
            return "not a layer: " + reason
        case .truncatedTar(let entry):
            if let entry { return "truncated tar: the layer ends inside entry \"" + entry + "\"" }
            return "truncated tar: the layer ends inside a header"
        case .badHeaderChecksum(let entry, let offset):
            return "bad tar header checksum at byte " + offset.description + " (entry \"" + entry + "\")"
        case .badHeader(let entry, let reason):
            return "bad tar header for \"" + entry + "\": " + reason
        case .unsupportedEntry(let entry, let kind):
            return "unsupported tar entry \"" + entry + "\": " + kind
        case .pathEscapesRoot(let entry):
            return "tar entry \"" + entry + "\" escapes the root folder (a .. component)"
        case .symlinkInPath(let entry, let symlink):
            return "tar entry \"" + entry + "\" refused: its path goes through the symlink \"" + symlink + "\""
        case .notAFolder(let entry, let path):
            return "tar entry \"" + entry + "\" refused: \"" + path + "\" is not a folder"
        case .hardLinkTargetMissing(let entry, let target):
            return "tar entry \"" + entry + "\": hard link target \"" + target + "\" is not in the tree"
        case .metadataTooLarge(let entry, let limit):
            return "tar entry \"" + entry + "\": extended header larger than " + limit.description + " bytes"
        case .system(let call, let entry, let code):
            return call + " failed for tar entry \"" + entry + "\": " + String(cString: kinglet_strerror(code))
                + " (errno " + code.description + ")"
        case .finished:
            return "the layer unpacker has already finished or failed"
        }
    }
}

/// What a layer's whiteouts (`.wh.<name>`, `.wh..wh..opq`) do to the folder it is written into.
public enum LayerWhiteouts: Equatable, Sendable {
    /// The folder holds the layers below already (a flattened root): whiteouts remove what
    /// they name there (image-spec layer.md).
    case apply
    /// The folder holds this layer alone (the store's per-layer folder, an overlayfs lower
    /// folder): whiteouts are recorded in overlayfs's format, a character device 0/0 for
    /// `.wh.<name>` and trusted.overlay.opaque=y for `.wh..wh..opq`; the kernel hides the
    /// lower layers' entries when the layers are stacked.
    case overlay
}
