/// Serves a `ZNPSimulator` on a pseudo-terminal, as a USB stick would appear to the host.
///
/// The pty's slave is raw (no echo, no line editing) and reachable through a symlink at a
/// stable path. Signals, read from a signalfd in the same poll() as the pty:
/// SIGUSR1 unplugs the stick (closes the pty, removes the symlink: the host sees the port go),
/// SIGUSR2 plugs it back (a fresh pty and symlink; the stick powered up again, NV kept),
/// SIGTERM and SIGINT end the server after removing the symlink.
import CKingletSimSystem
import Glibc

public struct PTYServerError: Error, CustomStringConvertible {
    public var message: String

    static func system(_ call: String, _ code: Int32 = errno) -> PTYServerError {
        PTYServerError(message: "\(call): \(String(cString: strerror(code)))")
    }

    public var description: String { message }
}

public final class PTYServer {
    private var simulator: ZNPSimulator
    private let linkPath: String
    private let verbose: Bool
    private let start: UInt64
    private var master: Int32 = -1
    private var slavePath = ""
    private var signals: Int32 = -1
    private var hostConnected = false
    private var pendingOutput: [UInt8] = []

    /// `linkPath`: where the symlink to the slave device goes (an existing symlink there is
    /// replaced; any other file is left alone and is an error).
    public init(simulator: ZNPSimulator, linkPath: String, verbose: Bool) {
        self.simulator = simulator
        self.linkPath = linkPath
        self.verbose = verbose
        start = PTYServer.monotonicMilliseconds()
    }

    deinit {
        if master >= 0 { close(master) }
        if signals >= 0 { close(signals) }
    }

    /// Serves until SIGTERM or SIGINT; returns the process exit status.
    public func run() throws(PTYServerError) -> Int32 {
        var mask = sigset_t()
        sigemptyset(&mask)
        for signal in [SIGUSR1, SIGUSR2, SIGTERM, SIGINT] { sigaddset(&mask, signal) }
        guard pthread_sigmask(SIG_BLOCK, &mask, nil) == 0 else { throw .system("pthread_sigmask") }
        signals = ksim_signalfd(&mask)
        guard signals >= 0 else { throw .system("signalfd") }
        try plug()
        defer { unplug(reason: "exiting") }
        // One pass per wake-up; the server ends only on SIGTERM/SIGINT, like any daemon.
        while true {
            flushLog()
            let plugged = master >= 0
            var descriptors = [pollfd(fd: signals, events: Int16(POLLIN), revents: 0)]
            // While no host holds the slave open the master reports POLLHUP at once, so it is
            // polled only while a host is there; otherwise a short timeout probes for one.
            if plugged && hostConnected {
                let wantWrite = !pendingOutput.isEmpty
                descriptors.append(pollfd(fd: master, events: Int16(POLLIN) | (wantWrite ? Int16(POLLOUT) : 0), revents: 0))
            }
            let result = poll(&descriptors, nfds_t(descriptors.count), pollTimeout(plugged: plugged))
            if result < 0 {
                if errno == EINTR { continue }
                throw .system("poll")
            }
            if descriptors[0].revents & Int16(POLLIN) != 0, try handleSignals() { return 0 }
            guard master >= 0 else { continue }
            var events: Int16 = descriptors.count > 1 ? descriptors[1].revents : 0
            if !hostConnected {
                var probe = [pollfd(fd: master, events: Int16(POLLIN), revents: 0)]
                _ = poll(&probe, 1, 0)
                if probe[0].revents & Int16(POLLHUP) == 0 {
                    hostArrived()
                    events = probe[0].revents
                }
            }
            if hostConnected {
                if events & Int16(POLLIN) != 0 {
                    readHost(now: simulatorNow())
                } else if events & Int16(POLLHUP) != 0 {
                    hostGone()
                }
                if hostConnected, events & Int16(POLLOUT) != 0 { writePending() }
            }
            if master >= 0 { send(simulator.tick(now: simulatorNow())) }
        }
    }

    // MARK: - Signals

    /// Returns true when the server should exit.
    private func handleSignals() throws(PTYServerError) -> Bool {
        // A signalfd read yields one signal; at most a handful are ever pending.
        for _ in 0..<16 {
            let signal = ksim_read_signal(signals)
            guard signal > 0 else { return false }
            switch signal {
            case SIGUSR1:
                if master >= 0 { unplug(reason: "SIGUSR1: unplugged") } else { say("SIGUSR1: already unplugged") }
            case SIGUSR2:
                if master < 0 {
                    simulator.powerCycle(now: simulatorNow())
                    try plug()
                } else {
                    say("SIGUSR2: already plugged in")
                }
            case SIGTERM, SIGINT:
                say("signal \(signal): stopping; \(summary())")
                return true
            default:
                break
            }
        }
        return false
    }

    // MARK: - The pty

