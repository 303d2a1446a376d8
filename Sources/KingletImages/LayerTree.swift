import KingletCore
import CKingletSystem

/// Writes one layer's members into the root folder, on top of the layers already there
/// ("flattened", the way an image's root filesystem looks through overlayfs).
///
/// Nothing is ever written outside the root: names with `..` are refused, absolute names are
/// taken relative to the root, and every path is walked one folder at a time with
/// `openat(O_NOFOLLOW | O_DIRECTORY)` from the root's descriptor, so a symlink in the tree
/// (from this layer or a lower one) is never followed while creating entries; an entry whose
/// folder is reached through one is refused. Entries are then made with the *at calls
/// relative to their folder's descriptor.
///
/// Whiteouts follow the OCI image spec (layer.md, "Whiteouts"): `.wh.<name>` removes
/// `<name>` of the lower layers, and `.wh..wh..opq` in a folder removes everything the lower
/// layers put in it, but not what this layer adds, before or after the marker. Whiteouts
/// and type changes remove with unlinkat below the folder's descriptor, never following a
/// symlink either.
///
/// With `LayerWhiteouts.overlay` the root holds this layer alone (a per-layer folder of the
/// store, an overlayfs lower folder), so whiteouts are recorded rather than applied: see
/// `LayerWhiteouts`.
///
/// A symlink that stays inside the root (a merged-/usr `lib -> usr/lib`) is refused as a
/// path too: layers that image builders produce from a file system diff name the real
/// path, and resolving links inside the root is left for when a layer needs it.
final class LayerTree {
    private let root: Int32
    private let privileged: Bool
    private let whiteouts: LayerWhiteouts
    /// With `.overlay`: the folders of the layers below, top first, for a hard link to a
    /// lower layer's file (copied up, see `copyUp`).
    private let lowerLayers: [String]
    /// Set when a whiteout could not be recorded in overlayfs's format and was kept as the
    /// tar's `.wh.` file: the folder can then only be flattened, not stacked.
    private(set) var keptWhiteoutFiles = false
    /// Paths this layer wrote, with their folders: whiteouts spare these. A name per entry,
    /// as containerd's unpacker keeps (with `pendingFolders`, the memory that grows with
    /// the layer).
    /// Paths this layer wrote (and their folders), as 64-bit hashes: a hostile layer of deep
    /// unique paths must not cost memory by the square of their depth.
    private var written = Set<UInt64>()
    /// Folders get their mode and mtime after the layer is done: creating their children
    /// would move the mtime, and a read-only mode would stop an unprivileged unpack.
    private var pendingFolders: [(path: [UInt8], mode: UInt32, seconds: Int64, nanoseconds: Int64)] = []
    /// The folder the last entry went into, still open: a tar lists a folder's entries
    /// together, so most entries need no walk.
    private var cachedPath: [UInt8] = []
    private var cachedFolder: Int32 = -1
    /// Set when a folder was removed: the cached one may have been inside it. Not closed at
    /// once, since the entry being applied still uses its own folder's descriptor.
    private var cacheStale = false
    /// The regular file being written.
    private var file: Int32 = -1
    private var fileEntry: TarEntry?

    private(set) var entriesApplied = 0
    /// Devices that need privilege this process does not have (and devices or FIFOs the
    /// kernel refused with EPERM): skipped, and counted here.
    private(set) var skippedSpecialFiles = 0
    private(set) var whiteoutsApplied = 0

    init(root path: String, whiteouts: LayerWhiteouts = .apply, lowerLayers: [String] = []) throws(LayerError) {
        let descriptor = path.withCString { kinglet_tree_open_root($0) }
        guard descriptor >= 0 else { throw LayerError.system(call: "open", entry: path, errno: kinglet_errno()) }
        root = descriptor
        privileged = geteuid() == 0
        self.whiteouts = whiteouts
        self.lowerLayers = lowerLayers
    }

    deinit {
        if file >= 0 { close(file) }
        if cachedFolder >= 0 { close(cachedFolder) }
        close(root)
    }

    // MARK: Entries

    func beginFile(_ entry: TarEntry) throws(LayerError) {
        guard let target = try target(of: entry) else { return }
        let (folder, name) = (target.folder, target.name)
        try clear(folder, name, keepingFolder: false, entry: entry)
        let descriptor = name.withUnsafeBufferPointer { kinglet_tree_create_file(folder, $0.baseAddress!, 0o600) }
        guard descriptor >= 0 else { throw system("openat", entry) }
        file = descriptor
        fileEntry = entry
    }

