import Foundation
import KingletCache
import Testing

@Suite struct PodCacheTests {
    let small = CacheGeometry(slotCount: 16, slotSize: 1024)

    @Test func createPutAndReopen() throws {
        let folder = ScratchFolder()
        defer { folder.remove() }
        let path = folder.path("pods.cache")
        let pod = sampleRecord(1)
        let twin = sampleRecord(2, kind: .deviceTwin)
        do {
            let cache = try PodCache.open(path: path, creating: small)
            #expect(cache.count == 0)
            try cache.put(pod)
            try cache.put(twin)
            #expect(cache.record(uid: pod.uid) == pod)
            #expect(cache.record(uid: twin.uid) == twin)
            cache.close()
        }
        let reopened = try PodCache.open(path: path)
        defer { reopened.close() }
        #expect(reopened.count == 2)
        #expect(reopened.record(uid: pod.uid) == pod)
        #expect(reopened.record(uid: twin.uid) == twin)
        #expect(reopened.openReport.livePods == 1)
        #expect(reopened.openReport.liveDeviceTwins == 1)
        #expect(reopened.openReport.badSlots.isEmpty)
    }

    @Test func updateReplacesTheRecord() throws {
        let folder = ScratchFolder()
        defer { folder.remove() }
        let path = folder.path("pods.cache")
        let cache = try PodCache.open(path: path, creating: small)
        for version in 1...40 { try cache.put(sampleRecord(7, version: version)) }
        #expect(cache.count == 1)
        #expect(cache.record(uid: sampleRecord(7).uid) == sampleRecord(7, version: 40))
        let generation = cache.withRecord(uid: sampleRecord(7).uid) { $0.generation }
        #expect(generation == 40)
        cache.close()
        let reopened = try PodCache.openReadOnly(path: path)
        defer { reopened.close() }
        #expect(snapshot(reopened) == [sampleRecord(7).uid: sampleRecord(7, version: 40)])
        #expect(reopened.upcomingGeneration == 41)
    }

    @Test func removeLeavesATombstoneThatSurvivesReopen() throws {
        let folder = ScratchFolder()
        defer { folder.remove() }
        let path = folder.path("pods.cache")
        let cache = try PodCache.open(path: path, creating: small)
        for number in 1...3 { try cache.put(sampleRecord(number)) }
        try cache.put(sampleRecord(2, version: 2))
        #expect(try cache.remove(uid: sampleRecord(2).uid))
        #expect(try !cache.remove(uid: sampleRecord(2).uid))
        #expect(!cache.contains(uid: sampleRecord(2).uid))
        cache.close()

        let reopened = try PodCache.open(path: path)
        #expect(reopened.count == 2)
        #expect(!reopened.contains(uid: sampleRecord(2).uid))
        #expect(reopened.openReport.deletedUIDs == 1)
        try reopened.put(sampleRecord(2, version: 3))
        reopened.close()
        let again = try PodCache.openReadOnly(path: path)
        defer { again.close() }
        #expect(again.record(uid: sampleRecord(2).uid) == sampleRecord(2, version: 3))
    }

    @Test func statusUpdateKeepsTheSpec() throws {
        let folder = ScratchFolder()
        defer { folder.remove() }
        let path = folder.path("pods.cache")
        let cache = try PodCache.open(path: path, creating: small)
        defer { cache.close() }
        let pod = sampleRecord(4, specSize: 500)
        try cache.put(pod)
        let status = Array("{\"phase\":\"Running\"}".utf8)
        try cache.updateStatus(uid: pod.uid, status: status)
        var expected = pod
        expected.status = status
        #expect(cache.record(uid: pod.uid) == expected)
        #expect(throws: CacheError.notFound(uid: "missing")) { try cache.updateStatus(uid: "missing", status: status) }
    }

    @Test func lookupsReadInPlace() throws {
        let folder = ScratchFolder()
        defer { folder.remove() }
        let cache = try PodCache.open(path: folder.path("pods.cache"), creating: small)
        defer { cache.close() }
        let pod = sampleRecord(9, specSize: 300, statusSize: 20)
        try cache.put(pod)
        #expect(cache.withSpecBytes(uid: pod.uid) { [UInt8]($0) } == pod.spec)
        #expect(cache.withStatusBytes(uid: pod.uid) { [UInt8]($0) } == pod.status)
        #expect(cache.spec(uid: pod.uid) == pod.spec)
        #expect(cache.status(uid: pod.uid) == pod.status)
        #expect(cache.specHash(uid: pod.uid) == pod.specHash)
        let fields = cache.withRecord(uid: pod.uid) { view in
            [String(decoding: view.namespace, as: UTF8.self), String(decoding: view.name, as: UTF8.self),
             String(decoding: view.resourceVersion, as: UTF8.self), view.kind.description]
        }
        #expect(fields == [pod.namespace, pod.name, pod.resourceVersion, "pod"])
        #expect(cache.withSpecBytes(uid: "nobody") { $0.count } == nil)
        #expect(cache.record(uid: "nobody") == nil)
        #expect(cache.uids == [pod.uid])
    }

