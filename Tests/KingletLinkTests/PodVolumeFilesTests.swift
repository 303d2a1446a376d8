import Foundation
import KingletDocument
import KingletLink
import Testing

/// What a desired pod brings besides its spec, kept under the state folder.
@Suite struct PodVolumeFilesTests {
    static func message(files: String = "", pullCredentials: String = "") throws -> DesiredPodMessage {
        try DesiredMessages.pod(Array(Fixtures.podJSON(uid: "u1", files: files, pullCredentials: pullCredentials).utf8),
                                topicUID: "u1").get()
    }

    static func mode(_ path: String) -> Int? {
        (try? FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?.intValue
    }

    @Test func pullCredentialsAreKept0600AsADockerConfigAndGoWithThePod() throws {
        let state = NSTemporaryDirectory() + "kinglet-podfiles-" + UUID().uuidString.prefix(8).lowercased()
        defer { try? FileManager.default.removeItem(atPath: state) }
        let path = PodVolumeFiles.pullCredentialsPath(stateFolder: state, uid: "u1")
        #expect(path == state + "/pods/u1/pull-credentials.json")

        let first = try Self.message(pullCredentials: #"{"registry.local:5000":{"auth":"dTpw"},"docker.io":{"auth":"aDpw"}}"#)
        #expect(PodVolumeFiles.write(first, stateFolder: state) == nil)
        #expect(Self.mode(path) == 0o600)
        #expect(Self.mode(PodVolumeFiles.folder(stateFolder: state, uid: "u1")) == 0o700)
        let written = try JSONReader().parseDocument(Array(try Data(contentsOf: URL(fileURLWithPath: path))))
        let auths = written.objectMember("auths")?.node
        #expect(auths?.objectMember("registry.local:5000")?.node.objectMember("auth")?.node.value == .string("dTpw"))
        #expect(auths?.objectMember("docker.io")?.node.objectMember("auth")?.node.value == .string("aDpw"))
        #expect(!FileManager.default.fileExists(atPath: path + ".new"))

        // A new spec with volume files and other credentials replaces them; one without any removes them.
        let second = try Self.message(files: #"{"config":{"a":"eA=="}}"#, pullCredentials: #"{"ghcr.io":{"auth":"Zzpo"}}"#)
        #expect(PodVolumeFiles.write(second, stateFolder: state) == nil)
        let replaced = String(decoding: try Data(contentsOf: URL(fileURLWithPath: path)), as: UTF8.self)
        #expect(replaced == #"{"auths":{"ghcr.io":{"auth":"Zzpo"}}}"#)
        #expect(FileManager.default.fileExists(atPath: PodVolumeFiles.volumesFolder(stateFolder: state, uid: "u1") + "/config/a"))
        #expect(PodVolumeFiles.write(try Self.message(files: #"{"config":{"a":"eA=="}}"#), stateFolder: state) == nil)
        #expect(!FileManager.default.fileExists(atPath: path))
        #expect(FileManager.default.fileExists(atPath: PodVolumeFiles.volumesFolder(stateFolder: state, uid: "u1") + "/config/a"))

        // The pod gone, its folder goes with everything in it.
        #expect(PodVolumeFiles.write(first, stateFolder: state) == nil)
        PodVolumeFiles.remove(stateFolder: state, uid: "u1")
        #expect(!FileManager.default.fileExists(atPath: PodVolumeFiles.folder(stateFolder: state, uid: "u1")))
    }
}
