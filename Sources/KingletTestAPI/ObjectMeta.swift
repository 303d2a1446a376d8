import Foundation

/// Timestamps, names and uids as the API spells them.
public enum ObjectMeta {
    /// RFC 3339 in UTC with whole seconds, like `metav1.Time`.
    public static func timestamp(_ date: Date = Date()) -> String {
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1,
                      Int(parts.tm_mday), Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec))
    }

    /// `metav1.MicroTime` (Lease renewTime): RFC 3339 with microseconds.
    public static func microTime(_ date: Date = Date()) -> String {
        let micros = Int((date.timeIntervalSince1970 - date.timeIntervalSince1970.rounded(.down)) * 1_000_000)
        return String(timestamp(date).dropLast()) + String(format: ".%06dZ", micros)
    }

    public static func parseTimestamp(_ text: String) -> Date? {
        try? Date(text, strategy: .iso8601)
    }

    /// `<prefix><5 random characters>`, from the alphabet the real server uses.
    public static func generatedName(_ prefix: String) -> String {
        let alphabet = Array("bcdfghjklmnpqrstvwxz2456789")
        return prefix + String((0..<5).map { _ in alphabet.randomElement()! })
    }

    public static func uid() -> String { UUID().uuidString.lowercased() }

    /// A DNS-1123 subdomain (object names), or the reason it is not one.
    public static func nameProblem(_ name: String) -> String? {
        if name.isEmpty { return "name or generateName is required" }
        if name.utf8.count > 253 { return "must be no more than 253 characters" }
        let allowed = name.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D || $0 == 0x2E }
        let edges = name.utf8.first.map { $0 != 0x2D && $0 != 0x2E } == true && name.utf8.last.map { $0 != 0x2D && $0 != 0x2E } == true
        if !allowed || !edges {
            return "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"
        }
        return nil
    }

    /// kube's `duration.HumanDuration`, for the AGE column.
    public static func humanDuration(_ interval: TimeInterval) -> String {
        let seconds = Int(interval)
        if seconds < -1 { return "<invalid>" }
        if seconds < 0 { return "0s" }
        if seconds < 120 { return "\(seconds)s" }
        let minutes = seconds / 60
        if minutes < 10 { return seconds % 60 == 0 ? "\(minutes)m" : "\(minutes)m\(seconds % 60)s" }
        if minutes < 180 { return "\(minutes)m" }
        let hours = minutes / 60
        if hours < 8 { return minutes % 60 == 0 ? "\(hours)h" : "\(hours)h\(minutes % 60)m" }
        if hours < 48 { return "\(hours)h" }
        if hours < 24 * 8 { return hours % 24 == 0 ? "\(hours / 24)d" : "\(hours / 24)d\(hours % 24)h" }
        if hours < 24 * 365 * 2 { return "\(hours / 24)d" }
        if hours < 24 * 365 * 8 { let days = (hours / 24) % 365; return days == 0 ? "\(hours / 24 / 365)y" : "\(hours / 24 / 365)y\(days)d" }
        return "\(hours / 24 / 365)y"
    }

    public static func age(_ object: JSON, now: Date = Date()) -> String {
        guard let text = object.at(["metadata", "creationTimestamp"])?.stringValue, let created = parseTimestamp(text) else { return "<unknown>" }
        return humanDuration(now.timeIntervalSince(created))
    }
}
