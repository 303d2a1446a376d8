/// KingletBLE: the agent's side of Bluetooth Low Energy over HCI, as pure protocol logic.
///
/// The owner moves bytes; this target never touches a file descriptor or a clock:
/// - `HCIH4Reader` cuts the UART (or HCI user-channel) byte stream into HCI packets and
///   resynchronises on garbage; `HCICommand`/`HCIH4` encode what the host writes.
/// - `BLEScanner` brings the controller up (reset, event masks, buffer sizes, scan
///   parameters, scan enable), keeps one HCI command outstanding, times commands out on
///   `tick(now:)` and rate-limits advertising reports per device address.
/// - `BLEAdvertisementDecoder` turns advertising data into typed `BLEReading`s: BTHome v2
///   (plain and AES-CCM encrypted), iBeacon, Eddystone UID/URL/TLM and Ruuvi RAWv2.
/// - `GATTClient` runs one ATT bearer on an LE connection: MTU exchange, reads, writes,
///   notifications and indications, with L2CAP framing and controller ACL flow control.
///
/// Everything that arrives from the radio is untrusted: malformed input is counted and
/// skipped, never trapped on.

/// A Bluetooth device address. `rawValue` holds the 48 bits with the most significant
/// byte first as people write it (`AA:BB:CC:DD:EE:FF`); HCI carries it least significant
/// byte first (Core Vol 4 Part E §5.2).
public struct BLEAddress: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let rawValue: UInt64

    public init(rawValue: UInt64) { self.rawValue = rawValue & 0xFFFF_FFFF_FFFF }

    /// From the six bytes in the order people write them (most significant first).
    public init?(displayBytes bytes: some Collection<UInt8>) {
        guard bytes.count == 6 else { return nil }
        var value: UInt64 = 0
        for byte in bytes { value = (value << 8) | UInt64(byte) }
        self.init(rawValue: value)
    }

    /// From the six bytes as HCI carries them (least significant first).
    public init?(hciBytes bytes: some Collection<UInt8>) {
        guard bytes.count == 6 else { return nil }
        var value: UInt64 = 0
        var shift: UInt64 = 0
        for byte in bytes {
            value |= UInt64(byte) << shift
            shift += 8
        }
        self.init(rawValue: value)
    }

    /// Parses `AA:BB:CC:DD:EE:FF` (either case).
    public init?(_ text: String) {
        var value: UInt64 = 0
        var digits = 0
        var groupDigits = 0
        for scalar in text.utf8 {
            if scalar == UInt8(ascii: ":") {
                guard groupDigits == 2 else { return nil }
                groupDigits = 0
                continue
            }
            guard let nibble = BLEHex.nibble(scalar), groupDigits < 2 else { return nil }
            value = (value << 4) | UInt64(nibble)
            digits += 1
            groupDigits += 1
        }
        guard digits == 12, groupDigits == 2 else { return nil }
        self.init(rawValue: value)
    }

    /// The bytes most significant first, as written and as BTHome's nonce wants them.
    public var displayBytes: [UInt8] {
        (0..<6).map { UInt8(truncatingIfNeeded: rawValue >> UInt64(40 - 8 * $0)) }
    }

    /// The bytes least significant first, as HCI commands carry them.
    public var hciBytes: [UInt8] {
        (0..<6).map { UInt8(truncatingIfNeeded: rawValue >> UInt64(8 * $0)) }
    }

    public var description: String {
        var text = ""
        for (index, byte) in displayBytes.enumerated() {
            if index > 0 { text += ":" }
            text += BLEHex.byte(byte)
        }
        return text
    }

    public static func < (a: BLEAddress, b: BLEAddress) -> Bool { a.rawValue < b.rawValue }
}

/// The address type of an HCI report or connection (Core Vol 4 Part E §7.7.65.2).
public enum BLEAddressType: UInt8, Sendable {
    case publicDevice = 0x00
    case randomDevice = 0x01
    case publicIdentity = 0x02
    case randomIdentity = 0x03

