import Foundation

/// Debian's `mosquitto_pub` and `mosquitto_sub`, driven from tests with bounded runs.
public struct MosquittoClient: Sendable {
    public static let publisher = "/usr/bin/mosquitto_pub"
    public static let subscriber = "/usr/bin/mosquitto_sub"
    public static var isInstalled: Bool {
        FileManager.default.isExecutableFile(atPath: publisher) && FileManager.default.isExecutableFile(atPath: subscriber)
    }

    public var port: Int
    public var host = "127.0.0.1"
    /// --cafile, and --cert/--key when `identity` is set (mTLS).
    public var caFile: String?
    public var identity: CertificateFiles?
    public var username: String?
    public var clientID: String?
    /// Further options for both tools (e.g. `--will-topic ...`).
    public var extraArguments: [String] = []

    public init(port: Int, host: String = "127.0.0.1", caFile: String? = nil, identity: CertificateFiles? = nil,
                username: String? = nil, clientID: String? = nil) {
        self.port = port
        self.host = host
        self.caFile = caFile
        self.identity = identity
        self.username = username
        self.clientID = clientID
    }

    /// A client of `broker`'s mTLS listener with the certificate `identity` (or none).
    public static func tls(_ broker: MosquittoPeer, ca: TestCA, identity: CertificateFiles?) -> MosquittoClient {
        MosquittoClient(port: broker.tlsPort ?? broker.port, caFile: ca.certificate, identity: identity)
    }

    var connectionArguments: [String] {
        var arguments = ["-h", host, "-p", String(port), "-V", "mqttv311"]
        if let caFile { arguments += ["--cafile", caFile] }
        if let identity { arguments += ["--cert", identity.certificate, "--key", identity.key] }
        if let username { arguments += ["-u", username] }
        if let clientID { arguments += ["-i", clientID] }
        return arguments + extraArguments
    }

    /// Publishes one message (empty = `-n`, the retained-topic clear) and waits for the
    /// tool to finish, at most `seconds`.
    @discardableResult
    public func publish(_ topic: String, _ message: String, qos: Int = 1, retain: Bool = false,
                        within seconds: Double = 10) throws -> CommandResult {
        var arguments = connectionArguments + ["-t", topic, "-q", String(qos)]
        arguments += message.isEmpty ? ["-n"] : ["-m", message]
        if retain { arguments.append("-r") }
        return try PeerProcess.run(Self.publisher, arguments, within: seconds)
    }

    /// Starts `mosquitto_sub -v` on `filter`; it exits after `count` messages or
    /// `seconds` (its -W), whichever comes first.
    public func subscribe(_ filter: String, qos: Int = 1, count: Int? = nil, within seconds: Int = 10,
                          logPath: String) throws -> Subscription {
        var arguments = connectionArguments + ["-t", filter, "-q", String(qos), "-v", "-d", "-W", String(seconds)]
        if let count { arguments += ["-C", String(count)] }
        let process = try PeerProcess(name: "mosquitto_sub", executable: Self.subscriber, arguments: arguments,
                                      logPath: logPath)
        return Subscription(process: process, bound: Double(seconds) + 2)
    }
}

/// A running `mosquitto_sub -v -d`: messages are "topic payload" lines; the debug lines
/// (starting "Client ") show the handshake, SUBACK and any error.
public final class Subscription: @unchecked Sendable {
    public let process: PeerProcess
    let bound: Double

    init(process: PeerProcess, bound: Double) {
        self.process = process
        self.bound = bound
    }

    /// Everything it printed so far.
    public var output: String { process.output }

    /// The messages received so far, as "topic payload" lines.
    public var lines: [String] {
        output.split(separator: "\n").map(String.init).filter { !$0.hasPrefix("Client ") && !$0.hasPrefix("Subscribed (mid") }
    }

    /// Waits until a message line equals `line`, at most `seconds`.
    public func waitFor(_ line: String, within seconds: Double = 10) -> Bool {
        Loopback.eventually(within: seconds) { lines.contains(line) ? true : nil } ?? false
    }

    /// Waits until the broker answered the subscription (SUBACK). Mosquitto 2 answers a
    /// subscription the ACL denies too, then delivers nothing to it.
    public func waitUntilSubscribed(within seconds: Double = 10) throws {
        let done = Loopback.eventually(within: seconds) { () -> Bool? in
            if output.contains("received SUBACK") { return true }
            return process.isRunning ? nil : false
        }
        guard done == true else { throw PeerError("mosquitto_sub did not subscribe:\n\(process.tail)") }
    }

    /// Waits for the tool to exit (after its -C count or -W timeout) and returns its lines.
    public func finish() -> [String] {
        _ = process.waitForExit(within: bound)
        process.stop(grace: 1)
        return lines
    }

    public func stop() { process.stop(grace: 1) }

    deinit { process.stop(grace: 1) }
}
