import ArgumentParser
import Foundation
import KingletCore
import KingletEpoll
import KingletLink
import KingletPod

/// `kinglet-sim nodes --count N --broker mqtt://127.0.0.1:1883`: N boards named
/// `<prefix>00001`..., each connected with KingletLink as the agent would be, reporting
/// every pod its index lists as Running (no process is started) and `removed` when the
/// index drops it. One epoll loop for all of them.
struct SimulatedNodesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nodes",
        abstract: "Runs simulated boards, each a KingletLink client, on one event loop.")

    @Option(help: "How many boards.") var count: Int = 1
    @Option(help: "The broker: mqtt://host:port (loopback) or mqtts://host:port with --ca/--cert/--key.") var broker: String
    @Option(help: "Node name prefix; names are <prefix>00001, <prefix>00002, ...") var prefix: String = "sim-"
    @Option(help: "First node number.") var first: Int = 1
    @Option(help: "CA file for mqtts://.") var ca: String = ""
    @Option(help: "Client certificate for mqtts:// (shared by every simulated node).") var cert: String = ""
    @Option(help: "Client key for mqtts://.") var key: String = ""
    @Option(help: "Boards started per 100 ms, so the broker is not flooded with connects.") var rate: Int = 200
    @Option(help: "Stop after this many seconds (0: until SIGINT/SIGTERM).") var seconds: Int = 0

    func validate() throws {
        guard count >= 1, count <= 100_000 else { throw ValidationError("--count must be 1 to 100000") }
        guard rate >= 1 else { throw ValidationError("--rate must be at least 1") }
        _ = try brokerAddress()
    }

    func brokerAddress() throws -> (host: String, port: Int32, tls: Bool) {
        let tls = broker.hasPrefix("mqtts://")
        guard tls || broker.hasPrefix("mqtt://") else { throw ValidationError("--broker must be mqtt:// or mqtts://") }
        let rest = broker.dropFirst(tls ? 8 : 7)
        let parts = rest.split(separator: ":", maxSplits: 1)
        guard let host = parts.first, !host.isEmpty else { throw ValidationError("--broker has no host") }
        let port = parts.count == 2 ? Int32(parts[1]) : (tls ? 8883 : 1883)
        guard let port, port > 0, port < 65536 else { throw ValidationError("--broker has a bad port") }
        return (String(host), port, tls)
    }

    func run() throws {
        let limit = FileLimit.raise(to: rlim_t(count * 4 + 64))
        let address = try brokerAddress()
        let loop = try EpollEventLoop()
        var boards: [SimulatedBoard] = []
        var next = 0
        func startBatch() {
            let end = min(next + rate, count)
            while next < end {
                let name = prefix + String(repeating: "0", count: max(0, 5 - String(first + next).count)) + String(first + next)
                var settings = LinkSettings(nodeName: name, host: address.host, port: address.port, useTLS: address.tls,
                                            caFile: ca, certFile: cert, keyFile: key, agentVersion: "sim-" + Simulator.version)
                settings.keepAliveSeconds = 60
                let board = SimulatedBoard(loop: loop, settings: settings, seed: UInt64(first + next))
                if let failure = board.start() {
                    FileHandle.standardError.write(Data("kinglet-sim: \(name): \(failure.description)\n".utf8))
                    loop.stop()
                    return
                }
                boards.append(board)
                next += 1
            }
            if next < count { loop.schedule(after: .milliseconds(100)) { startBatch() } }
        }
        print("kinglet-sim: \(count) node(s) on \(broker), descriptor limit \(limit)")
        startBatch()
        func report() {
            let connected = boards.filter { $0.link.isConnected }.count
            let pods = boards.reduce(0) { $0 + $1.running.count }
            print("kinglet-sim: \(connected)/\(boards.count) connected, \(pods) pod(s) reported Running")
            loop.schedule(after: .seconds(10)) { report() }
        }
        loop.schedule(after: .seconds(10)) { report() }
        if seconds > 0 { loop.schedule(after: .seconds(Int64(seconds))) { loop.stop() } }
        try loop.handle([.terminate, .interrupt]) { _ in loop.stop() }
        try loop.run()
        for board in boards { board.link.stop() }
        for _ in 0..<20 { try loop.runOnce(timeoutMilliseconds: 10) }
        for board in boards { board.link.close() }
        print("kinglet-sim: stopped")
    }
}

