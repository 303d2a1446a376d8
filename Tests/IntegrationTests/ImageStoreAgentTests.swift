import Foundation
import KingletTestPeers
import Testing

/// The agent's image store under faults: `kill -9` in the middle of a download. Real registry (Debian's docker-registry), real runc,
/// the host agent and the static x86_64 agent (KINGLET_STATIC_AGENT, under `make test`).
@Suite(.serialized) struct ImageStoreAgentTests {
    static var agents: [String] { OCIPodTests.agents }

    @Test(.enabled(if: OCIPodTests.canRun, OCIPodTests.skipReason), arguments: agents)
    func killedMidPullTheAgentResumesTheDownloadAfterARestartAndRunsOnlyTheWholeImage(binary: String) throws {
        let registry = try RegistryPeer.start(label: "kill-pull")
        defer { registry.stop() }
        let images = try TestImages(label: "kill-pull")
        defer { images.remove() }
        let pushed = try images.push(try images.withRandomLayer(megabytes: 10, tag: "big"), to: registry, repository: "kinglet/big", tag: "1")
        let big = try #require(pushed.layers.max { $0.size < $1.size })
        let expectedHash = try Self.sha256OfRandomFile(inLayer: registry.blobPath(big.digest))
        // The registry on a slow link (2 MB/s), so the kill lands mid-download.
        let proxy = try ThrottledProxy.start(to: registry.port, bytesPerSecond: 2_000_000)
        defer { proxy.stop() }
        let reference = "\(proxy.host)/kinglet/big:1"
        let board = try TemporaryBoard(node: "pull-node", extraConfig: "runtime: {oci: \(OCIPodTests.runc!)}\n")
        defer { board.remove() }
        try board.write(manifest: "big.yaml", """
            apiVersion: v1
            kind: Pod
            metadata: {name: big}
            spec:
              terminationGracePeriodSeconds: 1
              containers:
              - name: main
                image: \(reference)
                command: ["sh", "-c", "echo started; sha256sum /kinglet/random.bin; exec sleep 3600"]
            """)
        let store = board.folder + "/state/images"
        let download = store + "/downloads/sha256/" + big.digest.replacingOccurrences(of: "sha256:", with: "")

        let first = AgentProcess(["run", "--config", board.configPath], binary: binary)
        try first.start()
        // Kill once 3 MB of the 10 MB layer are on disk.
        let midway = Loopback.eventually(within: 60) { () -> Int? in
            let size = Self.fileSize(download)
            return size >= 3_000_000 ? size : nil
        }
        kill(first.process.processIdentifier, SIGKILL)
        let killed = first.finish(within: 20)
        #expect(midway != nil, "the download never reached 3 MB: \(killed?.error ?? "")")
        #expect(killed?.status == SIGKILL, "the agent had ended on its own: \(killed?.error ?? "")")
        let partial = Self.fileSize(download)
        #expect(partial > 0 && partial < big.size, "\(partial) of \(big.size) bytes")
        // Nothing of the image is in use or recorded: no record, no layer folder for the
        // big layer, no container.
        let index = (try? String(contentsOfFile: store + "/images.json", encoding: .utf8)) ?? ""
        #expect(!index.contains("kinglet/big"), "\(index)")
        let layers = (try? FileManager.default.contentsOfDirectory(atPath: store + "/layers/sha256")) ?? []
        #expect(layers.count <= 1, "only the busybox layer can be whole: \(layers)")
        #expect(Self.runcList(board).isEmpty)

        // Restarted, on a fast link now: the pull completes from where the download stopped.
        proxy.setRate(nil)
        let second = AgentProcess(["run", "--config", board.configPath], binary: binary)
        try second.start()
        defer { _ = second.finish(within: 0) }
        let client = AgentStatusClient(socket: board.socket)
        let pods = client.waitFor(within: 120) { PodJSON.stateName($0["big-pull-node"], "main") == "running" }
        #expect(PodJSON.stateName(pods?["big-pull-node"], "main") == "running", "\(String(describing: pods?["big-pull-node"]))")
        let logs = Loopback.eventually(within: 30) { () -> [String]? in
            guard let result = try? AgentProcess.run(["logs", "big-pull-node", "--config", board.configPath], binary: binary),
                  result.output.contains("random.bin") else { return nil }
            return result.output.split(separator: "\n").map(String.init)
        }
        // The container ran once, after the restart, with the whole layer.
        #expect(logs?.filter { $0 == "started" }.count == 1, "\(logs ?? [])")
        #expect(logs?.contains { $0.hasPrefix(expectedHash + " ") } == true, "expected \(expectedHash): \(logs ?? [])")

        // The blob was asked for again from its length (206), and only the rest came.
        let blobLines = registry.log.split(separator: "\n").filter { $0.contains("/blobs/" + big.digest) && $0.contains("response completed") }
        let resumed = blobLines.filter { $0.contains("http.response.status=206") }
        #expect(resumed.count == 1, "\(blobLines.joined(separator: "\n"))")
        if let line = resumed.first {
            #expect(line.split(separator: " ").contains("http.response.written=\(big.size - partial)"),
                    "\(partial) bytes were on disk: \(line)")
        }
        // The busybox layer, whole before the kill, was not fetched again.
        let base = try #require(pushed.layers.first { $0.digest != big.digest })
        let baseFetches = registry.log.split(separator: "\n").filter {
            $0.contains("/blobs/" + base.digest) && $0.contains("response completed") && $0.contains("method=GET")
        }
        #expect(baseFetches.count == 1, "\(baseFetches.joined(separator: "\n"))")
        #expect(!FileManager.default.fileExists(atPath: download))

        second.process.terminate()
        #expect(second.finish(within: 40)?.status == 0)
    }

    // MARK: Helpers

    static func fileSize(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.intValue ?? 0
    }

    static func runcList(_ board: TemporaryBoard) -> [String] {
        guard let list = try? PeerProcess.run(OCIPodTests.runc!, ["--root", board.folder + "/state/runc", "list", "-q"], within: 20)
        else { return [] }
        return list.output.split(separator: "\n").map(String.init).filter { !$0.isEmpty }
    }

    /// The sha256 of /kinglet/random.bin in a gzip layer blob, by tar and sha256sum.
    static func sha256OfRandomFile(inLayer blob: String) throws -> String {
        let result = try PeerProcess.run("/bin/sh", ["-c", "tar -xzOf \"$0\" --wildcards '*kinglet/random.bin' | sha256sum", blob],
                                         within: 60)
        guard result.status == 0, let hash = result.output.split(separator: " ").first, hash.count == 64 else {
            throw PeerError("cannot hash the random file of \(blob): \(result.output)")
        }
        return String(hash)
    }
}
