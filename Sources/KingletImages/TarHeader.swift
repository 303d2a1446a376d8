/// One tar member as the unpacker applies it, with the pax and GNU long-name overrides of
/// the headers before it already folded in.
struct TarEntry {
    enum Kind: Equatable {
        case file
        case hardLink
        case symlink
        case characterDevice
        case blockDevice
        case directory
        case fifo
    }

    var kind: Kind
    /// The name as the archive spells it (a leading `/` or `./` still there).
    var name: [UInt8]
    /// A symlink's target, or a hard link's target entry name.
    var linkName: [UInt8]
    var size: UInt64
    /// The permission bits and set-id/sticky bits (07777).
    var mode: UInt32
    var uid: UInt32
    var gid: UInt32
    var modifiedSeconds: Int64
    var modifiedNanoseconds: Int64
    var deviceMajor: UInt32
    var deviceMinor: UInt32

    var displayName: String { String(decoding: name, as: UTF8.self) }
}

/// What pax `x` headers and GNU `L`/`K` members say about the member that follows them.
struct TarOverrides {
    var path: [UInt8]?
    var linkPath: [UInt8]?
    var size: UInt64?
    var modified: (seconds: Int64, nanoseconds: Int64)?
    var uid: UInt32?
    var gid: UInt32?

    var isEmpty: Bool {
        path == nil && linkPath == nil && size == nil && modified == nil && uid == nil && gid == nil
    }
}

/// The 512-byte tar header block: ustar (POSIX.1-1988), its GNU variant, and pax
/// (POSIX.1-2001) extended records. Field offsets are those of the ustar table in POSIX
/// `pax`, "ustar Interchange Format".
enum TarHeader {
    static let blockSize = 512

    static let nameField = 0..<100
    static let modeField = 100..<108
    static let uidField = 108..<116
    static let gidField = 116..<124
    static let sizeField = 124..<136
    static let mtimeField = 136..<148
    static let checksumField = 148..<156
    static let typeOffset = 156
    static let linkNameField = 157..<257
    static let magicField = 257..<263
    static let majorField = 329..<337
    static let minorField = 337..<345
    static let prefixField = 345..<500

    static func isZeroBlock(_ block: [UInt8]) -> Bool {
        for byte in block where byte != 0 { return false }
        return true
    }

    /// The checksum is the sum of the header's bytes with its own field read as spaces.
    /// Some historic tars summed signed chars; both are accepted, as GNU tar does.
    static func checksumMatches(_ block: [UInt8]) -> Bool {
        guard let stored = try? number(block, checksumField, entry: "") else { return false }
        var unsigned: Int64 = 0
        var signed: Int64 = 0
        for index in 0..<blockSize {
            let byte = checksumField.contains(index) ? UInt8(ascii: " ") : block[index]
            unsigned += Int64(byte)
            signed += Int64(Int8(bitPattern: byte))
        }
        return Int64(stored) == unsigned || Int64(stored) == signed
    }

    /// A text field: its bytes up to the first NUL.
    static func text(_ block: [UInt8], _ field: Range<Int>) -> [UInt8] {
        var end = field.lowerBound
        while end < field.upperBound && block[end] != 0 { end += 1 }
        return Array(block[field.lowerBound..<end])
    }

    /// The member's name: POSIX ustar joins `prefix/name`; the GNU format keeps other data
    /// (access and change times) where the prefix would be, so its magic turns that off.
    static func name(_ block: [UInt8]) -> [UInt8] {
        let name = text(block, nameField)
        guard isPOSIX(block) else { return name }
        let prefix = text(block, prefixField)
        if prefix.isEmpty { return name }
        return prefix + [UInt8(ascii: "/")] + name
    }

    /// `ustar\0` (POSIX) as opposed to `ustar  \0` (GNU) or nothing (V7).
    static func isPOSIX(_ block: [UInt8]) -> Bool {
        let magic: [UInt8] = [0x75, 0x73, 0x74, 0x61, 0x72, 0x00]
        return Array(block[magicField]) == magic
    }

    /// `ustar` at the magic field: a POSIX or GNU header (only V7 archives lack it).
    static func hasMagic(_ block: [UInt8]) -> Bool {
        Array(block[magicField.lowerBound..<(magicField.lowerBound + 5)]) == Array("ustar".utf8)
    }

