import CKingletSystem

/// The entries of a folder (hidden ones excluded), sorted by name.
public enum FolderListing {
    /// Regular files; nil with errno set when the folder cannot be read.
    public static func files(in folder: String) -> [String]? {
        var length = 0
        guard let buffer = kinglet_directory_files(folder, &length) else { return nil }
        defer { kinglet_free(buffer) }
        return names(buffer, length)
    }

    /// Sub-folders; nil with errno set when the folder cannot be read.
    public static func folders(in folder: String) -> [String]? {
        var length = 0
        guard let buffer = kinglet_directory_entries(folder, &length) else { return nil }
        defer { kinglet_free(buffer) }
        return names(buffer, length)
    }

    /// The shim returns NUL-terminated names, one after another.
    private static func names(_ buffer: UnsafeMutablePointer<CChar>, _ length: Int) -> [String] {
        let bytes = UnsafeRawBufferPointer(start: buffer, count: length)
        var names: [String] = []
        var start = 0
        for index in 0..<length where bytes[index] == 0 {
            names.append(String(decoding: bytes[start..<index], as: UTF8.self))
            start = index + 1
        }
        return names.sorted()
    }

    /// The folder part of a path: "a/b/c.yaml" -> "a/b", "c.yaml" -> ".", "/c" -> "/".
    public static func parentFolder(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}
