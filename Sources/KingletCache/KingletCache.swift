/// KingletCache: the memory-mapped flat file holding pod records and device twins.
///
/// The agent keeps what it must run offline in one file mapped `MAP_SHARED`: a header, a
/// table of 64-byte slot descriptors, and fixed-size slots holding one record each. A commit
/// writes the new record into a free slot, `msync`s it, then flips by writing that slot's
/// descriptor with the next generation; on open, the newest valid entry of each uid wins.
/// So after `kill -9` or a power cut at any instant the file opens to each record's old or
/// new state, never a mix. The byte layout and the rules are in docs/cache-format.md.
import CKingletSystem
import KingletCore

/// The open cache: lookups by uid in O(1) without allocating, commits that survive crashes.
public final class PodCache {
    private let file: MappedCacheFile
    /// uid -> slot of its live record. Built at open; lookups hash the caller's string only.
    private var index: [String: Int32]
    /// Per slot, the generation its descriptor carries (0: empty or unreadable).
    private var slotGenerations: [UInt64]
    private var free: FreeSlots
    private var nextGeneration: UInt64
    private var isOpen = true
    /// Set by `syncInBackground`: msyncs leave the caller's thread.
    private var background: BackgroundSync?
    /// What the recovery pass found when the file was opened.
    public let openReport: CacheOpenReport

    /// Opens the cache at `path`, creating it with `geometry` when no file is there. An
    /// existing file keeps the geometry in its header. Takes the file's writer lock.
    /// - Parameters:
    ///   - baseGeneration: for a new file only: its entries' generations start above it.
    ///   - durability: `.powerLoss` (msync around every flip) unless a test says otherwise.
    /// - Throws: `.notACacheFile`, `.unsupportedVersion`, `.corruptHeader` (quarantine the
    ///   file), `.locked`, `.invalidGeometry`, or `.system` for a failed call.
    public static func open(path: String, creating geometry: CacheGeometry = .standard, baseGeneration: UInt64 = 0,
                            durability: CacheDurability = .powerLoss) throws(CacheError) -> PodCache {
        if kinglet_file_exists(path) == 0 {
            if let problem = geometry.problem { throw .invalidGeometry(reason: problem) }
            try MappedCacheFile.create(path: path, header: CacheHeader(geometry: geometry, baseGeneration: baseGeneration))
        }
        let file = try MappedCacheFile.open(path: path, writable: true)
        file.syncs = durability == .powerLoss
        return PodCache(file: file)
    }

    /// Opens an existing cache for reading only (verify, inspect): no lock, no writes, and a
    /// truncated file is read as it is.
    public static func openReadOnly(path: String) throws(CacheError) -> PodCache {
        PodCache(file: try MappedCacheFile.open(path: path, writable: false))
    }

    private init(file: MappedCacheFile) {
        self.file = file
        let scan = SlotScan(file: file)
        index = scan.liveSlots
        slotGenerations = scan.slotGenerations
        let geometry = file.geometry
        free = FreeSlots(capacity: geometry.slotCount)
        var isLive = [Bool](repeating: false, count: geometry.slotCount)
        for slot in scan.liveSlots.values { isLive[Int(slot)] = true }
        for slot in 0..<geometry.slotCount where !isLive[slot] {
            free.insert(slot: slot, generation: scan.slotGenerations[slot])
        }
        nextGeneration = max(scan.highestGeneration, file.header.baseGeneration) + 1
        openReport = CacheOpenReport(livePods: scan.livePods, liveDeviceTwins: scan.liveDeviceTwins,
                                     deletedUIDs: scan.deletedUIDs, badSlots: scan.badSlots,
                                     highestGeneration: scan.highestGeneration,
                                     fileLength: file.foundLength, expectedFileLength: geometry.fileLength)
        // Verifying touched every live record; let those pages go until someone reads them.
        releaseResidentRecords()
    }

    deinit { close() }

