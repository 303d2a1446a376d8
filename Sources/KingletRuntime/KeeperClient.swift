import CKingletSystem
import KingletCore

/// A container the keeper held when the agent connected, with the agent's own copies of
/// its output read ends.
public struct HeldContainer {
    public let kept: KeptContainer
    public let stdoutRead: Int32
    public let stderrRead: Int32
}

/// How a kept container's main process ended, as the keeper saw it.
public struct KeptExit {
    public let pid: Int32
    public let status: ProcessExitStatus
    public let finishedAt: Int64
}

/// Why the agent could not use a keeper.
public struct KeeperError: Error {
    public let message: String
}

/// The agent's side of the container keeper (`ContainerKeeper`): starts container
/// processes through it, hears their exits, and at connection learns what an earlier agent
/// left running. Starting is a short synchronous request, as posix_spawn in the agent was:
/// the keeper does nothing else that could make it wait; other messages that arrive
/// meanwhile are delivered on a later turn of the loop.
public final class KeeperClient {
    public let socketPath: String
    /// The command that starts a keeper when none answers (nil: never start one).
    public let startCommand: [String]?
    /// Where a keeper this client starts writes its log (its stdout and stderr): not the
    /// agent's, which a supervisor may wait on to reach end of file.
    public let keeperLogPath: String
    public private(set) var keeperPID: Int32 = 0
    /// Containers held for the agent at connection and not yet taken, by key.
    public private(set) var held: [String: HeldContainer] = [:]
    /// Called when the connection to the keeper is lost; its containers' exits will not come.
    public var onLost: () -> Void = {}

    private var fd: Int32 = -1
    private var loop: (any EventLoop)? = nil
    private var exitHandlers: [String: (KeptExit) -> Void] = [:]
    private var earlyExits: [String: KeptExit] = [:]
    private var deferred: [KeeperMessage] = []
    private var buffer: [UInt8]

    /// How long the agent waits for the keeper's answer.
    public static let answerTimeoutMilliseconds: Int32 = 3000
    /// The largest spawn request: a SOCK_SEQPACKET packet must fit the socket's send
    /// buffer (about 208 KiB by default), and the keeper's receive buffer.
    public static let largestSpawn = 160 * 1024

    /// Connects to the keeper at `socketPath`, starting one with `startCommand` when none
    /// answers, and reads what it holds. Blocks for at most a few seconds.
    public init(socketPath: String, startCommand: [String]?, keeperLogPath: String = "/dev/null") throws(KeeperError) {
        self.socketPath = socketPath
        self.startCommand = startCommand
        self.keeperLogPath = keeperLogPath
        buffer = [UInt8](repeating: 0, count: KeeperWire.maximumBytes)
        try connect()
    }

    deinit {
        for item in held.values {
            _ = close(item.stdoutRead)
            _ = close(item.stderrRead)
        }
        if fd >= 0 { _ = close(fd) }
    }

    public var isConnected: Bool { fd >= 0 }

    /// Hands messages to the loop from now on.
    public func attach(to loop: any EventLoop) throws(KeeperError) {
        self.loop = loop
        try watch()
    }

    /// Ends a held container no runtime of this agent can take (an OCI container when
    /// `runtime.oci` is no longer configured): SIGKILL, and the keeper forgets it.
    public func discard(_ key: String) {
        guard let item = take(key) else { return }
        abandon(item)
    }

    private func abandon(_ item: HeldContainer) {
        _ = close(item.stdoutRead)
        _ = close(item.stderrRead)
        signal(item.kept.key, SIGKILL)
        release(item.kept.key)
    }

    /// Takes a held container over: its descriptors now belong to the caller.
    public func take(_ key: String) -> HeldContainer? { held.removeValue(forKey: key) }

    /// The held container `key` and its label when a runtime may adopt it for a pod spec
    /// hashed `specHash`: its label reads, the hash is the same, and it either exited while
    /// no agent ran or its pid still has the recorded start time (the same process).
    func adoptable(_ key: String, specHash: UInt64) -> (held: HeldContainer, label: KeeperLabel)? {
        guard let item = held[key], let label = KeeperLabel(item.kept.label), label.specHash == specHash,
              item.kept.exit != nil
                || (item.kept.startTicks != 0 && kinglet_process_start_ticks(item.kept.pid) == item.kept.startTicks)
        else { return nil }
        return (item, label)
    }

    /// Takes a held container over with its output going on into the CRI log at
    /// `logPath`. When the log cannot be opened nobody could read the container's output:
    /// it is killed and forgotten, and the result is nil.
    func takeWithOutput(_ key: String, loop: any EventLoop, logPath: String,
                        limits: LogLimits) -> (kept: KeptContainer, output: ContainerOutput)? {
        guard let item = take(key) else { return nil }
        do {
            let file = try RotatingLogFile(path: logPath, limits: limits)
            let output = ContainerOutput(loop: loop, stdout: item.stdoutRead, stderr: item.stderrRead,
                                         log: CRILogWriter(file: file, lineBufferBytes: limits.lineBufferBytes),
                                         lineBufferBytes: limits.lineBufferBytes)
            output.writesIncompleteLines = true
            return (item.kept, output)
        } catch {
            abandon(item)
            return nil
        }
    }

