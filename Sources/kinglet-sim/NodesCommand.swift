import ArgumentParser
import Glibc
import KingletConfig
import KingletCore

/// `kinglet-sim nodes`: a fleet of simulated boards for the relay (tests, demo, scale bench).
struct NodesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nodes",
        abstract: "Simulate N boards on the agent's own cloud link: Ready nodes that report every pod Running.",
        discussion: """
            Each board sim-00001, sim-00002, ... is one KingletLink.CloudLink (the agent's link code), \
            all on one epoll loop in one thread. A board connects as the agent does (client id \
            kinglet-<node>, persistent session, last will), publishes status/online, a heartbeat every \
            10 s and a fixed node status (4 CPUs, 3884Mi, Ready, this host's architecture), and reports \
            every pod the relay's index gives it Running (every container running, ready, started) \
            without starting a process; a pod the index drops is reported removed.

            Boards connect at --connect-rate per second. Progress (connected count) is printed every \
            --progress-seconds; SIGTERM or SIGINT prints a summary, sends every board's online:false and \
            DISCONNECT, and exits 0.

            Each libmosquitto client holds three descriptors (its socket pair and the connection), so \
            the open-files limit (raised to its hard limit at start) caps the boards of one process; \
            run several processes with --first to go beyond.

            The plain mqtt:// listener of `kinglet-relay broker-config --plain-port` needs each client \
            to name itself with its MQTT username, which the link does not send: use it with a broker \
            without that ACL, or use mqtts:// with one certificate per board (--cert-file and \
            --key-file may contain {node}).
            """
    )

    @Option(help: ArgumentHelp("How many boards to simulate.", valueName: "n"))
    var count: Int

    @Option(help: ArgumentHelp("The broker: mqtt://host:port (loopback only) or mqtts://host:port (mTLS).", valueName: "url"))
    var broker: String

    @Option(help: ArgumentHelp("Node name prefix; names are <prefix><5-digit index>.", valueName: "prefix"))
    var prefix = "sim-"

    @Option(help: ArgumentHelp("Index of the first board (to split a fleet over processes).", valueName: "index"))
    var first = 1

    @Option(help: ArgumentHelp("CA certificate that signed the broker's (mqtts://).", valueName: "file"))
    var caFile: String?

    @Option(help: ArgumentHelp("Client certificate (mqtts://); {node} is replaced by each board's name.", valueName: "file"))
    var certFile: String?

    @Option(help: ArgumentHelp("Key of --cert-file; {node} is replaced by each board's name.", valueName: "file"))
    var keyFile: String?

    @Option(help: ArgumentHelp("Milliseconds between a pod's start and its Running report.", valueName: "ms"))
    var podStartMs = 0

    @Option(help: ArgumentHelp("Boards connected per second.", valueName: "rate"))
    var connectRate: Double = 500

    @Option(help: ArgumentHelp("Seconds between progress lines.", valueName: "seconds"))
    var progressSeconds: Double = 5

    @Option(help: ArgumentHelp("Stop (as on SIGTERM) after this many seconds; 0 runs until a signal.", valueName: "seconds"))
    var seconds: Double = 0

    @Flag(help: "Print every link message (connects, disconnects, skipped payloads).")
    var verbose = false

    /// libmosquitto's socket pair and the connection, per client.
    static let descriptorsPerBoard = 3
    /// The loop, standard streams, and whatever else the process holds.
    static let descriptorsReserved = 64

    func validate() throws {
        guard count >= 1 else { throw ValidationError("--count must be at least 1") }
        guard first >= 0, first <= 99_999_999 - count else { throw ValidationError("--first must be between 0 and 99999999 - count") }
        guard connectRate > 0 else { throw ValidationError("--connect-rate must be positive") }
        guard progressSeconds > 0 else { throw ValidationError("--progress-seconds must be positive") }
        guard seconds >= 0 else { throw ValidationError("--seconds must not be negative") }
        guard podStartMs >= 0 else { throw ValidationError("--pod-start-ms must not be negative") }
        if let problem = Self.prefixProblem(prefix) { throw ValidationError("--prefix: \(problem)") }
    }

    /// Node names must be DNS subdomains (and topic levels): lower-case letters, digits,
    /// '-' and '.', starting with a letter or digit.
    static func prefixProblem(_ prefix: String) -> String? {
        if prefix.utf8.count > 200 { return "longer than 200 characters" }
        if let first = prefix.utf8.first, !(first >= UInt8(ascii: "a") && first <= UInt8(ascii: "z"))
            && !(first >= UInt8(ascii: "0") && first <= UInt8(ascii: "9")) {
            return "'\(prefix)' must start with a lower-case letter or a digit"
        }
        for byte in prefix.utf8 {
            let ok = (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
                || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".")
            if !ok { return "'\(prefix)' may hold only lower-case letters, digits, '-' and '.'" }
        }
        return nil
    }

    func run() throws {
        let address: BrokerAddress
        switch BrokerAddress.parse(broker) {
        case .success(let value): address = value
        case .failure(let error): throw ValidationError("--broker: \(error.message)")
        }
        if address.useTLS {
            guard let caFile, let certFile, let keyFile else {
                throw ValidationError("mqtts:// needs --ca-file, --cert-file and --key-file")
            }
            for (flag, path) in [("--ca-file", caFile), ("--cert-file", certFile.replacingNode(FleetPlan.nodeName(prefix: prefix, index: first))),
                                 ("--key-file", keyFile.replacingNode(FleetPlan.nodeName(prefix: prefix, index: first)))] where access(path, R_OK) != 0 {
                throw ValidationError("\(flag): cannot read \(path)")
            }
        } else if caFile != nil || certFile != nil || keyFile != nil {
            throw ValidationError("--ca-file, --cert-file and --key-file are for mqtts:// only")
        }
        let limit = Self.raiseOpenFilesLimit()
        let needed = count * Self.descriptorsPerBoard + Self.descriptorsReserved
        if limit < needed {
            let most = max(0, (limit - Self.descriptorsReserved) / Self.descriptorsPerBoard)
            throw ValidationError("""
                \(count) boards need about \(needed) descriptors (\(Self.descriptorsPerBoard) per libmosquitto client), \
                and the open-files limit is \(limit) even at its hard limit: at most \(most) boards per process. \
                Split the fleet over processes with --first.
                """)
        }
        let plan = FleetPlan(count: count, first: first, prefix: prefix, host: address.host, port: address.port,
                             useTLS: address.useTLS, caFile: caFile ?? "", certFile: certFile ?? "", keyFile: keyFile ?? "",
                             connectRate: connectRate, podStartDelay: .milliseconds(Int64(podStartMs)),
                             progressInterval: .milliseconds(Int64(progressSeconds * 1000)),
                             runFor: seconds > 0 ? .milliseconds(Int64(seconds * 1000)) : nil, verbose: verbose)
        let status: Int32
        do throws(LoopError) {
            status = try SimulatedFleet(plan: plan).run()
        } catch {
            print("kinglet-sim: event loop failed: \(error.description)")
            throw ExitCode(1)
        }
        if status != 0 { throw ExitCode(status) }
    }

    /// Soft limit up to the hard limit; returns the limit now in force.
    static func raiseOpenFilesLimit() -> Int {
        var limit = rlimit()
        let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
        guard getrlimit(resource, &limit) == 0 else { return 1024 }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(resource, &raised) == 0 { limit = raised }
        }
        return limit.rlim_cur >= rlim_t(Int.max) ? Int.max : Int(limit.rlim_cur)
    }
}
