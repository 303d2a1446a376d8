import CKingletSystem

/// Why a container process could not be started, in Kubernetes' terms.
public struct SpawnError: Error, Equatable, Sendable {
    /// "StartError".
    public let reason: String
    public let message: String

    public var description: String { reason + ": " + message }
}

/// Starts one container process (see kinglet_spawn for the process's starting state).
enum ProcessSpawner {
    /// Spawns the process with its stdout and stderr on the given descriptors (which the
    /// caller closes afterwards) and returns its pid, which is also its process group id.
    static func spawn(executable: String, arguments: [String], environment: [EnvironmentVariable],
                      workingDirectory: String?, stdout: Int32, stderr: Int32) throws(SpawnError) -> Int32 {
        let path = try checkedPath(executable: executable, environment: environment, workingDirectory: workingDirectory)
        let argv = CStringArray([executable] + arguments)
        let envp = CStringArray(environment.map { $0.name + "=" + $0.value })
        defer {
            argv.free()
            envp.free()
        }
        var pid: Int32 = 0
        let error: Int32
        if let workingDirectory {
            error = workingDirectory.withCString { folder in
                kinglet_spawn(path, argv.pointers, envp.pointers, folder, stdout, stderr, &pid)
            }
        } else {
            error = kinglet_spawn(path, argv.pointers, envp.pointers, nil, stdout, stderr, &pid)
        }
        if error != 0 {
            throw SpawnError(reason: "StartError",
                             message: "exec \"" + path + "\": " + String(cString: kinglet_strerror(error)))
        }
        return pid
    }

    /// The executable's path, looked up in the container's PATH, once its working
    /// directory is known to exist.
    static func checkedPath(executable: String, environment: [EnvironmentVariable],
                            workingDirectory: String?) throws(SpawnError) -> String {
        guard let path = ExecutableLookup.resolve(executable, environment: environment) else {
            throw SpawnError(reason: "StartError",
                             message: "exec: \"" + executable + "\": executable file not found in $PATH")
        }
        // posix_spawn reports a failed chdir with the same errno as a failed exec: check
        // first, so the message names the right culprit.
        if let workingDirectory, kinglet_is_directory(workingDirectory) == 0 {
            let reason = String(cString: kinglet_strerror(kinglet_errno()))
            throw SpawnError(reason: "StartError",
                             message: "working directory \"" + workingDirectory + "\": " + reason)
        }
        return path
    }
}