    public var description: String {
        switch self {
        case .publicDevice: return "public"
        case .randomDevice: return "random"
        case .publicIdentity: return "public identity"
        case .randomIdentity: return "random identity"
        }
    }
}

/// Hex text without Foundation.
enum BLEHex {
    static let digits: [UInt8] = Array("0123456789ABCDEF".utf8)

    static func byte(_ value: UInt8) -> String {
        String(decoding: [digits[Int(value >> 4)], digits[Int(value & 0x0F)]], as: UTF8.self)
    }

    static func string(_ bytes: some Sequence<UInt8>) -> String {
        var out: [UInt8] = []
        for value in bytes {
            out.append(digits[Int(value >> 4)])
            out.append(digits[Int(value & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func nibble(_ ascii: UInt8) -> UInt8? {
        switch ascii {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return ascii - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return ascii - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return ascii - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    /// Parses an even number of hex digits (for bind keys in configuration).
    static func bytes(_ text: String) -> [UInt8]? {
        var out: [UInt8] = []
        var high: UInt8? = nil
        for ascii in text.utf8 {
            guard let value = nibble(ascii) else { return nil }
            if let h = high {
                out.append(h << 4 | value)
                high = nil
            } else {
                high = value
            }
        }
        return high == nil ? out : nil
    }
}

/// A bounds-checked reader over received bytes: every read answers nil past the end, so a
/// truncated packet can never index out of range.
struct BLEByteCursor {
    let bytes: ArraySlice<UInt8>
    private(set) var index: Int

    init(_ bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
        index = bytes.startIndex
    }

    init(_ bytes: [UInt8]) { self.init(bytes[...]) }

    var remaining: Int { bytes.endIndex - index }
    var isAtEnd: Bool { index >= bytes.endIndex }

    mutating func u8() -> UInt8? {
        guard index < bytes.endIndex else { return nil }
        defer { index += 1 }
        return bytes[index]
    }

    mutating func i8() -> Int8? { u8().map { Int8(bitPattern: $0) } }

    mutating func take(_ count: Int) -> ArraySlice<UInt8>? {
        guard count >= 0, count <= remaining else { return nil }
        defer { index += count }
        return bytes[index..<(index + count)]
    }

    mutating func rest() -> ArraySlice<UInt8> {
        defer { index = bytes.endIndex }
        return bytes[index...]
    }

    /// Little-endian unsigned integer of `count` bytes (1...8).
    mutating func uintLE(_ count: Int) -> UInt64? {
        guard let raw = take(count) else { return nil }
        var value: UInt64 = 0
        var shift: UInt64 = 0
        for byte in raw {
            value |= UInt64(byte) << shift
            shift += 8
        }
        return value
    }

    /// Big-endian unsigned integer of `count` bytes (1...8).
    mutating func uintBE(_ count: Int) -> UInt64? {
        guard let raw = take(count) else { return nil }
        var value: UInt64 = 0
        for byte in raw { value = (value << 8) | UInt64(byte) }
        return value
    }

    mutating func u16le() -> UInt16? { uintLE(2).map { UInt16(truncatingIfNeeded: $0) } }
    mutating func u16be() -> UInt16? { uintBE(2).map { UInt16(truncatingIfNeeded: $0) } }
    mutating func u32le() -> UInt32? { uintLE(4).map { UInt32(truncatingIfNeeded: $0) } }
    mutating func u32be() -> UInt32? { uintBE(4).map { UInt32(truncatingIfNeeded: $0) } }
}

/// Little-endian appends for the encoders.
extension Array where Element == UInt8 {
    mutating func bleAppendLE16(_ value: UInt16) {
        append(UInt8(truncatingIfNeeded: value))
        append(UInt8(truncatingIfNeeded: value >> 8))
    }

    mutating func bleAppendLE64(_ value: UInt64) {
        for shift in stride(from: 0 as UInt64, to: 64, by: 8) {
            append(UInt8(truncatingIfNeeded: value >> shift))
        }
    }
}
