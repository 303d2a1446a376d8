import CKingletSystem

/// Why the cache refused an operation or a file.
public enum CacheError: Error, Equatable, Sendable {
    /// A system call failed.
    case system(call: String, path: String, errno: Int32, reason: String)
    /// The file does not start with the cache's magic bytes: not ours.
    case notACacheFile(path: String)
    /// The magic matches but the format version is one this build cannot read.
    case unsupportedVersion(path: String, version: UInt32)
    /// The header fails its CRC or describes an impossible geometry.
    case corruptHeader(path: String, reason: String)
    /// A record does not fit in one slot. Records are never truncated.
    case recordTooLarge(uid: String, size: Int, slotCapacity: Int)
    /// A uid longer than a slot descriptor holds.
    case uidTooLong(uid: String, length: Int, limit: Int)
    /// A uid must not be empty.
    case emptyUID
    /// A metadata field longer than the record format holds.
    case fieldTooLong(uid: String, field: String, length: Int, limit: Int)
    /// No free slot is left for the commit (one slot stays free so updates always succeed).
    case full(uid: String, slotCount: Int)
    /// No record with this uid is cached.
    case notFound(uid: String)
    /// Geometry for a new file outside the supported bounds.
    case invalidGeometry(reason: String)
    /// Another process holds the file's writer lock.
    case locked(path: String)
    /// The cache was opened read-only.
    case readOnly(path: String)
    /// The cache was closed.
    case closed

    /// True for errors that say the file itself is unusable: the agent quarantines it.
    public var isCorruption: Bool {
        switch self {
        case .notACacheFile, .unsupportedVersion, .corruptHeader: return true
        default: return false
        }
    }

    public var description: String {
        switch self {
        case .system(let call, let path, let errno, let reason):
            return call + " " + path + " failed: " + reason + " (errno " + String(errno) + ")"
        case .notACacheFile(let path):
            return path + " is not a kinglet cache file (bad magic)"
        case .unsupportedVersion(let path, let version):
            return path + " has cache format version " + String(version) + "; this build reads version "
                + String(CacheLayout.formatVersion)
        case .corruptHeader(let path, let reason):
            return path + " has a corrupt cache header: " + reason
        case .recordTooLarge(let uid, let size, let capacity):
            return "record " + uid + " is " + String(size) + " bytes; a slot holds " + String(capacity)
        case .uidTooLong(let uid, let length, let limit):
            return "uid " + uid + " is " + String(length) + " bytes; the cache holds uids up to " + String(limit)
        case .emptyUID:
            return "a cache record needs a non-empty uid"
        case .fieldTooLong(let uid, let field, let length, let limit):
            return "record " + uid + ": " + field + " is " + String(length) + " bytes; the limit is " + String(limit)
        case .full(let uid, let slotCount):
            return "cache full: no free slot for " + uid + " (" + String(slotCount) + " slots)"
        case .notFound(let uid):
            return "no cached record " + uid
        case .invalidGeometry(let reason):
            return "invalid cache geometry: " + reason
        case .locked(let path):
            return path + " is in use by another process"
        case .readOnly(let path):
            return path + " is open read-only"
        case .closed:
            return "the cache is closed"
        }
    }

    /// A failed call, with errno read now.
    static func failure(_ call: String, path: String) -> CacheError {
        let code = kinglet_errno()
        return .system(call: call, path: path, errno: code, reason: String(cString: kinglet_strerror(code)))
    }
}
