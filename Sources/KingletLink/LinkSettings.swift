/// How the agent reaches its broker: what `cloud:` in the config file says, already checked
/// (mqtt:// only on loopback, mqtts:// with all three TLS files).
public struct LinkSettings: Equatable {
    public var nodeName: String
    public var host: String
    public var port: Int32
    public var useTLS: Bool
    public var caFile: String
    public var certFile: String
    public var keyFile: String
    /// MQTT keepalive; the broker drops a silent client after 1.5 x this.
    public var keepAliveSeconds: Int32 = 30
    /// The agent's version, sent in `status/online`.
    public var agentVersion: String

    public init(nodeName: String, host: String, port: Int32, useTLS: Bool, caFile: String = "", certFile: String = "",
                keyFile: String = "", agentVersion: String) {
        self.nodeName = nodeName
        self.host = host
        self.port = port
        self.useTLS = useTLS
        self.caFile = caFile
        self.certFile = certFile
        self.keyFile = keyFile
        self.agentVersion = agentVersion
    }

    /// "mqtts://host:port", for logs and `kinglet status`.
    public var brokerURL: String { (useTLS ? "mqtts://" : "mqtt://") + (host.contains(":") ? "[" + host + "]" : host) + ":\(port)" }

    /// `kinglet-<node>`: one persistent session per node.
    public var clientID: String { "kinglet-" + nodeName }
}

/// The topic tree of one node (docs/protocol.md).
public struct LinkTopics: Equatable {
    public let root: String

    public init(nodeName: String) { root = "kinglet/v1/nodes/" + nodeName + "/" }

    public var desiredFilter: String { root + "desired/#" }
    public var desiredIndex: String { root + "desired/index" }
    public var desiredPodPrefix: String { root + "desired/pods/" }
    public var desiredDevicePrefix: String { root + "desired/devices/" }
    public func deviceStatus(_ uid: String) -> String { root + "status/devices/" + uid }
    public var online: String { root + "status/online" }
    public var heartbeat: String { root + "status/heartbeat" }
    public var node: String { root + "status/node" }
    public func podStatus(_ uid: String) -> String { root + "status/pods/" + uid }
}
