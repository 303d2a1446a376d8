import CKingletSystem
import KingletDocument

/// Writes what a desired pod brings besides its spec under `<state folder>/pods/<uid>/`,
/// replacing what an older spec wrote there: the `files` of its configMap and secret
/// volumes in `volumes/<volume>/<path>`, and its pull credentials in
/// `pull-credentials.json` (a docker config.json, `{"auths":{...}}`, which the image
/// puller reads when it pulls for the pod, also after a restart while offline). Files
/// 0600, folders 0700: secrets among them.
public enum PodVolumeFiles {
    public static func folder(stateFolder: String, uid: String) -> String { stateFolder + "/pods/" + uid }
    public static func volumesFolder(stateFolder: String, uid: String) -> String { folder(stateFolder: stateFolder, uid: uid) + "/volumes" }
    public static func pullCredentialsPath(stateFolder: String, uid: String) -> String {
        folder(stateFolder: stateFolder, uid: uid) + "/pull-credentials.json"
    }

    /// Nil on success, else what failed (the first failure; the rest is still written).
    public static func write(_ message: DesiredPodMessage, stateFolder: String) -> String? {
        let credentials = writePullCredentials(message, stateFolder: stateFolder)
        let volumes = writeVolumes(message, stateFolder: stateFolder)
        return credentials ?? volumes
    }

    /// Paths were checked when the message was read.
    static func writeVolumes(_ message: DesiredPodMessage, stateFolder: String) -> String? {
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
                if let failure = writeFile(path, file.content) { return failure }
            }
        }
        _ = kinglet_remove_tree(volumes)
        if rename(fresh, volumes) != 0 { return "cannot rename \(fresh): " + errorText() }
        return nil
    }

    /// The credentials file is replaced by a rename, so the puller never reads half of one;
    /// without credentials it is removed.
    static func writePullCredentials(_ message: DesiredPodMessage, stateFolder: String) -> String? {
        let path = pullCredentialsPath(stateFolder: stateFolder, uid: message.uid)
        if message.pullCredentials.isEmpty {
            _ = unlink(path)
            return nil
        }
        var json = JSONWriter(capacity: 256)
        json.beginObject()
        json.key("auths")
        json.beginObject()
        for credential in message.pullCredentials {
            json.key(credential.registry)
            json.beginObject()
            json.key("auth")
            json.string(credential.auth)
            json.endObject()
        }
        json.endObject()
        json.endObject()
        let folder = folder(stateFolder: stateFolder, uid: message.uid)
        if kinglet_make_folders(folder, 0o700) != 0 { return "cannot create \(folder): " + errorText() }
        let fresh = path + ".new"
        if let failure = writeFile(fresh, json.bytes) { return failure }
        if rename(fresh, path) != 0 { return "cannot rename \(fresh): " + errorText() }
        return nil
    }

    /// A new file, 0600, with `content`.
    private static func writeFile(_ path: String, _ content: [UInt8]) -> String? {
        let fd = kinglet_open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        if fd < 0 { return "cannot write \(path): " + errorText() }
        var offset = 0
        var failure: String? = nil
        content.withUnsafeBytes { bytes in
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
        return failure
    }

    /// Removes the pod's folder (its volumes and pull credentials) once the pod is gone.
    public static func remove(stateFolder: String, uid: String) {
        _ = kinglet_remove_tree(folder(stateFolder: stateFolder, uid: uid))
    }

    private static func errorText() -> String { String(cString: kinglet_strerror(kinglet_errno())) }
}
