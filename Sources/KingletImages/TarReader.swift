/// A push parser of a tar stream: bytes go in in any chunking, members come out to a
/// `LayerTree` as soon as their header is complete, and file data is passed through as it
/// arrives. It holds one 512-byte header and, at most, one pax header or GNU long name.
struct TarReader {
    private enum Phase {
        case header
        case data
        case padding
        /// After the end-of-archive block: what follows (the zero blocks that fill the last
        /// record) is ignored.
        case ended
    }

    /// Where the current member's data goes.
    private enum Sink {
        case file
        case skip
        case paxHeader
        case longName
        case longLink
    }

    private var phase = Phase.header
    private var block = [UInt8](repeating: 0, count: TarHeader.blockSize)
    private var blockFill = 0
    private var sink = Sink.skip
    private var remaining: UInt64 = 0
    private var padding = 0
    private var metadata: [UInt8] = []
    private var overrides = TarOverrides()
    /// The name of the member whose data is being read, for errors.
    private var current: String?
    /// Uncompressed bytes read so far: header positions in errors.
    private(set) var offset: UInt64 = 0
    private(set) var sawEndOfArchive = false
    /// Whether the last header read carried the `ustar` magic (POSIX or GNU).
    private(set) var headerHasMagic = false

    mutating func consume(_ bytes: UnsafeRawBufferPointer, into tree: LayerTree) throws(LayerError) {
        var index = 0
        while index < bytes.count {
            switch phase {
            case .ended:
                offset += UInt64(bytes.count - index)
                return
            case .header:
                let take = min(TarHeader.blockSize - blockFill, bytes.count - index)
                for step in 0..<take { block[blockFill + step] = bytes[index + step] }
                blockFill += take
                index += take
                offset += UInt64(take)
                if blockFill == TarHeader.blockSize {
                    blockFill = 0
                    try readHeader(headerOffset: offset - UInt64(TarHeader.blockSize), tree: tree)
                }
            case .data:
                let take = Int(min(UInt64(bytes.count - index), remaining))
                let piece = UnsafeRawBufferPointer(rebasing: bytes[index..<(index + take)])
                switch sink {
                case .file: try tree.writeFileData(piece)
                case .skip: break
                case .paxHeader, .longName, .longLink: metadata.append(contentsOf: piece)
                }
                remaining -= UInt64(take)
                index += take
                offset += UInt64(take)
                if remaining == 0 { try endOfData(tree: tree) }
            case .padding:
                let take = min(padding, bytes.count - index)
                padding -= take
                index += take
                offset += UInt64(take)
                if padding == 0 { phase = .header }
            }
        }
    }

    /// Checks that the stream did not stop inside a member. A stream that ends cleanly
    /// between members without the end-of-archive blocks is accepted, as Go's archive/tar
    /// (and so containerd) accepts it: the diffID check is what proves a layer whole.
    func finish() throws(LayerError) {
        switch phase {
        case .ended:
            return
        case .header:
            if blockFill != 0 { throw LayerError.truncatedTar(entry: nil) }
            if !overrides.isEmpty { throw LayerError.truncatedTar(entry: overrides.path.map { String(decoding: $0, as: UTF8.self) }) }
        case .data, .padding:
            throw LayerError.truncatedTar(entry: current)
        }
    }

