import CKingletSystem
import KingletCore

/// Builds an image's flattened root file system from the store's per-layer folders, bottom
/// layer first, for when its layers cannot be stacked with overlayfs. Each folder is walked
/// and its entries go through `LayerTree` exactly as an unpacked layer's tar entries do, so
/// whiteouts, type changes, hard links and the never-outside-the-root rules are the
/// unpacker's own. A folder's whiteouts may be in either form the store writes: overlayfs's
/// (a character device 0/0, the trusted.overlay.opaque xattr) or the tar's `.wh.` files
/// (a layer unpacked without the privilege for overlayfs's).
///
/// The work is cut into steps (`step`), each bounded in bytes copied and entries made, so
/// the caller runs one per loop turn.
final class LayerFlattener {
    private struct Frame {
        var fd: Int32
        var path: [UInt8]
        var names: [[UInt8]]
        var next = 0
    }

    private let layers: [String]
    private let target: String
    private var layerIndex = -1
    private var tree: LayerTree?
    private var frames: [Frame] = []
    /// Hard links of the layer being copied: (device, inode) to the first path seen.
    private var linked: [UInt64: [UInt8]] = [:]
    /// The regular file being copied, across steps.
    private var source: Int32 = -1
    private var buffer: [UInt8] = []
    private(set) var bytesCopied: Int64 = 0
    private(set) var entriesCopied = 0

    /// `layers`: the per-layer folders, bottom first. `target` must exist and be empty.
    init(layers: [String], target: String) {
        self.layers = layers
        self.target = target
    }

    deinit { closeAll() }

    /// Copies until about `bytes` bytes or `entries` entries are done. Returns true while
    /// something remains.
    func step(bytes: Int64, entries: Int) throws(LayerError) -> Bool {
        let bytesAtStart = bytesCopied
        let entriesAtStart = entriesCopied
        do throws(LayerError) {
            while bytesCopied - bytesAtStart < bytes && entriesCopied - entriesAtStart < entries {
                if source >= 0 {
                    try copyFileData(limit: bytes - (bytesCopied - bytesAtStart))
                    continue
                }
                if frames.isEmpty {
                    try tree?.finish()
                    tree = nil
                    guard try openNextLayer() else { return false }
                    continue
                }
                try nextEntry()
            }
            return true
        } catch {
            closeAll()
            throw error
        }
    }

    private func openNextLayer() throws(LayerError) -> Bool {
        layerIndex += 1
        guard layerIndex < layers.count else { return false }
        let path = layers[layerIndex]
        tree = try LayerTree(root: target, whiteouts: .apply)
        linked = [:]
        let fd = path.withCString { kinglet_tree_open_root($0) }
        guard fd >= 0 else { throw LayerError.system(call: "open", entry: path, errno: kinglet_errno()) }
        frames.append(Frame(fd: fd, path: [], names: try LayerFlattener.names(in: fd, path: path)))
        return true
    }