    func writeFileData(_ bytes: UnsafeRawBufferPointer) throws(LayerError) {
        guard file >= 0, var base = bytes.baseAddress else { return }
        var left = bytes.count
        while left > 0 {
            let wrote = write(file, base, left)
            if wrote < 0 {
                if kinglet_errno() == EINTR { continue }
                throw system("write", fileEntry)
            }
            left -= wrote
            base += wrote
        }
    }

    func endFile() throws(LayerError) {
        guard file >= 0, let entry = fileEntry else { return }
        defer {
            close(file)
            file = -1
            fileEntry = nil
        }
        // chown before chmod: chown clears the set-id bits.
        if privileged && fchown(file, entry.uid, entry.gid) != 0 { throw system("fchown", entry) }
        if fchmod(file, mode_t(entry.mode)) != 0 { throw system("fchmod", entry) }
        if kinglet_tree_set_times_fd(file, entry.modifiedSeconds, entry.modifiedNanoseconds) != 0 {
            throw system("futimens", entry)
        }
        entriesApplied += 1
    }

    /// Every member but a regular file.
    func apply(_ entry: TarEntry) throws(LayerError) {
        guard let target = try target(of: entry) else { return }
        let (folder, name, path) = target
        switch entry.kind {
        case .directory:
            // A folder over this layer's own whiteout replaces what the lower layers had there.
            let overWhiteout = whiteouts == .overlay && isWhiteoutDevice(folder, name)
            let kept = try clear(folder, name, keepingFolder: true, entry: entry)
            if !kept && name.withUnsafeBufferPointer({ mkdirat(folder, $0.baseAddress!, 0o700) }) != 0 {
                throw system("mkdirat", entry)
            }
            if overWhiteout { try makeOpaque(folder, name, entry: entry) }
            try setOwner(folder, name, entry)
            pendingFolders.append((path, entry.mode, entry.modifiedSeconds, entry.modifiedNanoseconds))
        case .symlink:
            try clear(folder, name, keepingFolder: false, entry: entry)
            let contents = try cString(entry.linkName, entry: entry)
            let result = contents.withUnsafeBufferPointer { linkTarget in
                name.withUnsafeBufferPointer { symlinkat(linkTarget.baseAddress!, folder, $0.baseAddress!) }
            }
            guard result == 0 else { throw system("symlinkat", entry) }
            try setOwner(folder, name, entry)
            try setTimes(folder, name, entry)
        case .hardLink:
            try link(entry, into: folder, name)
            return
        case .characterDevice, .blockDevice, .fifo:
            let kind: UInt32
            switch entry.kind {
            case .characterDevice: kind = KINGLET_TREE_CHARACTER_DEVICE
            case .blockDevice: kind = KINGLET_TREE_BLOCK_DEVICE
            default: kind = KINGLET_TREE_FIFO
            }
            // mknod of a device needs CAP_MKNOD; a FIFO needs nothing.
            guard privileged || entry.kind == .fifo else {
                skippedSpecialFiles += 1
                return
            }
            try clear(folder, name, keepingFolder: false, entry: entry)
            let made = name.withUnsafeBufferPointer {
                kinglet_tree_make_node(folder, $0.baseAddress!, kind | entry.mode, entry.deviceMajor, entry.deviceMinor)
            }
            if made != 0 {
                // In a container or user namespace even root may lack CAP_MKNOD.
                if kinglet_errno() == EPERM { skippedSpecialFiles += 1; return }
                throw system("mknodat", entry)
            }
            try setOwner(folder, name, entry)
            if name.withUnsafeBufferPointer({ kinglet_tree_set_mode(folder, $0.baseAddress!, entry.mode) }) != 0 {
                throw system("fchmodat", entry)
            }
            try setTimes(folder, name, entry)
        case .file:
            return
        }
        entriesApplied += 1
    }

