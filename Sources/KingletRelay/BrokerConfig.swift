/// The mosquitto broker set-up for Kinglet: `kinglet-relay broker-config` writes it.
/// An mTLS listener where each client's certificate CN is its MQTT username, and an ACL
/// that confines each node to its own topic tree of docs/protocol.md: a node reads only
/// `kinglet/v1/nodes/<its name>/desired/#` and writes only `.../status/#`; the relay's
/// identity writes every node's `desired/` and reads (and clears) every node's `status/`.
/// Pure: it renders text; the command writes the files. Made for mosquitto 2.0.
public struct BrokerConfig: Sendable, Equatable {
    /// The mTLS listener's port.
    public var port = 8883
    /// The address the mTLS listener binds to; nil = every address.
    public var bindAddress: String?
    public var caFile: String
    public var certFile: String
    public var keyFile: String
    /// The CN of the relay's certificate.
    public var relayUser = BrokerConfig.defaultRelayUser
    /// A plain listener on 127.0.0.1 for tests and the demo. It trusts whatever username
    /// a client sends, so it must never face a network.
    public var plainLoopbackPort: Int?
    public var persistence = true
    public var persistenceLocation = "/var/lib/mosquitto/"
    /// Where mosquitto finds the ACL (the path written into mosquitto.conf).
    public var aclPath = "/etc/mosquitto/kinglet.acl"
    /// mosquitto's `user`: the account it switches to when started as root; nil leaves
    /// mosquitto's default (`mosquitto`).
    public var runAsUser: String?

    public static let defaultRelayUser = "kinglet-relay"
    /// The topic root of docs/protocol.md.
    public static let nodesRoot = "kinglet/v1/nodes"

    public init(caFile: String, certFile: String, keyFile: String) {
        self.caFile = caFile
        self.certFile = certFile
        self.keyFile = keyFile
    }

    /// The two files, or the first problem with the settings.
    public func render() throws(BrokerConfigError) -> BrokerFiles {
        try validate()
        return BrokerFiles(mosquittoConf: mosquittoConf, acl: acl)
    }

    public func validate() throws(BrokerConfigError) {
        for (flag, value) in [("--port", port), ("--plain-port", plainLoopbackPort ?? 1)] where !(1...65535).contains(value) {
            throw .portOutOfRange(flag: flag, value: value)
        }
        if let plainLoopbackPort, plainLoopbackPort == port { throw .samePort(port) }
        var paths = [("--cafile", caFile), ("--certfile", certFile), ("--keyfile", keyFile), ("--acl-path", aclPath)]
        if persistence { paths.append(("--persistence-location", persistenceLocation)) }
        for (flag, path) in paths {
            if path.isEmpty { throw .emptyPath(flag: flag) }
            if path.contains(where: { $0.isNewline }) { throw .lineBreak(flag: flag) }
        }
        if let bindAddress, !Self.isSingleWord(bindAddress) { throw .badWord(flag: "--bind-address", value: bindAddress) }
        if let runAsUser, !Self.isSingleWord(runAsUser) { throw .badWord(flag: "--user", value: runAsUser) }
        try Self.checkIdentity(relayUser)
    }

    /// A certificate CN that can be an MQTT identity here: one topic level, as `%u` must
    /// fill a whole level and mosquitto refuses pattern access to names with `+` or `#`.
    public static func checkIdentity(_ name: String) throws(BrokerConfigError) {
        if name.isEmpty { throw .badIdentity(name, "is empty") }
        if let bad = name.first(where: { "/+#".contains($0) || $0.isWhitespace || $0.asciiValue.map { $0 < 0x20 || $0 == 0x7f } == true }) {
            throw .badIdentity(name, "contains \(bad == "\n" ? "a line break" : "'\(bad)'")")
        }
    }

    private static func isSingleWord(_ text: String) -> Bool {
        !text.isEmpty && !text.contains(where: { $0.isWhitespace || $0.isNewline })
    }
}

/// mosquitto.conf and the ACL file.
public struct BrokerFiles: Sendable, Equatable {
    public let mosquittoConf: String
    public let acl: String
}

public enum BrokerConfigError: Error, Equatable, CustomStringConvertible {
    case portOutOfRange(flag: String, value: Int)
    case samePort(Int)
    case emptyPath(flag: String)
    case lineBreak(flag: String)
    case badWord(flag: String, value: String)
    case badIdentity(String, String)

    public var description: String {
        switch self {
        case let .portOutOfRange(flag, value): "\(flag) \(value) is not a port (1-65535)"
        case let .samePort(port): "--plain-port and --port are both \(port)"
        case let .emptyPath(flag): "\(flag) is empty"
        case let .lineBreak(flag): "\(flag) contains a line break (mosquitto.conf takes one line per setting)"
        case let .badWord(flag, value): "\(flag) '\(value)' must be one word"
        case let .badIdentity(name, problem):
            "--relay-user '\(name)' \(problem): it must be one MQTT topic level (no '/', '+', '#', spaces or control characters)"
        }
    }
}
