import CKingletSystem

/// Reads a container's CRI log for `kinglet logs <pod> [-c container]`: every message in
/// its files, rotated ones first, with partial records joined into whole lines.
public enum ContainerLogReader {
    /// The container's log files that exist, oldest first: `name.log.N` ... `name.log.1`,
    /// `name.log`.
    public static func files(logPath: String) -> [String] {
        var rotated: [String] = []
        var index = 1
        // Rotation keeps the numbers contiguous; the bound only guards a strange folder.
        while index <= 1000 {
            let path = RotatingLogFile.rotatedPath(logPath, index)
            var inode: UInt64 = 0
            if kinglet_path_inode(path, &inode) != 0 { break }
            rotated.append(path)
            index += 1
        }
        return rotated.reversed() + [logPath]
    }

    /// Every message in the container's log files, oldest first. Lines that are not in the
    /// CRI format are skipped.
    public static func messages(logPath: String) throws(SystemError) -> [LogMessage] {
        var assembler = LogMessageAssembler()
        var messages: [LogMessage] = []
        for path in files(logPath: logPath) {
            let bytes: [UInt8]
            do {
                bytes = try FileIO.read(path)
            } catch {
                // A rotated file may vanish under us when the writer rotates again.
                if path != logPath && error.errno == ENOENT { continue }
                throw error
            }
            var splitter = LogLineSplitter()
            bytes.withUnsafeBytes { raw in
                splitter.add(raw) { line in
                    if let record = CRILogRecord(line: line), let message = assembler.add(record) { messages.append(message) }
                }
            }
        }
        return messages + assembler.flush()
    }

    /// The messages as `kinglet logs` prints them.
    public static func render(_ messages: [LogMessage], timestamps: Bool) -> String {
        var text = ""
        for message in messages { text += message.formatted(timestamps: timestamps) }
        return text
    }
}

/// Cuts a byte stream into lines, keeping an incomplete last line until its newline comes.
struct LogLineSplitter {
    private var carry: [UInt8] = []

    /// Calls `line` for every complete line in what was held plus `bytes` (without the
    /// newline). The line's bytes are only valid during the call.
    mutating func add(_ bytes: UnsafeRawBufferPointer, _ line: (UnsafeRawBufferPointer) -> Void) {
        var start = 0
        while let newline = bytes[start...].firstIndex(of: UInt8(ascii: "\n")) {
            let piece = UnsafeRawBufferPointer(rebasing: bytes[start..<newline])
            if carry.isEmpty {
                line(piece)
            } else {
                carry.append(contentsOf: piece)
                carry.withUnsafeBytes { line($0) }
                carry.removeAll(keepingCapacity: true)
            }
            start = newline + 1
        }
        carry.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[start...]))
    }
}