    /// Resolves an entry's folder, handling whiteouts on the way. Nil when there is nothing to
    /// create: the root itself (`./`), or a whiteout (applied here).
    private func target(of entry: TarEntry) throws(LayerError) -> (folder: Int32, name: [CChar], path: [UInt8])? {
        guard let path = try normalized(entry.name, entry: entry) else { return nil }
        let slash = path.lastIndex(of: UInt8(ascii: "/"))
        let parent = slash.map { Array(path[..<$0]) } ?? []
        let base = slash.map { Array(path[($0 + 1)...]) } ?? path
        if base.starts(with: LayerTree.whiteoutPrefix) {
            if whiteouts == .overlay {
                try recordWhiteout(parent: parent, base: base, entry: entry)
            } else {
                try whiteout(parent: parent, base: base, entry: entry)
            }
            return nil
        }
        let folder = try folder(parent, entry: entry)
        mark(path)
        let name = try cString(base, entry: entry)
        return (folder, name, path)
    }

    // MARK: Whiteouts

    /// `.wh.`, the whiteout prefix (image-spec layer.md).
    private static let whiteoutPrefix: [UInt8] = Array(".wh.".utf8)
    /// `.wh..wh..opq`, the opaque-folder marker.
    private static let opaqueMarker: [UInt8] = Array(".wh..wh..opq".utf8)

    private func whiteout(parent: [UInt8], base: [UInt8], entry: TarEntry) throws(LayerError) {
        // Nothing lower can be hidden in a folder that does not exist.
        guard let folder = try existingFolder(parent, entry: entry) else { return }
        if base == LayerTree.opaqueMarker {
            try clearLowerEntries(of: folder, path: parent, entry: entry)
            whiteoutsApplied += 1
            return
        }
        guard let (hiddenPath, name) = try hidden(by: base, in: parent, entry: entry) else { return }
        // It hides the lower layers' entry, never what this layer wrote (layer.md: "Files
        // that are present in the same layer as a whiteout file can only be hidden by
        // whiteout files in subsequent layers"): a folder this layer already wrote into
        // loses only its lower entries.
        if written.contains(FNV1a.hash(hiddenPath)) {
            let descriptor = name.withUnsafeBufferPointer { kinglet_tree_open_folder(folder, $0.baseAddress!) }
            guard descriptor >= 0 else { return }
            defer { close(descriptor) }
            try clearLowerEntries(of: descriptor, path: hiddenPath, entry: entry)
            whiteoutsApplied += 1
            return
        }
        cacheStale = true
        if name.withUnsafeBufferPointer({ kinglet_tree_remove(folder, $0.baseAddress!) }) != 0 {
            throw system("remove", entry)
        }
        whiteoutsApplied += 1
    }

    /// What a `.wh.<name>` whiteout in `parent` hides: its path, and its name to pass to the
    /// *at calls; nil for AUFS's own `.wh..wh.` bookkeeping (`.wh..wh.plnk`,
    /// `.wh..wh.aufs`), which hides nothing.
    private func hidden(by base: [UInt8], in parent: [UInt8], entry: TarEntry) throws(LayerError) -> (path: [UInt8], name: [CChar])? {
        let hidden = Array(base.dropFirst(LayerTree.whiteoutPrefix.count))
        if hidden.starts(with: LayerTree.whiteoutPrefix) || hidden.isEmpty { return nil }
        // `.wh..` and `.wh...` would hide "." or "..": the folder itself or its parent.
        if hidden == [UInt8(ascii: ".")] || hidden == [UInt8(ascii: "."), UInt8(ascii: ".")] {
            throw LayerError.pathEscapesRoot(entry: entry.displayName)
        }
        return (parent.isEmpty ? hidden : parent + [UInt8(ascii: "/")] + hidden, try cString(hidden, entry: entry))
    }

    /// overlayfs's format (Documentation/filesystems/overlayfs.rst, "whiteouts and opaque
    /// directories"): `.wh.<name>` becomes a character device 0/0 named `<name>`,
    /// `.wh..wh..opq` the xattr trusted.overlay.opaque=y on its folder. The folders on the
    /// way are made here, as the lower layers have them. What the kernel refuses (no
    /// CAP_MKNOD before Linux 5.8, no CAP_SYS_ADMIN or no trusted xattrs for the opaque
    /// mark) is kept as the tar's `.wh.` file, and `keptWhiteoutFiles` says so.
    private func recordWhiteout(parent: [UInt8], base: [UInt8], entry: TarEntry) throws(LayerError) {
        let folder = try folder(parent, entry: entry)
        if base == LayerTree.opaqueMarker {
            if kinglet_tree_set_opaque(folder) != 0 { try keepWhiteoutFile(folder, base, entry: entry) }
            whiteoutsApplied += 1
            return
        }
        guard let (hiddenPath, name) = try hidden(by: base, in: parent, entry: entry) else { return }
        if written.contains(FNV1a.hash(hiddenPath)) {
            // This layer's own entry stays; a folder of it loses the lower layers' entries.
            var mode: UInt32 = 0
            guard name.withUnsafeBufferPointer({ kinglet_tree_entry_mode(folder, $0.baseAddress!, &mode) }) == 0,
                  mode & KINGLET_TREE_KIND_MASK == KINGLET_TREE_DIRECTORY else { return }
            try makeOpaque(folder, name, entry: entry)
            whiteoutsApplied += 1
            return
        }
        try clear(folder, name, keepingFolder: false, entry: entry)
        if name.withUnsafeBufferPointer({ kinglet_tree_make_whiteout(folder, $0.baseAddress!) }) != 0 {
            try keepWhiteoutFile(folder, base, entry: entry)
        }
        whiteoutsApplied += 1
    }

