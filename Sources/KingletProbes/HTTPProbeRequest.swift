/// The bytes of an httpGet probe's request, built once per probe and sent on every attempt.
///
///     GET /healthz HTTP/1.1
///     Host: 127.0.0.1:8080
///     User-Agent: kinglet-probe/0.1
///     Accept: */*
///     <the spec's httpHeaders>
///     Connection: close
struct HTTPProbeRequest {
    static let userAgent = "kinglet-probe/0.1"

    /// The request target as sent, e.g. "/healthz?full=1".
    let target: String
    /// The URL the kubelet would print in messages, e.g. "http://127.0.0.1:8080/healthz".
    let url: String
    let bytes: [UInt8]

    init(_ probe: HTTPGetProbe, endpoint: ProbeEndpoint) {
        target = HTTPProbeRequest.requestTarget(probe.path)
        url = probe.scheme.name + "://" + endpoint.hostPort + target

        var host = endpoint.hostPort
        var userAgent: String? = HTTPProbeRequest.userAgent
        var accept: String? = "*/*"
        var extra: [RequestHeader] = []
        for header in probe.headers {
            if ASCIIText.equalIgnoringCase(header.name, "Host") {
                host = header.value
            } else if ASCIIText.equalIgnoringCase(header.name, "Connection") {
                continue  // ours is "close": one attempt, one connection
            } else if ASCIIText.equalIgnoringCase(header.name, "User-Agent") {
                userAgent = nil
                extra.append(header)
            } else if ASCIIText.equalIgnoringCase(header.name, "Accept") {
                accept = nil
                if !header.value.isEmpty { extra.append(header) }
            } else {
                extra.append(header)
            }
        }

        var text = "GET " + target + " HTTP/1.1\r\nHost: " + host + "\r\n"
        if let userAgent { text += "User-Agent: " + userAgent + "\r\n" }
        if let accept { text += "Accept: " + accept + "\r\n" }
        for header in extra { text += header.name + ": " + header.value + "\r\n" }
        text += "Connection: close\r\n\r\n"
        bytes = Array(text.utf8)
    }

    /// The spec's path as a request target: "" becomes "/", a missing leading slash is
    /// added, a fragment is dropped (it is never sent), and bytes that may not appear in a
    /// request line (controls, space, non-ASCII) are percent-encoded.
    static func requestTarget(_ path: String) -> String {
        var out: [UInt8] = [UInt8(ascii: "/")]
        let hex = Array("0123456789ABCDEF".utf8)
        for (index, byte) in path.utf8.enumerated() {
            if byte == UInt8(ascii: "#") { break }
            if index == 0 && byte == UInt8(ascii: "/") { continue }
            if byte <= 0x20 || byte >= 0x7f {
                out.append(UInt8(ascii: "%"))
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0x0f)])
            } else {
                out.append(byte)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Header names must be tokens and values must not break the line (RFC 9110 5.1, 5.5):
    /// anything else would let a spec inject requests.
    static func validate(_ header: RequestHeader) throws(ProbeConfigurationError) {
        if header.name.isEmpty { throw .invalidHeaderName(header.name) }
        for byte in header.name.utf8 where !isTokenByte(byte) { throw .invalidHeaderName(header.name) }
        for byte in header.value.utf8 where byte == 0x0d || byte == 0x0a || byte == 0 {
            throw .invalidHeaderValue(name: header.name)
        }
    }

    private static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            for symbol in "!#$%&'*+-.^_`|~".utf8 where symbol == byte { return true }
            return false
        }
    }
}
