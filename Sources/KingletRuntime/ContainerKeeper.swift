import CKingletSystem
import KingletCore

/// The container keeper: one small process per board that starts the containers' main
/// processes for the agent and keeps, for as long as no agent runs, what the agent needs
/// to take them back: their exit codes (it is their parent, and the subreaper of what
/// `runc create` leaves) and their output pipes (it holds a copy of each read end, so a
/// container writing while no agent reads blocks when the pipe is full instead of losing
/// lines or dying of SIGPIPE). It never reads the pipes and never writes logs: a restarted
/// agent gets the read ends back and reads on where the last one stopped.
///
/// Per container it costs two descriptors and one small record; see docs/runtime.md.
public final class ContainerKeeper {
    private let loop: any EventLoop
    private let reaper: ChildReaper
    private let listener: Int32
    private var agent: Int32? = nil
    /// The connected agent has said hello: until then nothing is sent to it (its first
    /// message must be `welcome`; an exit meanwhile is in the `held` list).
    private var greeted = false
    private var outgoing: [(bytes: [UInt8], fds: [Int32])] = []
    private var records: [String: KeeperRecord] = [:]
    private var buffer: [UInt8]
    private var idleTimer: TimerHandle? = nil
    private var stopping = false
    /// One line per notable event (the keeper's log).
    public var log: (String) -> Void = { _ in }

    /// How long a keeper with nothing to keep waits for an agent before it exits.
    public static let idleLifetime = Duration.seconds(30)
    /// How long containers get after SIGTERM when the keeper itself is told to stop.
    public static let stopGracePeriod = Duration.seconds(10)

    final class KeeperRecord {
        let key: String
        var label: String
        var pid: Int32
        var startTicks: UInt64
        let stdoutRead: Int32
        let stderrRead: Int32
        let killGroupOnExit: Bool
        var exit: ProcessExitStatus? = nil
        var finishedAt: Int64 = 0

        init(key: String, label: String, pid: Int32, startTicks: UInt64, stdoutRead: Int32, stderrRead: Int32, killGroupOnExit: Bool) {
            self.key = key
            self.label = label
            self.pid = pid
            self.startTicks = startTicks
            self.stdoutRead = stdoutRead
            self.stderrRead = stderrRead
            self.killGroupOnExit = killGroupOnExit
        }

        var kept: KeptContainer {
            KeptContainer(key: key, label: label, pid: pid, startTicks: startTicks, exit: exit, finishedAt: finishedAt)
        }
    }

    /// Listens on `socketPath` and becomes the subreaper of its descendants. The caller
    /// runs `loop` until it stops (SIGTERM, or nothing left to keep).
    public init(loop: any EventLoop, socketPath: String) throws(SystemError) {
        self.loop = loop
        buffer = [UInt8](repeating: 0, count: KeeperWire.maximumBytes)
        do {
            reaper = try ChildReaper(loop: loop)
        } catch {
            throw SystemError(call: "signalfd(SIGCHLD)", errno: EINVAL)
        }
        if kinglet_oci_set_child_subreaper(1) != 0 { throw SystemError.last("prctl(PR_SET_CHILD_SUBREAPER)") }
        listener = kinglet_keeper_listen(socketPath)
        if listener < 0 { throw SystemError.last("listen", path: socketPath) }
        do {
            try loop.watch(listener, interest: .readable) { _ in self.accept() }
            try loop.handle([.terminate, .interrupt, .hangup]) { signal in
                if signal != .hangup { self.stopEverything() }
            }
        } catch {
            throw SystemError(call: "epoll_ctl", errno: EINVAL)
        }
        armIdleTimer()
    }

    /// Containers held, running or exited and not yet released.
    public var heldCount: Int { records.count }

    // MARK: connection

    private func accept() {
        let fd = kinglet_keeper_accept(listener)
        guard fd >= 0 else { return }
        // Only the keeper's own user (root on a board) may talk to it.
        if kinglet_keeper_peer_uid(fd) != Int64(getuid()) {
            _ = close(fd)
            return
        }
        if let old = agent {
            log("a new agent connected: dropping the previous connection")
            dropAgent(old)
        }
        agent = fd
        greeted = false
        discardOutgoing()
        if let idleTimer { loop.cancel(idleTimer) }
        idleTimer = nil
        do {
            try loop.watch(fd, interest: .readable) { _ in self.receive() }
        } catch {
            dropAgent(fd)
        }
    }

