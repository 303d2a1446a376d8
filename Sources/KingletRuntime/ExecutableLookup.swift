import CKingletSystem

/// Finds the file a container's command names, the way exec in the container would: a name
/// with a slash is used as it is; a bare name is searched in the container's own PATH, not
/// the agent's (which posix_spawnp would use), so a pod that sets PATH gets what it asked for.
enum ExecutableLookup {
    /// The PATH a container gets when its environment has none (runc's default).
    static let defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    /// The path to execute, or nil when a bare name is on no PATH folder.
    static func resolve(_ executable: String, environment: [EnvironmentVariable]) -> String? {
        if executable.utf8.contains(UInt8(ascii: "/")) { return executable }
        if executable.isEmpty { return nil }
        var path = defaultPath
        if let entry = environment.first(where: { $0.name == "PATH" }) { path = entry.value }
        for folder in path.split(separator: ":", omittingEmptySubsequences: false) {
            // An empty PATH entry means the current folder, as in execvp.
            let candidate = (folder.isEmpty ? "." : String(folder)) + "/" + executable
            if kinglet_is_executable_file(candidate) == 1 { return candidate }
        }
        return nil
    }
}
