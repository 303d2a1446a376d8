/// The text of the broker's files (see BrokerConfig for what they do).
extension BrokerConfig {
    var mosquittoConf: String {
        var lines = [
            "# Kinglet MQTT broker, mosquitto 2.0. Written by `kinglet-relay broker-config`; see docs/broker.md.",
            "# Every client proves who it is with a certificate from the CA below; its CN is its MQTT",
            "# username, and the ACL confines each node to its own topics.",
            "",
            "# Each listener states its own access rules (the plain test listener differs).",
            "per_listener_settings true",
            "# A retained message goes to a new subscriber only while its publisher may still write",
            "# the topic (mosquitto's default, stated here because the ACL relies on it).",
            "check_retain_source true",
        ]
        if let runAsUser { lines.append("user \(runAsUser)") }
        lines += ["", "# Retained desired state and status, and the nodes' persistent sessions, survive a restart."]
        if persistence {
            lines += ["persistence true", "persistence_location \(persistenceLocation)", "autosave_interval 60"]
        } else {
            lines.append("persistence false")
        }
        lines += [
            "",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "log_type information",
            "connection_messages true",
            "",
            "# mTLS: a client without a certificate from cafile is refused during the TLS handshake.",
            "listener \(port)" + (bindAddress.map { " \($0)" } ?? ""),
            "max_connections -1",
            "allow_anonymous false",
            "acl_file \(aclPath)",
            "cafile \(caFile)",
            "certfile \(certFile)",
            "keyfile \(keyFile)",
            "require_certificate true",
            "use_identity_as_username true",
            "tls_version tlsv1.2",
        ]
        if let plainLoopbackPort {
            lines += [
                "",
                "# TESTS ONLY: plain MQTT on loopback. A client names itself with its MQTT username and",
                "# no password is checked, so anything on this machine can claim any identity. The same",
                "# ACL applies; a client without a username connects but may read and write nothing.",
                "listener \(plainLoopbackPort) 127.0.0.1",
                "max_connections -1",
                "allow_anonymous true",
                "acl_file \(aclPath)",
            ]
        }
        return lines.joined(separator: "\n") + "\n"
    }

    var acl: String {
        let root = Self.nodesRoot
        return """
            # Kinglet topic ACL for mosquitto 2.0. Written by `kinglet-relay broker-config`; see docs/broker.md.
            # The username is the client certificate's CN: the node's name, or the relay's identity.
            # No `topic` line precedes the first `user` line: a client without a username gets nothing.

            # The relay writes every node's desired state, reads every node's status, and clears a
            # retained status topic (an empty retained message) once it has acted on it.
            user \(relayUser)
            topic readwrite \(root)/+/desired/#
            topic readwrite \(root)/+/status/#

            # Each node reads only its own desired state and writes only its own status. Mosquitto
            # checks a node's last will (status/online) against these lines when it publishes it,
            # under the node's identity: a will aimed at another node's topics is dropped.
            # `pattern` lines apply to every user, the relay's included; %u fills a whole level.
            pattern read \(root)/%u/desired/#
            pattern write \(root)/%u/status/#

            """
    }
}
