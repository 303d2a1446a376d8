import Foundation
import KingletTestPeers
import Testing

/// The agent's image store under faults: `kill -9` in the middle of a download, and a
/// disk filled past the GC threshold. Real registry (Debian's docker-registry), real runc,
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

    @Test(.enabled(if: OCIPodTests.canRun, OCIPodTests.skipReason), arguments: agents)
    func underDiskPressureGCRemovesUnusedImagesLeastRecentlyUsedFirstDownToTheLowThreshold(binary: String) throws {
        let registry = try RegistryPeer.start(label: "gc-pressure")
        defer { registry.stop() }
        let images = try TestImages(label: "gc-pressure")
        defer { images.remove() }
        let board = try TemporaryBoard(node: "gc-node", extraConfig: """
            runtime: {oci: \(OCIPodTests.runc!)}
            images: {gcHighThresholdPercent: 85, gcLowThresholdPercent: 65, gcPeriodSeconds: 1}

            """)
        defer { board.remove() }
        // The store on a small file system of its own: a 64 MiB tmpfs (unmounted by
        // board.remove()).
        let store = board.folder + "/state/images"
        try FileManager.default.createDirectory(atPath: store, withIntermediateDirectories: true)
        let mounted = try PeerProcess.run("/bin/mount", ["-t", "tmpfs", "-o", "size=64m", "kinglet-gc-test", store], within: 20)
        try #require(mounted.status == 0, "cannot mount a tmpfs: \(mounted.output)")

        // Five images of 6 MiB each over the shared busybox layer, pulled a second apart
        // (last-used times are in seconds): a, b, c, d unused, e used by a pod.
        var references: [String: String] = [:]
        for name in ["a", "b", "c", "d", "e"] {
            let pushed = try images.push(try images.withRandomLayer(megabytes: 6, tag: name), to: registry,
                                         repository: "kinglet/\(name)", tag: "1")
            let pulled = try #require(try AgentProcess.run(["pull", pushed.reference, "--config", board.configPath], within: 120,
                                                           binary: binary))
            #expect(pulled.status == 0, "\(pulled.error)")
            references[name] = pushed.reference
            usleep(1_100_000)
        }
        try board.write(manifest: "user.yaml", """
            apiVersion: v1
            kind: Pod
            metadata: {name: user}
            spec:
              terminationGracePeriodSeconds: 1
              containers:
              - {name: main, image: "\(references["e"]!)", command: ["sleep", "3600"]}
            """)
        // Other data on the same disk takes it past the high threshold.
        let before = try #require(Self.usagePercent(store))
        let filler = store + "/filler"
        let fillBytes = Int((Double(90 - before) / 100) * 64 * 1024 * 1024)
        try Data(count: max(fillBytes, 0)).write(to: URL(fileURLWithPath: filler))
        let full = try #require(Self.usagePercent(store))
        #expect(full >= 85, "\(full) % full")

        let agent = AgentProcess(["run", "--config", board.configPath], binary: binary)
        try agent.start()
        defer { _ = agent.finish(within: 0) }
        let client = AgentStatusClient(socket: board.socket)
        let pods = client.waitFor(within: 60) { PodJSON.stateName($0["user-gc-node"], "main") == "running" }
        #expect(PodJSON.stateName(pods?["user-gc-node"], "main") == "running", "\(String(describing: pods?["user-gc-node"]))")
        let after = Loopback.eventually(within: 30) { () -> Int? in
            let usage = Self.usagePercent(store) ?? 100
            return usage <= 65 ? usage : nil
        }
        #expect(after != nil, "still \(Self.usagePercent(store) ?? -1) % full")
        // Let a second GC period pass: nothing more goes once below the high threshold.
        usleep(2_500_000)
        let listed = try #require(try AgentProcess.run(["images", "-o", "json", "--config", board.configPath], binary: binary))
        let document = try JSONSerialization.jsonObject(with: Data(listed.output.utf8)) as? [String: Any]
        let left = Set(((document?["images"] as? [[String: Any]]) ?? []).compactMap { $0["reference"] as? String })
        // 90 % to 65 % of 64 MiB is 16 MiB: three 6 MiB images (two free only 12), the
        // least recently used first (a, b, c); d (unused, newest) and e (in use) stay.
        #expect(left == [references["d"]!, references["e"]!], "left: \(left.sorted())")
        // The pod's image is whole: its layers are all still there and it still runs.
        let still = client.pods()
        #expect(PodJSON.stateName(still?["user-gc-node"], "main") == "running")
        #expect(PodJSON.restarts(still?["user-gc-node"], "main") == 0)

        agent.process.terminate()
        let stopped = agent.finish(within: 40)
        #expect(stopped?.status == 0)
        // In that order, and nothing else.
        let removals = (stopped?.error ?? "").split(separator: "\n").compactMap { line -> String? in
            guard let range = line.range(of: "image garbage collection removed ") else { return nil }
            return String(line[range.upperBound...])
        }
        #expect(removals == ["a", "b", "c"].map { references[$0]! }, "\(stopped?.error ?? "")")
        try? FileManager.default.removeItem(atPath: filler)
    }

    // MARK: Helpers

    static func fileSize(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.intValue ?? 0
    }

    static func usagePercent(_ path: String) -> Int? {
        var info = statvfs()
        guard statvfs(path, &info) == 0, info.f_blocks > 0 else { return nil }
        return Int((info.f_blocks - info.f_bavail) * 100 / info.f_blocks)
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