    /// Starts a process through the keeper. `pipes` are the container's: the keeper gets
    /// the write ends (for the child) and a copy of the read ends.
    func spawn(_ request: KeeperSpawn, stdoutWrite: Int32, stderrWrite: Int32, stdoutRead: Int32,
               stderrRead: Int32) throws(SpawnError) -> (pid: Int32, startTicks: UInt64) {
        if fd < 0 {
            do {
                try connect()
                try watch()
            } catch {
                throw SpawnError(reason: "StartError", message: "no container keeper: " + error.message)
            }
        }
        let message = KeeperMessage.spawn(request)
        let size = KeeperWire.encode(message).count
        guard size <= KeeperClient.largestSpawn else {
            // A packet the socket cannot carry: this container's failure, not the keeper's.
            throw SpawnError(reason: "StartError", message: "the container's command and environment take \(size) bytes; "
                             + "at most \(KeeperClient.largestSpawn) can be handed to the container keeper")
        }
        guard send(message, fds: [stdoutWrite, stderrWrite, stdoutRead, stderrRead]) else {
            throw SpawnError(reason: "StartError", message: fd < 0 ? "the container keeper went away"
                             : "the container keeper does not take requests (its socket is full)")
        }
        // Bounded: at most a few hundred unrelated messages, each waited for at most the timeout.
        for _ in 0..<1024 {
            guard fd >= 0, kinglet_keeper_wait_readable(fd, KeeperClient.answerTimeoutMilliseconds) == 1 else { break }
            guard let (message, fds) = receiveOne() else { break }
            switch message {
            case .spawned(let key, let pid, let ticks) where key == request.key:
                return (pid, ticks)
            case .spawnFailed(let key, let reason, let text) where key == request.key:
                throw SpawnError(reason: reason, message: text)
            default:
                for descriptor in fds { _ = close(descriptor) }
                deferred.append(message)
                scheduleDeferred()
            }
        }
        // Not a lost keeper (its containers are fine): this start failed, and is retried
        // with back-off like any failed start.
        throw SpawnError(reason: "StartError", message: "the container keeper did not answer within \(KeeperClient.answerTimeoutMilliseconds) ms")
    }

    /// Calls `handler` once when the container's main process exits (at once, on a later
    /// turn, when it already has).
    func onExit(_ key: String, _ handler: @escaping (KeptExit) -> Void) {
        if let exit = earlyExits.removeValue(forKey: key) {
            loop?.schedule(after: .zero) { handler(exit) }
            return
        }
        exitHandlers[key] = handler
    }

    /// The container's main process is now `pid` (an OCI init), and its label `label`.
    func watch(_ key: String, pid: Int32, label: String) { _ = send(.watch(key: key, pid: pid, label: label)) }

    func signal(_ key: String, _ signal: Int32) { _ = send(.signal(key: key, signal: signal)) }

    /// The agent is done with the container: the keeper forgets it.
    func release(_ key: String) {
        exitHandlers[key] = nil
        earlyExits[key] = nil
        _ = send(.release(key: key))
    }

    // MARK: connection

    private func connect() throws(KeeperError) {
        var socket = kinglet_keeper_connect(socketPath, KeeperClient.answerTimeoutMilliseconds)
        if socket < 0, let startCommand {
            let error = kinglet_errno()
            guard error == ENOENT || error == ECONNREFUSED else {
                throw KeeperError(message: "connect " + socketPath + ": " + String(cString: kinglet_strerror(error)))
            }
            try start(startCommand)
            // Bounded: the keeper listens within milliseconds; give it 5 s on a slow board.
            for _ in 0..<100 where socket < 0 {
                usleep(50_000)
                socket = kinglet_keeper_connect(socketPath, KeeperClient.answerTimeoutMilliseconds)
            }
        }
        guard socket >= 0 else {
            throw KeeperError(message: "connect " + socketPath + ": " + String(cString: kinglet_strerror(kinglet_errno())))
        }
        fd = socket
        guard send(.hello(version: KeeperWire.version), fds: []) else { throw closing("cannot send to the keeper") }
        // The keeper sends nothing before `welcome`; anything else first is skipped.
        var welcome: KeeperMessage? = nil
        for _ in 0..<64 {
            guard let (message, fds) = receiveOne() else { break }
            for descriptor in fds { _ = close(descriptor) }
            if case .welcome = message {
                welcome = message
                break
            }
        }
        guard case .welcome(let version, let pid, let count)? = welcome, count >= 0 else {
            throw closing("the keeper did not answer")
        }
        guard version == KeeperWire.version else {
            throw closing("the keeper (pid \(pid)) speaks version \(version), this agent \(KeeperWire.version)")
        }
        keeperPID = pid
        for _ in 0..<count {
            guard let (message, fds) = receiveOne() else { throw closing("the keeper stopped answering") }
            guard case .held(let kept) = message, fds.count == 2 else {
                for descriptor in fds { _ = close(descriptor) }
                continue
            }
            held[kept.key] = HeldContainer(kept: kept, stdoutRead: fds[0], stderrRead: fds[1])
        }
        _ = kinglet_set_nonblocking(fd, 1)
    }

