/// A seeded generator (SplitMix64), so a run, its drift and its faults replay exactly.
public struct SimRandom: Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func nextUInt64() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform value in `range` (bias is negligible for the small ranges used here).
    public mutating func next(in range: ClosedRange<Int64>) -> Int64 {
        let span = UInt64(bitPattern: range.upperBound &- range.lowerBound) &+ 1
        guard span != 0 else { return Int64(bitPattern: nextUInt64()) }
        return range.lowerBound &+ Int64(bitPattern: nextUInt64() % span)
    }

    public mutating func nextByte() -> UInt8 { UInt8(truncatingIfNeeded: nextUInt64()) }
}
