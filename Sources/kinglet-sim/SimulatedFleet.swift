import CKingletSystem
import Glibc
import KingletCore
import KingletEpoll
import KingletLink

/// What `kinglet-sim nodes` was asked to run.
struct FleetPlan {
    var count: Int
    var first: Int
    var prefix: String
    var host: String
    var port: Int32
    var useTLS: Bool
    var caFile: String
    /// May hold `{node}`, replaced by each board's name.
    var certFile: String
    var keyFile: String
    var connectRate: Double
    var podStartDelay: KingletCore.Duration
    var progressInterval: KingletCore.Duration
    /// Stop by itself after this long (nil: on a signal only).
    var runFor: KingletCore.Duration?
    var verbose: Bool

    func nodeName(_ index: Int) -> String { FleetPlan.nodeName(prefix: prefix, index: index) }

    /// `<prefix><index, at least 5 digits>`: sim-00001.
    static func nodeName(prefix: String, index: Int) -> String {
        let digits = String(index)
        return prefix + String(repeating: "0", count: max(0, 5 - digits.count)) + digits
    }
}

/// N simulated boards on one epoll loop, one thread. Boards are created and connected at
/// `connectRate` per second (each libmosquitto client holds descriptors from its creation
/// on, and 10,000 CONNECTs at once would only measure the broker's accept queue); progress
/// is printed every `progressInterval`; SIGTERM/SIGINT print a summary and stop cleanly.
final class SimulatedFleet {
    static let agentVersion = "0.2.0-sim"
    /// Stagger tick: boards due since the last tick are started together.
    static let tick = KingletCore.Duration.milliseconds(10)
    /// How long a clean stop waits for the DISCONNECTs to go out.
    static let stopLimit = KingletCore.Duration.seconds(5)
    /// Link warnings printed in full before they are only counted.
    static let printedWarnings = 20

    private let plan: FleetPlan
    private let loop: EpollEventLoop
    private let nodeStatus: SimulatedNodeStatus
    private var boards: [SimulatedBoard] = []
    private let began: Instant
    private var everyoneConnectedReported = false
    private var warnings = 0
    private var stopping = false
    private var stopBegan = Instant(nanoseconds: 0)
    private var setupFailures = 0

    init(plan: FleetPlan) throws(LoopError) {
        self.plan = plan
        loop = try EpollEventLoop()
        began = loop.now
        nodeStatus = SimulatedNodeStatus(agentVersion: SimulatedFleet.agentVersion, since: kinglet_realtime_ns())
    }

    /// Runs until SIGTERM or SIGINT. Returns the exit status.
    func run() throws(LoopError) -> Int32 {
        try loop.handle([.terminate, .interrupt]) { [unowned self] signal in self.received(signal) }
        say("kinglet-sim: \(plan.count) board(s) \(plan.nodeName(plan.first))...\(plan.nodeName(plan.first + plan.count - 1)) "
            + "-> \(plan.useTLS ? "mqtts" : "mqtt")://\(plan.host):\(plan.port), \(Int(plan.connectRate)) connects/s, "
            + "\(nodeStatus.architecture), pod start \(plan.podStartDelay.nanoseconds / 1_000_000) ms")
        startDue()
        scheduleProgress()
        if let runFor = plan.runFor {
            loop.schedule(after: runFor) { [unowned self] in if !self.stopping { self.beginStop("time is up") } }
        }
        try loop.run()
        for board in boards { board.close() }
        return setupFailures > 0 ? 1 : 0
    }

    // MARK: staggered start

    private func startDue() {
        guard !stopping else { return }
        let elapsed = Double(loop.now.since(began).nanoseconds) / 1e9
        let due = min(plan.count, Int(elapsed * plan.connectRate) + 1)
        // A loop that fell behind catches up in bounded steps, not one long dispatch.
        let step = max(1, Int(plan.connectRate / 20))
        let target = min(due, boards.count + step)
        while boards.count < target { startBoard() }
        if boards.count < plan.count {
            loop.schedule(after: SimulatedFleet.tick) { [unowned self] in self.startDue() }
        }
    }

    private func startBoard() {
        let index = plan.first + boards.count
        let name = plan.nodeName(index)
        let settings = LinkSettings(nodeName: name, host: plan.host, port: plan.port, useTLS: plan.useTLS, caFile: plan.caFile,
                                    certFile: plan.certFile.replacingNode(name), keyFile: plan.keyFile.replacingNode(name),
                                    agentVersion: SimulatedFleet.agentVersion)
        let seed = UInt64(truncatingIfNeeded: index) &* 0x9E37_79B9_7F4A_7C15 ^ UInt64(truncatingIfNeeded: getpid())
        let board = SimulatedBoard(index: index, name: name, loop: loop, settings: settings, podStartDelay: plan.podStartDelay,
                                   nodeStatus: nodeStatus, wallClock: { kinglet_realtime_ns() }, seed: seed)
        board.link.log = { [unowned self] level, message in self.linkLog(level, message) }
        boards.append(board)
        if let failure = board.link.start() {
            setupFailures += 1
            linkLog(.warning, "\(name): \(failure.description)")
        }
    }

