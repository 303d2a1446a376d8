import KingletRelay
import Testing

struct BrokerConfigTests {
    let base = BrokerConfig(caFile: "/etc/kinglet/ca.crt", certFile: "/etc/kinglet/broker.crt", keyFile: "/etc/kinglet/broker.key")

    func lines(_ text: String) -> [String] { text.split(separator: "\n").map(String.init).filter { !$0.hasPrefix("#") } }

    @Test func defaultConfigIsAnMTLSListenerWhoseCertificateCNIsTheUsername() throws {
        let conf = lines(try base.render().mosquittoConf)
        let listener = try #require(conf.firstIndex(of: "listener 8883"))
        #expect(Array(conf[listener...]) == [
            "listener 8883", "max_connections -1", "allow_anonymous false", "acl_file /etc/mosquitto/kinglet.acl",
            "cafile /etc/kinglet/ca.crt", "certfile /etc/kinglet/broker.crt", "keyfile /etc/kinglet/broker.key",
            "require_certificate true", "use_identity_as_username true", "tls_version tlsv1.2",
        ])
        for setting in ["per_listener_settings true", "check_retain_source true", "persistence true", "persistence_location /var/lib/mosquitto/"] {
            #expect(conf.contains(setting), "missing \(setting)")
        }
        #expect(conf.filter { $0.hasPrefix("listener ") }.count == 1)
        #expect(!conf.contains { $0.hasPrefix("user ") })
    }

    @Test func aclGivesEachNodeItsOwnDesiredToReadAndStatusToWriteAndTheRelayBoth() throws {
        #expect(lines(try base.render().acl) == [
            "user kinglet-relay",
            "topic readwrite kinglet/v1/nodes/+/desired/#",
            "topic readwrite kinglet/v1/nodes/+/status/#",
            "pattern read kinglet/v1/nodes/%u/desired/#",
            "pattern write kinglet/v1/nodes/%u/status/#",
        ])
    }

    @Test func aclHasNoRuleForAnonymousClients() throws {
        let acl = lines(try base.render().acl)
        #expect(acl.first?.hasPrefix("user ") == true, "rules before the first user line would apply to anonymous clients")
    }

    @Test func relayUserAndListenerSettingsAreHonoured() throws {
        var config = base
        config.relayUser = "relay-eu"
        config.port = 9883
        config.bindAddress = "0.0.0.0"
        config.plainLoopbackPort = 18830
        config.persistence = false
        config.aclPath = "/srv/broker/acl"
        config.runAsUser = "root"
        let files = try config.render()
        let conf = lines(files.mosquittoConf)
        #expect(conf.contains("listener 9883 0.0.0.0"))
        let plain = try #require(conf.firstIndex(of: "listener 18830 127.0.0.1"))
        #expect(Array(conf[plain...]) == ["listener 18830 127.0.0.1", "max_connections -1", "allow_anonymous true", "acl_file /srv/broker/acl"])
        #expect(conf.contains("persistence false") && !conf.contains { $0.hasPrefix("persistence_location") })
        #expect(conf.filter { $0 == "acl_file /srv/broker/acl" }.count == 2, "both listeners apply the ACL")
        #expect(conf.contains("user root"))
        #expect(lines(files.acl).first == "user relay-eu")
    }

    @Test(arguments: ["", "relay/one", "relay+", "#", "kinglet relay", "relay\n"])
    func relayUserThatCannotBeOneTopicLevelIsRejected(name: String) {
        var config = base
        config.relayUser = name
        #expect(throws: BrokerConfigError.self) { try config.render() }
    }

    @Test func portsOutOfRangeOrSharedAreRejected() {
        var config = base
        config.port = 0
        #expect(throws: BrokerConfigError.portOutOfRange(flag: "--port", value: 0)) { try config.render() }
        config.port = 8883
        config.plainLoopbackPort = 70000
        #expect(throws: BrokerConfigError.portOutOfRange(flag: "--plain-port", value: 70000)) { try config.render() }
        config.plainLoopbackPort = 8883
        #expect(throws: BrokerConfigError.samePort(8883)) { try config.render() }
    }

    @Test func pathsThatWouldBreakTheConfigLineAreRejected() {
        var config = base
        config.keyFile = "/etc/kinglet/broker.key\nallow_anonymous true"
        #expect(throws: BrokerConfigError.lineBreak(flag: "--keyfile")) { try config.render() }
        config.keyFile = ""
        #expect(throws: BrokerConfigError.emptyPath(flag: "--keyfile")) { try config.render() }
    }

    @Test func errorsNameTheFlag() {
        #expect(BrokerConfigError.badIdentity("a/b", "contains '/'").description.contains("--relay-user 'a/b'"))
        #expect(BrokerConfigError.portOutOfRange(flag: "--port", value: 0).description == "--port 0 is not a port (1-65535)")
    }
}
