import cache_torture_writer
import Foundation
import KingletCache
import KingletLoopTesting
import Testing

@Suite struct CorruptionTests {
    let geometry = CacheGeometry(slotCount: 8, slotSize: 1024)

    /// A file with three records, one of them updated once.
    func populated(_ folder: ScratchFolder) throws -> (path: String, records: [String: CacheRecord]) {
        let path = folder.path("pods.cache")
        let cache = try PodCache.open(path: path, creating: geometry)
        defer { cache.close() }
        for number in 1...3 { try cache.put(sampleRecord(number)) }
        try cache.put(sampleRecord(2, version: 2))
        return (path, snapshot(cache))
    }

    /// True when `record` is a version `populated` wrote.
    func wasWritten(_ record: CacheRecord) -> Bool {
        (1...3).contains { record == sampleRecord($0) } || record == sampleRecord(2, version: 2)
    }

    @Test func foreignFileIsNotACacheFile() throws {
        let folder = ScratchFolder()
        defer { folder.remove() }
        let path = folder.path("foreign")
        FileImage.write(Array("just some text, not a cache\n".utf8), to: path)
        #expect(throws: CacheError.notACacheFile(path: path)) { try PodCache.open(path: path) }
        FileImage.write([], to: path)
        #expect(throws: CacheError.notACacheFile(path: path)) { try PodCache.openReadOnly(path: path) }
        #expect(CacheError.notACacheFile(path: path).isCorruption)
    }

    @Test func corruptHeaderIsATypedErrorAndQuarantineMovesTheFileAside() throws {
        let folder = ScratchFolder()
        defer { folder.remove() }
        let (path, _) = try populated(folder)
        var image = FileImage.read(path)
        image[25] ^= 0x01  // slot count
        FileImage.write(image, to: path)
        let error = #expect(throws: CacheError.self) { try PodCache.open(path: path) }
        #expect(error == .corruptHeader(path: path, reason: "header CRC mismatch"))
        #expect(error?.isCorruption == true)
        let report = PodCache.verify(path: path)
        #expect(report.status == .corrupt)
        #expect(report.problem == error)

        let before = Int(Date().timeIntervalSince1970)
        let moved = try PodCache.quarantine(path: path)
        let after = Int(Date().timeIntervalSince1970)
        #expect(!FileManager.default.fileExists(atPath: path))
        #expect(FileImage.read(moved) == image)
        let suffix = moved.dropFirst((path + ".corrupt-").count)
        #expect(moved.hasPrefix(path + ".corrupt-"))
        #expect(Int(suffix).map { (before...after).contains($0) } == true)
        // A second file quarantined within the same second gets its own name.
        FileImage.write(image, to: path)
        let second = try PodCache.quarantine(path: path)
        #expect(second != moved)
        #expect(FileManager.default.fileExists(atPath: second))

        // The agent then starts over with an empty cache.
        let fresh = try PodCache.open(path: path, creating: geometry)
        defer { fresh.close() }
        #expect(fresh.count == 0)
    }

    @Test func unsupportedVersionIsReported() throws {
        let folder = ScratchFolder()
        defer { folder.remove() }
        let (path, _) = try populated(folder)
        var image = FileImage.read(path)
        image[8] = 2
        FileImage.write(image, to: path)
        #expect(throws: CacheError.unsupportedVersion(path: path, version: 2)) { try PodCache.openReadOnly(path: path) }
    }

    @Test func aBadRecordIsSkippedAndCounted() throws {
        let folder = ScratchFolder()
        defer { folder.remove() }
        let (path, records) = try populated(folder)
        let victim = sampleRecord(3).uid
        let slot = try #require(try PodCache.openReadOnly(path: path).withRecord(uid: victim) { $0.slot })
        var image = FileImage.read(path)
        image[8192 + slot * 1024 + 100] ^= 0xFF
        FileImage.write(image, to: path)

        let cache = try PodCache.open(path: path)
        #expect(cache.openReport.badSlots == [BadSlot(slot: slot, generation: 3, reason: .recordChecksum)])
        var expected = records
        expected[victim] = nil
        #expect(snapshot(cache) == expected)
        // The bad slot is simply free: the cache goes on working.
        try cache.put(sampleRecord(3, version: 5))
        cache.close()
        #expect(try readAll(path).get()[victim] == sampleRecord(3, version: 5))

        let report = PodCache.verify(path: path)
        #expect(report.status == .ok)
        #expect(report.livePods == 3)
    }

    @Test func aBadDescriptorIsSkippedAndAnOlderEntryStaysShadowed() throws {
        let folder = ScratchFolder()
        defer { folder.remove() }
        let (path, records) = try populated(folder)
        let slot = try #require(try PodCache.openReadOnly(path: path).withRecord(uid: sampleRecord(1).uid) { $0.slot })
        var image = FileImage.read(path)
        image[4096 + slot * 64 + 30] ^= 0x10
        FileImage.write(image, to: path)
        let report = PodCache.verify(path: path)
        #expect(report.status == .damagedSlots)
        #expect(report.badSlots == [BadSlot(slot: slot, generation: nil, reason: .descriptorChecksum)])
        #expect(report.livePods == 2)
        #expect(report.description.contains("bad slot " + String(slot) + ": descriptor CRC mismatch"))
        var expected = records
        expected[sampleRecord(1).uid] = nil
        #expect(try readAll(path).get() == expected)
    }

