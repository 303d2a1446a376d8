import cache_torture_writer
import KingletCache
import KingletLoopTesting
import Testing

/// Random operations against a dictionary model, reopening the file now and then: slot reuse,
/// tombstones and the free-slot order must never bring back a deleted or older record.
@Suite struct ModelTests {
    @Test(arguments: [CacheGeometry(slotCount: 4, slotSize: 512), CacheGeometry(slotCount: 9, slotSize: 1024)])
    func randomOperationsMatchAModel(geometry: CacheGeometry) throws {
        let folder = ScratchFolder()
        defer { folder.remove() }
        let path = folder.path("model.cache")
        var random = SplitMix64(seed: UInt64(geometry.slotCount))
        var model: [String: CacheRecord] = [:]
        var cache = try PodCache.open(path: path, creating: geometry, durability: .processCrash)
        let uidCount = geometry.slotCount + 2
        for step in 0..<3_000 {
            let number = Int(random.next() % UInt64(uidCount))
            let uid = sampleRecord(number).uid
            switch random.next() % 10 {
            case 0...4:
                let record = sampleRecord(number, version: step, specSize: Int(random.next() % 200), statusSize: 10)
                do throws(CacheError) {
                    try cache.put(record)
                    model[uid] = record
                } catch {
                    // Only a new uid may be refused, and only when the cache is at capacity.
                    #expect(error == .full(uid: uid, slotCount: geometry.slotCount))
                    #expect(model[uid] == nil && model.count == geometry.recordCapacity)
                }
            case 5...6:
                let status = [UInt8(step % 256)]
                if model[uid] != nil {
                    try cache.updateStatus(uid: uid, status: status)
                    model[uid]?.status = status
                }
            case 7...8:
                #expect(try cache.remove(uid: uid) == (model[uid] != nil))
                model[uid] = nil
            default:
                cache.close()
                cache = try PodCache.open(path: path, durability: .processCrash)
                #expect(cache.openReport.badSlots.isEmpty)
            }
            let matches = snapshot(cache) == model
            #expect(matches, "step \(step)")
            if !matches { break }
        }
        cache.close()
        let reopened = try PodCache.openReadOnly(path: path)
        defer { reopened.close() }
        #expect(snapshot(reopened) == model)
    }
}