/// One simulated board: a KingletLink client that "runs" pods by reporting them Running.
final class SimulatedBoard {
    let link: CloudLink
    private(set) var running: [String: (namespace: String, name: String, hash: UInt64)] = [:]
    private let loop: EpollEventLoop

    init(loop: EpollEventLoop, settings: LinkSettings, seed: UInt64) {
        self.loop = loop
        link = CloudLink(loop: loop, settings: settings, wallClock: SimulatedBoard.wallClock, seed: seed)
    }

    static func wallClock() -> Int64 { Int64(Date().timeIntervalSince1970 * 1_000_000_000) }

    func start() -> LinkSetupError? {
        link.runningPods = { [unowned self] in self.running.mapValues { $0.hash } }
        link.apply = { [unowned self] plan in self.apply(plan) }
        let node = Array(#"{"v":1,"labels":{"kinglet.io/simulated":"true"},"capacity":{"cpu":"4","memory":"4Gi","pods":"110"},"allocatable":{"cpu":"4","memory":"4Gi","pods":"110"},"conditions":[{"type":"Ready","status":"True","reason":"KubeletReady","message":"simulated","lastTransitionTime":"2026-01-01T00:00:00Z"}],"nodeInfo":{"operatingSystem":"linux","architecture":"arm64","kubeletVersion":"kinglet-sim"}}"#.utf8)
        link.nodeStatus = { node }
        return link.start()
    }

    private func apply(_ plan: RelayPlan) {
        let now = SimulatedBoard.wallClock()
        for entry in plan.entries {
            guard case .start(let message) = entry else { continue } // no cache: nothing to start from
            running[message.uid] = (message.pod.metadata.namespace, message.pod.metadata.name, message.specHash)
            var status = PodStatus(phase: .running, startTime: now, hostIP: "127.0.0.1", podIP: "127.0.0.1")
            for type in ["PodScheduled", "Initialized", "ContainersReady", "Ready"] {
                status.conditions.append(PodCondition(type: type, isTrue: true, lastTransitionTime: now))
            }
            for container in message.pod.spec.containers {
                status.containerStatuses.append(ContainerStatus(name: container.name, image: container.image,
                                                                containerID: "sim://" + message.uid + "/" + container.name,
                                                                state: .running(startedAt: now), ready: true, started: true))
            }
            link.podStatusChanged(uid: message.uid, namespace: message.pod.metadata.namespace, name: message.pod.metadata.name,
                                  specHash: message.specHash, status: status)
        }
        for stop in plan.stops {
            guard let pod = running.removeValue(forKey: stop.uid) else { continue }
            link.podRemoved(uid: stop.uid, namespace: pod.namespace, name: pod.name)
        }
    }
}

/// RLIMIT_NOFILE: every board holds three descriptors (its socket and libmosquitto's
/// wake-up pair).
enum FileLimit {
    /// Raises the soft limit to `wanted` (and the hard one, when allowed); returns the soft limit.
    static func raise(to wanted: rlim_t) -> rlim_t {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 0 }
        if limit.rlim_cur >= wanted { return limit.rlim_cur }
        var raised = rlimit(rlim_cur: wanted, rlim_max: max(wanted, limit.rlim_max))
        if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) != 0 {
            raised = rlimit(rlim_cur: min(wanted, limit.rlim_max), rlim_max: limit.rlim_max)
            _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised)
        }
        _ = getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        return limit.rlim_cur
    }
}
