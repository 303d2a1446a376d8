import CKingletSystem
import KingletCore

/// Whole-file reads (WholeFile, with the runtime's errors) and small writes, for cgroup
/// files and log files. Regular files and cgroupfs never block for long, so these run on
/// the loop directly.
enum FileIO {
    /// The file's bytes, at most `limit` of them.
    static func read(_ path: String, limit: Int = 64 * 1024 * 1024) throws(SystemError) -> [UInt8] {
        do {
            return try WholeFile.read(path, limit: limit)
        } catch {
            throw SystemError(call: error.call, path: path, errno: error.errno)
        }
    }

    /// The file's text, or nil when it cannot be read.
    static func text(_ path: String) -> String? { WholeFile.text(path, limit: 64 * 1024 * 1024) }

    /// Writes `text` to an existing file in one write(2), as cgroup files require.
    static func write(_ text: String, to path: String) throws(SystemError) {
        let fd = kinglet_open(path, O_WRONLY, 0)
        if fd < 0 { throw SystemError.last("open", path: path) }
        defer { _ = close(fd) }
        var text = text
        let written = text.withUTF8 { CKingletSystem.write(fd, $0.baseAddress, $0.count) }
        if written < 0 { throw SystemError.last("write", path: path) }
    }

    /// Writes all of `bytes` to `fd`, retrying short writes. Returns nil, or the errno of
    /// the write that failed.
    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Int32? {
        var offset = 0
        while offset < bytes.count {
            let written = CKingletSystem.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 {
                let error = kinglet_errno()
                if error == EINTR { continue }
                return error
            }
            offset += written
        }
        return nil
    }

    /// The folder part of a path ("/a/b" → "/a", "b" → ".").
    static func folder(of path: String) -> String {
        var utf8 = Array(path.utf8)
        while utf8.count > 1 && utf8.last == UInt8(ascii: "/") { utf8.removeLast() }
        guard let slash = utf8.lastIndex(of: UInt8(ascii: "/")) else { return "." }
        if slash == 0 { return "/" }
        return String(decoding: utf8[0..<slash], as: UTF8.self)
    }
}
