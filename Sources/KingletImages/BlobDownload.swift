import CKingletSystem
import KingletCore

/// A layer blob being written to `downloads/sha256/<hex>`, hashed as it grows. A file left
/// by an earlier pull is hashed again first (`rehash`, a chunk per call), so the download
/// resumes from its length; `verify` checks size and digest before anything is unpacked.
final class BlobDownload {
    let path: String
    let descriptor: ImageDescriptor
    private(set) var received: Int64 = 0
    private var hashed: Int64 = 0
    private var digest: LayerDigest
    private var fd: Int32 = -1

    init(path: String, descriptor: ImageDescriptor) throws(ImagePullError) {
        self.path = path
        self.descriptor = descriptor
        do throws(LayerError) {
            digest = try LayerDigest()
        } catch {
            throw ImagePullError(error.description, retryable: true)
        }
        let existing = kinglet_open(path, O_RDONLY, 0)
        if existing >= 0 {
            var size: Int64 = 0
            if kinglet_file_length(existing, &size) == 0 { received = size }
            _ = CKingletSystem.close(existing)
        }
        // Longer than the blob: not this blob's beginning.
        if received > descriptor.size { restart() }
    }

    /// Hashes the next chunk of what an earlier pull left; true while some remains.
    func rehash(chunk: Int, buffer: inout [UInt8]) -> Bool {
        guard hashed < received else { return false }
        if buffer.count < chunk { buffer = [UInt8](repeating: 0, count: chunk) }
        let file = kinglet_open(path, O_RDONLY, 0)
        guard file >= 0 else {
            restart()
            return false
        }
        defer { _ = CKingletSystem.close(file) }
        let wanted = Int(min(Int64(chunk), received - hashed))
        let count = buffer.withUnsafeMutableBytes { pread(file, $0.baseAddress, wanted, off_t(hashed)) }
        guard count > 0 else {
            restart()
            return false
        }
        buffer.withUnsafeBytes { digest.update(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
        hashed += Int64(count)
        return hashed < received
    }

    /// Throws away what was downloaded: the next bytes are the blob's first.
    func restart() {
        close()
        _ = unlink(path)
        received = 0
        hashed = 0
        if let fresh = try? LayerDigest() { digest = fresh }
    }

    /// Opens the file to append what the response brings; the reason when it cannot.
    func openForAppend() -> String? {
        guard fd < 0 else { return nil }
        fd = kinglet_open(path, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        return fd < 0 ? "cannot write \(path): \(String(cString: strerror(kinglet_errno())))" : nil
    }

    func append(_ bytes: UnsafeRawBufferPointer) -> String? {
        guard fd >= 0 else { return "cannot write \(path): not open" }
        guard received + Int64(bytes.count) <= descriptor.size else {
            return "the registry sent more than the \(descriptor.size) bytes of \(descriptor.digest.description)"
        }
        var offset = 0
        while offset < bytes.count {
            let written = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 {
                if kinglet_errno() == EINTR { continue }
                return "cannot write \(path): \(String(cString: strerror(kinglet_errno())))"
            }
            offset += written
        }
        digest.update(bytes)
        received += Int64(bytes.count)
        hashed = received
        return nil
    }

    /// Nil when the whole blob arrived with its digest; else what is wrong.
    func verify() -> String? {
        guard received == descriptor.size else {
            return "\(descriptor.digest.description) is \(descriptor.size) bytes, \(received) arrived"
        }
        let actual = digest.finish()
        guard actual == descriptor.digest else {
            return "blob \(descriptor.digest.description) arrived with digest \(actual.description) (corrupted in transit or tampered with)"
        }
        return nil
    }

    func close() {
        if fd >= 0 { _ = CKingletSystem.close(fd) }
        fd = -1
    }

    func discard() {
        close()
        _ = unlink(path)
    }
}
