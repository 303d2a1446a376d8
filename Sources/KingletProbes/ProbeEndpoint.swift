import CKingletSystem

/// A probe's checked address: a numeric host and a port in range.
struct ProbeEndpoint: Equatable {
    /// The numeric address, without IPv6 brackets, as inet_pton takes it.
    let host: String
    let port: UInt16
    let isIPv6: Bool

    init(host rawHost: String, port: Int) throws(ProbeConfigurationError) {
        var host = rawHost
        // Kubernetes specs carry bare IPv6 literals, but "[::1]" is a natural slip.
        if host.utf8.count > 2 && host.utf8.first == UInt8(ascii: "[") && host.utf8.last == UInt8(ascii: "]") {
            host = String(host.dropFirst().dropLast())
        }
        if host.isEmpty { throw .missingHost }
        let family = host.withCString { kinglet_numeric_address_family($0) }
        if family == 0 { throw .hostNotNumeric(rawHost) }
        guard port >= 1 && port <= 65535 else { throw .portOutOfRange(port) }
        self.host = host
        self.port = UInt16(port)
        isIPv6 = family == 6
    }

    /// "127.0.0.1:8080" or "[::1]:8080", as Go's net.JoinHostPort writes it.
    var hostPort: String {
        (isIPv6 ? "[" + host + "]" : host) + ":" + String(port)
    }
}