    /// Makes every pending commit durable, unmaps the file and drops the writer lock. Later
    /// calls fail with `.closed`.
    public func close() {
        guard isOpen else { return }
        background?.stop()
        background = nil
        isOpen = false
        index = [:]
        file.close()
    }

    // MARK: - Reading

    public var path: String { file.path }
    public var geometry: CacheGeometry { file.geometry }
    public var baseGeneration: UInt64 { file.header.baseGeneration }
    public var isWritable: Bool { file.writable }
    /// Live records.
    public var count: Int { index.count }
    /// Generation the next commit will carry.
    public var upcomingGeneration: UInt64 { nextGeneration }
    /// Slots a commit can still use.
    public var freeSlotCount: Int { free.count }
    /// Uids of every live record, in no particular order.
    public var uids: [String] { Array(index.keys) }

    public func contains(uid: String) -> Bool { isOpen && index[uid] != nil }

    /// Calls `body` with the live record `uid`, read in place. Nil when there is none.
    public func withRecord<Result, Failure: Error>(
        uid: String, _ body: (CachedRecordView) throws(Failure) -> Result
    ) throws(Failure) -> Result? {
        guard isOpen, let slot = index[uid], let view = view(slot: Int(slot)) else { return nil }
        return try body(view)
    }

    /// Calls `body` with the spec JSON of `uid`, in place (no copy). Nil when there is none.
    public func withSpecBytes<Result, Failure: Error>(
        uid: String, _ body: (UnsafeRawBufferPointer) throws(Failure) -> Result
    ) throws(Failure) -> Result? {
        guard isOpen, let slot = index[uid], let view = view(slot: Int(slot)) else { return nil }
        return try body(view.spec)
    }

    /// Calls `body` with the last known status JSON of `uid`, in place. Nil when there is none.
    public func withStatusBytes<Result, Failure: Error>(
        uid: String, _ body: (UnsafeRawBufferPointer) throws(Failure) -> Result
    ) throws(Failure) -> Result? {
        guard isOpen, let slot = index[uid], let view = view(slot: Int(slot)) else { return nil }
        return try body(view.status)
    }

    /// Calls `body` with every live record, in no particular order.
    public func forEachRecord<Failure: Error>(_ body: (CachedRecordView) throws(Failure) -> Void) throws(Failure) {
        guard isOpen else { return }
        for slot in index.values {
            if let view = view(slot: Int(slot)) { try body(view) }
        }
    }

    /// A copy of the record `uid`.
    public func record(uid: String) -> CacheRecord? { withRecord(uid: uid) { $0.copy() } }
    /// A copy of the spec JSON of `uid`.
    public func spec(uid: String) -> [UInt8]? { withSpecBytes(uid: uid) { [UInt8]($0) } }
    /// A copy of the status JSON of `uid`.
    public func status(uid: String) -> [UInt8]? { withStatusBytes(uid: uid) { [UInt8]($0) } }
    /// The spec hash of `uid`, without copying anything.
    public func specHash(uid: String) -> UInt64? { withRecord(uid: uid) { $0.specHash } }

    private func view(slot: Int) -> CachedRecordView? {
        let geometry = file.geometry
        let offset = geometry.recordOffset(slot: slot)
        let available = max(0, min(geometry.slotSize, file.availableLength - offset))
        return RecordEncoding.view(slot: UnsafeRawPointer(file.base + offset), index: slot, available: available)
    }

    /// Drops the pages of every record from this process's resident set (they stay in the
    /// page cache and the file; a later read faults them back). For an idle agent.
    public func releaseResidentRecords() {
        guard isOpen else { return }
        let geometry = file.geometry
        file.release(offset: geometry.recordAreaOffset, length: geometry.slotCount * geometry.slotSize)
    }

    // MARK: - Durability off the loop

