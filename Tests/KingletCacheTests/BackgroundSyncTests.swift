import Foundation
import KingletCache
import KingletCore
import KingletEpoll
import Testing

/// Commits whose msyncs run on the flusher thread: the ordering on disk stays the
/// synchronous one (record durable, then the flip, then the old slot reused), and one round
/// serves every commit queued meanwhile.
@Suite struct BackgroundSyncTests {
    let geometry = CacheGeometry(slotCount: 16, slotSize: 1024)

    /// Runs `loop` until `done()` holds, at most `turns` wake-ups of at most 100 ms each.
    func run(_ loop: EpollEventLoop, turns: Int = 200, until done: () -> Bool) throws {
        var turn = 0
        while !done() && turn < turns {
            try loop.runOnce(timeoutMilliseconds: 100)
            turn += 1
        }
    }

    @Test func aCommitIsDurableAfterItsRecordRoundAndItsFlipRound() throws {
        let folder = ScratchFolder()
        defer { folder.remove() }
        let path = folder.path("pods.cache")
        let loop = try EpollEventLoop()
        let cache = try PodCache.open(path: path, creating: geometry)
        defer { cache.close() }
        // A slow disk, so the state between the rounds can be looked at.
        try cache.syncInBackground(on: loop, syncDelay: .milliseconds(150))
        let record = sampleRecord(1)
        try cache.put(record)
        #expect(cache.record(uid: record.uid) == record, "readers see a commit at once")
        #expect(cache.pendingCommits == 1)
        var durable = false
        cache.whenDurable { durable = true }
        #expect(!durable)
        // Before the record round ends, the flip is not in the file: another reader of the
        // file does not see the record yet.
        let early = try PodCache.openReadOnly(path: path)
        #expect(early.record(uid: record.uid) == nil)
        early.close()
        try run(loop) { durable }
        #expect(durable)
        #expect(cache.pendingCommits == 0)
        #expect(cache.backgroundSyncRounds == 2)
        let reader = try PodCache.openReadOnly(path: path)
        defer { reader.close() }
        #expect(reader.record(uid: record.uid) == record)
    }

    @Test func commitsOfOneTurnShareTheirRounds() throws {
        let folder = ScratchFolder()
        defer { folder.remove() }
        let loop = try EpollEventLoop()
        let cache = try PodCache.open(path: folder.path("pods.cache"), creating: CacheGeometry(slotCount: 64, slotSize: 1024))
        defer { cache.close() }
        try cache.syncInBackground(on: loop)
        for number in 1...40 { try cache.put(sampleRecord(number)) }
        var durable = false
        cache.whenDurable { durable = true }
        try run(loop) { durable }
        #expect(durable)
        #expect(cache.backgroundSyncRounds == 2, "40 commits, one record round and one flip round")
    }

    @Test func theSupersededSlotStaysTakenUntilTheFlipIsDurable() throws {
        let folder = ScratchFolder()
        defer { folder.remove() }
        let loop = try EpollEventLoop()
        let cache = try PodCache.open(path: folder.path("pods.cache"), creating: geometry)
        defer { cache.close() }
        try cache.syncInBackground(on: loop)
        try cache.put(sampleRecord(1, version: 1))
        var durable = false
        cache.whenDurable { durable = true }
        try run(loop) { durable }
        let freeBefore = cache.freeSlotCount
        try cache.put(sampleRecord(1, version: 2))
        // The new record took a slot; the old one is not free until the new flip is durable
        // (a power cut before then must still find version 1 intact).
        #expect(cache.freeSlotCount == freeBefore - 1)
        durable = false
        cache.whenDurable { durable = true }
        try run(loop) { durable }
        #expect(cache.freeSlotCount == freeBefore)
    }

    @Test func aRemovalBecomesDurableTooAndItsSlotReturns() throws {
        let folder = ScratchFolder()
        defer { folder.remove() }
        let path = folder.path("pods.cache")
        let loop = try EpollEventLoop()
        let cache = try PodCache.open(path: path, creating: geometry)
        let record = sampleRecord(3)
        try cache.syncInBackground(on: loop)
        try cache.put(record)
        #expect(try cache.remove(uid: record.uid))
        #expect(cache.record(uid: record.uid) == nil)
        var durable = false
        cache.whenDurable { durable = true }
        try run(loop) { durable }
        #expect(cache.freeSlotCount == geometry.slotCount)
        cache.close()
        let reopened = try PodCache.openReadOnly(path: path)
        defer { reopened.close() }
        #expect(reopened.record(uid: record.uid) == nil)
        #expect(reopened.openReport.deletedUIDs == 1)
    }

    @Test func closingMakesPendingCommitsDurable() throws {
        let folder = ScratchFolder()
        defer { folder.remove() }
        let path = folder.path("pods.cache")
        let loop = try EpollEventLoop()
        let cache = try PodCache.open(path: path, creating: geometry)
        try cache.syncInBackground(on: loop, syncDelay: .milliseconds(20))
        for number in 1...5 { try cache.put(sampleRecord(number)) }
        try cache.updateStatus(uid: sampleRecord(2).uid, status: [1, 2, 3])
        var callbacks = 0
        cache.whenDurable { callbacks += 1 }
        cache.close()
        #expect(callbacks == 1)
        let reopened = try PodCache.openReadOnly(path: path)
        defer { reopened.close() }
        #expect(reopened.count == 5)
        #expect(reopened.status(uid: sampleRecord(2).uid) == [1, 2, 3])
    }

    @Test func whenDurableRunsAtOnceWithNothingPending() throws {
        let folder = ScratchFolder()
        defer { folder.remove() }
        let loop = try EpollEventLoop()
        let cache = try PodCache.open(path: folder.path("pods.cache"), creating: geometry)
        defer { cache.close() }
        try cache.syncInBackground(on: loop)
        var ran = false
        cache.whenDurable { ran = true }
        #expect(ran)
    }

    @Test func aRemovalThatFindsTheCacheFullOfPendingCommitsHappensOnceTheyAreDurable() throws {
        let folder = ScratchFolder()
        defer { folder.remove() }
        let loop = try EpollEventLoop()
        let cache = try PodCache.open(path: folder.path("pods.cache"), creating: CacheGeometry(slotCount: 4, slotSize: 1024))
        defer { cache.close() }
        try cache.syncInBackground(on: loop)
        try cache.put(sampleRecord(1))
        try cache.put(sampleRecord(2))
        var durable = false
        cache.whenDurable { durable = true }
        try run(loop) { durable }
        // Two updates in flight hold the slots they supersede: no free slot is left.
        try cache.put(sampleRecord(1, version: 2))
        try cache.put(sampleRecord(2, version: 2))
        #expect(cache.freeSlotCount == 0)
        #expect(throws: CacheError.self) { try cache.remove(uid: sampleRecord(1).uid) }
        #expect(cache.removeSoon(uid: sampleRecord(1).uid) == nil)
        try run(loop) { cache.record(uid: sampleRecord(1).uid) == nil && cache.pendingCommits == 0 }
        #expect(cache.record(uid: sampleRecord(1).uid) == nil)
        #expect(cache.record(uid: sampleRecord(2).uid) == sampleRecord(2, version: 2))
    }
}