    /// Marks the folder `name` opaque (or, where the kernel refuses, puts the tar's opaque
    /// marker file in it).
    private func makeOpaque(_ folder: Int32, _ name: [CChar], entry: TarEntry) throws(LayerError) {
        let descriptor = name.withUnsafeBufferPointer { kinglet_tree_open_folder(folder, $0.baseAddress!) }
        guard descriptor >= 0 else { throw system("openat", entry) }
        defer { close(descriptor) }
        if kinglet_tree_set_opaque(descriptor) != 0 { try keepWhiteoutFile(descriptor, LayerTree.opaqueMarker, entry: entry) }
    }

    private func keepWhiteoutFile(_ folder: Int32, _ base: [UInt8], entry: TarEntry) throws(LayerError) {
        let name = try cString(base, entry: entry)
        let descriptor = name.withUnsafeBufferPointer { kinglet_tree_create_file(folder, $0.baseAddress!, 0o600) }
        if descriptor < 0 && kinglet_errno() != EEXIST { throw system("openat", entry) }
        if descriptor >= 0 { close(descriptor) }
        keptWhiteoutFiles = true
    }

    private func isWhiteoutDevice(_ folder: Int32, _ name: [CChar]) -> Bool {
        var info = kinglet_tree_info()
        guard name.withUnsafeBufferPointer({ kinglet_tree_info(folder, $0.baseAddress!, &info) }) == 0 else { return false }
        return LayerTree.isWhiteout(info)
    }

    /// overlayfs's whiteout: a character device 0/0.
    static func isWhiteout(_ info: kinglet_tree_info) -> Bool {
        info.mode & KINGLET_TREE_KIND_MASK == KINGLET_TREE_CHARACTER_DEVICE && info.major == 0 && info.minor == 0
    }

    /// Removes every entry below `folder` this layer did not write, keeping the folders that
    /// lead to entries it did.
    private func clearLowerEntries(of folder: Int32, path: [UInt8], entry: TarEntry) throws(LayerError) {
        var length = 0
        guard let listing = kinglet_tree_list(folder, &length) else { throw system("readdir", entry) }
        var names: [[UInt8]] = []
        var start = 0
        for index in 0..<length where listing[index] == 0 {
            names.append((start..<index).map { UInt8(bitPattern: listing[$0]) })
            start = index + 1
        }
        kinglet_free(listing)
        for child in names {
            let childPath = path.isEmpty ? child : path + [UInt8(ascii: "/")] + child
            let name = try cString(child, entry: entry)
            if !written.contains(FNV1a.hash(childPath)) {
                cacheStale = true
                if name.withUnsafeBufferPointer({ kinglet_tree_remove(folder, $0.baseAddress!) }) != 0 {
                    throw system("remove", entry)
                }
                continue
            }
            let descriptor = name.withUnsafeBufferPointer { kinglet_tree_open_folder(folder, $0.baseAddress!) }
            if descriptor < 0 { continue }  // a file or symlink this layer wrote: kept whole
            do throws(LayerError) {
                try clearLowerEntries(of: descriptor, path: childPath, entry: entry)
            } catch {
                close(descriptor)
                throw error
            }
            close(descriptor)
        }
    }

    // MARK: Hard links