    /// From now on commits return as soon as their bytes are in the mapping, and a flusher
    /// thread makes them durable in group-commit rounds watched on `loop`
    /// (docs/cache-format.md, "Commit off the loop"). `whenDurable` tells when. Under
    /// `.processCrash` durability nothing is synced, so nothing changes.
    /// - Parameters:
    ///   - loop: where rounds finish and start; nil: only `finishPendingCommits` runs them.
    ///   - syncDelay: fault injection: every msync first sleeps this long.
    public func syncInBackground(on loop: (any EventLoop)?, syncDelay: Duration = .zero) throws(CacheError) {
        try checkWritable()
        guard background == nil, file.syncs else { return }
        let delay = UInt32(clamping: max(0, syncDelay.nanoseconds / 1_000))
        let sync = try BackgroundSync(file: file, delayMicroseconds: delay)
        sync.retire = { [self] slot in self.retire(slot: Int(slot)) }
        sync.failed = { [self] code in self.onSyncFailure(code) }
        if let loop { try sync.attach(to: loop) }
        background = sync
    }

    /// Calls `callback` once every commit made so far is durable: at once when commits are
    /// synchronous or none is pending.
    public func whenDurable(_ callback: @escaping () -> Void) {
        if let background { background.whenDurable(callback) } else { callback() }
    }

    /// Commits not yet durable (0 when commits are synchronous).
    public var pendingCommits: Int { background?.pendingCount ?? 0 }

    /// Background sync rounds finished.
    public var backgroundSyncRounds: UInt64 { background?.rounds ?? 0 }
    /// Called on the loop with the errno of a background msync that failed. Nothing of that
    /// round counts as durable: it is tried again a second later.
    public var onSyncFailure: (Int32) -> Void = { _ in }

    /// Waits until every pending commit is durable (tools, tests; the agent never calls it).
    public func finishPendingCommits() { background?.finishSynchronously() }

    // MARK: - Writing

    /// Stores `record`, replacing the live record with the same uid. Durable on return.
    public func put(_ record: CacheRecord) throws(CacheError) {
        let failure = record.spec.withUnsafeBytes { spec in
            record.status.withUnsafeBytes { status in
                attemptPut(kind: record.kind, uid: record.uid, namespace: record.namespace, name: record.name,
                           resourceVersion: record.resourceVersion, specHash: record.specHash, spec: spec, status: status)
            }
        }
        if let failure { throw failure }
    }

    /// Stores a record whose spec and status are borrowed bytes (e.g. a message payload),
    /// copied once, straight into the slot.
    public func put(kind: RecordKind, uid: String, namespace: String, name: String, resourceVersion: String,
                    specHash: UInt64, spec: UnsafeRawBufferPointer, status: UnsafeRawBufferPointer) throws(CacheError) {
        if let failure = attemptPut(kind: kind, uid: uid, namespace: namespace, name: name, resourceVersion: resourceVersion,
                                    specHash: specHash, spec: spec, status: status) {
            throw failure
        }
    }

    // The standard library's withUTF8/withUnsafeBytes rethrow untyped errors, which Embedded
    // Swift cannot carry: the closures hand the error back as a value instead.
    private func attemptPut(kind: RecordKind, uid: String, namespace: String, name: String, resourceVersion: String,
                            specHash: UInt64, spec: UnsafeRawBufferPointer, status: UnsafeRawBufferPointer) -> CacheError? {
        var uidText = uid, namespaceText = namespace, nameText = name, versionText = resourceVersion
        return uidText.withUTF8 { uidBytes in
            namespaceText.withUTF8 { namespaceBytes in
                nameText.withUTF8 { nameBytes in
                    versionText.withUTF8 { versionBytes in
                        attempt { () throws(CacheError) in
                            try commit(RecordFields(kind: kind, uid: UnsafeRawBufferPointer(uidBytes),
                                                    namespace: UnsafeRawBufferPointer(namespaceBytes),
                                                    name: UnsafeRawBufferPointer(nameBytes),
                                                    resourceVersion: UnsafeRawBufferPointer(versionBytes),
                                                    specHash: specHash, spec: spec, status: status),
                                       uid: uid)
                        }
                    }
                }
            }
        }
    }

    private func attempt(_ body: () throws(CacheError) -> Void) -> CacheError? {
        do { try body() } catch { return error }
        return nil
    }

