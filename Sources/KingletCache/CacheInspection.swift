import CKingletSystem

/// The verdict of `PodCache.verify(path:)`.
public struct CacheVerifyReport: Sendable {
    public enum Status: Equatable, Sendable {
        /// Header sound, every slot readable.
        case ok
        /// Header sound; some slots were skipped (torn by a crash, or corrupt). The cache is
        /// usable; the listed records fell back to their previous state or were dropped.
        case damagedSlots
        /// The file cannot be used: quarantine it.
        case corrupt
    }

    public var path: String
    public var status: Status
    /// Why the file is corrupt, when it is.
    public var problem: CacheError?
    public var geometry: CacheGeometry?
    public var baseGeneration: UInt64 = 0
    public var livePods = 0
    public var liveDeviceTwins = 0
    /// Uids whose newest entry is a tombstone.
    public var deletedUIDs = 0
    public var freeSlots = 0
    public var badSlots: [BadSlot] = []
    public var highestGeneration: UInt64 = 0
    public var fileLength = 0
    public var expectedFileLength = 0

    public var isUsable: Bool { status != .corrupt }

    /// Several lines: the verdict first.
    public var description: String {
        var lines: [String] = []
        switch status {
        case .ok: lines.append(path + ": ok")
        case .damagedSlots: lines.append(path + ": ok with " + String(badSlots.count) + " bad slot(s) skipped")
        case .corrupt: lines.append(path + ": corrupt: " + (problem?.description ?? "unknown problem"))
        }
        if let geometry {
            lines.append("geometry: " + String(geometry.slotCount) + " slots of " + String(geometry.slotSize)
                         + " bytes, base generation " + String(baseGeneration))
            lines.append("live: " + String(livePods) + " pod(s), " + String(liveDeviceTwins) + " device twin(s); deleted: "
                         + String(deletedUIDs) + "; free slots: " + String(freeSlots) + "; highest generation: "
                         + String(highestGeneration))
            if fileLength < expectedFileLength {
                lines.append("truncated: " + String(fileLength) + " of " + String(expectedFileLength) + " bytes")
            }
        }
        for bad in badSlots { lines.append("bad " + bad.description) }
        return lines.joined(separator: "\n")
    }
}

extension PodCache {
    /// Checks the file at `path` without changing it: header, every descriptor, every
    /// winning record. Never throws: a file that cannot be opened is reported corrupt (or,
    /// for a system error such as a missing file, with that error as the problem).
    public static func verify(path: String) -> CacheVerifyReport {
        var report = CacheVerifyReport(path: path, status: .ok)
        let cache: PodCache
        do throws(CacheError) {
            cache = try PodCache.openReadOnly(path: path)
        } catch {
            report.status = .corrupt
            report.problem = error
            return report
        }
        defer { cache.close() }
        let found = cache.openReport
        report.geometry = cache.geometry
        report.baseGeneration = cache.baseGeneration
        report.livePods = found.livePods
        report.liveDeviceTwins = found.liveDeviceTwins
        report.deletedUIDs = found.deletedUIDs
        report.freeSlots = cache.geometry.slotCount - cache.count
        report.badSlots = found.badSlots
        report.highestGeneration = found.highestGeneration
        report.fileLength = found.fileLength
        report.expectedFileLength = found.expectedFileLength
        if !found.badSlots.isEmpty { report.status = .damagedSlots }
        return report
    }

    /// A human-readable listing of the file at `path`: a header line, then one line per live
    /// record (kind, namespace/name, uid, resourceVersion, spec hash, sizes, generation),
    /// sorted by kind, namespace and name.
    public static func inspect(path: String) throws(CacheError) -> String {
        let cache = try PodCache.openReadOnly(path: path)
        defer { cache.close() }
        let geometry = cache.geometry
        var lines = [path + ": format " + String(CacheLayout.formatVersion) + ", " + String(geometry.slotCount)
                     + " slots of " + String(geometry.slotSize) + " bytes, " + String(cache.count)
                     + " live record(s), highest generation " + String(cache.openReport.highestGeneration)]
        struct Line {
            var kind: UInt8
            var key: String
            var text: String
        }
        var records: [Line] = []
        cache.forEachRecord { view in
            let namespace = String(decoding: view.namespace, as: UTF8.self)
            let name = String(decoding: view.name, as: UTF8.self)
            let text = view.kind.description + " " + namespace + "/" + name
                + " uid=" + String(decoding: view.uid, as: UTF8.self)
                + " rv=" + String(decoding: view.resourceVersion, as: UTF8.self)
                + " spec-hash=" + hexadecimal(view.specHash)
                + " spec=" + String(view.spec.count) + "B status=" + String(view.status.count) + "B"
                + " record=" + String(view.encodedSize) + "B generation=" + String(view.generation)
                + " slot=" + String(view.slot)
            records.append(Line(kind: view.kind.rawValue, key: namespace + "/" + name, text: text))
        }
        records.sort { $0.kind != $1.kind ? $0.kind < $1.kind : $0.key < $1.key }
        for record in records { lines.append(record.text) }
        for bad in cache.openReport.badSlots { lines.append("bad " + bad.description) }
        return lines.joined(separator: "\n")
    }

    /// Moves an unusable file aside to `<path>.corrupt-<unix seconds>` (with `-1`, `-2`, ...
    /// appended if that name is taken) and returns the new path. The agent logs it and falls
    /// back to its static pods; the next open creates a fresh cache.
    public static func quarantine(path: String) throws(CacheError) -> String {
        let seconds = kinglet_realtime_ns() / 1_000_000_000
        let stem = path + ".corrupt-" + String(seconds)
        var target = stem
        var attempt = 0
        while kinglet_file_exists(target) != 0 {
            attempt += 1
            if attempt > 999 { throw .system(call: "rename", path: path, errno: EEXIST, reason: "no free quarantine name") }
            target = stem + "-" + String(attempt)
        }
        if rename(path, target) != 0 { throw CacheError.failure("rename", path: path) }
        if kinglet_file_sync_parent_directory(target) != 0 { throw CacheError.failure("fsync(directory)", path: target) }
        return target
    }
}

/// `0x` and 16 lowercase hexadecimal digits.
func hexadecimal(_ value: UInt64) -> String {
    let digits: [Character] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "a", "b", "c", "d", "e", "f"]
    var text = "0x"
    var shift = 60
    while shift >= 0 {
        text.append(digits[Int((value >> UInt64(shift)) & 0xF)])
        shift -= 4
    }
    return text
}