    private mutating func readHeader(headerOffset: UInt64, tree: LayerTree) throws(LayerError) {
        if TarHeader.isZeroBlock(block) {
            phase = .ended
            sawEndOfArchive = true
            return
        }
        headerHasMagic = TarHeader.hasMagic(block)
        let rawName = TarHeader.name(block)
        let headerName = String(decoding: rawName, as: UTF8.self)
        guard TarHeader.checksumMatches(block) else {
            throw LayerError.badHeaderChecksum(entry: headerName, offset: headerOffset)
        }
        let type = block[TarHeader.typeOffset]
        let headerSize = try TarHeader.number(block, TarHeader.sizeField, entry: headerName)

        switch type {
        case UInt8(ascii: "x"):
            try readMetadata(.paxHeader, size: headerSize, entry: headerName)
            return
        case UInt8(ascii: "g"):
            // Global pax records (git archive writes a comment there) change nothing we keep.
            startData(.skip, size: headerSize, entry: headerName)
            return
        case UInt8(ascii: "L"):
            try readMetadata(.longName, size: headerSize, entry: headerName)
            return
        case UInt8(ascii: "K"):
            try readMetadata(.longLink, size: headerSize, entry: headerName)
            return
        default:
            break
        }

        let name = overrides.path ?? rawName
        let entryName = String(decoding: name, as: UTF8.self)
        let kind: TarEntry.Kind
        var hasData = false
        switch type {
        case UInt8(ascii: "0"), 0, UInt8(ascii: "7"):
            // A V7 archive marks folders only by the trailing slash.
            if type != UInt8(ascii: "7") && name.last == UInt8(ascii: "/") {
                kind = .directory
            } else {
                kind = .file
                hasData = true
            }
        case UInt8(ascii: "1"): kind = .hardLink
        case UInt8(ascii: "2"): kind = .symlink
        case UInt8(ascii: "3"): kind = .characterDevice
        case UInt8(ascii: "4"): kind = .blockDevice
        case UInt8(ascii: "5"): kind = .directory
        case UInt8(ascii: "6"): kind = .fifo
        case UInt8(ascii: "D"):
            // A GNU dumpdir: a folder whose data lists its contents for incremental dumps.
            kind = .directory
        case UInt8(ascii: "V"):
            // A GNU volume label names the archive, not a file.
            overrides = TarOverrides()
            startData(.skip, size: headerSize, entry: headerName)
            return
        case UInt8(ascii: "S"):
            throw LayerError.unsupportedEntry(entry: entryName, kind: "GNU sparse file (type S)")
        case UInt8(ascii: "M"):
            throw LayerError.unsupportedEntry(entry: entryName, kind: "GNU multi-volume continuation (type M)")
        default:
            throw LayerError.unsupportedEntry(entry: entryName, kind: "tar type '" + String(decoding: [type], as: UTF8.self) + "'")
        }

        let mtime = try TarHeader.number(block, TarHeader.mtimeField, entry: entryName)
        let uid = try TarHeader.number(block, TarHeader.uidField, entry: entryName)
        let gid = try TarHeader.number(block, TarHeader.gidField, entry: entryName)
        let mode = try TarHeader.number(block, TarHeader.modeField, entry: entryName)
        var major: UInt64 = 0
        var minor: UInt64 = 0
        if kind == .characterDevice || kind == .blockDevice {
            major = try TarHeader.number(block, TarHeader.majorField, entry: entryName)
            minor = try TarHeader.number(block, TarHeader.minorField, entry: entryName)
        }
        guard uid <= UInt64(UInt32.max), gid <= UInt64(UInt32.max), major <= UInt64(UInt32.max), minor <= UInt64(UInt32.max),
              mtime <= UInt64(Int64.max) else {
            throw LayerError.badHeader(entry: entryName, reason: "uid, gid, device number or mtime out of range")
        }
        let modified = overrides.modified ?? (seconds: Int64(mtime), nanoseconds: 0)
        let entry = TarEntry(
            kind: kind, name: name, linkName: overrides.linkPath ?? TarHeader.text(block, TarHeader.linkNameField),
            size: hasData ? (overrides.size ?? headerSize) : 0,
            mode: UInt32(truncatingIfNeeded: mode) & 0o7777,
            uid: overrides.uid ?? UInt32(uid), gid: overrides.gid ?? UInt32(gid),
            modifiedSeconds: modified.seconds, modifiedNanoseconds: modified.nanoseconds,
            deviceMajor: UInt32(major), deviceMinor: UInt32(minor))
        overrides = TarOverrides()

        if kind == .file {
            try tree.beginFile(entry)
            startData(.file, size: entry.size, entry: entryName)
            if remaining == 0 { try endOfData(tree: tree) }
        } else {
            try tree.apply(entry)
            // Link, device, folder and FIFO headers carry no data, whatever their size field
            // says (Go's archive/tar reads them so); a dumpdir's listing is skipped.
            startData(.skip, size: type == UInt8(ascii: "D") ? headerSize : 0, entry: entryName)
        }
    }

    private mutating func readMetadata(_ target: Sink, size: UInt64, entry: String) throws(LayerError) {
        guard size <= UInt64(TarHeader.metadataLimit) else {
            throw LayerError.metadataTooLarge(entry: entry, limit: TarHeader.metadataLimit)
        }
        metadata.removeAll(keepingCapacity: false)
        metadata.reserveCapacity(Int(size))
        startData(target, size: size, entry: entry)
        if remaining == 0 { phase = .header; try finishMetadata(entry: entry) }
    }

    private mutating func startData(_ target: Sink, size: UInt64, entry: String) {
        sink = target
        remaining = size
        padding = Int((UInt64(TarHeader.blockSize) - size % UInt64(TarHeader.blockSize)) % UInt64(TarHeader.blockSize))
        current = entry
        phase = size > 0 ? .data : .header
    }

    private mutating func endOfData(tree: LayerTree) throws(LayerError) {
        phase = padding > 0 ? .padding : .header
        switch sink {
        case .file: try tree.endFile()
        case .skip: break
        case .paxHeader, .longName, .longLink: try finishMetadata(entry: current ?? "")
        }
    }

    private mutating func finishMetadata(entry: String) throws(LayerError) {
        switch sink {
        case .paxHeader:
            try TarHeader.readPax(metadata, into: &overrides, entry: entry)
        case .longName, .longLink:
            // GNU writes the name NUL-terminated inside the member's data.
            var end = metadata.count
            while end > 0 && metadata[end - 1] == 0 { end -= 1 }
            let value = Array(metadata[0..<end])
            // A pax path beats a GNU long name; both in one archive is unusual.
            if sink == .longName {
                if overrides.path == nil { overrides.path = value }
            } else if overrides.linkPath == nil {
                overrides.linkPath = value
            }
        case .file, .skip:
            break
        }
        metadata = []
    }
}