    private func dropAgent(_ fd: Int32) {
        loop.unwatch(fd)
        _ = close(fd)
        if agent == fd {
            agent = nil
            greeted = false
            discardOutgoing()
            log("agent disconnected; keeping \(records.count) container(s)")
            armIdleTimer()
        }
    }

    private func receive() {
        guard let fd = agent else { return }
        // Bounded: a flood of messages must not hold the loop.
        for _ in 0..<64 {
            var fds: [Int32] = [-1, -1, -1, -1]
            var count: Int32 = 0
            let length = buffer.withUnsafeMutableBufferPointer { bytes in
                kinglet_keeper_receive(fd, bytes.baseAddress, bytes.count, &fds, &count)
            }
            if length < 0 {
                let error = kinglet_errno()
                if error == EAGAIN || error == EINTR { return }
                if error == EMSGSIZE { continue }
                return dropAgent(fd)
            }
            if length == 0 { return dropAgent(fd) }
            let received = Array(fds[0..<Int(count)])
            do throws(KeeperWireError) {
                handle(try KeeperWire.decode(Array(buffer[0..<length])), fds: received)
            } catch {
                log("unreadable message from the agent: \(error.message)")
                for descriptor in received { _ = close(descriptor) }
            }
            if agent != fd { return }
        }
    }

    private func handle(_ message: KeeperMessage, fds: [Int32]) {
        switch message {
        case .hello(let version):
            closeAll(fds)
            greeted = true
            send(.welcome(version: KeeperWire.version, keeperPID: getpid(), held: Int64(records.count)))
            guard version == KeeperWire.version else { return }
            for record in records.values {
                send(.held(record.kept), fds: [record.stdoutRead, record.stderrRead])
            }
        case .spawn(let request):
            spawn(request, fds: fds)
        case .watch(let key, let pid, let label):
            closeAll(fds)
            guard let record = records[key] else { return }
            record.label = label
            // The same pid: a label update only (the process may have exited already).
            guard pid != record.pid, pid > 1 else { return }
            reaper.forget(pid: record.pid)
            record.pid = pid
            record.startTicks = kinglet_process_start_ticks(pid)
            record.exit = nil
            record.finishedAt = 0
            reaper.watch(pid: pid) { exit in self.exited(record, exit) }
        case .release(let key):
            closeAll(fds)
            guard let record = records.removeValue(forKey: key) else { return }
            reaper.forget(pid: record.pid)
            _ = close(record.stdoutRead)
            _ = close(record.stderrRead)
        case .signal(let key, let number):
            closeAll(fds)
            guard let record = records[key], record.exit == nil else { return }
            signal(record, number)
        default:
            closeAll(fds)
            log("unexpected message from the agent")
        }
    }

    private func spawn(_ request: KeeperSpawn, fds: [Int32]) {
        guard !stopping else {
            closeAll(fds)
            return send(.spawnFailed(key: request.key, reason: "StartError", message: "the container keeper is stopping"))
        }
        guard fds.count == 4 else {
            closeAll(fds)
            return send(.spawnFailed(key: request.key, reason: "StartError", message: "the keeper got no output pipes"))
        }
        if let old = records[request.key] {
            guard old.exit != nil else {
                closeAll(fds)
                return send(.spawnFailed(key: request.key, reason: "CreateContainerError",
                                         message: "the keeper already runs a container " + request.key))
            }
            records[request.key] = nil
            _ = close(old.stdoutRead)
            _ = close(old.stderrRead)
        }
        let argv = CStringArray(request.arguments)
        let envp = CStringArray(request.environment)
        defer {
            argv.free()
            envp.free()
        }
        var pid: Int32 = 0
        let error: Int32
        if request.workingDirectory.isEmpty {
            error = kinglet_spawn(request.executable, argv.pointers, envp.pointers, nil, fds[0], fds[1], &pid)
        } else {
            error = kinglet_spawn(request.executable, argv.pointers, envp.pointers, request.workingDirectory, fds[0], fds[1], &pid)
        }
        _ = close(fds[0])
        _ = close(fds[1])
        if error != 0 {
            _ = close(fds[2])
            _ = close(fds[3])
            return send(.spawnFailed(key: request.key, reason: "StartError",
                                     message: "exec \"" + request.executable + "\": " + String(cString: kinglet_strerror(error))))
        }
        let record = KeeperRecord(key: request.key, label: request.label, pid: pid, startTicks: kinglet_process_start_ticks(pid),
                                  stdoutRead: fds[2], stderrRead: fds[3], killGroupOnExit: request.killGroupOnExit)
        records[request.key] = record
        reaper.watch(pid: pid) { exit in self.exited(record, exit) }
        send(.spawned(key: request.key, pid: pid, startTicks: record.startTicks))
    }