    private func plug() throws(PTYServerError) {
        var name = [CChar](repeating: 0, count: 128)
        let fd = ksim_open_pty(&name, name.count)
        guard fd >= 0 else { throw .system("posix_openpt/grantpt/unlockpt/ptsname_r") }
        guard ksim_set_nonblocking(fd) == 0 else {
            let code = errno
            close(fd)
            throw .system("fcntl(O_NONBLOCK)", code)
        }
        let path = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        do {
            try makeRaw(slave: path)
            try link(to: path)
        } catch {
            close(fd)
            throw error
        }
        master = fd
        slavePath = path
        hostConnected = false
        pendingOutput.removeAll()
        say("plugged in: \(linkPath) -> \(path)")
    }

    /// Raw mode on the slave (cfmakeraw: no echo, no canonical input, no output processing),
    /// 115200 8N1 as the stick's UART. The settings stay with the pty when the slave closes.
    private func makeRaw(slave path: String) throws(PTYServerError) {
        let fd = ksim_open_tty(path)
        guard fd >= 0 else { throw .system("open \(path)") }
        defer { close(fd) }
        var settings = termios()
        guard tcgetattr(fd, &settings) == 0 else { throw .system("tcgetattr") }
        cfmakeraw(&settings)
        cfsetispeed(&settings, speed_t(B115200))
        cfsetospeed(&settings, speed_t(B115200))
        guard tcsetattr(fd, TCSANOW, &settings) == 0 else { throw .system("tcsetattr") }
    }

    /// Points `linkPath` at the slave: a temporary symlink renamed over the old one, so the
    /// path never names a half-made link.
    private func link(to target: String) throws(PTYServerError) {
        var status = stat()
        if lstat(linkPath, &status) == 0, status.st_mode & S_IFMT != S_IFLNK {
            throw PTYServerError(message: "\(linkPath) exists and is not a symlink; not replacing it")
        }
        let temporary = "\(linkPath).\(getpid()).tmp"
        unlink(temporary)
        guard symlink(target, temporary) == 0 else { throw .system("symlink \(temporary)") }
        guard rename(temporary, linkPath) == 0 else {
            let code = errno
            unlink(temporary)
            throw .system("rename to \(linkPath)", code)
        }
    }

    private func unplug(reason: String) {
        guard master >= 0 else { return }
        // Remove the link only while it still names our pty (another process may own it now).
        var target = [CChar](repeating: 0, count: 256)
        let length = readlink(linkPath, &target, target.count - 1)
        if length > 0, String(decoding: target.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self) == slavePath {
            unlink(linkPath)
        }
        close(master)
        master = -1
        hostConnected = false
        pendingOutput.removeAll()
        say("\(reason) (\(linkPath) removed)")
    }

    private func readHost(now: SimInstant) {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = read(master, &buffer, buffer.count)
        if count > 0 {
            send(simulator.received(Array(buffer.prefix(count)), now: now))
        } else if count < 0, errno == EIO {
            hostGone()
        }
    }

    private func hostArrived() {
        hostConnected = true
        say(verbose: true, "host opened \(slavePath)")
    }

    /// The host closed the port: whatever the stick sends meanwhile is lost, as on a real UART,
    /// and nothing stale may wait in the pty for the next open.
    private func hostGone() {
        guard hostConnected else { return }
        hostConnected = false
        pendingOutput.removeAll()
        tcflush(master, TCIOFLUSH)
        say(verbose: true, "host closed \(slavePath)")
    }

    private func send(_ bytes: [UInt8]) {
        guard !bytes.isEmpty else { return }
        guard hostConnected else {
            say(verbose: true, "port closed: \(bytes.count) byte(s) not delivered")
            return
        }
        pendingOutput += bytes
        writePending()
    }

    private func writePending() {
        while !pendingOutput.isEmpty {
            let written = pendingOutput.withUnsafeBytes { write(master, $0.baseAddress, $0.count) }
            if written > 0 {
                pendingOutput.removeFirst(written)
            } else {
                if written < 0, errno == EIO { hostGone() }
                return
            }
        }
    }

    // MARK: - Time and logs

    private static func monotonicMilliseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1000 + UInt64(now.tv_nsec) / 1_000_000
    }

    private func simulatorNow() -> SimInstant {
        SimInstant(milliseconds: PTYServer.monotonicMilliseconds() - start)
    }

    private func pollTimeout(plugged: Bool) -> Int32 {
        var timeout: Int32 = plugged && !hostConnected ? 50 : 1000
        if plugged, let deadline = simulator.nextDeadline {
            let now = simulatorNow()
            let wait = deadline > now ? deadline.milliseconds - now.milliseconds : 0
            timeout = min(timeout, Int32(clamping: wait))
        }
        return timeout
    }

    private func summary() -> String {
        let c = simulator.counters
        return "received \(c.framesReceived) frame(s), sent \(c.framesSent), reports \(c.reportsSent), "
            + "bad FCS in \(c.badChecksumsReceived), faults: bad FCS \(c.faultBadChecksums), "
            + "garbage \(c.faultGarbageBursts), ignored while silent \(c.framesIgnoredWhileSilent)"
    }

    private func flushLog() {
        for line in simulator.takeLog() where verbose || !line.verbose {
            say(line.text)
        }
    }

    private func say(verbose lineIsVerbose: Bool = false, _ text: String) {
        guard verbose || !lineIsVerbose else { return }
        let line = Array("kinglet-sim znp: \(text)\n".utf8)
        _ = line.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
    }
}
