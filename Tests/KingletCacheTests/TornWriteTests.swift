import cache_torture_writer
import Foundation
import KingletCache
import KingletLoopTesting
import Testing

/// Power loss in the middle of a commit, simulated on file images: the disk may have taken any
/// part of what the commit wrote. Every such image must open to exactly the old or the new
/// state of the record the commit touched, with every other record unchanged.
@Suite struct TornWriteTests {
    static let geometry = CacheGeometry(slotCount: 6, slotSize: 16_384)
    static let page = 4096

    /// One commit: the file and the records before and after it.
    struct Commit {
        var name: String
        var uid: String
        var before: [UInt8]
        var after: [UInt8]
        var recordsBefore: [String: CacheRecord]
        var recordsAfter: [String: CacheRecord]
    }

    /// How many partial images opened to each state.
    struct Tally {
        var old = 0
        var new = 0
        var images = 0
    }

    @Test func everyPartialCommitOpensToTheOldOrTheNewState() throws {
        let folder = ScratchFolder()
        defer { folder.remove() }
        let path = folder.path("torn.cache")
        let cache = try PodCache.open(path: path, creating: TornWriteTests.geometry, durability: .processCrash)
        defer { cache.close() }
        try cache.put(sampleRecord(1, specSize: 2_000))
        try cache.put(sampleRecord(2, specSize: 9_000))
        try cache.put(sampleRecord(3, kind: .deviceTwin, specSize: 500))
        try cache.put(sampleRecord(2, version: 2, specSize: 11_000))

        let b = sampleRecord(2).uid
        let steps: [(String, String, () throws -> Void)] = [
            ("update across pages", b, { try cache.put(sampleRecord(2, version: 3, specSize: 12_000, statusSize: 900)) }),
            ("status only", b, { try cache.updateStatus(uid: b, status: Array(repeating: 0x41, count: 3_000)) }),
            ("insert", sampleRecord(4).uid, { try cache.put(sampleRecord(4, specSize: 7_000)) }),
            ("remove", b, { _ = try cache.remove(uid: b) }),
            ("put after remove", b, { try cache.put(sampleRecord(2, version: 5, specSize: 14_000)) }),
            ("small update", sampleRecord(1).uid, { try cache.put(sampleRecord(1, version: 2, specSize: 100)) }),
            ("remove twin", sampleRecord(3).uid, { _ = try cache.remove(uid: sampleRecord(3).uid) }),
            ("update into a reused slot", sampleRecord(4).uid, { try cache.put(sampleRecord(4, version: 2, specSize: 15_000)) }),
        ]
        var random = SplitMix64(seed: 0x70A5)
        var total = 0
        for (name, uid, step) in steps {
            let before = FileImage.read(path)
            let recordsBefore = snapshot(cache)
            try step()
            let commit = Commit(name: name, uid: uid, before: before, after: FileImage.read(path),
                                recordsBefore: recordsBefore, recordsAfter: snapshot(cache))
            let tally = check(commit, scratch: folder.path("image.cache"), random: &random)
            print("torn-write \(name): \(tally.images) images, \(tally.old) old, \(tally.new) new")
            #expect(tally.old > 0 && tally.new > 0, "\(name)")
            total += tally.images
        }
        print("torn-write: \(total) partial images opened")
    }

    /// Builds partial images of `commit` and opens each.
    func check(_ commit: Commit, scratch: String, random: inout SplitMix64) -> Tally {
        let changed = commit.before.indices.filter { commit.before[$0] != commit.after[$0] }
        guard let first = changed.first, let last = changed.last else {
            Issue.record("\(commit.name) changed nothing")
            return Tally()
        }
        FileImage.write(commit.before, to: scratch)
        var tally = Tally()
        func open(_ image: [UInt8], _ label: String) {
            let fd = Glibc.open(scratch, O_WRONLY)
            image[first...last].withUnsafeBytes { _ = pwrite(fd, $0.baseAddress, $0.count, off_t(first)) }
            Glibc.close(fd)
            judge(commit, readAll(scratch), label: label, tally: &tally)
        }

        // The disk wrote the changed bytes in file order, or in reverse, up to a point.
        var offsets = Set(stride(from: 0, through: changed.count, by: max(1, changed.count / 1_200)))
        offsets.formUnion(changed.indices.filter { changed[$0] < TornWriteTests.page * 2 + 64 * 6 })  // descriptor bytes
        for _ in 0..<300 { offsets.insert(Int(random.next() % UInt64(changed.count + 1))) }
        offsets.insert(changed.count)
        for count in offsets.sorted() {
            var image = commit.before
            for offset in changed[0..<count] { image[offset] = commit.after[offset] }
            open(image, "prefix \(count)")
        }
        for count in stride(from: 0, through: changed.count, by: max(1, changed.count / 300)) {
            var image = commit.before
            for offset in changed[count...] { image[offset] = commit.after[offset] }
            open(image, "suffix \(count)")
        }
        // Only some of the changed 4 KiB pages reached the disk: every combination.
        let pages = Array(Set(changed.map { $0 / TornWriteTests.page })).sorted()
        let combinations = pages.count <= 10 ? (0..<(1 << pages.count)).map { UInt64($0) }
                                             : (0..<1_024).map { _ in random.next() }
        for mask in combinations {
            var image = commit.before
            for (bit, page) in pages.enumerated() where mask & (1 << UInt64(bit)) != 0 {
                let range = (page * TornWriteTests.page)..<min(commit.after.count, (page + 1) * TornWriteTests.page)
                image.replaceSubrange(range, with: commit.after[range])
            }
            open(image, "pages \(mask)")
        }
        // Any subset of the bytes: sectors written out of order, torn sectors.
        for round in 0..<150 {
            let threshold = [UInt64(10), 50, 90][round % 3]
            var image = commit.before
            for offset in changed where random.next() % 100 < threshold { image[offset] = commit.after[offset] }
            open(image, "bytes \(round)")
        }
        return tally
    }

    func judge(_ commit: Commit, _ opened: Result<[String: CacheRecord], CacheError>, label: String, tally: inout Tally) {
        tally.images += 1
        guard case .success(let records) = opened else {
            Issue.record("\(commit.name), \(label): the image does not open")
            return
        }
        let target = records[commit.uid]
        let isOld = target == commit.recordsBefore[commit.uid]
        let isNew = target == commit.recordsAfter[commit.uid]
        if isOld { tally.old += 1 } else if isNew { tally.new += 1 }
        #expect(isOld || isNew, "\(commit.name), \(label): \(commit.uid) is neither its old nor its new state")
        var others = records
        others[commit.uid] = nil
        var expected = commit.recordsBefore
        expected[commit.uid] = nil
        let othersUnchanged = others == expected
        #expect(othersUnchanged, "\(commit.name), \(label): another record changed")
    }
}
