import CKingletSystem
import KingletCore

/// ASCII text helpers: HTTP is case-insensitive in ASCII only, and Embedded Swift has no
/// Unicode case mapping to lean on anyway.
enum ASCIIText {
    static func lowercased(_ text: String) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        for byte in text.utf8 { bytes.append(lowercased(byte)) }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func lowercased(_ byte: UInt8) -> UInt8 {
        byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte + 32 : byte
    }

    static func equalIgnoringCase(_ a: String, _ b: String) -> Bool {
        guard a.utf8.count == b.utf8.count else { return false }
        for (x, y) in zip(a.utf8, b.utf8) where lowercased(x) != lowercased(y) { return false }
        return true
    }

    static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
}

/// The kubelet's wording for probe results. Its probes are Go, so its messages are Go's
/// error strings: `dial tcp 127.0.0.1:8080: connect: connection refused`,
/// `Get "http://127.0.0.1:8080/healthz": context deadline exceeded`. Operators search for
/// these, so we keep them.
enum ProbeText {
    static func dialFailed(_ endpoint: ProbeEndpoint, errno code: Int32) -> String {
        "dial tcp " + endpoint.hostPort + ": connect: " + errorText(code)
    }

    static func dialTimedOut(_ endpoint: ProbeEndpoint) -> String {
        "dial tcp " + endpoint.hostPort + ": i/o timeout"
    }

    /// Go's http.Client prefixes every error with the method and the quoted URL.
    static func get(_ url: String, _ failure: String) -> String {
        "Get \"" + url + "\": " + failure
    }

    /// Go's http.Client wording when its Timeout expires before the response headers.
    static let httpTimedOut = "context deadline exceeded (Client.Timeout exceeded while awaiting headers)"

    static func httpsUnsupported(_ url: String) -> String {
        get(url, "HTTPS probes are not supported yet")
    }

    static func badStatus(_ status: Int) -> String {
        // The kubelet keeps this exact format (kubernetes issue 99425): tools parse it.
        "HTTP probe failed with statuscode: " + String(status)
    }

    static func redirectNotFollowed(_ status: Int) -> String {
        "Probe terminated redirects, statuscode: " + String(status)
    }

    static func malformedResponse(_ line: UnsafeBufferPointer<UInt8>) -> String {
        "net/http: HTTP/1.x transport connection broken: malformed HTTP response \"" + quotable(line, limit: 64) + "\""
    }

    static func transferFailed(_ operation: String, _ endpoint: ProbeEndpoint, errno code: Int32) -> String {
        operation + " tcp " + endpoint.hostPort + ": " + operation + ": " + errorText(code)
    }

    /// The loop refused the socket (epoll_ctl failed): not the probed service's fault, but
    /// the attempt cannot run.
    static func loopFailed(_ error: LoopError) -> String {
        "probe could not use the event loop: " + error.description
    }

    /// Go's lowercase errno texts for what a connect, read or write can meet, identical in
    /// glibc and musl builds (musl's strerror words several differently); strerror, first
    /// letter lowered, for the rest.
    static func errorText(_ code: Int32) -> String {
        switch code {
        case ECONNREFUSED: return "connection refused"
        case ECONNRESET: return "connection reset by peer"
        case ECONNABORTED: return "software caused connection abort"
        case EPIPE: return "broken pipe"
        case ETIMEDOUT: return "connection timed out"
        case EHOSTUNREACH: return "no route to host"
        case ENETUNREACH: return "network is unreachable"
        case EADDRNOTAVAIL: return "cannot assign requested address"
        case EMFILE: return "too many open files"
        case ENFILE: return "too many open files in system"
        default:
            var bytes = Array(String(cString: kinglet_strerror(code)).utf8)
            if let first = bytes.first { bytes[0] = ASCIIText.lowercased(first) }
            return String(decoding: bytes, as: UTF8.self)
        }
    }

    /// Text safe to put between quotes in a message: printable ASCII kept, quotes and
    /// backslashes escaped, anything else as \xHH; cut at `limit` bytes.
    static func quotable(_ bytes: UnsafeBufferPointer<UInt8>, limit: Int) -> String {
        var out: [UInt8] = []
        for (index, byte) in bytes.enumerated() {
            if index == limit {
                out.append(contentsOf: "...".utf8)
                break
            }
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"):
                out.append(UInt8(ascii: "\\"))
                out.append(byte)
            case 0x20...0x7e:
                out.append(byte)
            default:
                let hex = Array("0123456789abcdef".utf8)
                out.append(contentsOf: "\\x".utf8)
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0x0f)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func quotable(_ text: String, limit: Int = 64) -> String {
        var text = text
        return text.withUTF8 { quotable($0, limit: limit) }
    }
}
