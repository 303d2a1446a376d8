import ArgumentParser
import Foundation
import KingletRelay

/// `kinglet-relay broker-config`: writes the mosquitto config and ACL for a Kinglet broker.
struct BrokerConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "broker-config",
        abstract: "Writes a mosquitto 2.0 config and ACL for Kinglet: mTLS, one topic tree per node.",
        discussion: """
            Every client must present a certificate from --cafile; its CN becomes its MQTT username. \
            A node (CN = node name) may only read kinglet/v1/nodes/<node>/desired/# and only write \
            kinglet/v1/nodes/<node>/status/#; the relay (CN = --relay-user) may read and write the \
            desired/ and status/ subtrees of every node. See docs/broker.md.

            With --out FOLDER it writes FOLDER/mosquitto.conf and FOLDER/acl; otherwise it prints \
            both to standard output. Run the broker with: mosquitto -c FOLDER/mosquitto.conf
            """
    )

    @Option(help: "The mTLS listener's port.")
    var port = 8883

    @Option(help: "The address the mTLS listener binds to (default: every address).")
    var bindAddress: String?

    @Option(help: ArgumentHelp("The CA certificate (PEM) that issued the node and relay certificates.", valueName: "file"))
    var cafile: String

    @Option(help: ArgumentHelp("The broker's server certificate (PEM).", valueName: "file"))
    var certfile: String

    @Option(help: ArgumentHelp("The broker's private key (PEM), readable by the account mosquitto runs as.", valueName: "file"))
    var keyfile: String

    @Option(help: "The CN of the relay's certificate: the only identity that may write desired/ topics.")
    var relayUser = BrokerConfig.defaultRelayUser

    @Option(help: ArgumentHelp("Also open a plain MQTT listener on 127.0.0.1:PORT. TESTS ONLY: it trusts the username a client sends.", valueName: "port"))
    var plainPort: Int?

    @Flag(inversion: .prefixedNo, help: "Keep retained messages and sessions across broker restarts.")
    var persistence = true

    @Option(help: ArgumentHelp("The folder of mosquitto's persistence file.", valueName: "folder"))
    var persistenceLocation = "/var/lib/mosquitto/"

    @Option(help: ArgumentHelp("The ACL's path as written into mosquitto.conf (default: FOLDER/acl with --out, else /etc/mosquitto/kinglet.acl).", valueName: "file"))
    var aclPath: String?

    @Option(help: ArgumentHelp("The account mosquitto switches to when started as root (default: mosquitto's own, 'mosquitto').", valueName: "name"))
    var user: String?

    @Option(help: ArgumentHelp("Write mosquitto.conf and acl into this folder (made if missing) instead of printing them.", valueName: "folder"))
    var out: String?

    func run() throws {
        var config = BrokerConfig(caFile: Self.absolute(cafile), certFile: Self.absolute(certfile), keyFile: Self.absolute(keyfile))
        config.port = port
        config.bindAddress = bindAddress
        config.relayUser = relayUser
        config.plainLoopbackPort = plainPort
        config.persistence = persistence
        config.persistenceLocation = Self.absolute(persistenceLocation)
        if persistenceLocation.hasSuffix("/") && !config.persistenceLocation.hasSuffix("/") { config.persistenceLocation += "/" }
        config.runAsUser = user
        if let aclPath {
            config.aclPath = Self.absolute(aclPath)
        } else if let out {
            config.aclPath = Self.absolute(out) + "/acl"
        }
        let files: BrokerFiles
        do {
            files = try config.render()
        } catch {
            throw ValidationError(error.description)
        }
        guard let out else {
            print("# ---- mosquitto.conf ----")
            print(files.mosquittoConf)
            print("# ---- acl (\(config.aclPath)) ----")
            print(files.acl, terminator: "")
            return
        }
        let folder = Self.absolute(out)
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            try files.mosquittoConf.write(toFile: folder + "/mosquitto.conf", atomically: true, encoding: .utf8)
            try files.acl.write(toFile: folder + "/acl", atomically: true, encoding: .utf8)
        } catch {
            throw RuntimeError("cannot write into \(folder): \(error.localizedDescription)")
        }
        print("wrote \(folder)/mosquitto.conf and \(folder)/acl")
    }

    /// mosquitto resolves relative paths against its own working folder: pin them here.
    static func absolute(_ path: String) -> String {
        guard !path.isEmpty, !path.hasPrefix("/") else { return path }
        let joined = URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(path).standardizedFileURL.path
        return joined
    }
}

/// A failure that is not the user's input (the message is shown as is).
struct RuntimeError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
