import KingletCore
import Testing

/// The shared formatter behind the agent's log (milliseconds) and container logs
/// (nanoseconds). Lives here until KingletCoreTests takes it.
@Suite struct UTCTimestampTests {
    @Test func formatsRFC3339UTCWithTheAskedPrecision() {
        #expect(UTCTimestamp.format(nanoseconds: 0, fractionDigits: 3) == "1970-01-01T00:00:00.000Z")
        #expect(UTCTimestamp.format(nanoseconds: 1_795_564_741_123_456_789, fractionDigits: 9) == "2026-11-24T23:59:01.123456789Z")
        #expect(UTCTimestamp.format(nanoseconds: 1_795_564_741_123_456_789, fractionDigits: 3) == "2026-11-24T23:59:01.123Z")
        #expect(UTCTimestamp.format(nanoseconds: 1_795_564_741_000_000_005, fractionDigits: 9) == "2026-11-24T23:59:01.000000005Z")
        #expect(UTCTimestamp.format(nanoseconds: 1_795_564_741_123_456_789, fractionDigits: 0) == "2026-11-24T23:59:01Z")
        // A leap day, and the last nanosecond before the epoch.
        #expect(UTCTimestamp.format(nanoseconds: 951_782_400_000_000_000, fractionDigits: 3) == "2000-02-29T00:00:00.000Z")
        #expect(UTCTimestamp.format(nanoseconds: -1, fractionDigits: 9) == "1969-12-31T23:59:59.999999999Z")
    }

    @Test func appendsWithoutAllocatingANewBuffer() {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(64)
        let capacity = bytes.capacity
        UTCTimestamp.append(nanoseconds: 1_795_564_741_123_456_789, fractionDigits: 9, to: &bytes)
        #expect(String(decoding: bytes, as: UTF8.self) == "2026-11-24T23:59:01.123456789Z")
        #expect(bytes.capacity == capacity)
    }

    @Test func civilDatesAcrossCenturies() {
        #expect(UTCTimestamp.civilDate(daysSinceEpoch: 0) == (1970, 1, 1))
        #expect(UTCTimestamp.civilDate(daysSinceEpoch: -719_468) == (0, 3, 1))
        #expect(UTCTimestamp.civilDate(daysSinceEpoch: 47_541) == (2100, 3, 1))
    }
}