    @Test func truncatedFilesGiveErrorsOrFewerRecordsNeverACrash() throws {
        let folder = ScratchFolder()
        defer { folder.remove() }
        let (path, _) = try populated(folder)
        let image = FileImage.read(path)
        let cut = folder.path("cut.cache")
        var lengths = [0, 1, 7, 8, 9, 63, 64, 65, 4095, 4096, 4097, 4096 + 64, 8191, 8192, 8193, image.count - 1]
        for slot in 0..<8 { lengths += [8192 + slot * 1024 + 47, 8192 + slot * 1024 + 300] }
        for length in lengths where length <= image.count {
            FileImage.write(Array(image[0..<length]), to: cut)
            switch readAll(cut) {
            case .failure(let error):
                #expect(length < 64, "length \(length): \(error.description)")
            case .success(let found):
                #expect(length >= 64)
                // A newest version cut off falls back to the previous one, still intact.
                for record in found.values { #expect(wasWritten(record), "length \(length): \(record.uid) v\(record.resourceVersion)") }
            }
            // A writable open restores the length; what was cut off is gone, the rest works.
            if let cache = try? PodCache.open(path: cut) {
                for record in snapshot(cache).values { #expect(wasWritten(record), "length \(length): \(record.uid)") }
                #expect(throws: Never.self) { try cache.put(sampleRecord(6)) }
                cache.close()
                #expect(try readAll(cut).get()[sampleRecord(6).uid] == sampleRecord(6))
            } else {
                #expect(length < 64)
            }
        }
        FileImage.write(Array(image[0..<(8192 + 2 * 1024)]), to: cut)
        let report = PodCache.verify(path: cut)
        #expect(report.fileLength == 8192 + 2048)
        #expect(report.description.contains("truncated"))
    }

    @Test func randomCorruptionNeverCrashes() throws {
        let folder = ScratchFolder()
        defer { folder.remove() }
        let path = folder.path("pods.cache")
        // Every version ever written, so an older one surfacing after a descriptor is hit is
        // recognised as genuine.
        var history: [String: [CacheRecord]] = [:]
        do {
            let cache = try PodCache.open(path: path, creating: geometry)
            defer { cache.close() }
            for step in 0..<30 {
                let record = sampleRecord(step % 5, version: step, specSize: 100 + step * 20)
                try cache.put(record)
                history[record.uid, default: []].append(record)
            }
            try cache.remove(uid: sampleRecord(4).uid)
        }
        let image = FileImage.read(path)
        let damaged = folder.path("damaged.cache")
        var random = SplitMix64(seed: 0xC0FFEE)
        var outcomes = [0, 0]
        for round in 0..<400 {
            var bytes = image
            // Aim at the header, the descriptor table or the records in turn.
            let area = round % 4 == 0 ? 0..<64 : round % 4 == 1 ? 4096..<(4096 + 8 * 64) : 8192..<image.count
            for _ in 0...(round % 6) {
                let offset = Int.random(in: area, using: &random)
                bytes[offset] ^= UInt8.random(in: 1...255, using: &random)
            }
            FileImage.write(bytes, to: damaged)
            switch readAll(damaged) {
            case .failure(let error):
                outcomes[0] += 1
                #expect(error.isCorruption, "round \(round): \(error.description)")
            case .success(let found):
                outcomes[1] += 1
                for (uid, record) in found {
                    let genuine = history[uid]?.contains(record) == true
                    #expect(genuine, "round \(round): \(uid) is not a version ever written")
                }
            }
            _ = PodCache.verify(path: damaged)
            _ = try? PodCache.inspect(path: damaged)
        }
        #expect(outcomes[0] > 0 && outcomes[1] > 0)
    }

    @Test func verifyAndInspectDescribeTheFile() throws {
        let folder = ScratchFolder()
        defer { folder.remove() }
        let path = folder.path("pods.cache")
        do {
            let cache = try PodCache.open(path: path, creating: geometry)
            defer { cache.close() }
            try cache.put(sampleRecord(1, specSize: 300, statusSize: 20))
            try cache.put(sampleRecord(2, kind: .deviceTwin, specSize: 100, statusSize: 10))
            try cache.put(sampleRecord(3))
            try cache.remove(uid: sampleRecord(3).uid)
        }
        let report = PodCache.verify(path: path)
        #expect(report.status == .ok)
        #expect(report.livePods == 1)
        #expect(report.liveDeviceTwins == 1)
        #expect(report.deletedUIDs == 1)
        #expect(report.freeSlots == 6)
        #expect(report.highestGeneration == 4)
        #expect(report.description.hasPrefix(path + ": ok\n"))

        let lines = try PodCache.inspect(path: path).split(separator: "\n").map(String.init)
        #expect(lines.count == 3)
        #expect(lines[0] == path + ": format 1, 8 slots of 1024 bytes, 2 live record(s), highest generation 4")
        let pod = sampleRecord(1)
        #expect(lines[1] == "pod ns-1/name-1 uid=" + pod.uid + " rv=1 spec-hash=0x00000000000003e9 spec=300B status=20B record=415B generation=1 slot=0")
        #expect(lines[2].hasPrefix("device-twin ns-2/name-2 uid=" + sampleRecord(2).uid + " rv=1 "))
        #expect(throws: CacheError.self) { try PodCache.inspect(path: folder.path("missing.cache")) }
    }
}
