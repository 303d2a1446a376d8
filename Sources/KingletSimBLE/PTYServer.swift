
import Glibc

/// Runs a `BLEController` on a pseudo-terminal, as a UART-attached controller would appear:
/// a symlink at `linkPath` names the slave device (like a udev by-id link).
///
/// SIGUSR1 unplugs (closes the pty, removes the symlink), SIGUSR2 plugs a fresh controller
/// back in (new pty, new symlink); SIGTERM and SIGINT end the run cleanly.
public struct PTYServer {
    public enum Failure: Error, CustomStringConvertible {
        case system(String, Int32)
        case linkOccupied(String)

        public var description: String {
            switch self {
            case let .system(what, code): return "\(what): \(String(cString: strerror(code)))"
            case let .linkOccupied(path): return "\(path) exists and is not a symlink; refusing to replace it"
            }
        }
    }

    public let linkPath: String
    public let config: SimulationConfig
    public let faults: FaultPlan
    public let log: BLESimLog

    /// Octets waiting for the pty; past this a Host that does not read loses whole packets,
    /// as a UART without flow control would.
    static let outputLimit = 256 * 1024
    /// How long to wait between looks for a Host that closed the pty.
    static let absentPollMilliseconds: Int32 = 100
    /// The longest poll wait, so the loop looks at the clock at least this often.
    static let maxPollMilliseconds: Int32 = 1000

    public init(linkPath: String, config: SimulationConfig, faults: FaultPlan, log: BLESimLog) {
        self.linkPath = linkPath
        self.config = config
        self.faults = faults
        self.log = log
    }

    private struct Plugged {
        var master: Int32
        var slavePath: String
        var controller: BLEController
        var output: [UInt8] = []
        /// The Host closed the slave (the master reports POLLHUP); output is dropped meanwhile.
        var hostAbsent = false
        var droppedWhileFull = 0
    }

    /// Serves until SIGTERM or SIGINT. Returns the number of times the device was plugged in.
    @discardableResult
    public func run() throws(Failure) -> Int {
        let signals = SimSystem.signalsOpen()
        guard signals >= 0 else { throw .system("signalfd", errno) }
        defer { close(signals) }
        var plugged: Plugged? = try plug()
        var plugs = 1
        defer { if let p = plugged { unplug(p) } }

        var running = true
        while running {
            let now = SimInstant(nanoseconds: SimSystem.monotonicNanoseconds())
            if var p = plugged {
                queue(p.controller.tick(now: now), on: &p)
                plugged = p
            }
            var fds = [pollfd(fd: signals, events: Int16(POLLIN), revents: 0)]
            var timeout = PTYServer.maxPollMilliseconds
            if let p = plugged {
                if p.hostAbsent {
                    timeout = PTYServer.absentPollMilliseconds
                } else {
                    fds.append(pollfd(fd: p.master, events: Int16(POLLIN) | (p.output.isEmpty ? 0 : Int16(POLLOUT)), revents: 0))
                }
                if let deadline = p.controller.nextDeadline() {
                    let ms = Int32(min(UInt64(timeout), (deadline.since(now) + 999_999) / 1_000_000))
                    timeout = min(timeout, ms)
                }
            }
            let n = poll(&fds, nfds_t(fds.count), timeout)
            if n < 0 {
                if errno == EINTR { continue }
                throw .system("poll", errno)
            }
            if fds[0].revents & Int16(POLLIN) != 0 {
                // Drain every pending signal; each read returns one.
                var pending = 64
                while pending > 0 {
                    pending -= 1
                    let signo = SimSystem.signalsRead(signals)
                    if signo <= 0 { break }
                    if signo == SIGTERM || signo == SIGINT {
                        log.info("signal \(signo): stopping")
                        running = false
                    } else if signo == SIGUSR1 {
                        if let p = plugged {
                            unplug(p)
                            plugged = nil
                            log.info("SIGUSR1: unplugged (\(linkPath) removed)")
                        }
                    } else if signo == SIGUSR2 {
                        if plugged == nil {
                            plugged = try plug()
                            plugs += 1
                        }
                    }
                }
            }
            guard running, var p = plugged else { continue }
            if p.hostAbsent {
                if hostReturned(p.master) {
                    p.hostAbsent = false
                    // A Host reopening the slave must find a raw line: no echo of our events.
                    _ = SimSystem.ptyMakeRaw(p.master)
                    log.info("host opened \(p.slavePath)")
                }
            } else if fds.count > 1 {
                let revents = fds[1].revents
                if revents & Int16(POLLIN) != 0 {
                    var buffer = [UInt8](repeating: 0, count: 4096)
                    let got = read(p.master, &buffer, buffer.count)
                    if got > 0 {
                        // Bring the clock up to now first: a command's effects (scan start,
                        // connection events) are timed from when it arrived.
                        queue(p.controller.tick(now: SimInstant(nanoseconds: SimSystem.monotonicNanoseconds())), on: &p)
                        queue(p.controller.received(Array(buffer[0..<got])), on: &p)
                    }
                } else if revents & Int16(POLLHUP) != 0 {
                    p.hostAbsent = true
                    if !p.output.isEmpty { log.info("host closed \(p.slavePath); \(p.output.count) unsent octets dropped") }
                    else { log.info("host closed \(p.slavePath)") }
                    p.output = []
                }
                if revents & Int16(POLLOUT) != 0, !p.output.isEmpty {
                    let wrote = p.output.withUnsafeBytes { write(p.master, $0.baseAddress, $0.count) }
                    if wrote > 0 { p.output.removeFirst(wrote) }
                }
            }
            plugged = p
        }
        return plugs
    }

