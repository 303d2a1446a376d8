/// Small value types shared by the controller, the advertisers and the GATT server:
/// addresses, UUIDs, the simulation clock, a seeded random source and byte readers/writers.

/// A Bluetooth device address (Core Vol 2 Part B §1.2), kept in display order:
/// `A4:C1:38:01:02:03` has `bytes[0] == 0xA4`. HCI carries it least significant octet first.
public struct BDAddress: Hashable, Sendable, CustomStringConvertible {
    /// Display order, most significant octet first.
    public let bytes: [UInt8]

    public init(displayOrder bytes: [UInt8]) {
        precondition(bytes.count == 6, "a BD_ADDR has 6 octets")
        self.bytes = bytes
    }

    public init(wireOrder bytes: some Collection<UInt8>) {
        self.init(displayOrder: Array(bytes.reversed()))
    }

    /// Parses `AA:BB:CC:DD:EE:FF` (colons or dashes).
    public init?(_ text: String) {
        let parts = text.split(whereSeparator: { $0 == ":" || $0 == "-" })
        guard parts.count == 6 else { return nil }
        var out: [UInt8] = []
        for part in parts {
            guard part.count == 2, let byte = UInt8(part, radix: 16) else { return nil }
            out.append(byte)
        }
        self.init(displayOrder: out)
    }

    /// Least significant octet first, as HCI parameters carry it.
    public var wireOrder: [UInt8] { bytes.reversed() }

    public var description: String {
        bytes.map { hex2($0) }.joined(separator: ":")
    }
}

/// LE address types as HCI names them in Peer_Address_Type and Address_Type.
public enum AddressType: UInt8, Sendable {
    /// Public Device Address.
    case publicDevice = 0x00
    /// Random Device Address (static or private).
    case randomDevice = 0x01
}

/// A 16-bit or 128-bit Bluetooth UUID (Core Vol 3 Part B §2.5.1). A 16-bit UUID is shorthand
/// for `0000xxxx-0000-1000-8000-00805F9B34FB`; two UUIDs compare equal in their 128-bit form.
public struct BLEUUID: Hashable, Sendable, CustomStringConvertible {
    /// Big-endian, as written `0000180a-0000-1000-8000-00805f9b34fb`.
    public let bytes128: [UInt8]

    static let baseSuffix: [UInt8] = [0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0x80, 0x5F, 0x9B, 0x34, 0xFB]

    public init(_ short: UInt16) {
        bytes128 = [0, 0, UInt8(short >> 8), UInt8(short & 0xFF)] + BLEUUID.baseSuffix
    }

    public init(bigEndian128 bytes: [UInt8]) {
        precondition(bytes.count == 16)
        bytes128 = bytes
    }

    /// Parses `2A6E`, `0x2A6E` or `8e1f0001-7b3c-4c1d-9a8e-5f2a0c9d0001`.
    public init?(_ text: String) {
        var t = text.lowercased()
        if t.hasPrefix("0x") { t.removeFirst(2) }
        if t.count == 4, let v = UInt16(t, radix: 16) {
            self.init(v)
            return
        }
        let groups = t.split(separator: "-", omittingEmptySubsequences: false).map(\.count)
        guard groups == [8, 4, 4, 4, 12], let b = parseHex(t.filter { $0 != "-" }),
              b.count == 16 else { return nil }
        self.init(bigEndian128: b)
    }

    /// Decodes an ATT UUID field: 2 or 16 octets, little-endian.
    public init?(wire: some Collection<UInt8>) {
        let b = Array(wire)
        switch b.count {
        case 2: self.init(UInt16(b[0]) | UInt16(b[1]) << 8)
        case 16: self.init(bigEndian128: b.reversed())
        default: return nil
        }
    }

    /// The 16-bit alias, when this UUID is built on the Bluetooth Base UUID.
    public var short: UInt16? {
        guard bytes128[0] == 0, bytes128[1] == 0, Array(bytes128[4...]) == BLEUUID.baseSuffix else { return nil }
        return UInt16(bytes128[2]) << 8 | UInt16(bytes128[3])
    }

    /// The shortest wire form: 2 octets for a 16-bit alias, else 16, little-endian.
    public var wire: [UInt8] {
        if let s = short { return [UInt8(s & 0xFF), UInt8(s >> 8)] }
        return bytes128.reversed()
    }

    public var description: String {
        if let s = short { return String(hex4(s)) }
        let h = bytes128.map { hex2($0).lowercased() }.joined()
        let c = Array(h)
        return String(c[0..<8]) + "-" + String(c[8..<12]) + "-" + String(c[12..<16]) + "-"
            + String(c[16..<20]) + "-" + String(c[20..<32])
    }
}

