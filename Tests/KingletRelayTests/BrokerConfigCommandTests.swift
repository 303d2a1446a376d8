import Foundation
import KingletTestPeers
import Testing
@testable import kinglet_relay

struct BrokerConfigCommandTests {
    @Test func helpDescribesEveryFlag() {
        let help = BrokerConfigCommand.helpMessage(columns: 200)
        for flag in ["--port", "--bind-address", "--cafile", "--certfile", "--keyfile", "--relay-user", "--plain-port",
                     "--persistence", "--no-persistence", "--persistence-location", "--acl-path", "--user", "--out"] {
            #expect(help.contains(flag), "no \(flag) in:\n\(help)")
        }
    }

    @Test func outWritesBothFilesAndTheACLBesideTheConfig() throws {
        let folder = try BuiltProducts.temporaryFolder("broker-config-out")
        let command = try BrokerConfigCommand.parse([
            "--cafile", "/pki/ca.crt", "--certfile", "/pki/broker.crt", "--keyfile", "/pki/broker.key",
            "--relay-user", "relay-1", "--out", folder + "/broker",
        ])
        try command.run()
        let conf = try String(contentsOfFile: folder + "/broker/mosquitto.conf", encoding: .utf8)
        let acl = try String(contentsOfFile: folder + "/broker/acl", encoding: .utf8)
        #expect(conf.contains("\ncafile /pki/ca.crt\n"), "\(conf)")
        #expect(conf.contains("\nacl_file \(folder)/broker/acl\n"), "\(conf)")
        #expect(acl.contains("\nuser relay-1\n"), "\(acl)")
    }

    @Test func relativePathsAreMadeAbsoluteAgainstTheWorkingFolder() {
        let here = FileManager.default.currentDirectoryPath
        #expect(BrokerConfigCommand.absolute("pki/ca.crt") == URL(fileURLWithPath: here + "/pki/ca.crt").standardizedFileURL.path)
        #expect(BrokerConfigCommand.absolute("/etc/ca.crt") == "/etc/ca.crt")
    }

    @Test func badInputIsAValidationErrorNamingTheFlag() throws {
        let command = try BrokerConfigCommand.parse([
            "--cafile", "/ca.crt", "--certfile", "/b.crt", "--keyfile", "/b.key", "--relay-user", "relay/1",
        ])
        #expect { try command.run() } throws: { "\($0)".contains("--relay-user 'relay/1'") }
    }

    @Test func missingCertificateFlagsAreRefusedByTheParser() {
        #expect(throws: (any Error).self) { try BrokerConfigCommand.parse(["--cafile", "/ca.crt"]) }
    }
}