    private func link(_ entry: TarEntry, into folder: Int32, _ name: [CChar]) throws(LayerError) {
        let targetName = String(decoding: entry.linkName, as: UTF8.self)
        guard let targetPath = try normalized(entry.linkName, entry: entry) else {
            throw LayerError.hardLinkTargetMissing(entry: entry.displayName, target: targetName)
        }
        if let path = try normalized(entry.name, entry: entry), path == targetPath { return }
        let slash = targetPath.lastIndex(of: UInt8(ascii: "/"))
        let parent = slash.map { Array(targetPath[..<$0]) } ?? []
        let base = try cString(slash.map { Array(targetPath[($0 + 1)...]) } ?? targetPath, entry: entry)
        // The target's folder is walked like any other: inside the root, no symlinks. The
        // link's own folder stays cached; this walk uses descriptors of its own.
        var mode: UInt32 = 0
        var targetFolder = try walk(parent, from: root, create: false, entry: entry)
        if targetFolder == nil || base.withUnsafeBufferPointer({ kinglet_tree_entry_mode(targetFolder!, $0.baseAddress!, &mode) }) != 0 {
            if let opened = targetFolder, opened != root { close(opened) }
            guard whiteouts == .overlay, try copyUp(targetPath, parent: parent, base: base, entry: entry),
                  let folder = try walk(parent, from: root, create: false, entry: entry) else {
                throw LayerError.hardLinkTargetMissing(entry: entry.displayName, target: targetName)
            }
            targetFolder = folder
            mode = 0o100000
        }
        guard let targetFolder else { throw LayerError.hardLinkTargetMissing(entry: entry.displayName, target: targetName) }
        defer { if targetFolder != root { close(targetFolder) } }
        guard mode & KINGLET_TREE_KIND_MASK != KINGLET_TREE_DIRECTORY else {
            throw LayerError.badHeader(entry: entry.displayName, reason: "hard link to the folder \"" + targetName + "\"")
        }
        try clear(folder, name, keepingFolder: false, entry: entry)
        // linkat without AT_SYMLINK_FOLLOW links a symlink itself, never its target.
        let result = base.withUnsafeBufferPointer { from in
            name.withUnsafeBufferPointer { linkat(targetFolder, from.baseAddress!, folder, $0.baseAddress!, 0) }
        }
        guard result == 0 else { throw system("linkat", entry) }
        entriesApplied += 1
    }

    /// A hard link to a file of a lower layer, in a folder that holds this layer alone: the
    /// file is copied into this layer first (contents, owner, mode, mtime), as overlayfs
    /// copies a lower file up when a link to it is made on the mounted file system. The
    /// link then joins the copy. Returns false when no lower layer has a regular file there.
    private func copyUp(_ targetPath: [UInt8], parent: [UInt8], base: [CChar], entry: TarEntry) throws(LayerError) -> Bool {
        for lower in lowerLayers {
            let lowerRoot = lower.withCString { kinglet_tree_open_root($0) }
            guard lowerRoot >= 0 else { continue }
            defer { close(lowerRoot) }
            let found: Int32?
            do throws(LayerError) {
                found = try walk(parent, from: lowerRoot, create: false, entry: entry)
            } catch {
                return false
            }
            guard let lowerFolder = found else { continue }
            defer { if lowerFolder != lowerRoot { close(lowerFolder) } }
            var info = kinglet_tree_info()
            guard base.withUnsafeBufferPointer({ kinglet_tree_info(lowerFolder, $0.baseAddress!, &info) }) == 0 else { continue }
            guard info.mode & KINGLET_TREE_KIND_MASK == 0o100000 else { return false }
            let source = base.withUnsafeBufferPointer { kinglet_tree_open_file(lowerFolder, $0.baseAddress!) }
            guard source >= 0 else { throw system("openat", entry) }
            defer { close(source) }
            guard let folder = try walk(parent, from: root, create: true, entry: entry) else { return false }
            defer { if folder != root { close(folder) } }
            let copy = base.withUnsafeBufferPointer { kinglet_tree_create_file(folder, $0.baseAddress!, 0o600) }
            guard copy >= 0 else { throw system("openat", entry) }
            defer { close(copy) }
            var buffer = [UInt8](repeating: 0, count: 64 * 1024)
            while true {
                let count = buffer.withUnsafeMutableBytes { read(source, $0.baseAddress, $0.count) }
                if count < 0 && kinglet_errno() == EINTR { continue }
                if count < 0 { throw system("read", entry) }
                if count == 0 { break }
                var offset = 0
                while offset < count {
                    let wrote = buffer.withUnsafeBytes { write(copy, $0.baseAddress! + offset, count - offset) }
                    if wrote < 0 && kinglet_errno() == EINTR { continue }
                    if wrote < 0 { throw system("write", entry) }
                    offset += wrote
                }
            }
            if privileged && fchown(copy, info.uid, info.gid) != 0 { throw system("fchown", entry) }
            if fchmod(copy, mode_t(info.mode & 0o7777)) != 0 { throw system("fchmod", entry) }
            if kinglet_tree_set_times_fd(copy, info.seconds, info.nanoseconds) != 0 { throw system("futimens", entry) }
            mark(targetPath)
            return true
        }
        return false
    }

