import CKingletSystem

/// An open cache file and its shared mapping: the system calls, nothing about records.
final class MappedCacheFile {
    let path: String
    let writable: Bool
    let header: CacheHeader
    let base: UnsafeMutableRawPointer
    let mappedLength: Int
    /// Bytes that exist in the file, up to `mappedLength`: less when a read-only open meets a
    /// truncated file. Nothing at or past this offset may be touched (it would raise SIGBUS).
    let availableLength: Int
    /// The file's length when it was opened, before a writable open restored a truncated one.
    let foundLength: Int
    private var fd: Int32
    /// False only under `CacheDurability.processCrash`.
    var syncs = true

    var geometry: CacheGeometry { header.geometry }

    private init(path: String, writable: Bool, header: CacheHeader, fd: Int32, base: UnsafeMutableRawPointer,
                 mappedLength: Int, availableLength: Int, foundLength: Int) {
        self.path = path
        self.writable = writable
        self.header = header
        self.fd = fd
        self.base = base
        self.mappedLength = mappedLength
        self.availableLength = availableLength
        self.foundLength = foundLength
    }

    deinit { close() }

    func close() {
        guard fd >= 0 else { return }
        _ = kinglet_map_remove(base, mappedLength)
        _ = CKingletSystem.close(fd)
        fd = -1
    }

    /// Opens an existing file. A writable open takes the writer lock and restores the length
    /// of a truncated file (the lost tail reads as zeros: empty slots or skipped records).
    static func open(path: String, writable: Bool) throws(CacheError) -> MappedCacheFile {
        let fd = kinglet_file_open_existing(path, writable ? 1 : 0)
        if fd < 0 { throw CacheError.failure("open", path: path) }
        do throws(CacheError) {
            if writable { try lock(fd: fd, path: path) }
            var size: Int64 = 0
            if kinglet_file_length(fd, &size) != 0 { throw CacheError.failure("fstat", path: path) }
            let header = try readHeader(fd: fd, fileSize: size, path: path)
            let length = header.geometry.fileLength
            let found = size < Int64(length) ? Int(size) : length
            var available = found
            if writable && available < length {
                if kinglet_file_reserve(fd, Int64(length)) != 0 { throw CacheError.failure("ftruncate", path: path) }
                available = length
            }
            guard let base = kinglet_map_shared(fd, length, writable ? 1 : 0) else {
                throw CacheError.failure("mmap", path: path)
            }
            return MappedCacheFile(path: path, writable: writable, header: header, fd: fd, base: base,
                                   mappedLength: length, availableLength: available, foundLength: found)
        } catch {
            _ = CKingletSystem.close(fd)
            throw error
        }
    }

    /// Takes the writer lock. flock belongs to the open file description, which a child
    /// process shares between its fork and its exec (when O_CLOEXEC closes it): a lock released
    /// while another thread or the agent spawns a process stays held for that instant. So a
    /// busy lock is retried a few times, 2 ms apart (at most 100 ms), before `.locked`.
    private static func lock(fd: Int32, path: String) throws(CacheError) {
        for attempt in 0..<50 {
            if kinglet_file_lock_exclusive(fd) == 0 { return }
            if kinglet_errno() != EWOULDBLOCK { throw CacheError.failure("flock", path: path) }
            if attempt < 49 { _ = usleep(2_000) }
        }
        throw CacheError.locked(path: path)
    }

    private static func readHeader(fd: Int32, fileSize: Int64, path: String) throws(CacheError) -> CacheHeader {
        var bytes = [UInt8](repeating: 0, count: CacheLayout.Header.size)
        let wanted = fileSize < Int64(bytes.count) ? Int(fileSize) : bytes.count
        let got = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, wanted, 0) }
        if got < 0 { throw CacheError.failure("pread", path: path) }
        let decoded = bytes.withUnsafeBytes { buffer -> Result<CacheHeader, CacheError> in
            do throws(CacheError) {
                return .success(try CacheHeader.decode(UnsafeRawBufferPointer(rebasing: buffer.prefix(got)), path: path))
            } catch {
                return .failure(error)
            }
        }
        return try decoded.get()
    }

    /// Creates a file with `header` and empty slots, atomically: it is written and synced
    /// under a temporary name, then linked into place, then the folder is synced. A crash
    /// leaves either no file or a complete empty one.
    static func create(path: String, header: CacheHeader) throws(CacheError) {
        let temporary = path + ".creating-" + String(getpid())
        _ = unlink(temporary)
        let fd = kinglet_file_create_exclusive(temporary)
        if fd < 0 { throw CacheError.failure("open", path: temporary) }
        var failure: CacheError? = nil
        let bytes = header.encoded()
        if kinglet_file_reserve(fd, Int64(header.geometry.fileLength)) != 0 {
            failure = CacheError.failure("fallocate", path: temporary)
        } else if bytes.withUnsafeBytes({ pwrite(fd, $0.baseAddress, $0.count, 0) }) != bytes.count {
            failure = CacheError.failure("pwrite", path: temporary)
        } else if fsync(fd) != 0 {
            failure = CacheError.failure("fsync", path: temporary)
        }
        _ = CKingletSystem.close(fd)
        if failure == nil {
            // link(2) refuses to replace an existing file, unlike rename(2): if another process
            // created the cache meanwhile, its file stays.
            if link(temporary, path) != 0 {
                let code = kinglet_errno()
                if code != EEXIST && rename(temporary, path) != 0 {
                    failure = CacheError.failure("rename", path: path)
                }
            }
        }
        _ = unlink(temporary)
        if let failure { throw failure }
        if kinglet_file_sync_parent_directory(path) != 0 { throw CacheError.failure("fsync(directory)", path: path) }
    }

    /// msync(MS_SYNC) of a byte range of the file.
    func sync(offset: Int, length: Int) throws(CacheError) {
        if syncs && kinglet_map_sync(base, offset, length) != 0 { throw CacheError.failure("msync", path: path) }
    }

    /// Drops the whole pages of a byte range from this process's resident set.
    func release(offset: Int, length: Int) {
        _ = kinglet_map_release_pages(base, offset, length)
    }
}
