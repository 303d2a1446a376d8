import CKingletSystem

/// An append-only log file capped in size: before a record would take it past
/// `maxBytesPerFile`, `name.log` becomes `name.log.1` (and `.1` becomes `.2`, ...; the
/// oldest beyond `maxFiles` is deleted) and a fresh `name.log` is started. Records are
/// never split across files, so a reader only ever sees whole lines in a file.
final class RotatingLogFile {
    let path: String
    private let limits: LogLimits
    private var fd: Int32
    private var size: Int64
    /// The last write or rotation failure; records are dropped rather than stopping the
    /// container (a full disk must not block the loop or kill the pod).
    private(set) var lastError: SystemError? = nil

    init(path: String, limits: LogLimits) throws(SystemError) {
        self.path = path
        self.limits = limits
        fd = try RotatingLogFile.openForAppend(path)
        size = max(kinglet_file_size(fd), 0)
    }

    deinit { close() }

    /// Appends one whole record.
    func append(_ record: UnsafeRawBufferPointer) {
        if fd < 0 { return }
        if size > 0 && size + Int64(record.count) > limits.maxBytesPerFile {
            rotate()
            if fd < 0 { return }
        }
        if let error = FileIO.writeAll(fd, record) {
            lastError = SystemError(call: "write", path: path, errno: error)
            // What went in is unknown: count from the file again.
            size = max(kinglet_file_size(fd), 0)
            return
        }
        size += Int64(record.count)
    }

    func close() {
        if fd >= 0 { _ = CKingletSystem.close(fd) }
        fd = -1
    }

    private func rotate() {
        _ = CKingletSystem.close(fd)
        fd = -1
        if limits.maxFiles > 1 {
            _ = unlink(RotatingLogFile.rotatedPath(path, limits.maxFiles - 1))
            var index = limits.maxFiles - 2
            while index >= 1 {
                // A missing older file is normal early on.
                _ = rename(RotatingLogFile.rotatedPath(path, index), RotatingLogFile.rotatedPath(path, index + 1))
                index -= 1
            }
            if rename(path, RotatingLogFile.rotatedPath(path, 1)) != 0 {
                lastError = SystemError.last("rename", path: path)
            }
        } else if unlink(path) != 0 {
            lastError = SystemError.last("unlink", path: path)
        }
        do {
            fd = try RotatingLogFile.openForAppend(path)
            size = max(kinglet_file_size(fd), 0)
        } catch {
            lastError = error
        }
    }

    /// `name.log.<index>`.
    static func rotatedPath(_ path: String, _ index: Int) -> String {
        path + "." + String(index)
    }

    private static func openForAppend(_ path: String) throws(SystemError) -> Int32 {
        let fd = kinglet_open(path, O_WRONLY | O_CREAT | O_APPEND, 0o640)
        if fd < 0 { throw SystemError.last("open", path: path) }
        return fd
    }
}