    private func queue(_ bytes: [UInt8], on p: inout Plugged) {
        guard !bytes.isEmpty, !p.hostAbsent else { return }
        if p.output.count + bytes.count > PTYServer.outputLimit {
            if p.droppedWhileFull == 0 { log.info("the host is not reading; dropping output") }
            p.droppedWhileFull += bytes.count
            return
        }
        if p.droppedWhileFull > 0 {
            log.info("the host reads again; \(p.droppedWhileFull) octets were dropped")
            p.droppedWhileFull = 0
        }
        p.output += bytes
    }

    private func hostReturned(_ master: Int32) -> Bool {
        var fd = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
        return poll(&fd, 1, 0) >= 0 && fd.revents & Int16(POLLHUP) == 0
    }

    private func plug() throws(Failure) -> Plugged {
        var name = [CChar](repeating: 0, count: 128)
        let master = SimSystem.ptyOpen(&name, name.count)
        guard master >= 0 else { throw .system("posix_openpt", errno) }
        let slave = cString(name)
        do {
            try link(to: slave)
        } catch {
            close(master)
            throw error
        }
        let now = SimInstant(nanoseconds: SimSystem.monotonicNanoseconds())
        log.info("plugged in: \(linkPath) -> \(slave), \(config.devices.count) peripheral(s) in range")
        return Plugged(master: master, slavePath: slave, controller: BLEController(config: config, faults: faults, start: now, log: log))
    }

    private func unplug(_ p: Plugged) {
        close(p.master)
        // Remove the link only if it still names our pty.
        var target = [CChar](repeating: 0, count: 256)
        let n = readlink(linkPath, &target, target.count - 1)
        if n > 0, cString(target) == p.slavePath { unlink(linkPath) }
        summarize(p.controller)
    }

    /// Points `linkPath` at `target` atomically (symlink to a temporary name, then rename).
    private func link(to target: String) throws(Failure) {
        var st = stat()
        if lstat(linkPath, &st) == 0, st.st_mode & S_IFMT != S_IFLNK {
            throw .linkOccupied(linkPath)
        }
        let temporary = "\(linkPath).tmp-\(getpid())"
        unlink(temporary)
        guard symlink(target, temporary) == 0 else { throw .system("symlink \(temporary)", errno) }
        guard rename(temporary, linkPath) == 0 else {
            let e = errno
            unlink(temporary)
            throw .system("rename to \(linkPath)", e)
        }
    }

    private func cString(_ chars: [CChar]) -> String {
        String(decoding: chars.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private func summarize(_ c: BLEController) {
        let s = c.statistics, f = c.faultCounters
        var line = "summary: \(s.commands) commands (\(s.unknownCommands) unknown), \(s.advertisingReports) advertising reports, "
            + "\(s.connections) connections, ACL \(s.aclFromHost) in / \(s.aclToHost) out, \(s.syncLosses) sync losses, "
            + "\(s.bufferOverflows) buffer overflows; \(f.packetsSent) packets sent"
        if !faults.isEmpty {
            line += "; faults: \(f.garbageInsertions) garbage insertions (\(f.garbageOctets) octets), "
                + "\(f.eventsTruncated) truncated events, \(f.packetsSilenced) packets silenced"
        }
        log.info(line)
    }
}

/// Writes a line to standard error with write(2): no shared FILE state.
public func writeStandardError(_ line: String) {
    var bytes = Array((line + "\n").utf8)
    var offset = 0
    var attempts = 16
    while offset < bytes.count, attempts > 0 {
        attempts -= 1
        let n = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress! + offset, $0.count - offset) }
        if n <= 0 { if errno == EINTR { continue } else { return } }
        offset += n
    }
}
