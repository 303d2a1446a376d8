import Glibc

/// Carries bytes between the agent-side pty (A) and the server-side pty (B) in one thread
/// with poll(2), and is where the line faults happen: it sees each response whole on its
/// way from libmodbus to the master. It also owns pty A and the `--link` path, so plugging
/// and unplugging happen here, ordered with the traffic.
///
/// After `run()` starts only the shuttle thread touches its state; other threads talk to
/// it through `command(_:)` (a pipe), and read the counters after it has been joined.
final class Shuttle: @unchecked Sendable {
    enum Command: UInt8 {
        case unplug = 0x55  // "U"
        case plug = 0x50    // "P"
        case stop = 0x53    // "S"
    }

    /// Totals for the exit summary.
    struct Counters {
        var responses = 0
        var badCRC = 0
        var silenced = 0
        var garbage = 0
        var droppedUnplugged = 0
    }

    private var agentSide: PseudoTerminal?
    private let serverMaster: Int32
    private let link: SymbolicLink
    private let log: Log
    private let control: SignalPipe
    /// With `--state`: one byte per write response whose state file is written (see `stateGate`).
    private let stateWritten: SignalPipe?
    private var stateTokens = 0
    private var heldSince: UInt64?
    /// Idle time that ends a response of unknown length, and precedes injected garbage: the
    /// RTU t3.5, but at least 5 ms, since a pty has no character timing and a thread may be
    /// scheduled late.
    private let gapNanoseconds: UInt64
    private var badCRC: EveryNth
    private var silence: EveryNth
    private var garbage: EveryNth
    private var pending: [UInt8] = []
    private var pendingSince: UInt64 = 0
    private var garbageDue: UInt64?
    private var random = SystemRandomNumberGenerator()
    private(set) var counters = Counters()

    /// How long a write response waits for its state file before it goes anyway.
    static let stateGateLimit: UInt64 = 1_000_000_000

    init(agentSide: PseudoTerminal, serverMaster: Int32, link: SymbolicLink, serial: SerialSettings,
         faults: FaultPlan, stateWritten: SignalPipe?, log: Log) throws(SimulatorError) {
        self.control = try SignalPipe()
        self.stateWritten = stateWritten
        self.agentSide = agentSide
        self.serverMaster = serverMaster
        self.link = link
        self.log = log
        self.gapNanoseconds = max(5_000_000, UInt64(serial.frameGap * 1e9))
        self.badCRC = EveryNth(faults.badCRCEvery)
        self.silence = EveryNth(faults.silenceEvery)
        self.garbage = EveryNth(faults.garbageEvery)
    }

    deinit {
        control.close()
        agentSide?.close()
    }

    /// The agent-side pty's slave path while plugged.
    var agentPath: String? { agentSide?.slavePath }

    /// Safe from any thread (and from a signal-handling thread): one byte on a pipe.
    func command(_ command: Command) { control.send(command.rawValue) }

    func run() {
        var buffer = [UInt8](repeating: 0, count: 512)
        while true {
            var fds = [pollfd(fd: control.readEnd, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: serverMaster, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: stateWritten?.readEnd ?? -1, events: Int16(POLLIN), revents: 0)]
            if let agentSide { fds.append(pollfd(fd: agentSide.master, events: Int16(POLLIN), revents: 0)) }
            let ready = poll(&fds, nfds_t(fds.count), timeoutMilliseconds())
            if ready < 0 {
                if errno == EINTR { continue }
                log.say("poll: \(String(cString: strerror(errno))); stopping the shuttle")
                unplug(quietly: true)
                return
            }
            if fds[0].revents != 0 {
                for byte in control.receive() {
                    switch Command(rawValue: byte) {
                    case .unplug: unplug(quietly: false)
                    case .plug: plug()
                    case .stop:
                        unplug(quietly: true)
                        return
                    case nil: break
                    }
                }
                // The descriptors in `fds` may be stale now; poll again.
                continue
            }
            if fds.count > 3, fds[3].revents != 0 { forwardRequestBytes(&buffer) }
            if fds[1].revents != 0 { collectResponseBytes(&buffer) }
            if fds[2].revents != 0, let stateWritten { stateTokens += stateWritten.receive().count }
            let now = monotonicNanoseconds()
            deliverCompleteResponses(now: now)
            if let due = garbageDue, now >= due {
                garbageDue = nil
                sendGarbage()
            }
        }
    }

    private func timeoutMilliseconds() -> Int32 {
        var deadlines: [UInt64] = []
        if !pending.isEmpty { deadlines.append(pendingSince + gapNanoseconds) }
        if let garbageDue { deadlines.append(garbageDue) }
        if let heldSince { deadlines.append(heldSince + Self.stateGateLimit) }
        guard let next = deadlines.min() else { return -1 }
        let now = monotonicNanoseconds()
        return next <= now ? 0 : Int32((next - now + 999_999) / 1_000_000)
    }