    /// A folder this layer writes into without an entry of its own takes the owner and mode
    /// the layers below give it, as overlayfs's copy-up of a folder does (the topmost layer
    /// that has a folder decides how the merged one looks).
    private func copyFolderAttributes(_ path: [UInt8], to folder: Int32) {
        for lower in lowerLayers {
            let lowerRoot = lower.withCString { kinglet_tree_open_root($0) }
            guard lowerRoot >= 0 else { continue }
            defer { close(lowerRoot) }
            let entry = TarEntry(kind: .directory, name: path, linkName: [], size: 0, mode: 0, uid: 0, gid: 0, modifiedSeconds: 0,
                                 modifiedNanoseconds: 0, deviceMajor: 0, deviceMinor: 0)
            let found: Int32?
            do throws(LayerError) {
                found = try walk(path, from: lowerRoot, create: false, entry: entry)
            } catch {
                continue
            }
            guard let lowerFolder = found else { continue }
            defer { if lowerFolder != lowerRoot { close(lowerFolder) } }
            var info = kinglet_tree_info()
            guard kinglet_tree_info(lowerFolder, ".", &info) == 0 else { return }
            if privileged { _ = fchown(folder, info.uid, info.gid) }
            // Without privilege the folder must stay writable for the rest of the layer.
            _ = fchmod(folder, mode_t(info.mode & 0o7777 | (privileged ? 0 : 0o700)))
            return
        }
    }

    // MARK: Finishing

    /// Gives the layer's folders their modes and mtimes, deepest first.
    func finish() throws(LayerError) {
        if file >= 0 { close(file); file = -1 }
        for pending in pendingFolders.reversed() {
            let entry = TarEntry(kind: .directory, name: pending.path, linkName: [], size: 0, mode: pending.mode,
                                 uid: 0, gid: 0, modifiedSeconds: pending.seconds, modifiedNanoseconds: pending.nanoseconds,
                                 deviceMajor: 0, deviceMinor: 0)
            // A folder a later entry of this layer replaced or whited out is gone: skip it.
            let descriptor: Int32
            do throws(LayerError) {
                guard let opened = try walk(pending.path, from: root, create: false, entry: entry) else { continue }
                descriptor = opened
            } catch {
                continue
            }
            defer { if descriptor != root { close(descriptor) } }
            if fchmod(descriptor, mode_t(pending.mode)) != 0 { throw system("fchmod", entry) }
            if kinglet_tree_set_times_fd(descriptor, pending.seconds, pending.nanoseconds) != 0 {
                throw system("futimens", entry)
            }
        }
        pendingFolders = []
    }

    // MARK: Paths

    /// The entry's path inside the root: components split on `/`, empty and `.` ones
    /// dropped (so `/etc` and `./etc` are `etc`). Nil for the root itself. A `..` anywhere is
    /// refused rather than resolved: no layer a registry serves needs one.
    /// Longest name and deepest path an entry may have (Linux's PATH_MAX; a path that deep
    /// no tool could remove again). Also bounds what `mark` keeps per entry.
    static let maximumPathBytes = 4096
    static let maximumDepth = 256

    private func normalized(_ raw: [UInt8], entry: TarEntry) throws(LayerError) -> [UInt8]? {
        guard raw.count <= LayerTree.maximumPathBytes else {
            throw LayerError.badHeader(entry: String(decoding: raw.prefix(64), as: UTF8.self) + "...",
                                       reason: "a name longer than \(LayerTree.maximumPathBytes) bytes")
        }
        var depth = 0
        var path: [UInt8] = []
        path.reserveCapacity(raw.count)
        var start = 0
        while start <= raw.count {
            let end = raw[start...].firstIndex(of: UInt8(ascii: "/")) ?? raw.count
            let component = raw[start..<end]
            if component.count == 2 && component.first == UInt8(ascii: ".") && component.last == UInt8(ascii: ".") {
                throw LayerError.pathEscapesRoot(entry: entry.displayName)
            }
            if component.contains(0) {
                throw LayerError.badHeader(entry: entry.displayName, reason: "NUL byte in the name")
            }
            if !component.isEmpty && !(component.count == 1 && component.first == UInt8(ascii: ".")) {
                depth += 1
                guard depth <= LayerTree.maximumDepth else {
                    throw LayerError.badHeader(entry: entry.displayName, reason: "a path deeper than \(LayerTree.maximumDepth) folders")
                }
                if !path.isEmpty { path.append(UInt8(ascii: "/")) }
                path.append(contentsOf: component)
            }
            start = end + 1
        }
        return path.isEmpty ? nil : path
    }

