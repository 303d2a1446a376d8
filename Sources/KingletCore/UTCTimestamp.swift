/// RFC 3339 UTC timestamps from nanoseconds since the Unix epoch, built by hand (the agent
/// has no Foundation): "2026-11-24T23:59:01.123Z" for the agent's log, and the fixed-width
/// nanosecond form "2026-11-24T23:59:01.123456789Z" for container logs in the CRI format.
public enum UTCTimestamp {
    /// The timestamp with `fractionDigits` digits of the second (0...9; 0 omits the dot).
    public static func format(nanoseconds: Int64, fractionDigits: Int) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(30)
        append(nanoseconds: nanoseconds, fractionDigits: fractionDigits, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends the timestamp's UTF-8 bytes, so a caller that keeps a buffer allocates nothing.
    public static func append(nanoseconds: Int64, fractionDigits: Int, to bytes: inout [UInt8]) {
        let perDay: Int64 = 86_400 * 1_000_000_000
        // Floor division: instants before 1970 still land on the right day.
        var days = nanoseconds / perDay
        var inDay = nanoseconds % perDay
        if inDay < 0 {
            days -= 1
            inDay += perDay
        }
        let date = civilDate(daysSinceEpoch: days)
        let seconds = inDay / 1_000_000_000
        appendDigits(date.year, width: 4, to: &bytes)
        bytes.append(UInt8(ascii: "-"))
        appendDigits(date.month, width: 2, to: &bytes)
        bytes.append(UInt8(ascii: "-"))
        appendDigits(date.day, width: 2, to: &bytes)
        bytes.append(UInt8(ascii: "T"))
        appendDigits(seconds / 3600, width: 2, to: &bytes)
        bytes.append(UInt8(ascii: ":"))
        appendDigits(seconds / 60 % 60, width: 2, to: &bytes)
        bytes.append(UInt8(ascii: ":"))
        appendDigits(seconds % 60, width: 2, to: &bytes)
        let digits = min(max(fractionDigits, 0), 9)
        if digits > 0 {
            var fraction = inDay % 1_000_000_000
            for _ in digits..<9 { fraction /= 10 }
            bytes.append(UInt8(ascii: "."))
            appendDigits(fraction, width: digits, to: &bytes)
        }
        bytes.append(UInt8(ascii: "Z"))
    }

    /// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's civil_from_days).
    public static func civilDate(daysSinceEpoch: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = daysSinceEpoch + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// Zero-padded decimal digits of a non-negative value, at least `width` of them.
    private static func appendDigits(_ value: Int64, width: Int, to bytes: inout [UInt8]) {
        let value = max(value, 0)
        var divisor: Int64 = 1
        var count = 1
        while count < width || value / divisor >= 10 {
            divisor *= 10
            count += 1
        }
        while divisor > 0 {
            bytes.append(UInt8(ascii: "0") + UInt8(value / divisor % 10))
            divisor /= 10
        }
    }
}