    /// A numeric field: octal digits (space or NUL padded), or GNU's base-256 form (top bit
    /// of the first byte set) for values octal cannot hold, such as sizes from 8 GiB.
    static func number(_ block: [UInt8], _ field: Range<Int>, entry: String) throws(LayerError) -> UInt64 {
        let first = block[field.lowerBound]
        if first & 0x80 != 0 {
            guard first == 0x80 else {
                throw LayerError.badHeader(entry: entry, reason: "negative base-256 number at byte " + field.lowerBound.description)
            }
            var value: UInt64 = 0
            for index in (field.lowerBound + 1)..<field.upperBound {
                guard value >> 56 == 0 else {
                    throw LayerError.badHeader(entry: entry, reason: "base-256 number too large at byte " + field.lowerBound.description)
                }
                value = value << 8 | UInt64(block[index])
            }
            return value
        }
        var index = field.lowerBound
        while index < field.upperBound && (block[index] == UInt8(ascii: " ") || block[index] == 0) { index += 1 }
        var value: UInt64 = 0
        while index < field.upperBound {
            let byte = block[index]
            if byte == UInt8(ascii: " ") || byte == 0 { break }
            guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "7") else {
                throw LayerError.badHeader(entry: entry, reason: "field at byte " + field.lowerBound.description + " is not an octal number")
            }
            value = value << 3 | UInt64(byte - UInt8(ascii: "0"))
            index += 1
        }
        return value
    }

    /// The largest pax extended header or GNU long name kept in memory. Real ones hold a
    /// path or two (PATH_MAX is 4096); a larger one is a broken or hostile archive.
    static let metadataLimit = 1 << 20

    /// Reads the records of a pax `x` header: `"<length> <key>=<value>\n"`, the length
    /// counting the whole record (POSIX `pax`, "pax Extended Header").
    static func readPax(_ data: [UInt8], into overrides: inout TarOverrides, entry: String) throws(LayerError) {
        var index = 0
        while index < data.count {
            // Padding NULs after the last record are tolerated, as GNU tar does.
            if data[index] == 0 { break }
            var length = 0
            var cursor = index
            while cursor < data.count && data[cursor] >= UInt8(ascii: "0") && data[cursor] <= UInt8(ascii: "9") {
                length = length * 10 + Int(data[cursor] - UInt8(ascii: "0"))
                guard length <= data.count else { throw paxError(entry, "record length beyond the header") }
                cursor += 1
            }
            guard cursor > index, cursor < data.count, data[cursor] == UInt8(ascii: " "),
                  length > cursor - index + 1, index + length <= data.count,
                  data[index + length - 1] == UInt8(ascii: "\n") else {
                throw paxError(entry, "malformed record at byte " + index.description)
            }
            let record = data[(cursor + 1)..<(index + length - 1)]
            guard let equals = record.firstIndex(of: UInt8(ascii: "=")) else {
                throw paxError(entry, "record without '=' at byte " + index.description)
            }
            let key = String(decoding: record[record.startIndex..<equals], as: UTF8.self)
            let value = Array(record[(equals + 1)...])
            try apply(key: key, value: value, to: &overrides, entry: entry)
            index += length
        }
    }

    private static func apply(key: String, value: [UInt8], to overrides: inout TarOverrides, entry: String) throws(LayerError) {
        // An empty value removes the key's override (POSIX: "the field shall be deleted").
        switch key {
        case "path":
            overrides.path = value.isEmpty ? nil : value
        case "linkpath":
            overrides.linkPath = value.isEmpty ? nil : value
        case "size":
            overrides.size = nil
            if !value.isEmpty { overrides.size = try decimal(value, key: key, entry: entry) }
        case "uid":
            overrides.uid = nil
            if !value.isEmpty { overrides.uid = try id(value, key: key, entry: entry) }
        case "gid":
            overrides.gid = nil
            if !value.isEmpty { overrides.gid = try id(value, key: key, entry: entry) }
        case "mtime":
            overrides.modified = nil
            if !value.isEmpty { overrides.modified = try time(value, entry: entry) }
        default:
            // A sparse file's data is a map of holes, not the file: writing it would be wrong.
            if key.utf8.starts(with: "GNU.sparse.".utf8) {
                throw LayerError.unsupportedEntry(entry: entry, kind: "GNU sparse file (pax " + key + ")")
            }
            // atime, ctime, uname, gname, charset, comment, SCHILY.xattr.* and vendor keys:
            // nothing the flattened tree keeps.
        }
    }

    private static func decimal(_ value: [UInt8], key: String, entry: String) throws(LayerError) -> UInt64 {
        var result: UInt64 = 0
        for byte in value {
            guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"), result <= (UInt64.max - 9) / 10 else {
                throw paxError(entry, key + " is not a decimal number")
            }
            result = result * 10 + UInt64(byte - UInt8(ascii: "0"))
        }
        return result
    }

    private static func id(_ value: [UInt8], key: String, entry: String) throws(LayerError) -> UInt32 {
        let number = try decimal(value, key: key, entry: entry)
        guard number <= UInt64(UInt32.max) else { throw paxError(entry, key + " out of range") }
        return UInt32(number)
    }

    /// `mtime=<seconds>[.<fraction>]`, possibly negative.
    private static func time(_ value: [UInt8], entry: String) throws(LayerError) -> (seconds: Int64, nanoseconds: Int64) {
        var bytes = value[...]
        let negative = bytes.first == UInt8(ascii: "-")
        if negative { bytes = bytes.dropFirst() }
        let point = bytes.firstIndex(of: UInt8(ascii: ".")) ?? bytes.endIndex
        let whole = Array(bytes[bytes.startIndex..<point])
        guard !whole.isEmpty else { throw paxError(entry, "mtime is not a number") }
        let seconds = try decimal(whole, key: "mtime", entry: entry)
        guard seconds <= UInt64(Int64.max) else { throw paxError(entry, "mtime out of range") }
        var nanoseconds: Int64 = 0
        if point < bytes.endIndex {
            var digits = 0
            for byte in bytes[(point + 1)...] {
                guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else { throw paxError(entry, "mtime is not a number") }
                if digits < 9 {
                    nanoseconds = nanoseconds * 10 + Int64(byte - UInt8(ascii: "0"))
                    digits += 1
                }
            }
            while digits < 9 { nanoseconds *= 10; digits += 1 }
        }
        if !negative { return (Int64(seconds), nanoseconds) }
        if nanoseconds == 0 { return (-Int64(seconds), 0) }
        return (-Int64(seconds) - 1, 1_000_000_000 - nanoseconds)
    }

    private static func paxError(_ entry: String, _ reason: String) -> LayerError {
        LayerError.badHeader(entry: entry, reason: "pax header: " + reason)
    }
}