    /// Runs while the process is a zombie: its group cannot be reused yet.
    private func exited(_ record: KeeperRecord, _ exit: ChildExit) {
        if record.killGroupOnExit { _ = kinglet_kill_group(exit.pid, SIGKILL) }
        guard records[record.key] === record, record.pid == exit.pid else { return }
        record.exit = exit.status
        record.finishedAt = kinglet_realtime_ns()
        if agent != nil {
            send(.exited(key: record.key, pid: exit.pid, status: exit.status, finishedAt: record.finishedAt))
        }
        if stopping { finishStopIfDone() }
    }

    // MARK: sending

    private func send(_ message: KeeperMessage, fds: [Int32] = []) {
        guard agent != nil, greeted else { return }
        let bytes = KeeperWire.encode(message)
        if outgoing.isEmpty && write(bytes, fds) { return }
        // The copies of the descriptors travel later: dup them now, the originals may close.
        var copies: [Int32] = []
        for fd in fds { copies.append(kinglet_dup_cloexec(fd)) }
        outgoing.append((bytes, copies))
        watchWritable(true)
    }

    /// Whether the message went out.
    private func write(_ bytes: [UInt8], _ fds: [Int32]) -> Bool {
        guard let fd = agent else { return true }
        let sent = bytes.withUnsafeBufferPointer { buffer in
            kinglet_keeper_send(fd, buffer.baseAddress, buffer.count, fds, Int32(fds.count))
        }
        if sent >= 0 { return true }
        let error = kinglet_errno()
        if error == EAGAIN || error == EINTR { return false }
        dropAgent(fd)
        return true
    }

    private func flush() {
        while let first = outgoing.first {
            guard write(first.bytes, first.fds) else { return }
            // write may have dropped the agent, which empties the queue (and closes its copies).
            guard !outgoing.isEmpty else { return }
            closeAll(first.fds)
            outgoing.removeFirst()
        }
        watchWritable(false)
    }

    private func watchWritable(_ on: Bool) {
        guard let fd = agent else { return }
        do {
            if on {
                try loop.watch(fd, interest: [.readable, .writable]) { readiness in
                    if readiness.contains(.writable) { self.flush() }
                    if readiness.contains(.readable) || readiness.contains(.hangup) { self.receive() }
                }
            } else {
                try loop.watch(fd, interest: .readable) { _ in self.receive() }
            }
        } catch {
            dropAgent(fd)
        }
    }

    // MARK: life

    private func armIdleTimer() {
        guard idleTimer == nil, agent == nil else { return }
        idleTimer = loop.schedule(after: ContainerKeeper.idleLifetime) {
            self.idleTimer = nil
            if self.agent == nil && self.records.isEmpty {
                self.log("no container and no agent: exiting")
                self.loop.stop()
            } else {
                self.armIdleTimer()
            }
        }
    }

    /// SIGTERM or SIGINT: stop every container (the board is shutting down, or
    /// `kinglet keeper --stop`), SIGKILL after the grace period, then exit.
    private func stopEverything() {
        if stopping {
            for record in records.values where record.exit == nil { signal(record, SIGKILL) }
            return
        }
        stopping = true
        log("stopping \(records.values.filter { $0.exit == nil }.count) container(s)")
        for record in records.values where record.exit == nil { signal(record, SIGTERM) }
        loop.schedule(after: ContainerKeeper.stopGracePeriod) {
            for record in self.records.values where record.exit == nil { self.signal(record, SIGKILL) }
        }
        finishStopIfDone()
    }

    private func signal(_ record: KeeperRecord, _ number: Int32) {
        guard record.pid > 1 else { return }
        if record.killGroupOnExit { _ = kinglet_kill_group(record.pid, number) } else { _ = kill(record.pid, number) }
    }

    private func finishStopIfDone() {
        for record in records.values where record.exit == nil { return }
        loop.stop()
    }

    /// Drops what was queued for an agent that is gone, with its descriptor copies.
    private func discardOutgoing() {
        for item in outgoing { closeAll(item.fds) }
        outgoing = []
    }

    private func closeAll(_ fds: [Int32]) {
        for fd in fds where fd >= 0 { _ = close(fd) }
    }
}