    private func linkLog(_ level: LinkLogLevel, _ message: String) {
        if level == .info {
            if plan.verbose { say(message) }
            return
        }
        warnings += 1
        if warnings <= SimulatedFleet.printedWarnings || plan.verbose {
            say(message)
        } else if warnings == SimulatedFleet.printedWarnings + 1 {
            say("kinglet-sim: further link warnings are only counted (see the progress lines)")
        }
    }

    // MARK: progress and summary

    private struct Tally {
        var started = 0
        var connected = 0
        var connections = 0
        /// Boards that connected at least once: connections beyond one each are reconnects.
        var everConnected = 0
        var podsRunning = 0
        var podsStarted = 0
        var podsRemoved = 0
        var skippedPayloads = 0
    }

    private func tally() -> Tally {
        var tally = Tally()
        tally.started = boards.count
        for board in boards {
            let report = board.link.report
            if report.state == .connected { tally.connected += 1 }
            tally.connections += report.connections
            if report.connections > 0 { tally.everConnected += 1 }
            tally.podsRunning += board.podsRunning
            tally.podsStarted += board.podsStarted
            tally.podsRemoved += board.podsRemoved
            for count in report.skippedPayloads.values { tally.skippedPayloads += count }
        }
        return tally
    }

    private var elapsedText: String {
        let tenths = loop.now.since(began).nanoseconds / 100_000_000
        return "\(tenths / 10).\(tenths % 10) s"
    }

    private func scheduleProgress() {
        loop.schedule(after: plan.progressInterval) { [unowned self] in
            guard !self.stopping else { return }
            self.progress()
            self.scheduleProgress()
        }
    }

    private func progress() {
        let now = tally()
        say("kinglet-sim: \(elapsedText): connected \(now.connected)/\(plan.count) (started \(now.started)), "
            + "reconnects \(now.connections - now.everConnected), pods running \(now.podsRunning), "
            + "link warnings \(warnings)")
        if !everyoneConnectedReported && now.connected == plan.count {
            everyoneConnectedReported = true
            say("kinglet-sim: all \(plan.count) board(s) connected after \(elapsedText)")
        }
    }

    private func summary() {
        let now = tally()
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        let cpu = Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
        let cpuText = String(Int(cpu * 10) / 10) + "." + String(Int(cpu * 10) % 10)
        say("kinglet-sim: summary after \(elapsedText): \(now.started)/\(plan.count) board(s) started, \(now.connected) connected, "
            + "\(now.connections) connection(s) accepted in all, pods started \(now.podsStarted), running \(now.podsRunning), "
            + "removed \(now.podsRemoved), payloads skipped \(now.skippedPayloads), link warnings \(warnings), "
            + "CPU \(cpuText) s, max RSS \(usage.ru_maxrss) KiB, longest loop dispatch "
            + "\(loop.longestDispatch.nanoseconds / 1_000_000) ms")
    }

    // MARK: stopping

    private func received(_ signal: ProcessSignal) {
        if stopping {
            say("kinglet-sim: \(signal.name) again: stopping at once")
            loop.stop()
            return
        }
        beginStop(signal.name)
    }

    private func beginStop(_ why: String) {
        stopping = true
        stopBegan = loop.now
        say("kinglet-sim: \(why): stopping")
        summary()
        for board in boards { board.link.stop() }
        waitForDisconnects()
    }

    /// Every link publishes `online:false` and DISCONNECT on the loop: let them go out,
    /// within `stopLimit`.
    private func waitForDisconnects() {
        let open = boards.contains { board in
            let state = board.link.report.state
            return state == .stopping
        }
        if !open || loop.now.since(stopBegan) >= SimulatedFleet.stopLimit {
            loop.stop()
            return
        }
        loop.schedule(after: .milliseconds(50)) { [unowned self] in self.waitForDisconnects() }
    }

    private func say(_ line: String) {
        print(line)
        fflush(nil) // stdout is a pipe or file under the bench: block-buffered otherwise
    }
}

extension String {
    /// `{node}` replaced by the board's name (one certificate per board).
    func replacingNode(_ name: String) -> String {
        guard contains("{node}") else { return self }
        return split(separator: "{node}", omittingEmptySubsequences: false).joined(separator: name)
    }
}