    /// Records `path` and its folders as written by this layer.
    private func mark(_ path: [UInt8]) {
        var current = path
        while written.insert(FNV1a.hash(current)).inserted {
            guard let slash = current.lastIndex(of: UInt8(ascii: "/")) else { return }
            current.removeSubrange(slash...)
        }
    }

    /// The open folder at `path`, created (mode 0755, as tar does) where missing.
    private func folder(_ path: [UInt8], entry: TarEntry) throws(LayerError) -> Int32 {
        dropStaleCache()
        if path.isEmpty { return root }
        if cachedFolder >= 0 && cachedPath == path { return cachedFolder }
        // A sub-folder of the cached one (tar order: a folder, then what is inside) is walked
        // from there.
        var start = root
        var rest = path[...]
        if cachedFolder >= 0 && path.count > cachedPath.count && path.starts(with: cachedPath)
            && path[cachedPath.count] == UInt8(ascii: "/") {
            start = cachedFolder
            rest = path[(cachedPath.count + 1)...]
        }
        let opened = try walk(Array(rest), from: start, create: true, entry: entry, prefix: start == root ? [] : cachedPath)!
        if cachedFolder >= 0 { close(cachedFolder) }
        cachedFolder = opened
        cachedPath = path
        return opened
    }

    /// The open folder at `path` if it exists (never creating one).
    private func existingFolder(_ path: [UInt8], entry: TarEntry) throws(LayerError) -> Int32? {
        dropStaleCache()
        if path.isEmpty { return root }
        if cachedFolder >= 0 && cachedPath == path { return cachedFolder }
        guard let opened = try walk(path, from: root, create: false, entry: entry) else { return nil }
        if cachedFolder >= 0 { close(cachedFolder) }
        cachedFolder = opened
        cachedPath = path
        return opened
    }

    private func dropStaleCache() {
        guard cacheStale else { return }
        cacheStale = false
        if cachedFolder >= 0 { close(cachedFolder) }
        cachedFolder = -1
        cachedPath = []
    }

