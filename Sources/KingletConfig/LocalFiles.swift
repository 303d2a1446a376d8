import CKingletSystem
import KingletDocument

/// Whole files and folder listings, for the config and static pod manifests.
enum LocalFiles {
    /// Manifests and config files are small; a larger file is a mistake, not a pod.
    static let sizeLimit = 1 << 20

    static func read(_ path: String) throws(DocumentError) -> [UInt8] {
        let fd = kinglet_open(path, O_RDONLY, 0)
        if fd < 0 { throw DocumentError(file: path, message: "cannot read: \(reason())") }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { CKingletSystem.read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if kinglet_errno() == EINTR { continue }
                throw DocumentError(file: path, message: "cannot read: \(reason())")
            }
            if count == 0 { return bytes }
            bytes.append(contentsOf: chunk[0..<count])
            if bytes.count > sizeLimit { throw DocumentError(file: path, message: "larger than 1 MiB") }
        }
    }

    /// Regular files in `folder`, sorted by name; nil when the folder does not exist.
    static func files(in folder: String) throws(DocumentError) -> [String]? {
        guard let names = FolderListing.files(in: folder) else {
            if kinglet_errno() == ENOENT { return nil }
            throw DocumentError(file: folder, message: "cannot list: \(reason())")
        }
        return names
    }

    static func reason() -> String { String(cString: kinglet_strerror(kinglet_errno())) }
}
