import CKingletSystem

/// The two pipes a container's stdout and stderr go through. The agent's read ends are
/// non-blocking; every end is close-on-exec, the child gets its ends through posix_spawn's
/// dup2.
struct OutputPipes {
    let stdoutRead: Int32
    let stdoutWrite: Int32
    let stderrRead: Int32
    let stderrWrite: Int32

    init() throws(SystemError) {
        var stdout: [Int32] = [-1, -1]
        var stderr: [Int32] = [-1, -1]
        if kinglet_pipe_nonblocking(&stdout) != 0 || kinglet_pipe_nonblocking(&stderr) != 0 {
            let error = SystemError.last("pipe2")
            for fd in stdout + stderr where fd >= 0 { _ = close(fd) }
            throw error
        }
        stdoutRead = stdout[0]
        stdoutWrite = stdout[1]
        stderrRead = stderr[0]
        stderrWrite = stderr[1]
        // O_NONBLOCK belongs to the open pipe, which the child shares: its ends must block,
        // or a program writing faster than the agent reads would get EAGAIN on stdout.
        _ = kinglet_set_nonblocking(stdoutWrite, 0)
        _ = kinglet_set_nonblocking(stderrWrite, 0)
    }

    /// After the spawn: only the child holds the write ends now, so the pipes reach end of
    /// file when the container's processes are gone.
    func closeChildEnds() {
        _ = close(stdoutWrite)
        _ = close(stderrWrite)
    }

    func closeAll() {
        closeChildEnds()
        _ = close(stdoutRead)
        _ = close(stderrRead)
    }
}
