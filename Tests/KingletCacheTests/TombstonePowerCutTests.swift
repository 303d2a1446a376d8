import Foundation
import KingletCache
import KingletEpoll
import Testing

/// A background tombstone and a power cut in the flip round (docs/cache-format.md, "Commit off
/// the loop"). A tombstone writes no record, so the slot it takes may still hold an intact
/// record of an older, already deleted entry. If the flip round's pages reach the disk in the
/// wrong order, that old entry's descriptor can outlive the tombstone that was to replace it
/// while another flip of the same round overwrites the deleted uid's own tombstone.
@Suite struct TombstonePowerCutTests {
    /// More than 64 slots: the descriptor table spans two 4 KiB pages, so the flips of one
    /// round can land on different pages, which the disk writes back in any order.
    let geometry = CacheGeometry(slotCount: 72, slotSize: 1024)
    static let page = 4096

    func run(_ loop: EpollEventLoop, until done: () -> Bool) throws {
        var turn = 0
        while !done() && turn < 200 {
            try loop.runOnce(timeoutMilliseconds: 100)
            turn += 1
        }
    }

    func durable(_ cache: PodCache, _ loop: EpollEventLoop) throws {
        var done = false
        cache.whenDurable { done = true }
        try run(loop) { done }
        try #require(done && cache.pendingCommits == 0)
    }

    func slot(of uid: String, in cache: PodCache) -> Int? { cache.withRecord(uid: uid) { $0.slot } }

    func littleEndian(_ image: [UInt8], at offset: Int, bytes: Int) -> Int {
        (0..<bytes).reversed().reduce(0) { $0 << 8 | Int(image[offset + $1]) }
    }

    /// The scenario, with the free-slot order (lowest descriptor generation first):
    /// - `deleted` lives in slot T; its durable removal puts a tombstone in slot Tv and frees
    ///   both, T (older generation) ahead of Tv. T's record is still intact on disk.
    /// - In one loop turn (one group): `removed` is deleted (its tombstone takes T) and
    ///   `updated` is updated (its record goes into Tv). Record round R1, then flip round R2
    ///   writes both descriptors: T's (tombstone of `removed`) and Tv's (`updated`, which
    ///   overwrites the tombstone of `deleted`).
    /// - Power cut during R2: the disk holds everything R1 synced (the mapping as the commits
    ///   left it) plus any subset of the pages R2 dirtied. The bad subset keeps Tv's page and
    ///   loses T's: `deleted`'s tombstone is gone and T still carries its old live descriptor.
    ///   Only the tombstone's break of T's record magic (synced in R1) keeps it deleted.
    @Test func aRemovedPodNeverComesBackAfterAPowerCutThatLosesTheTombstoneFlip() throws {
        let folder = ScratchFolder()
        defer { folder.remove() }
        let path = folder.path("pods.cache")
        let loop = try EpollEventLoop()
        let cache = try PodCache.open(path: path, creating: geometry)
        defer { cache.close() }
        try cache.syncInBackground(on: loop)

        let deleted = sampleRecord(1), removed = sampleRecord(2), updated = sampleRecord(3)
        let updatedAgain = sampleRecord(3, version: 2)
        // Fill every slot but one, so that the slots freed below are the only free ones.
        for number in 1...(geometry.slotCount - 1) { try cache.put(sampleRecord(number)) }
        try durable(cache, loop)
        let oldSlot = try #require(slot(of: deleted.uid, in: cache))
        #expect(try cache.remove(uid: deleted.uid))
        try durable(cache, loop)
        // `deleted` is durably gone: this is the state a power cut must never undo.
        let deletedImage = FileImage.read(path)
        let scratch = folder.path("after-power-cut.cache")
        FileImage.write(deletedImage, to: scratch)
        let beforeGroup = try readAll(scratch).get()
        #expect(beforeGroup[deleted.uid] == nil)
        #expect(beforeGroup[removed.uid] == removed && beforeGroup[updated.uid] == updated)

        // One turn: a tombstone and an update, sharing their record round and their flip round.
        let roundsBefore = cache.backgroundSyncRounds
        #expect(try cache.remove(uid: removed.uid))
        try cache.put(updatedAgain)
        let reusedSlot = try #require(slot(of: updatedAgain.uid, in: cache))
        // No round has run yet (the loop has not turned): R1 syncs exactly this image, and
        // the flip round writes nothing but descriptors on top of it.
        let afterRecordRound = FileImage.read(path)
        try durable(cache, loop)
        #expect(cache.backgroundSyncRounds == roundsBefore + 2, "one record round, one flip round")
        let afterFlipRound = FileImage.read(path)

        let tableOffset = littleEndian(afterRecordRound, at: 36, bytes: 4)
        let recordAreaOffset = littleEndian(afterRecordRound, at: 40, bytes: 8)
        let changed = afterRecordRound.indices.filter { afterRecordRound[$0] != afterFlipRound[$0] }
        #expect(changed.allSatisfy { $0 >= tableOffset && $0 < recordAreaOffset }, "the flip round writes only descriptors")
        let pages = Array(Set(changed.map { $0 / TombstonePowerCutTests.page })).sorted()
        let tombstonePage = (tableOffset + oldSlot * 64) / TombstonePowerCutTests.page
        let updatePage = (tableOffset + reusedSlot * 64) / TombstonePowerCutTests.page
        // The scenario needs the two flips on different pages; otherwise this test proves nothing.
        try #require(pages == [tombstonePage, updatePage].sorted() && tombstonePage != updatePage,
                     "flip pages \(pages), tombstone in slot \(oldSlot), update in slot \(reusedSlot)")

        var sawTheDangerousImage = false
        for mask in 0..<(1 << pages.count) {
            var image = afterRecordRound
            for (bit, page) in pages.enumerated() where mask & (1 << bit) != 0 {
                let range = (page * TombstonePowerCutTests.page)..<((page + 1) * TombstonePowerCutTests.page)
                image.replaceSubrange(range, with: afterFlipRound[range])
            }
            FileImage.write(image, to: scratch)
            let records = try readAll(scratch).get()
            let kept = pages.enumerated().filter { mask & (1 << $0.offset) != 0 }.map { $0.element }
            #expect(records[deleted.uid] == nil, "flip pages kept \(kept): the deleted uid came back")
            // The commits of the interrupted round open to their old or new state.
            #expect(records[removed.uid] == nil || records[removed.uid] == removed, "flip pages kept \(kept)")
            #expect(records[updated.uid] == updated || records[updated.uid] == updatedAgain, "flip pages kept \(kept)")
            if records[updated.uid] == updatedAgain && records[removed.uid] == removed { sawTheDangerousImage = true }
        }
        #expect(sawTheDangerousImage, "no image kept the later flip while losing the tombstone's")
    }
}
