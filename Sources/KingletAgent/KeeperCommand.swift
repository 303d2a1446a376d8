import CKingletSystem
import KingletConfig
import KingletCore
import KingletEpoll
import KingletRuntime

/// `kinglet keeper`: runs the container keeper for a state folder, or stops it.
enum KeeperCommand {
    static func run(_ options: KeeperOptions) -> Int32 {
        let folder: String
        if let state = options.stateFolder {
            folder = state
        } else {
            do {
                let config = try ConfigFile.load(options.configPath, defaultNodeName: ConfigFile.hostName())
                folder = FolderListing.parentFolder(of: config.paths.cacheFile)
            } catch {
                StandardStream.error.write("kinglet keeper: \(error.description)\n")
                return AgentMain.exitUsage
            }
        }
        return options.stop ? stop(folder) : serve(folder)
    }

    static func socketPath(_ folder: String) -> String { folder + "/keeper.sock" }
    static func pidPath(_ folder: String) -> String { folder + "/keeper.pid" }

    /// The keeper's whole life: one thread, one loop, until SIGTERM or nothing to keep.
    static func serve(_ folder: String) -> Int32 {
        let log = AgentLog()
        _ = kinglet_ignore_sigpipe()
        kinglet_keeper_raise_descriptor_limit()
        // One keeper per state folder: the pid file's lock says which.
        let pidFile = kinglet_open(pidPath(folder), O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard pidFile >= 0 else {
            log.error("keeper: cannot open \(pidPath(folder)): \(String(cString: kinglet_strerror(kinglet_errno())))")
            return AgentMain.exitFailure
        }
        guard kinglet_file_lock_exclusive(pidFile) == 0 else {
            log.error("keeper: another keeper runs for \(folder)")
            return AgentMain.exitFailure
        }
        let pidText = Array((String(getpid()) + "\n").utf8)
        _ = ftruncate(pidFile, 0)
        _ = pidText.withUnsafeBufferPointer { bytes in pwrite(pidFile, bytes.baseAddress, bytes.count, 0) }
        let loop: EpollEventLoop
        let keeper: ContainerKeeper
        do {
            loop = try EpollEventLoop()
        } catch {
            log.error("keeper: cannot start the event loop: \(error.description)")
            return AgentMain.exitFailure
        }
        do {
            keeper = try ContainerKeeper(loop: loop, socketPath: socketPath(folder))
        } catch {
            log.error("keeper: \(error.description)")
            return AgentMain.exitFailure
        }
        keeper.log = { line in log.info("keeper: " + line) }
        log.info("keeper \(getpid()) listening on \(socketPath(folder))")
        do {
            try loop.run()
        } catch {
            log.error("keeper: event loop failed: \(error.description)")
        }
        _ = unlink(socketPath(folder))
        _ = unlink(pidPath(folder))
        log.info("keeper \(getpid()) stopped, holding \(keeper.heldCount) container(s)")
        _ = close(pidFile)
        return AgentMain.exitSuccess
    }

    /// `--stop`: SIGTERM to the keeper, then wait (bounded) until its lock is free.
    static func stop(_ folder: String) -> Int32 {
        let pidFile = kinglet_open(pidPath(folder), O_RDWR | O_CLOEXEC, 0)
        guard pidFile >= 0 else {
            StandardStream.output.write("no keeper runs for \(folder)\n")
            return AgentMain.exitSuccess
        }
        defer { _ = close(pidFile) }
        if kinglet_file_lock_exclusive(pidFile) == 0 {
            StandardStream.output.write("no keeper runs for \(folder)\n")
            return AgentMain.exitSuccess
        }
        guard let text = WholeFile.text(pidPath(folder), limit: 64), let pid = Int32(text.split(separator: "\n").first ?? ""), pid > 1 else {
            StandardStream.error.write("kinglet keeper: \(pidPath(folder)) holds no pid\n")
            return AgentMain.exitFailure
        }
        _ = kill(pid, SIGTERM)
        StandardStream.output.write("stopping keeper \(pid) and its containers\n")
        // Containers get 10 s after SIGTERM; give the keeper 20.
        for _ in 0..<400 {
            if kinglet_file_lock_exclusive(pidFile) == 0 {
                StandardStream.output.write("keeper \(pid) stopped\n")
                return AgentMain.exitSuccess
            }
            usleep(50_000)
        }
        StandardStream.error.write("kinglet keeper: keeper \(pid) did not stop within 20 s\n")
        return AgentMain.exitFailure
    }
}