    private func nextEntry() throws(LayerError) {
        guard let tree, var frame = frames.popLast() else { return }
        guard frame.next < frame.names.count else {
            close(frame.fd)
            return
        }
        let name = frame.names[frame.next]
        frame.next += 1
        frames.append(frame)
        let path = frame.path.isEmpty ? name : frame.path + [UInt8(ascii: "/")] + name
        let cName = LayerFlattener.cString(name)
        var info = kinglet_tree_info()
        guard cName.withUnsafeBufferPointer({ kinglet_tree_info(frame.fd, $0.baseAddress!, &info) }) == 0 else {
            throw LayerError.system(call: "fstatat", entry: String(decoding: path, as: UTF8.self), errno: kinglet_errno())
        }
        var entry = TarEntry(kind: .file, name: path, linkName: [], size: 0, mode: info.mode & 0o7777, uid: info.uid,
                             gid: info.gid, modifiedSeconds: info.seconds, modifiedNanoseconds: info.nanoseconds,
                             deviceMajor: info.major, deviceMinor: info.minor)
        entriesCopied += 1
        switch info.mode & KINGLET_TREE_KIND_MASK {
        case KINGLET_TREE_DIRECTORY:
            entry.kind = .directory
            try tree.apply(entry)
            let fd = cName.withUnsafeBufferPointer { kinglet_tree_open_folder(frame.fd, $0.baseAddress!) }
            guard fd >= 0 else { throw LayerError.system(call: "openat", entry: entry.displayName, errno: kinglet_errno()) }
            if kinglet_tree_is_opaque(fd) == 1 {
                // The lower layers' entries of this folder are hidden, as by `.wh..wh..opq`.
                var marker = entry
                marker.kind = .file
                marker.name = path + Array("/.wh..wh..opq".utf8)
                try tree.beginFile(marker)
                try tree.endFile()
            }
            frames.append(Frame(fd: fd, path: path, names: try LayerFlattener.names(in: fd, path: entry.displayName)))
        case KINGLET_TREE_SYMLINK:
            entry.kind = .symlink
            entry.linkName = try LayerFlattener.link(frame.fd, cName, entry: entry)
            try tree.apply(entry)
        case KINGLET_TREE_CHARACTER_DEVICE where LayerTree.isWhiteout(info):
            // overlayfs's whiteout: the tar's `.wh.<name>`.
            entry.name = frame.path.isEmpty ? Array(".wh.".utf8) + name : frame.path + Array("/.wh.".utf8) + name
            try tree.beginFile(entry)
            try tree.endFile()
        case KINGLET_TREE_CHARACTER_DEVICE, KINGLET_TREE_BLOCK_DEVICE, KINGLET_TREE_FIFO:
            let kind = info.mode & KINGLET_TREE_KIND_MASK
            entry.kind = kind == KINGLET_TREE_FIFO ? .fifo : kind == KINGLET_TREE_BLOCK_DEVICE ? .blockDevice : .characterDevice
            try tree.apply(entry)
        default:
            if info.links > 1 {
                let key = info.device &* 0x9E37_79B9_7F4A_7C15 ^ info.inode
                if let first = linked[key] {
                    entry.kind = .hardLink
                    entry.linkName = first
                    try tree.apply(entry)
                    return
                }
                linked[key] = path
            }
            entry.size = UInt64(info.size)
            try tree.beginFile(entry)
            let fd = cName.withUnsafeBufferPointer { kinglet_tree_open_file(frame.fd, $0.baseAddress!) }
            guard fd >= 0 else { throw LayerError.system(call: "openat", entry: entry.displayName, errno: kinglet_errno()) }
            source = fd
        }
    }

    private func copyFileData(limit: Int64) throws(LayerError) {
        guard let tree else { return }
        if buffer.isEmpty { buffer = [UInt8](repeating: 0, count: 256 * 1024) }
        var left = max(limit, 1)
        while left > 0 {
            let count = buffer.withUnsafeMutableBytes { CKingletSystem.read(source, $0.baseAddress, min($0.count, Int(left))) }
            if count < 0 {
                if kinglet_errno() == EINTR { continue }
                throw LayerError.system(call: "read", entry: target, errno: kinglet_errno())
            }
            if count == 0 {
                close(source)
                source = -1
                try tree.endFile()
                return
            }
            var failure: LayerError?
            buffer.withUnsafeBytes { bytes in
                do throws(LayerError) {
                    try tree.writeFileData(UnsafeRawBufferPointer(rebasing: bytes[0..<count]))
                } catch {
                    failure = error
                }
            }
            if let failure { throw failure }
            bytesCopied += Int64(count)
            left -= Int64(count)
        }
    }

    private func closeAll() {
        if source >= 0 { close(source) }
        source = -1
        for frame in frames { close(frame.fd) }
        frames = []
    }

    /// The names in an open folder, sorted (a stable order, as tar writers use).
    static func names(in fd: Int32, path: String) throws(LayerError) -> [[UInt8]] {
        var length = 0
        guard let listing = kinglet_tree_list(fd, &length) else {
            throw LayerError.system(call: "readdir", entry: path, errno: kinglet_errno())
        }
        defer { kinglet_free(listing) }
        var names: [[UInt8]] = []
        var start = 0
        for index in 0..<length where listing[index] == 0 {
            names.append((start..<index).map { UInt8(bitPattern: listing[$0]) })
            start = index + 1
        }
        return names.sorted { $0.lexicographicallyPrecedes($1) }
    }

    private static func link(_ folder: Int32, _ name: [CChar], entry: TarEntry) throws(LayerError) -> [UInt8] {
        var target = [CChar](repeating: 0, count: 4097)
        let length = name.withUnsafeBufferPointer { named in
            target.withUnsafeMutableBufferPointer { kinglet_tree_read_link(folder, named.baseAddress!, $0.baseAddress!, $0.count) }
        }
        guard length >= 0 else { throw LayerError.system(call: "readlinkat", entry: entry.displayName, errno: kinglet_errno()) }
        return target[0..<length].map { UInt8(bitPattern: $0) }
    }

    static func cString(_ bytes: [UInt8]) -> [CChar] {
        bytes.map { CChar(bitPattern: $0) } + [0]
    }
}
