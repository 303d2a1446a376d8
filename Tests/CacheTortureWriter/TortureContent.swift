// The records the torture writer commits, derived from (uid, version) alone, so a reader can
// rebuild what any version must contain and tell an intact record from a torn one.
import KingletCache

public enum TortureContent {
    /// The uid of the writer's record number `index`: a 36-byte UUID-shaped string.
    public static func uid(_ index: Int) -> String {
        let digits = String(index)
        return "7e57c0de-0000-4000-8000-" + String(repeating: "0", count: max(0, 12 - digits.count)) + digits
    }

    public static func kind(_ index: Int) -> RecordKind { index % 5 == 4 ? .deviceTwin : .pod }
    public static func namespace(_ index: Int) -> String { "ns-" + String(index % 3) }
    public static func name(_ index: Int) -> String { "object-" + String(index) }

    /// The spec of `uid` at `version`, sized to fit a slot of `slotSize` bytes with any status.
    public static func spec(uid: String, version: UInt64, slotSize: Int) -> [UInt8] {
        let room = max(64, slotSize - 48 - 200 - maximumStatus)
        return document(uid: uid, key: "v", version: version, length: 64 + Int(mix(uid, version) % UInt64(room - 63)))
    }

    /// The status of `uid` at status version `version`.
    public static func status(uid: String, version: UInt64) -> [UInt8] {
        document(uid: uid, key: "sv", version: version, length: 48 + Int(mix(uid, version ^ 0xABCD) % 600))
    }

    static let maximumStatus = 48 + 600

    /// The version a spec or status document names, read from its prefix.
    public static func version(in document: [UInt8], key: String) -> UInt64? {
        let marker = Array(("\"" + key + "\":").utf8)
        guard let start = find(marker, in: document) else { return nil }
        var value: UInt64 = 0
        var index = start + marker.count
        var digits = 0
        while index < document.count, document[index] >= 0x30, document[index] <= 0x39, digits < 19 {
            value = value * 10 + UInt64(document[index] - 0x30)
            index += 1
            digits += 1
        }
        return digits > 0 ? value : nil
    }

    /// FNV-1a 64 of the spec: the record's spec hash.
    public static func hash(_ bytes: [UInt8]) -> UInt64 {
        var value: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in bytes {
            value ^= UInt64(byte)
            value = value &* 0x0000_0100_0000_01B3
        }
        return value
    }

    public static func record(index: Int, version: UInt64, statusVersion: UInt64, slotSize: Int) -> CacheRecord {
        let id = uid(index)
        let specBytes = spec(uid: id, version: version, slotSize: slotSize)
        return CacheRecord(kind: kind(index), uid: id, namespace: namespace(index), name: name(index),
                           resourceVersion: String(version), specHash: hash(specBytes), spec: specBytes,
                           status: status(uid: id, version: statusVersion))
    }

    private static func document(uid: String, key: String, version: UInt64, length: Int) -> [UInt8] {
        var bytes = Array(("{\"uid\":\"" + uid + "\",\"" + key + "\":" + String(version) + ",\"pad\":\"").utf8)
        var state = mix(uid, version)
        while bytes.count < length - 2 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            bytes.append(0x61 + UInt8((state >> 33) % 26))
        }
        bytes.append(contentsOf: Array("\"}".utf8))
        return bytes
    }

    private static func mix(_ uid: String, _ version: UInt64) -> UInt64 {
        var value = hash(Array(uid.utf8)) ^ (version &* 0x9E37_79B9_7F4A_7C15)
        value ^= value >> 31
        value = value &* 0xBF58_476D_1CE4_E5B9
        return value ^ (value >> 29)
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for start in 0...(haystack.count - needle.count) where haystack[start..<(start + needle.count)].elementsEqual(needle) {
            return start
        }
        return nil
    }
}
