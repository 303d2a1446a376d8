import CKingletSystem

/// Reading a whole (small) file in one go: config files, manifests, kernel and cgroup
/// files, container logs. Regular files, procfs and cgroupfs never block for long, so
/// this runs on the loop directly.
public enum WholeFile {
    /// The file's first `limit` bytes (all of it when shorter).
    public static func read(_ path: String, limit: Int) throws(WholeFileError) -> [UInt8] {
        let fd = kinglet_open(path, O_RDONLY, 0)
        if fd < 0 { throw WholeFileError(call: "open", errno: kinglet_errno()) }
        defer { _ = close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while bytes.count < limit {
            let wanted = min(chunk.count, limit - bytes.count)
            let count = chunk.withUnsafeMutableBytes { CKingletSystem.read(fd, $0.baseAddress, wanted) }
            if count == 0 { break }
            if count < 0 {
                if kinglet_errno() == EINTR { continue }
                throw WholeFileError(call: "read", errno: kinglet_errno())
            }
            bytes.append(contentsOf: chunk[0..<count])
        }
        return bytes
    }

    /// The file's text (its first `limit` bytes, invalid UTF-8 repaired), or nil when it
    /// cannot be read.
    public static func text(_ path: String, limit: Int) -> String? {
        guard let bytes = try? read(path, limit: limit) else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// A failed open(2) or read(2) of a whole file.
public struct WholeFileError: Error, Equatable, Sendable {
    /// "open" or "read".
    public let call: String
    public let errno: Int32

    public init(call: String, errno: Int32) {
        self.call = call
        self.errno = errno
    }

    /// strerror(errno).
    public var reason: String { String(cString: kinglet_strerror(errno)) }
}