    @Test func holds256PodsAndTheirTwinsInTheStandardGeometry() throws {
        let folder = ScratchFolder()
        defer { folder.remove() }
        let path = folder.path("pods.cache")
        // Durability is beside the point here; skipping msync keeps the test quick.
        let cache = try PodCache.open(path: path, durability: .processCrash)
        #expect(cache.geometry == .standard)
        for number in 0..<256 { try cache.put(sampleRecord(number, specSize: 4_000, statusSize: 500)) }
        for number in 256..<384 { try cache.put(sampleRecord(number, kind: .deviceTwin, specSize: 800)) }
        // Updates still find free slots.
        for number in 0..<256 { try cache.put(sampleRecord(number, version: 2, specSize: 4_000, statusSize: 500)) }
        #expect(cache.count == 384)
        cache.close()

        let reopened = try PodCache.open(path: path)
        #expect(reopened.count == 384)
        #expect(reopened.openReport.livePods == 256)
        #expect(reopened.openReport.liveDeviceTwins == 128)
        #expect(reopened.record(uid: sampleRecord(255).uid) == sampleRecord(255, version: 2, specSize: 4_000, statusSize: 500))
        reopened.close()
        let full = try PodCache.open(path: path, durability: .processCrash)
        defer { full.close() }
        // Fill to capacity: one slot always stays free for updates.
        for number in 384..<CacheGeometry.standard.recordCapacity { try full.put(sampleRecord(number, specSize: 10)) }
        #expect(full.count == 511)
        let extra = sampleRecord(9_999)
        #expect(throws: CacheError.full(uid: extra.uid, slotCount: 512)) { try full.put(extra) }
        try full.put(sampleRecord(3, version: 9, specSize: 10))
        #expect(try full.remove(uid: sampleRecord(4).uid))
        try full.put(extra)
        #expect(full.count == 511)
    }

    @Test func recordTooLargeNamesUIDAndSizes() throws {
        let folder = ScratchFolder()
        defer { folder.remove() }
        let cache = try PodCache.open(path: folder.path("pods.cache"), creating: small)
        defer { cache.close() }
        let fits = sampleRecord(1, specSize: 1024 - 48 - 36 - 4 - 6 - 1 - 40, statusSize: 40)
        #expect(fits.encodedSize == 1024)
        try cache.put(fits)
        let large = sampleRecord(2, specSize: 1024 - 48 - 36 - 4 - 6 - 1 - 40 + 1, statusSize: 40)
        let error = #expect(throws: CacheError.self) { try cache.put(large) }
        #expect(error == .recordTooLarge(uid: large.uid, size: 1025, slotCapacity: 1024))
        #expect(error?.description == "record " + large.uid + " is 1025 bytes; a slot holds 1024")
        #expect(!cache.contains(uid: large.uid))
        #expect(cache.record(uid: fits.uid) == fits)

        var longUID = sampleRecord(3)
        longUID.uid = String(repeating: "u", count: 41)
        #expect(throws: CacheError.uidTooLong(uid: longUID.uid, length: 41, limit: 40)) { try cache.put(longUID) }
        var noUID = sampleRecord(3)
        noUID.uid = ""
        #expect(throws: CacheError.emptyUID) { try cache.put(noUID) }
    }

    @Test func geometryComesFromTheHeader() throws {
        let folder = ScratchFolder()
        defer { folder.remove() }
        let path = folder.path("pods.cache")
        let created = try PodCache.open(path: path, creating: CacheGeometry(slotCount: 10, slotSize: 2048), baseGeneration: 500)
        try created.put(sampleRecord(1))
        created.close()
        let reopened = try PodCache.open(path: path, creating: CacheGeometry(slotCount: 99, slotSize: 4096))
        defer { reopened.close() }
        #expect(reopened.geometry == CacheGeometry(slotCount: 10, slotSize: 2048))
        #expect(reopened.baseGeneration == 500)
        #expect(reopened.withRecord(uid: sampleRecord(1).uid) { $0.generation } == 501)
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.size] as? Int) == 4096 + 4096 + 10 * 2048)
    }

    @Test func invalidGeometryIsRefused() {
        let folder = ScratchFolder()
        defer { folder.remove() }
        for geometry in [CacheGeometry(slotCount: 1, slotSize: 1024), CacheGeometry(slotCount: 8, slotSize: 1000),
                         CacheGeometry(slotCount: 8, slotSize: 256), CacheGeometry(slotCount: 65_536, slotSize: 1 << 20)] {
            #expect(throws: CacheError.self) { try PodCache.open(path: folder.path("bad.cache"), creating: geometry) }
        }
        #expect(!FileManager.default.fileExists(atPath: folder.path("bad.cache")))
    }

    @Test func readOnlyAndLockedOpensRefuseWrites() throws {
        let folder = ScratchFolder()
        defer { folder.remove() }
        let path = folder.path("pods.cache")
        let writer = try PodCache.open(path: path, creating: small)
        defer { writer.close() }
        try writer.put(sampleRecord(1))
        #expect(throws: CacheError.locked(path: path)) { try PodCache.open(path: path) }
        let reader = try PodCache.openReadOnly(path: path)
        defer { reader.close() }
        #expect(reader.record(uid: sampleRecord(1).uid) == sampleRecord(1))
        #expect(throws: CacheError.readOnly(path: path)) { try reader.put(sampleRecord(2)) }
        #expect(throws: CacheError.readOnly(path: path)) { try reader.remove(uid: sampleRecord(1).uid) }
        writer.close()
        #expect(throws: CacheError.closed) { try writer.put(sampleRecord(3)) }
        #expect(writer.record(uid: sampleRecord(1).uid) == nil)
    }

    @Test func missingFileIsASystemError() {
        let error = #expect(throws: CacheError.self) { try PodCache.openReadOnly(path: "/nonexistent/kinglet/pods.cache") }
        guard case .system(let call, _, let errno, _)? = error else { Issue.record("not a system error"); return }
        #expect(call == "open")
        #expect(errno == ENOENT)
        #expect(error?.isCorruption == false)
    }
}
