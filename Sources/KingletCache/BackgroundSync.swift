import CKingletSystem
import KingletCore

/// Commits whose msyncs run on a flusher thread, so the event loop never waits on storage
/// (docs/cache-format.md, "Commit off the loop").
///
/// A commit still writes its record into a free slot on the loop, at once; what moves is the
/// waiting. Each flip goes through two sync rounds of the flusher thread:
/// 1. the round that makes its record durable (the record was written before it started);
/// 2. the loop writes the slot's descriptor (the flip), and the next round makes it durable.
/// Only then is the commit durable, its `whenDurable` callbacks run, and the slot the uid
/// held before goes back to the free slots. So the order on disk is the synchronous one
/// (record, then flip, then reuse of the old slot), and a round serves every commit queued
/// since the last one: group commit, one msync for any number of records.
final class BackgroundSync {
    /// A commit waiting for its rounds: the slot it wrote, its encoded descriptor, and the
    /// slot it supersedes (freed once the flip is durable).
    struct PendingFlip {
        var slot: Int32
        var supersedes: Int32
        /// A tombstone's own slot is free again once the tombstone is durable, not before:
        /// a record written there first would race the tombstone's descriptor.
        var isTombstone: Bool
        var sequence: UInt64
        var descriptorIndex: Int
    }

    private let flusher: OpaquePointer
    private let file: MappedCacheFile
    /// Encoded descriptors of pending flips, 64 bytes each, reused between rounds.
    private var descriptorBytes: [UInt8] = []
    private var freeDescriptorIndexes: [Int] = []
    /// Records written since the last round was submitted.
    private var written: [PendingFlip] = []
    /// Records made durable by the last round; their descriptors go out with the next.
    private var recordsDurable: [PendingFlip] = []
    /// In the running round: records being synced, and descriptors being synced.
    private var syncingRecords: [PendingFlip] = []
    private var syncingFlips: [PendingFlip] = []
    private var roundRunning = false
    private var nextSequence: UInt64 = 1
    private var waiters: [(sequence: UInt64, callback: () -> Void)] = []
    private var kickScheduled = false
    private var loop: (any EventLoop)?
    /// Called with each slot that is free again (the cache puts it back).
    var retire: (Int32) -> Void = { _ in }
    /// Called with the errno of a failed msync (the round still counts: nothing better exists).
    var failed: (Int32) -> Void = { _ in }

    private(set) var rounds: UInt64 = 0
    private(set) var flipsMadeDurable: UInt64 = 0
    private(set) var failures: UInt64 = 0

    init(file: MappedCacheFile, delayMicroseconds: UInt32) throws(CacheError) {
        guard let flusher = kinglet_flusher_start(file.base, delayMicroseconds) else {
            throw CacheError.failure("pthread_create", path: file.path)
        }
        self.flusher = flusher
        self.file = file
    }

    /// Watches the flusher's eventfd on `loop`: rounds finish and start from there.
    func attach(to loop: any EventLoop) throws(CacheError) {
        self.loop = loop
        do {
            try loop.watch(kinglet_flusher_fd(flusher), interest: .readable) { [self] _ in self.collect() }
        } catch {
            throw CacheError.failure("epoll_ctl", path: file.path)
        }
    }

    var pendingCount: Int { written.count + recordsDurable.count + syncingRecords.count + syncingFlips.count }

    /// Queues a flip whose record is already in its slot. Returns its sequence number.
    @discardableResult
    func queue(slot: Int, supersedes: Int?, descriptor: SlotDescriptor, uid: UnsafeRawBufferPointer,
               isTombstone: Bool = false) -> UInt64 {
        let index: Int
        if let reused = freeDescriptorIndexes.popLast() {
            index = reused
        } else {
            index = descriptorBytes.count / CacheLayout.descriptorSize
            descriptorBytes.append(contentsOf: repeatElement(0, count: CacheLayout.descriptorSize))
        }
        descriptorBytes.withUnsafeMutableBytes { bytes in
            descriptor.encode(uid: uid, to: bytes.baseAddress! + index * CacheLayout.descriptorSize)
        }
        let sequence = nextSequence
        nextSequence += 1
        written.append(PendingFlip(slot: Int32(slot), supersedes: Int32(supersedes ?? -1), isTombstone: isTombstone,
                                   sequence: sequence, descriptorIndex: index))
        scheduleKick()
        return sequence
    }

    /// Calls `callback` once every commit queued so far is durable: at once when none is
    /// pending, else on the loop after the round that completes the last of them.
    func whenDurable(_ callback: @escaping () -> Void) {
        if pendingCount == 0 {
            callback()
        } else {
            waiters.append((nextSequence - 1, callback))
        }
    }