    private func closing(_ message: String) -> KeeperError {
        if fd >= 0 { _ = close(fd) }
        fd = -1
        return KeeperError(message: message)
    }

    /// Starts a keeper in a session of its own; it outlives the agent.
    private func start(_ command: [String]) throws(KeeperError) {
        guard let path = command.first else { throw KeeperError(message: "no keeper command") }
        let argv = CStringArray(command)
        let envp = CStringArray(["PATH=" + ExecutableLookup.defaultPath])
        defer {
            argv.free()
            envp.free()
        }
        // Its log: appended to, and started afresh once it has grown past 1 MiB (a keeper
        // logs a few lines per agent restart).
        var log = kinglet_open(keeperLogPath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        if log >= 0 && kinglet_file_size(log) > 1 << 20 {
            _ = close(log)
            log = kinglet_open(keeperLogPath, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0o644)
        }
        if log < 0 { log = kinglet_open("/dev/null", O_WRONLY | O_CLOEXEC, 0) }
        defer { if log >= 0 { _ = close(log) } }
        var pid: Int32 = 0
        let error = kinglet_spawn_detached(path, argv.pointers, envp.pointers, log, &pid)
        if error != 0 {
            throw KeeperError(message: "cannot start the keeper " + path + ": " + String(cString: kinglet_strerror(error)))
        }
    }

    private func watch() throws(KeeperError) {
        guard let loop, fd >= 0 else { return }
        let socket = fd
        do {
            try loop.watch(socket, interest: .readable) { _ in self.readAvailable() }
        } catch {
            throw KeeperError(message: "cannot watch the keeper's socket: " + error.description)
        }
    }

    private func readAvailable() {
        for _ in 0..<64 {
            guard fd >= 0 else { return }
            guard let (message, fds) = receiveOne() else { return }
            deliver(message, fds: fds)
        }
    }

    private func scheduleDeferred() {
        guard deferred.count == 1 else { return }
        loop?.schedule(after: .zero) {
            let messages = self.deferred
            self.deferred = []
            for message in messages { self.deliver(message, fds: []) }
        }
    }

    private func deliver(_ message: KeeperMessage, fds: [Int32]) {
        for descriptor in fds { _ = close(descriptor) }
        guard case .exited(let key, let pid, let status, let finishedAt) = message else { return }
        let exit = KeptExit(pid: pid, status: status, finishedAt: finishedAt)
        if let handler = exitHandlers.removeValue(forKey: key) { handler(exit) } else { earlyExits[key] = exit }
    }

    /// One message, or nil when none is there (or the wait timed out), the keeper closed,
    /// or the socket failed (the connection is then lost). An unreadable message comes back
    /// as an empty `release`, which nothing acts on.
    private func receiveOne() -> (KeeperMessage, [Int32])? {
        var fds: [Int32] = [-1, -1, -1, -1]
        var count: Int32 = 0
        let socket = fd
        let length = buffer.withUnsafeMutableBufferPointer { bytes in
            kinglet_keeper_receive(socket, bytes.baseAddress, bytes.count, &fds, &count)
        }
        if length < 0 {
            let error = kinglet_errno()
            if error == EAGAIN || error == EINTR || error == EMSGSIZE { return nil }
            lost()
            return nil
        }
        if length == 0 {
            lost()
            return nil
        }
        let received = Array(fds[0..<Int(count)])
        do throws(KeeperWireError) {
            return (try KeeperWire.decode(Array(buffer[0..<length])), received)
        } catch {
            // Same version, unreadable message: skipped (the connection itself is fine).
            for descriptor in received { _ = close(descriptor) }
            return (.release(key: ""), [])
        }
    }

    private func send(_ message: KeeperMessage, fds: [Int32] = []) -> Bool {
        guard fd >= 0 else { return false }
        let bytes = KeeperWire.encode(message)
        let socket = fd
        // Messages are small and the keeper reads at once: a socket still full after 100 ms
        // means it is busy or stuck; this message fails, the connection stays.
        for _ in 0..<20 {
            let sent = bytes.withUnsafeBufferPointer { buffer in
                kinglet_keeper_send(socket, buffer.baseAddress, buffer.count, fds, Int32(fds.count))
            }
            if sent >= 0 { return true }
            let error = kinglet_errno()
            if error == EMSGSIZE { return false }
            if error != EAGAIN && error != EINTR {
                // EPIPE, ECONNRESET: the keeper is gone.
                lost()
                return false
            }
            usleep(5_000)
        }
        return false
    }

    private func lost() {
        guard fd >= 0 else { return }
        loop?.unwatch(fd)
        _ = close(fd)
        fd = -1
        exitHandlers = [:]
        earlyExits = [:]
        onLost()
    }
}