    /// Replaces the status of the live record `uid`, keeping everything else. The spec is
    /// copied slot to slot inside the mapping.
    public func updateStatus(uid: String, status: UnsafeRawBufferPointer) throws(CacheError) {
        try checkWritable()
        guard let slot = index[uid], let current = view(slot: Int(slot)) else { throw .notFound(uid: uid) }
        try commit(RecordFields(kind: current.kind, uid: current.uid, namespace: current.namespace, name: current.name,
                                resourceVersion: current.resourceVersion, specHash: current.specHash,
                                spec: current.spec, status: status),
                   uid: uid)
    }

    /// Replaces the status of the live record `uid`.
    public func updateStatus(uid: String, status: [UInt8]) throws(CacheError) {
        let failure = status.withUnsafeBytes { bytes in
            attempt { () throws(CacheError) in try updateStatus(uid: uid, status: bytes) }
        }
        if let failure { throw failure }
    }

    /// Deletes `uid` now, or, when the cache is full only because commits still in flight
    /// hold the slots they supersede, once those are durable. Other failures are returned.
    public func removeSoon(uid: String) -> CacheError? {
        do throws(CacheError) {
            try remove(uid: uid)
            return nil
        } catch {
            guard case .full = error, pendingCommits > 0 else { return error }
            whenDurable { [self] in _ = try? self.remove(uid: uid) }
            return nil
        }
    }

    /// Deletes the record `uid` with a tombstone. Returns false when there was none.
    @discardableResult
    public func remove(uid: String) throws(CacheError) -> Bool {
        try checkWritable()
        guard let live = index[uid] else { return false }
        guard let target = free.takeOldest() else { throw .full(uid: uid, slotCount: file.geometry.slotCount) }
        let generation = nextGeneration
        nextGeneration += 1
        let descriptor = SlotDescriptor(generation: generation, recordLength: 0, recordCRC: 0, state: .tombstone,
                                        kind: view(slot: Int(live))?.kind ?? .pod, uidLength: 0)
        let offset = file.geometry.descriptorOffset(slot: target.slot)
        var uidText = uid
        slotGenerations[target.slot] = generation
        index[uid] = nil
        if let background {
            // The slot's old record must be dead on disk before the tombstone's flip: a put
            // overwrites it in its record round, a tombstone writes no record, so it breaks
            // the old record's magic now and that goes out in the same round. Otherwise a
            // power cut that kept a later flip but lost this one could find the old entry
            // intact in this slot and bring a deleted uid back.
            (file.base + file.geometry.recordOffset(slot: target.slot)).storeBytes(of: 0, as: UInt32.self)
            uidText.withUTF8 {
                background.queue(slot: target.slot, supersedes: Int(live), descriptor: descriptor,
                                 uid: UnsafeRawBufferPointer($0), isTombstone: true)
            }
            return true
        }
        uidText.withUTF8 { descriptor.encode(uid: UnsafeRawBufferPointer($0), to: file.base + offset) }
        retire(slot: Int(live))
        // The tombstone's slot is free at once: its generation is the highest, so every older
        // entry of this uid is reused (overwritten) before it (see FreeSlots).
        free.insert(slot: target.slot, generation: generation)
        try file.sync(offset: offset, length: CacheLayout.descriptorSize)
        return true
    }