    /// Opens `path` below `start` one component at a time with O_NOFOLLOW. Returns a new
    /// descriptor (or `start` itself for an empty path, which the caller must not close), or
    /// nil when a component is missing and `create` is false.
    private func walk(_ path: [UInt8], from start: Int32, create: Bool, entry: TarEntry,
                      prefix: [UInt8] = []) throws(LayerError) -> Int32? {
        var current = start
        var componentStart = 0
        func release() { if current != start { close(current) } }
        while componentStart < path.count {
            let end = path[componentStart...].firstIndex(of: UInt8(ascii: "/")) ?? path.count
            let name = try cString(Array(path[componentStart..<end]), entry: entry)
            var next = name.withUnsafeBufferPointer { kinglet_tree_open_folder(current, $0.baseAddress!) }
            if next < 0 {
                let error = kinglet_errno()
                let reached = prefix.isEmpty ? Array(path[..<end]) : prefix + [UInt8(ascii: "/")] + path[..<end]
                let reachedName = String(decoding: reached, as: UTF8.self)
                if error == ENOENT {
                    guard create else { release(); return nil }
                    if name.withUnsafeBufferPointer({ mkdirat(current, $0.baseAddress!, 0o755) }) != 0 && kinglet_errno() != EEXIST {
                        let code = kinglet_errno()
                        release()
                        throw LayerError.system(call: "mkdirat", entry: entry.displayName, errno: code)
                    }
                    mark(reached)
                    next = name.withUnsafeBufferPointer { kinglet_tree_open_folder(current, $0.baseAddress!) }
                    if next >= 0 && !lowerLayers.isEmpty { copyFolderAttributes(reached, to: next) }
                }
                if next < 0 && create && whiteouts == .overlay && isWhiteoutDevice(current, name) {
                    // A folder this layer whited out and now writes into: a new, opaque one.
                    if name.withUnsafeBufferPointer({ unlinkat(current, $0.baseAddress!, 0) }) != 0
                        || name.withUnsafeBufferPointer({ mkdirat(current, $0.baseAddress!, 0o755) }) != 0 {
                        let code = kinglet_errno()
                        release()
                        throw LayerError.system(call: "mkdirat", entry: entry.displayName, errno: code)
                    }
                    mark(prefix.isEmpty ? Array(path[..<end]) : prefix + [UInt8(ascii: "/")] + path[..<end])
                    next = name.withUnsafeBufferPointer { kinglet_tree_open_folder(current, $0.baseAddress!) }
                    if next >= 0 && kinglet_tree_set_opaque(next) != 0 {
                        do throws(LayerError) {
                            try keepWhiteoutFile(next, LayerTree.opaqueMarker, entry: entry)
                        } catch {
                            close(next)
                            release()
                            throw error
                        }
                    }
                }
                if next < 0 {
                    let code = kinglet_errno()
                    var mode: UInt32 = 0
                    let known = name.withUnsafeBufferPointer { kinglet_tree_entry_mode(current, $0.baseAddress!, &mode) } == 0
                    release()
                    if known && mode & KINGLET_TREE_KIND_MASK == KINGLET_TREE_SYMLINK {
                        throw LayerError.symlinkInPath(entry: entry.displayName, symlink: reachedName)
                    }
                    if known && mode & KINGLET_TREE_KIND_MASK != KINGLET_TREE_DIRECTORY {
                        throw LayerError.notAFolder(entry: entry.displayName, path: reachedName)
                    }
                    throw LayerError.system(call: "openat", entry: entry.displayName, errno: code)
                }
            }
            release()
            current = next
            componentStart = end + 1
        }
        return current
    }

    // MARK: Helpers

    /// Makes room for a new entry: removes what is at `name`, unless it is a folder and
    /// `keepingFolder` (a folder entry over a folder merges). Returns whether a folder was kept.
    @discardableResult
    private func clear(_ folder: Int32, _ name: [CChar], keepingFolder: Bool, entry: TarEntry) throws(LayerError) -> Bool {
        var mode: UInt32 = 0
        guard name.withUnsafeBufferPointer({ kinglet_tree_entry_mode(folder, $0.baseAddress!, &mode) }) == 0 else {
            if kinglet_errno() == ENOENT { return false }
            throw system("fstatat", entry)
        }
        let isFolder = mode & KINGLET_TREE_KIND_MASK == KINGLET_TREE_DIRECTORY
        if isFolder && keepingFolder { return true }
        let removed = name.withUnsafeBufferPointer {
            isFolder ? kinglet_tree_remove(folder, $0.baseAddress!) : unlinkat(folder, $0.baseAddress!, 0)
        }
        if isFolder { cacheStale = true }
        guard removed == 0 else { throw system(isFolder ? "remove" : "unlinkat", entry) }
        return false
    }

    private func setOwner(_ folder: Int32, _ name: [CChar], _ entry: TarEntry) throws(LayerError) {
        guard privileged else { return }
        if name.withUnsafeBufferPointer({ kinglet_tree_set_owner(folder, $0.baseAddress!, entry.uid, entry.gid) }) != 0 {
            throw system("fchownat", entry)
        }
    }

    private func setTimes(_ folder: Int32, _ name: [CChar], _ entry: TarEntry) throws(LayerError) {
        if name.withUnsafeBufferPointer({
            kinglet_tree_set_times(folder, $0.baseAddress!, entry.modifiedSeconds, entry.modifiedNanoseconds)
        }) != 0 {
            throw system("utimensat", entry)
        }
    }

    private func cString(_ bytes: [UInt8], entry: TarEntry) throws(LayerError) -> [CChar] {
        var text: [CChar] = []
        text.reserveCapacity(bytes.count + 1)
        for byte in bytes {
            guard byte != 0 else { throw LayerError.badHeader(entry: entry.displayName, reason: "NUL byte in a name") }
            text.append(CChar(bitPattern: byte))
        }
        text.append(0)
        return text
    }

    private func system(_ call: String, _ entry: TarEntry?) -> LayerError {
        LayerError.system(call: call, entry: entry?.displayName ?? "", errno: kinglet_errno())
    }
}
