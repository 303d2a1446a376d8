import CKingletSystem
import KingletCore
import KingletDocument

/// Whole files and folder listings, for the config and static pod manifests.
enum LocalFiles {
    /// Manifests and config files are small; a larger file is a mistake, not a pod.
    static let sizeLimit = 1 << 20

    static func read(_ path: String) throws(DocumentError) -> [UInt8] {
        let bytes: [UInt8]
        do {
            bytes = try WholeFile.read(path, limit: sizeLimit + 1)
        } catch {
            throw DocumentError(file: path, message: "cannot read: \(error.reason)")
        }
        if bytes.count > sizeLimit { throw DocumentError(file: path, message: "larger than 1 MiB") }
        return bytes
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
