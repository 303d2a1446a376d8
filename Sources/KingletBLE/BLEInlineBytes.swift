/// Up to 31 bytes kept in the value itself: a legacy advertising report's data (at most 31
/// bytes, Core Vol 4 Part E §7.7.65.2), a BTHome nonce, an iBeacon UUID. An `[UInt8]` per
/// report would be a heap allocation; this is a plain value, copied like an integer.
public struct BLEInlineBytes: RandomAccessCollection, Equatable, Sendable, CustomStringConvertible {
    public static let capacity = 31

    // A tuple, not an array: the bytes live in the value (and a homogeneous tuple of UInt8
    // may be read through a UInt8 pointer).
    private var storage: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                          UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                          UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
        (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    private var length: UInt8 = 0

    public init() {}

    /// Nil when `bytes` holds more than `capacity` bytes.
    public init?(_ bytes: some Collection<UInt8>) {
        guard bytes.count <= BLEInlineBytes.capacity else { return nil }
        for byte in bytes { append(byte) }
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { Int(length) }

    public subscript(position: Int) -> UInt8 {
        precondition(position >= 0 && position < endIndex, "BLEInlineBytes index out of range")
        return withUnsafeBytes(of: storage) { $0[position] }
    }

    /// Adds a byte; the caller keeps within `capacity` (radio data is length-checked first).
    public mutating func append(_ byte: UInt8) {
        precondition(endIndex < BLEInlineBytes.capacity, "BLEInlineBytes holds at most 31 bytes")
        let index = endIndex
        withUnsafeMutableBytes(of: &storage) { $0[index] = byte }
        length += 1
    }

    public mutating func append(contentsOf bytes: some Sequence<UInt8>) {
        for byte in bytes { append(byte) }
    }

    /// Lends the bytes as a buffer for C calls; the pointer is valid only inside `body`.
    public func withUnsafeBufferPointer<Result>(_ body: (UnsafeBufferPointer<UInt8>) -> Result) -> Result {
        let count = endIndex
        return withUnsafeBytes(of: storage) { raw in
            body(UnsafeBufferPointer(start: raw.baseAddress?.assumingMemoryBound(to: UInt8.self), count: count))
        }
    }

    public static func == (a: BLEInlineBytes, b: BLEInlineBytes) -> Bool { a.elementsEqual(b) }

    /// Hex, for test failures and logs.
    public var description: String { BLEHex.string(self) }
}
