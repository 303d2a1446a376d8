/// Little-endian reads over a received payload. MT fields (Z-Stack Monitor and Test API,
/// "Data Format") and ZCL fields (ZCL spec §2.6.1) are both little-endian.
///
/// A read past the end never traps: it returns zero and sets `isTruncated`, so a decoder
/// reads its fields in order and checks once at the end. Works on a slice of the caller's
/// buffer, so decoding a received frame allocates nothing.
struct ZigbeeByteReader {
    let bytes: ArraySlice<UInt8>
    private(set) var position: Int
    private(set) var isTruncated = false

    init(_ bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
        position = bytes.startIndex
    }

    var remaining: Int { bytes.endIndex - position }
    var isAtEnd: Bool { position >= bytes.endIndex }

    mutating func u8() -> UInt8 {
        guard position < bytes.endIndex else { isTruncated = true; return 0 }
        let value = bytes[position]
        position += 1
        return value
    }

    mutating func bool() -> Bool { u8() != 0 }

    mutating func u16() -> UInt16 { UInt16(truncatingIfNeeded: unsigned(2)) }
    mutating func u24() -> UInt32 { UInt32(truncatingIfNeeded: unsigned(3)) }
    mutating func u32() -> UInt32 { UInt32(truncatingIfNeeded: unsigned(4)) }
    mutating func u64() -> UInt64 { unsigned(8) }

    /// `count` bytes (1...8) as an unsigned little-endian number.
    mutating func unsigned(_ count: Int) -> UInt64 {
        guard count >= 0, count <= 8, remaining >= count else {
            isTruncated = true
            position = bytes.endIndex
            return 0
        }
        var value: UInt64 = 0
        var shift: UInt64 = 0
        for index in position..<(position + count) {
            value |= UInt64(bytes[index]) << shift
            shift += 8
        }
        position += count
        return value
    }

    /// The next `count` bytes, as a slice of the same buffer (no copy).
    mutating func take(_ count: Int) -> ArraySlice<UInt8> {
        guard count >= 0, remaining >= count else {
            isTruncated = true
            position = bytes.endIndex
            return bytes[bytes.endIndex..<bytes.endIndex]
        }
        let slice = bytes[position..<(position + count)]
        position += count
        return slice
    }

    /// Everything not read yet.
    mutating func rest() -> ArraySlice<UInt8> { take(remaining) }
}

/// Little-endian appends for building MT and ZCL payloads.
struct ZigbeeByteWriter {
    var bytes: [UInt8]

    init(capacity: Int = 0) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    mutating func u8(_ value: UInt8) { bytes.append(value) }
    mutating func bool(_ value: Bool) { bytes.append(value ? 1 : 0) }
    mutating func u16(_ value: UInt16) { unsigned(UInt64(value), count: 2) }
    mutating func u24(_ value: UInt32) { unsigned(UInt64(value), count: 3) }
    mutating func u32(_ value: UInt32) { unsigned(UInt64(value), count: 4) }
    mutating func u64(_ value: UInt64) { unsigned(value, count: 8) }

    mutating func unsigned(_ value: UInt64, count: Int) {
        var remaining = value
        for _ in 0..<count {
            bytes.append(UInt8(truncatingIfNeeded: remaining))
            remaining >>= 8
        }
    }

    mutating func append<C: Collection>(_ more: C) where C.Element == UInt8 {
        bytes.append(contentsOf: more)
    }
}

/// Hex text for messages: string interpolation of arbitrary values is not in the Embedded
/// subset, so descriptions build their numbers with this.
enum ZigbeeHex {
    private static let digits: [Character] = [
        "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "A", "B", "C", "D", "E", "F",
    ]

    /// `value` as `width` upper-case hex digits with a `0x` prefix, e.g. `0x0402`.
    static func format(_ value: UInt64, width: Int) -> String {
        "0x" + digitsOnly(value, width: width)
    }

    static func format(_ value: UInt8) -> String { format(UInt64(value), width: 2) }
    static func format(_ value: UInt16) -> String { format(UInt64(value), width: 4) }

    static func digitsOnly(_ value: UInt64, width: Int) -> String {
        var text = ""
        var shift = (width - 1) * 4
        while shift >= 0 {
            text.append(digits[Int((value >> UInt64(shift)) & 0xF)])
            shift -= 4
        }
        return text
    }
}
