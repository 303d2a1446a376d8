/// The status line of an HTTP/1.x response: `HTTP/1.1 200 OK`.
enum HTTPStatusLine {
    /// The status code of `line` (without its CR LF), or nil when the line is not a status
    /// line: "HTTP/" digit "." digit, a space, three digits, then a space or the end.
    static func statusCode(of line: UnsafeBufferPointer<UInt8>) -> Int? {
        let prefix = Array("HTTP/".utf8)
        guard line.count >= 12 else { return nil }
        for index in 0..<prefix.count where line[index] != prefix[index] { return nil }
        guard ASCIIText.isDigit(line[5]), line[6] == UInt8(ascii: "."), ASCIIText.isDigit(line[7]),
              line[8] == UInt8(ascii: " ") else { return nil }
        var status = 0
        for index in 9..<12 {
            guard ASCIIText.isDigit(line[index]) else { return nil }
            status = status * 10 + Int(line[index] - UInt8(ascii: "0"))
        }
        if line.count > 12 && line[12] != UInt8(ascii: " ") { return nil }
        return status >= 100 ? status : nil
    }

    /// What the kubelet makes of a status: 2xx succeeds; 3xx is a redirect it did not
    /// follow, a warning that still counts as success; anything else fails.
    static func outcome(forStatus status: Int) -> ProbeOutcome {
        switch status {
        case 200..<300: return .success()
        case 300..<400: return .warning(ProbeText.redirectNotFollowed(status))
        default: return .failure(ProbeText.badStatus(status))
        }
    }
}
