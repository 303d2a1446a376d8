// Helpers shared by the cache tests: scratch folders, file images, record builders.
import Foundation
import KingletCache

/// A fresh folder under the system temporary folder, removed by `remove()`.
struct ScratchFolder {
    let url: URL

    init() {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("kinglet-cache-" + UUID().uuidString)
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    func remove() { try? FileManager.default.removeItem(at: url) }
}

/// Whole-file images, for the torn-write and corruption tests.
enum FileImage {
    static func read(_ path: String) -> [UInt8] {
        [UInt8](FileManager.default.contents(atPath: path) ?? Data())
    }

    static func write(_ bytes: [UInt8], to path: String) {
        let url = URL(fileURLWithPath: path)
        try! Data(bytes).write(to: url)
    }
}

/// A small record with recognisable content.
func sampleRecord(_ number: Int, kind: RecordKind = .pod, version: Int = 1, specSize: Int = 200,
                  statusSize: Int = 40) -> CacheRecord {
    let uid = "00000000-0000-4000-8000-" + String(format: "%012d", number)
    let spec = (0..<specSize).map { UInt8(truncatingIfNeeded: ($0 &* 31) &+ number &+ version) }
    let status = (0..<statusSize).map { UInt8(truncatingIfNeeded: ($0 &* 7) &+ number &* 3 &+ version) }
    return CacheRecord(kind: kind, uid: uid, namespace: "ns-" + String(number % 4), name: "name-" + String(number),
                       resourceVersion: String(version), specHash: UInt64(number * 1_000 + version),
                       spec: spec, status: status)
}

/// Every live record of a cache, copied, by uid.
func snapshot(_ cache: PodCache) -> [String: CacheRecord] {
    var records: [String: CacheRecord] = [:]
    cache.forEachRecord { records[String(decoding: $0.uid, as: UTF8.self)] = $0.copy() }
    return records
}

/// The records of the file at `path` opened read-only, or the error it gave.
func readAll(_ path: String) -> Result<[String: CacheRecord], CacheError> {
    do throws(CacheError) {
        let cache = try PodCache.openReadOnly(path: path)
        defer { cache.close() }
        return .success(snapshot(cache))
    } catch {
        return .failure(error)
    }
}
