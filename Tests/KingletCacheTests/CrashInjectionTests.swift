import cache_torture_writer
import Foundation
import KingletCache
import KingletLoopTesting
import Testing

/// kill -9 at random instants while another process commits: every reopen must show each
/// record intact, in a state the writer produced, and no older than it acknowledged.
@Suite struct CrashInjectionTests {
    static let geometry = CacheGeometry(slotCount: 40, slotSize: 8192)
    static let uidCount = 24
    static let killLimit = 2_000
    static let timeLimit: Duration = .seconds(60)

    /// What a uid holds: nothing, or a record at (put version, status version).
    enum State: Equatable {
        case absent
        case present(version: UInt64, statusVersion: UInt64)
    }

    /// One writer line: "begin|ack <put|status|remove> <index> <version>".
    struct Operation: Equatable {
        var kind: String
        var index: Int
        var version: UInt64

        init?(_ fields: [Substring]) {
            guard fields.count == 4, let index = Int(fields[2]), let version = UInt64(fields[3]) else { return nil }
            kind = String(fields[1])
            self.index = index
            self.version = version
        }

        func applied(to state: State) -> State {
            switch (kind, state) {
            case ("put", _): return .present(version: version, statusVersion: version)
            case ("status", .present(let put, _)): return .present(version: put, statusVersion: version)
            case ("remove", _): return .absent
            default: return state
            }
        }
    }

    @Test func killedWritersLeaveOnlyAcknowledgedOrInFlightStates() throws {
        let writer = TortureWriterProcess.executablePath
        try #require(FileManager.default.isExecutableFile(atPath: writer), "cache-torture-writer not built at \(writer)")
        let folder = ScratchFolder()
        defer { folder.remove() }
        let path = folder.path("torture.cache")
        let outputPath = folder.path("writer.out")
        var model = [State](repeating: .absent, count: CrashInjectionTests.uidCount)
        var random = SplitMix64(seed: 0x5EED_CAFE)
        var nextVersion: UInt64 = 1
        var kills = 0
        var commitsSeen = 0
        var inFlightCommitted = 0
        var tornDescriptorSightings = 0
        let clock = ContinuousClock()
        let start = clock.now

        while kills < CrashInjectionTests.killLimit && clock.now - start < CrashInjectionTests.timeLimit {
            // One run in four msyncs on the writer's thread (kills then land mostly inside
            // msync), one in four on the flusher thread as the agent does (kills land between
            // the record round and the flip round); the rest skip msync, so kills land inside
            // the memory writes of the record and the descriptor.
            let mode = kills % 4 == 0 ? "sync" : kills % 4 == 2 ? "background" : "nosync"
            let process = try TortureWriterProcess(
                arguments: [path, String(random.next()), String(nextVersion), String(CrashInjectionTests.uidCount),
                            String(CrashInjectionTests.geometry.slotCount), String(CrashInjectionTests.geometry.slotSize), mode],
                outputPath: outputPath)
            let ready = process.waitUntilReady(polls: 25_000)
            if ready { usleep(UInt32(random.next() % 3_000)) }
            let signal = process.killAndReap()
            let output = process.output
            guard ready, signal == SIGKILL else {
                Issue.record("the writer did not run until killed (signal \(signal)): \(output.prefix(500))")
                break
            }
            kills += 1

            // Acknowledged operations move the model; a begun but unacknowledged one may or
            // may not have committed.
            var inFlight: Operation? = nil
            for line in output.split(separator: "\n", omittingEmptySubsequences: false).dropFirst() {
                let fields = line.split(separator: " ")
                guard let operation = Operation(fields) else { continue }
                nextVersion = max(nextVersion, operation.version + 1)
                if fields[0] == "begin" {
                    inFlight = operation
                } else if fields[0] == "ack", operation == inFlight {
                    model[operation.index] = operation.applied(to: model[operation.index])
                    inFlight = nil
                    commitsSeen += 1
                }
            }

            let cache = try PodCache.openReadOnly(path: path)
            defer { cache.close() }
            for bad in cache.openReport.badSlots {
                // A kill inside a descriptor write leaves a descriptor failing its CRC. A record
                // failing its CRC behind a valid descriptor would mean the flip went first.
                #expect(bad.reason == .descriptorChecksum, "kill \(kills): \(bad.description)")
                tornDescriptorSightings += 1
            }
            for index in 0..<CrashInjectionTests.uidCount {
                let observed = observe(cache, index: index, kill: kills)
                var allowed = [model[index]]
                if let inFlight, inFlight.index == index { allowed.append(inFlight.applied(to: model[index])) }
                let acceptable = observed.map { allowed.contains($0) } ?? false
                #expect(acceptable, "kill \(kills): uid \(index) is \(String(describing: observed)), expected one of \(allowed)")
                if !acceptable { return }
                if let observed, observed != model[index] {
                    model[index] = observed
                    inFlightCommitted += 1
                }
            }
            #expect(cache.count == model.filter { $0 != .absent }.count)
        }
        let seconds = Double((clock.now - start).components.seconds)
        print("crash injection: \(kills) kills in \(Int(seconds)) s, \(commitsSeen) acknowledged commits, "
              + "\(inFlightCommitted) unacknowledged commits found applied, \(tornDescriptorSightings) sightings of a torn descriptor (skipped)")
        #expect(kills > 0)
        let final = PodCache.verify(path: path)
        #expect(final.isUsable)
    }

    /// The state of uid `index` in `cache`, after checking every byte of its record against
    /// what the writer derives from the versions it names. Nil when the record is not one the
    /// writer produced.
    func observe(_ cache: PodCache, index: Int, kill: Int) -> State? {
        let uid = TortureContent.uid(index)
        guard let record = cache.record(uid: uid) else { return .absent }
        guard let version = UInt64(record.resourceVersion),
              let statusVersion = TortureContent.version(in: record.status, key: "sv") else { return nil }
        let expected = TortureContent.record(index: index, version: version, statusVersion: statusVersion,
                                             slotSize: CrashInjectionTests.geometry.slotSize)
        let intact = record == expected && TortureContent.version(in: record.spec, key: "v") == version
        #expect(intact, "kill \(kill): uid \(index) v\(version)/\(statusVersion) does not match what the writer wrote")
        return intact ? .present(version: version, statusVersion: statusVersion) : nil
    }
}