/// A point on the simulation's monotonic clock. The pty server feeds CLOCK_MONOTONIC;
/// tests move it by hand, so no test sleeps.
public struct SimInstant: Comparable, Hashable, Sendable, CustomStringConvertible {
    public var nanoseconds: UInt64

    public init(nanoseconds: UInt64) { self.nanoseconds = nanoseconds }

    public static func milliseconds(_ ms: UInt64) -> SimInstant { SimInstant(nanoseconds: ms * 1_000_000) }

    public static func < (a: SimInstant, b: SimInstant) -> Bool { a.nanoseconds < b.nanoseconds }

    public func adding(nanoseconds n: UInt64) -> SimInstant { SimInstant(nanoseconds: nanoseconds &+ n) }
    public func adding(milliseconds ms: UInt64) -> SimInstant { adding(nanoseconds: ms * 1_000_000) }
    public func adding(microseconds us: UInt64) -> SimInstant { adding(nanoseconds: us * 1_000) }

    /// Nanoseconds from `earlier` to this instant, 0 if `earlier` is later.
    public func since(_ earlier: SimInstant) -> UInt64 {
        nanoseconds >= earlier.nanoseconds ? nanoseconds - earlier.nanoseconds : 0
    }

    public var description: String {
        let ms = nanoseconds / 1_000_000
        return "\(ms / 1000).\(String(ms % 1000).leftPadded(to: 3))s"
    }
}

/// SplitMix64: a seeded generator, so a devices file and a seed replay the same drift,
/// delays and RSSI in every run.
public struct SimRandom: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [-1, 1].
    mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) * 2 - 1 }
}

/// Appends little-endian fields, as HCI, L2CAP and ATT lay them out.
struct ByteWriter {
    var bytes: [UInt8] = []

    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func i8(_ v: Int8) { bytes.append(UInt8(bitPattern: v)) }
    mutating func u16(_ v: UInt16) { bytes += [UInt8(v & 0xFF), UInt8(v >> 8)] }
    mutating func u24(_ v: UInt32) { bytes += [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF), UInt8((v >> 16) & 0xFF)] }
    mutating func u32(_ v: UInt32) { u16(UInt16(v & 0xFFFF)); u16(UInt16(v >> 16)) }
    mutating func u16be(_ v: UInt16) { bytes += [UInt8(v >> 8), UInt8(v & 0xFF)] }
    mutating func u32be(_ v: UInt32) { u16be(UInt16(v >> 16)); u16be(UInt16(v & 0xFFFF)) }
    mutating func append(_ b: some Sequence<UInt8>) { bytes += b }
}

/// Reads little-endian fields from a parameter block; every read is bounds-checked.
struct ByteReader {
    let bytes: [UInt8]
    var offset = 0

    init(_ bytes: some Collection<UInt8>) { self.bytes = Array(bytes) }

    var remaining: Int { bytes.count - offset }

    mutating func u8() -> UInt8? {
        guard remaining >= 1 else { return nil }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func u16() -> UInt16? {
        guard remaining >= 2 else { return nil }
        defer { offset += 2 }
        return UInt16(bytes[offset]) | UInt16(bytes[offset + 1]) << 8
    }

    mutating func take(_ n: Int) -> [UInt8]? {
        guard n >= 0, remaining >= n else { return nil }
        defer { offset += n }
        return Array(bytes[offset..<offset + n])
    }

    mutating func rest() -> [UInt8] { take(remaining) ?? [] }
}

func hex2(_ b: UInt8) -> String {
    let digits = Array("0123456789ABCDEF")
    return String([digits[Int(b >> 4)], digits[Int(b & 0x0F)]])
}

func hex4(_ v: UInt16) -> String { hex2(UInt8(v >> 8)) + hex2(UInt8(v & 0xFF)) }

/// `01 0C 20` style, for logs.
public func hexDump(_ bytes: some Sequence<UInt8>, limit: Int = 64) -> String {
    var parts: [String] = []
    var n = 0
    for b in bytes {
        if n == limit { parts.append("…"); break }
        parts.append(hex2(b))
        n += 1
    }
    return parts.joined(separator: " ")
}

/// Parses hex digits, ignoring spaces, colons and dashes; nil on an odd count or a non-digit.
public func parseHex(_ text: String) -> [UInt8]? {
    let digits = text.filter { !" :-".contains($0) }
    guard digits.count % 2 == 0 else { return nil }
    var out: [UInt8] = []
    var chars = digits.makeIterator()
    while let hi = chars.next(), let lo = chars.next() {
        guard let v = UInt8(String([hi, lo]), radix: 16) else { return nil }
        out.append(v)
    }
    return out
}

extension String {
    func leftPadded(to width: Int, with pad: Character = "0") -> String {
        count >= width ? self : String(repeating: pad, count: width - count) + self
    }
}
