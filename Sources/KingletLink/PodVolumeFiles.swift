import CKingletSystem

/// Writes the `files` of a desired pod (its configMap and secret volumes) to
/// `<state folder>/pods/<uid>/volumes/<volume>/<path>`, replacing what an older spec
/// wrote there (files 0600, folders 0700: secrets among them).
public enum PodVolumeFiles {
    public static func folder(stateFolder: String, uid: String) -> String { stateFolder + "/pods/" + uid }
    public static func volumesFolder(stateFolder: String, uid: String) -> String { folder(stateFolder: stateFolder, uid: uid) + "/volumes" }

    /// Nil on success, else what failed. Paths were checked when the message was read.
    public static func write(_ message: DesiredPodMessage, stateFolder: String) -> String? {
        let volumes = volumesFolder(stateFolder: stateFolder, uid: message.uid)
        let fresh = volumes + ".new"
        _ = kinglet_remove_tree(fresh)
        if message.files.isEmpty {
            _ = kinglet_remove_tree(volumes)
            return nil
        }
        for volume in message.files {
            let base = fresh + "/" + volume.volume
            for file in volume.files {
                let path = base + "/" + file.path
                let parent = path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
                if kinglet_make_folders(parent, 0o700) != 0 { return "cannot create \(parent): " + errorText() }
                let fd = kinglet_open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
                if fd < 0 { return "cannot write \(path): " + errorText() }
                var offset = 0
                var failure: String? = nil
                file.content.withUnsafeBytes { bytes in
                    while offset < bytes.count {
                        let written = CKingletSystem.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
                        if written < 0 {
                            if kinglet_errno() == EINTR { continue }
                            failure = "cannot write \(path): " + errorText()
                            return
                        }
                        offset += written
                    }
                }
                close(fd)
                if let failure { return failure }
            }
        }
        _ = kinglet_remove_tree(volumes)
        if rename(fresh, volumes) != 0 { return "cannot rename \(fresh): " + errorText() }
        return nil
    }

    /// Removes the pod's folder (its volumes) once the pod is gone.
    public static func remove(stateFolder: String, uid: String) {
        _ = kinglet_remove_tree(folder(stateFolder: stateFolder, uid: uid))
    }

    private static func errorText() -> String { String(cString: kinglet_strerror(kinglet_errno())) }
}