    /// Master → server: requests pass untouched (libmodbus frames them by length).
    private func forwardRequestBytes(_ buffer: inout [UInt8]) {
        guard let agentSide else { return }
        let count = read(agentSide.master, &buffer, buffer.count)
        if count > 0 {
            if !writeAll(serverMaster, buffer[0..<count]) { log.trace("server side busy: dropped \(count) request bytes") }
        } else if count < 0, errno != EAGAIN, errno != EINTR {
            // We hold the slave open, so this should not happen; treat it as a pulled cable
            // rather than spin on a hung-up descriptor.
            log.say("agent side failed: \(String(cString: strerror(errno))); unplugged")
            unplug(quietly: true)
        }
    }

    private func collectResponseBytes(_ buffer: inout [UInt8]) {
        let count = read(serverMaster, &buffer, buffer.count)
        guard count > 0 else { return }
        if pending.isEmpty { pendingSince = monotonicNanoseconds() }
        pending += buffer[0..<count]
    }

    private func deliverCompleteResponses(now: UInt64) {
        while !pending.isEmpty {
            switch ResponseFrame.measure(pending[...]) {
            case .length(let length) where pending.count >= length:
                guard stateGate(pending[...], now: now) else { return }
                let frame = Array(pending[0..<length])
                pending.removeFirst(length)
                pendingSince = now
                deliver(frame)
            case .length, .needMore, .unknown:
                // Incomplete, or of unknown length: wait for the idle gap, then send what there is.
                guard now >= pendingSince + gapNanoseconds else { return }
                let frame = pending
                pending.removeAll()
                deliver(frame)
            }
        }
    }

    /// With `--state`, a write's response goes to the master only once the server thread
    /// has written the state file, so a master (or test) that has the response can read the
    /// file at once. libmodbus's `modbus_reply` applies the write and sends the response in
    /// one call, so the response is held here instead.
    private func stateGate(_ frame: ArraySlice<UInt8>, now: UInt64) -> Bool {
        guard stateWritten != nil,
              ModbusFunction(rawValue: frame[frame.startIndex + 1] & ~ModbusFunction.exceptionFlag)?.writes == true else {
            return true
        }
        if stateTokens > 0 {
            stateTokens -= 1
            heldSince = nil
            return true
        }
        guard let since = heldSince else {
            heldSince = now
            return false
        }
        guard now >= since + Self.stateGateLimit else { return false }
        heldSince = nil
        log.say("a write response waited \(Self.stateGateLimit / 1_000_000) ms for the state file; sent without it")
        return true
    }

    private func deliver(_ response: [UInt8]) {
        counters.responses += 1
        let number = counters.responses
        var frame = response
        let silenced = silence.next()
        let spoiled = badCRC.next()
        let garbled = garbage.next()
        if silenced {
            counters.silenced += 1
            log.say("fault silence (\(counters.silenced)): response \(number) dropped")
            return
        }
        if spoiled, frame.count >= 4 {
            counters.badCRC += 1
            frame[frame.count - 2] ^= 0xFF
            frame[frame.count - 1] ^= 0xFF
            log.say("fault bad-crc (\(counters.badCRC)): response \(number) CRC inverted")
        }
        log.trace("response \(number): [\(frame.map { String($0, radix: 16, uppercase: true).leftPadded(2) }.joined(separator: " "))]")
        guard let agentSide else {
            counters.droppedUnplugged += 1
            log.trace("response \(number) dropped: unplugged")
            return
        }
        if !writeAll(agentSide.master, frame[...]) { log.trace("response \(number): the master is not reading; dropped") }
        if garbled { garbageDue = monotonicNanoseconds() + gapNanoseconds }
    }

    private func sendGarbage() {
        guard let agentSide else { return }
        let count = Int.random(in: 1...8, using: &random)
        let bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &random) }
        counters.garbage += 1
        log.say("fault garbage (\(counters.garbage)): \(count) random bytes after response \(counters.responses)")
        _ = writeAll(agentSide.master, bytes[...])
    }

    private func unplug(quietly: Bool) {
        guard let agentSide else {
            if !quietly { log.say("unplug: already unplugged") }
            return
        }
        link.remove(ifPointingAt: agentSide.slavePath)
        agentSide.close()
        self.agentSide = nil
        garbageDue = nil
        if !quietly { log.say("unplugged: \(link.path) removed, \(agentSide.slavePath) hung up") }
    }

    private func plug() {
        guard agentSide == nil else {
            log.say("plug: already plugged")
            return
        }
        do {
            let fresh = try PseudoTerminal.open()
            do {
                try link.point(at: fresh.slavePath)
            } catch {
                fresh.close()
                throw error
            }
            agentSide = fresh
            // Responses produced while unplugged belong to nobody.
            pending.removeAll()
            log.say("plugged: \(link.path) -> \(fresh.slavePath)")
        } catch {
            log.say("plug failed: \(error)")
        }
    }

    /// Writes everything unless the other side stops reading (non-blocking descriptors).
    private func writeAll(_ fd: Int32, _ bytes: ArraySlice<UInt8>) -> Bool {
        var rest = bytes
        var attempts = 0
        while !rest.isEmpty {
            let written = rest.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if written > 0 {
                rest = rest.dropFirst(written)
                continue
            }
            if written < 0, errno == EINTR { continue }
            attempts += 1
            // A full pty buffer drains in microseconds if someone reads it; wait a little, boundedly.
            guard written < 0, errno == EAGAIN, attempts <= 20 else { return false }
            usleep(1_000)
        }
        return true
    }
}
