import Foundation
import KingletTestPeers
import Testing

/// `kinglet pull` and `kinglet images` against Debian's docker-registry on loopback (the
/// static x86_64 agent under `make test`).
@Suite(.serialized) struct ImageCommandTests {
    static var peersInstalled: Bool { RegistryPeer.isInstalled && TestImages.isInstalled }
    static let skipReason: Comment = "docker-registry, umoci, skopeo or busybox-static is missing (make test installs them)"

    @Test(.enabled(if: peersInstalled, skipReason))
    func pullFetchesAnImageIntoTheStoreAndImagesListsIt() throws {
        let registry = try RegistryPeer.start(label: "cli-pull")
        defer { registry.stop() }
        let images = try TestImages(label: "cli-pull")
        defer { images.remove() }
        let pushed = try images.push(try images.withRandomLayer(megabytes: 1, tag: "1"), to: registry, repository: "kinglet/app")
        let board = try TemporaryBoard()
        defer { board.remove() }

        let pulled = try #require(try AgentProcess.run(["pull", pushed.reference, "--config", board.configPath], within: 120))
        #expect(pulled.status == 0, "\(pulled.output)\(pulled.error)")
        #expect(pulled.output.contains("pulling \(registry.host)/kinglet/app:1 for linux/amd64"), "\(pulled.output)")
        #expect(pulled.output.contains("layer 2/2: unpacking"), "\(pulled.output)")
        #expect(pulled.output.contains("pulled \(registry.host)/kinglet/app:1\n  manifest \(pushed.digest)"), "\(pulled.output)")

        let table = try #require(try AgentProcess.run(["images", "--config", board.configPath]))
        #expect(table.status == 0)
        let lines = table.output.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasPrefix("IMAGE") == true, "\(table.output)")
        #expect(lines.contains { $0.hasPrefix("\(registry.host)/kinglet/app:1 ") && $0.contains(" 2.1 MB ") }, "\(table.output)")

        let json = try #require(try AgentProcess.run(["images", "-o", "json", "--config", board.configPath]))
        let document = try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [String: Any]
        let listed = try #require((document?["images"] as? [[String: Any]])?.first)
        #expect(listed["reference"] as? String == "\(registry.host)/kinglet/app:1")
        #expect(listed["manifest"] as? String == pushed.digest)
        #expect(listed["id"] as? String == pushed.configDigest)
        #expect(listed["complete"] as? Bool == true)
        // The layers, each in a folder of its own: the random file is in the top one.
        let top = try #require(pushed.layers.last)
        let diffIDs = try Self.diffIDs(board.folder + "/state/images/blobs/sha256/"
                                       + (pushed.configDigest ?? "").replacingOccurrences(of: "sha256:", with: ""))
        #expect(diffIDs.count == pushed.layers.count, "\(top.digest)")
        #expect(FileManager.default.fileExists(atPath: board.folder + "/state/images/layers/sha256/"
                                               + (diffIDs.last ?? "").replacingOccurrences(of: "sha256:", with: "") + "/overlay/kinglet/random.bin"))
    }

    /// The config's rootfs.diff_ids.
    static func diffIDs(_ configPath: String) throws -> [String] {
        let config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: configPath))) as? [String: Any]
        return (config?["rootfs"] as? [String: Any])?["diff_ids"] as? [String] ?? []
    }

    @Test(.enabled(if: peersInstalled, skipReason))
    func aFailedPullSaysWhyAndAnInvalidNameIsAUsageError() throws {
        let registry = try RegistryPeer.start(label: "cli-fail")
        defer { registry.stop() }
        let board = try TemporaryBoard()
        defer { board.remove() }
        let missing = try #require(try AgentProcess.run(["pull", "\(registry.host)/kinglet/none:1", "--config", board.configPath], within: 60))
        #expect(missing.status == 1)
        #expect(missing.error.contains("manifest 1 not found"), "\(missing.error)")
        let invalid = try #require(try AgentProcess.run(["pull", "Kinglet/App", "--config", board.configPath]))
        #expect(invalid.status == 2)
        #expect(invalid.error.contains("invalid reference format"), "\(invalid.error)")
        let empty = try #require(try AgentProcess.run(["images", "--config", board.configPath]))
        #expect(empty.output == "IMAGE  IMAGE ID  SIZE  PULLED  LAST USED\n" || empty.output.hasPrefix("IMAGE"), "\(empty.output)")
    }
}