    /// Runs every pending commit to durability, waiting on the flusher (shutdown, tools).
    func finishSynchronously() {
        var guardRounds = 0
        while pendingCount > 0 && guardRounds < 8 {
            if !roundRunning { startRound() }
            var error: Int32 = 0
            if kinglet_flusher_wait(flusher, &error) == 1 { finishRound(error: error) }
            guardRounds += 1
        }
    }

    /// Stops the flusher thread after finishing what is pending.
    func stop() {
        finishSynchronously()
        if let loop { loop.unwatch(kinglet_flusher_fd(flusher)) }
        kinglet_flusher_stop(flusher)
    }

    private func scheduleKick() {
        guard !roundRunning else { return }
        // Next turn, not now: every commit of this turn joins the same round.
        scheduleRound(after: .zero)
    }

    /// Starts a round after `delay` on the loop (no loop: finishSynchronously drives them).
    private func scheduleRound(after delay: Duration) {
        guard let loop, !kickScheduled else { return }
        kickScheduled = true
        loop.schedule(after: delay) { [self] in
            self.kickScheduled = false
            if !self.roundRunning { self.startRound() }
        }
    }

    private func collect() {
        var error: Int32 = 0
        guard kinglet_flusher_collect(flusher, &error) == 1 else { return }
        finishRound(error: error)
    }

    /// Writes the descriptors of flips whose records are durable, then syncs the whole
    /// mapping: the kernel writes only the dirty pages, so one msync covers every record and
    /// descriptor of the round wherever they lie.
    private func startRound() {
        guard !written.isEmpty || !recordsDurable.isEmpty else { return }
        descriptorBytes.withUnsafeBytes { bytes in
            for flip in recordsDurable {
                let offset = file.geometry.descriptorOffset(slot: Int(flip.slot))
                (file.base + offset).copyMemory(from: bytes.baseAddress! + flip.descriptorIndex * CacheLayout.descriptorSize,
                                                byteCount: CacheLayout.descriptorSize)
            }
        }
        swap(&syncingFlips, &recordsDurable)
        recordsDurable.removeAll(keepingCapacity: true)
        swap(&syncingRecords, &written)
        written.removeAll(keepingCapacity: true)
        if kinglet_flusher_submit(flusher, 0, file.mappedLength) != 0 {
            // Only EBUSY is possible, and roundRunning rules it out.
            failed(kinglet_errno())
            return
        }
        roundRunning = true
    }

    private func finishRound(error: Int32) {
        roundRunning = false
        rounds += 1
        if error != 0 {
            // Nothing of this round is known durable: its records are synced again before
            // they flip, its flips are written and synced again before their old slots are
            // freed, and the next try waits a second (a failing card must not spin the loop).
            failures += 1
            failed(error)
            written.insert(contentsOf: syncingRecords, at: 0)
            syncingRecords.removeAll(keepingCapacity: true)
            recordsDurable.insert(contentsOf: syncingFlips, at: 0)
            syncingFlips.removeAll(keepingCapacity: true)
            scheduleRound(after: .seconds(1))
            return
        }
        for flip in syncingFlips {
            if flip.supersedes >= 0 { retire(flip.supersedes) }
            if flip.isTombstone { retire(flip.slot) }
            freeDescriptorIndexes.append(flip.descriptorIndex)
        }
        flipsMadeDurable += UInt64(syncingFlips.count)
        syncingFlips.removeAll(keepingCapacity: true)
        recordsDurable.append(contentsOf: syncingRecords)
        syncingRecords.removeAll(keepingCapacity: true)
        runDueWaiters()
        if !written.isEmpty || !recordsDurable.isEmpty { startRound() }
    }

    private func runDueWaiters() {
        guard !waiters.isEmpty else { return }
        // Flips move through the stages in queue order, so each stage's first is its oldest.
        var oldestPending = UInt64.max
        if let first = written.first { oldestPending = min(oldestPending, first.sequence) }
        if let first = recordsDurable.first { oldestPending = min(oldestPending, first.sequence) }
        if let first = syncingRecords.first { oldestPending = min(oldestPending, first.sequence) }
        if let first = syncingFlips.first { oldestPending = min(oldestPending, first.sequence) }
        var due = 0
        while due < waiters.count && waiters[due].sequence < oldestPending { due += 1 }
        guard due > 0 else { return }
        let ready = waiters[0..<due]
        waiters.removeFirst(due)
        for waiter in ready { waiter.callback() }
    }
}
