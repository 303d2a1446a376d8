/// Little-endian reading and writing of MT and ZCL fields (MT and ZCL are both little-endian).

/// Reads fields off a byte slice; every read fails softly (returns nil) when the bytes run out,
/// because a short request must become an error reply, never a crash.
struct ByteReader {
    private let bytes: [UInt8]
    private(set) var offset: Int

    init(_ bytes: [UInt8], offset: Int = 0) {
        self.bytes = bytes
        self.offset = offset
    }

    var remaining: Int { bytes.count - offset }
    var isAtEnd: Bool { offset >= bytes.count }

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

    mutating func u32() -> UInt32? {
        guard let low = u16(), let high = u16() else { return nil }
        return UInt32(low) | UInt32(high) << 16
    }

    mutating func take(_ count: Int) -> [UInt8]? {
        guard count >= 0, remaining >= count else { return nil }
        defer { offset += count }
        return Array(bytes[offset..<offset + count])
    }

    /// A length-prefixed (u8) byte string, the MT "ShortBytes" shape.
    mutating func shortBytes() -> [UInt8]? {
        guard let count = u8() else { return nil }
        return take(Int(count))
    }

    mutating func ieee() -> IEEEAddress? {
        take(8).map { IEEEAddress(littleEndianBytes: $0) }
    }

    mutating func rest() -> [UInt8] {
        take(remaining) ?? []
    }
}

/// Appends fields; `aligned` pads u16/u32 to their natural alignment, as the CC2652's
/// 32-bit Z-Stack lays out structs that MT copies verbatim (zigpy-znp types/cstruct.py).
struct ByteWriter {
    private(set) var bytes: [UInt8] = []
    var aligned = false
    var padding: UInt8 = 0x00
    private var maxAlignment = 1

    init(aligned: Bool = false, padding: UInt8 = 0x00) {
        self.aligned = aligned
        self.padding = padding
    }

    private mutating func align(to size: Int) {
        guard aligned else { return }
        maxAlignment = max(maxAlignment, size)
        while bytes.count % size != 0 { bytes.append(padding) }
    }

    mutating func u8(_ value: UInt8) { bytes.append(value) }

    mutating func u16(_ value: UInt16) {
        align(to: 2)
        bytes.append(UInt8(value & 0xFF))
        bytes.append(UInt8(value >> 8))
    }

    mutating func u32(_ value: UInt32) {
        align(to: 4)
        for shift in stride(from: 0, to: 32, by: 8) { bytes.append(UInt8((value >> UInt32(shift)) & 0xFF)) }
    }

    mutating func append(_ other: [UInt8]) { bytes.append(contentsOf: other) }

    mutating func shortBytes(_ other: [UInt8]) {
        bytes.append(UInt8(min(other.count, 255)))
        bytes.append(contentsOf: other.prefix(255))
    }

    mutating func ieee(_ address: IEEEAddress) { bytes.append(contentsOf: address.littleEndianBytes) }

    /// Pads the end to the largest alignment used, as a C struct's size is.
    mutating func finishStruct() {
        guard aligned else { return }
        while bytes.count % maxAlignment != 0 { bytes.append(padding) }
    }
}

/// A 64-bit IEEE (EUI-64) address; written "00:12:4b:00:01:02:03:04", most significant first,
/// and sent least significant byte first on the wire.
public struct IEEEAddress: Hashable, Sendable, CustomStringConvertible {
    public var value: UInt64

    public init(_ value: UInt64) { self.value = value }

    init(littleEndianBytes bytes: [UInt8]) {
        var value: UInt64 = 0
        for (index, byte) in bytes.prefix(8).enumerated() { value |= UInt64(byte) << UInt64(8 * index) }
        self.value = value
    }

    var littleEndianBytes: [UInt8] {
        (0..<8).map { UInt8((value >> UInt64(8 * $0)) & 0xFF) }
    }

    /// Parses "00:12:4b:00:01:02:03:04" (colons optional, or "0x00124b0001020304").
    public init?(parsing text: String) {
        var digits = text.lowercased()
        if digits.hasPrefix("0x") { digits.removeFirst(2) }
        digits.removeAll { $0 == ":" || $0 == "-" }
        guard digits.count == 16, let value = UInt64(digits, radix: 16) else { return nil }
        self.value = value
    }

    public var description: String {
        (0..<8).reversed().map { hex2(UInt8((value >> UInt64(8 * $0)) & 0xFF)) }.joined(separator: ":")
    }
}

func hex2(_ byte: UInt8) -> String {
    let digits = Array("0123456789abcdef")
    return String([digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]])
}

func hex4(_ value: UInt16) -> String { "0x" + hex2(UInt8(value >> 8)) + hex2(UInt8(value & 0xFF)) }

func hexDump(_ bytes: [UInt8]) -> String { bytes.map(hex2).joined(separator: " ") }
