/// Raw readings the node facts are computed from, parsed from the kernel's text files.
public struct NodeReadings: Equatable {
    public var memoryTotalKiB: Int64 = 0
    public var memoryAvailableKiB: Int64 = 0
    public var filesystemTotalKiB: Int64 = 0
    public var filesystemAvailableKiB: Int64 = 0
    public var processesInUse: Int64 = 0
    public var processLimit: Int64 = 0
    public var onlineCPUs: Int64 = 0

    public init() {}

    /// MemTotal and MemAvailable from /proc/meminfo ("MemTotal:  8029736 kB").
    public mutating func parseMeminfo(_ text: String) {
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 2, let value = Int64(fields[1]) else { continue }
            if fields[0] == "MemTotal:" { memoryTotalKiB = value }
            if fields[0] == "MemAvailable:" { memoryAvailableKiB = value }
        }
    }

    /// Threads in existence from /proc/loadavg's fourth field ("1/87" = running/total).
    public mutating func parseLoadavg(_ text: String) {
        let fields = text.split(separator: " ")
        guard fields.count >= 4 else { return }
        let counts = fields[3].split(separator: "/")
        if counts.count == 2, let total = Int64(counts[1]) { processesInUse = total }
    }

    /// /proc/sys/kernel/pid_max.
    public mutating func parsePidMax(_ text: String) {
        if let value = Int64(trimmed(text)) { processLimit = value }
    }
}

/// PRETTY_NAME from /etc/os-release, unquoted ("Debian GNU/Linux 12 (bookworm)").
public func osImage(fromOSRelease text: String) -> String {
    for line in text.split(separator: "\n") where line.hasPrefix("PRETTY_NAME=") {
        var value = String(line.dropFirst("PRETTY_NAME=".count))
        if value.count >= 2, let first = value.first, first == "\"" || first == "'", value.last == first {
            value = String(value.dropFirst().dropLast())
        }
        return value
    }
    return "Linux"
}

/// A one-line file's content without surrounding whitespace.
public func trimmed(_ text: String) -> String {
    var bytes = Array(text.utf8)[...]
    while let last = bytes.last, last == 10 || last == 13 || last == 32 || last == 9 { bytes = bytes.dropLast() }
    while let first = bytes.first, first == 10 || first == 13 || first == 32 || first == 9 { bytes = bytes.dropFirst() }
    return String(decoding: bytes, as: UTF8.self)
}