    /// The commit protocol (docs/cache-format.md, "Commit"):
    /// 1. take the free slot with the oldest descriptor generation;
    /// 2. write the record there and msync it;
    /// 3. write the slot's descriptor with the next generation (the flip) and msync it;
    /// 4. the slot the uid lived in before becomes free.
    private func commit(_ fields: RecordFields, uid: String) throws(CacheError) {
        try checkWritable()
        if fields.uid.isEmpty { throw .emptyUID }
        if fields.uid.count > CacheLayout.uidCapacity {
            throw .uidTooLong(uid: uid, length: fields.uid.count, limit: CacheLayout.uidCapacity)
        }
        for (name, count) in [("namespace", fields.namespace.count), ("name", fields.name.count),
                              ("resourceVersion", fields.resourceVersion.count)] where count > CacheLayout.shortFieldLimit {
            throw .fieldTooLong(uid: uid, field: name, length: count, limit: CacheLayout.shortFieldLimit)
        }
        let geometry = file.geometry
        let size = fields.size
        if size > geometry.slotSize { throw .recordTooLarge(uid: uid, size: size, slotCapacity: geometry.slotSize) }
        let previous = index[uid]
        // A new uid may not take the last free slot: updates and deletions always need one.
        if free.count < (previous == nil ? 2 : 1) { throw .full(uid: uid, slotCount: geometry.slotCount) }
        guard let target = free.takeOldest() else { throw .full(uid: uid, slotCount: geometry.slotCount) }

        let generation = nextGeneration
        let recordOffset = geometry.recordOffset(slot: target.slot)
        let crc = RecordEncoding.write(fields, generation: generation, to: file.base + recordOffset)
        if let background {
            nextGeneration += 1
            let descriptor = SlotDescriptor(generation: generation, recordLength: size, recordCRC: crc, state: .live,
                                            kind: fields.kind, uidLength: fields.uid.count)
            background.queue(slot: target.slot, supersedes: previous.map { Int($0) }, descriptor: descriptor, uid: fields.uid)
            slotGenerations[target.slot] = generation
            index[uid] = Int32(target.slot)
            file.release(offset: recordOffset, length: geometry.slotSize)
            return
        }
        do throws(CacheError) {
            try file.sync(offset: recordOffset, length: size)
        } catch {
            // Nothing points at the half-synced record: the slot is as free as before.
            free.insert(slot: target.slot, generation: target.generation)
            throw error
        }
        nextGeneration += 1

        let descriptor = SlotDescriptor(generation: generation, recordLength: size, recordCRC: crc, state: .live,
                                        kind: fields.kind, uidLength: fields.uid.count)
        let descriptorOffset = geometry.descriptorOffset(slot: target.slot)
        descriptor.encode(uid: fields.uid, to: file.base + descriptorOffset)
        slotGenerations[target.slot] = generation
        index[uid] = Int32(target.slot)
        if let previous { retire(slot: Int(previous)) }
        file.release(offset: recordOffset, length: geometry.slotSize)
        // On failure the flip is already in the page cache, so the in-memory state follows it.
        try file.sync(offset: descriptorOffset, length: CacheLayout.descriptorSize)
    }

    /// A slot whose record was superseded or deleted goes back to the free slots.
    private func retire(slot: Int) {
        free.insert(slot: slot, generation: slotGenerations[slot])
        file.release(offset: file.geometry.recordOffset(slot: slot), length: file.geometry.slotSize)
    }

    private func checkWritable() throws(CacheError) {
        if !isOpen { throw .closed }
        if !file.writable { throw .readOnly(path: file.path) }
    }
}

/// What a commit waits for before it returns.
public enum CacheDurability: Equatable, Sendable {
    /// msync(MS_SYNC) the record before the flip and the descriptor after it: a commit that
    /// returned survives power loss. The agent always uses this.
    case powerLoss
    /// No msync: commits survive the process being killed (the page cache keeps them) but not
    /// power loss. Lets the crash-injection test land its kills inside the memory writes a
    /// commit makes rather than inside msync, where a synced commit spends its time.
    case processCrash
}

/// What the recovery pass found when a cache was opened.
public struct CacheOpenReport: Sendable {
    public var livePods: Int
    public var liveDeviceTwins: Int
    /// Uids whose newest entry is a tombstone.
    public var deletedUIDs: Int
    /// Slots skipped: torn or corrupt descriptors, records failing their CRC.
    public var badSlots: [BadSlot]
    public var highestGeneration: UInt64
    /// Bytes of the file as found (less than expected when truncated).
    public var fileLength: Int
    public var expectedFileLength: Int

    public var isTruncated: Bool { fileLength < expectedFileLength }
}
