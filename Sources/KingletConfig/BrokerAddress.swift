/// `cloud.broker`: `mqtts://host[:port]` (mTLS, default port 8883) or `mqtt://host[:port]`
/// (plain TCP, default 1883, loopback hosts only: a board's traffic never crosses a
/// network unencrypted). IPv6 hosts go in brackets.
public struct BrokerAddress: Equatable {
    public var host: String
    public var port: Int32
    public var useTLS: Bool

    public init(host: String, port: Int32, useTLS: Bool) {
        self.host = host
        self.port = port
        self.useTLS = useTLS
    }

    /// The address, or what is wrong with the text.
    public static func parse(_ text: String) -> Result<BrokerAddress, BrokerAddressError> {
        let useTLS: Bool
        let rest: Substring
        if text.hasPrefix("mqtts://") {
            useTLS = true
            rest = text.dropFirst(8)
        } else if text.hasPrefix("mqtt://") {
            useTLS = false
            rest = text.dropFirst(7)
        } else {
            return .failure(BrokerAddressError("'\(text)' is not an mqtts:// or mqtt:// URL"))
        }
        var hostPart = rest
        var portText: Substring? = nil
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { return .failure(BrokerAddressError("'\(text)': unclosed '['")) }
            hostPart = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            if after.hasPrefix(":") { portText = after.dropFirst() } else if !after.isEmpty {
                return .failure(BrokerAddressError("'\(text)': expected ':port' after the address"))
            }
        } else if let colon = rest.firstIndex(of: ":") {
            hostPart = rest[..<colon]
            portText = rest[rest.index(after: colon)...]
        }
        if hostPart.isEmpty { return .failure(BrokerAddressError("'\(text)' has no host")) }
        for character in hostPart.utf8 where character == UInt8(ascii: "/") || character == UInt8(ascii: "@")
            || character == UInt8(ascii: "?") || character <= 0x20 {
            return .failure(BrokerAddressError("'\(text)': only scheme://host:port is accepted"))
        }
        var port: Int32 = useTLS ? 8883 : 1883
        if let portText {
            guard let value = Int32(String(portText)), value >= 1, value <= 65535 else {
                return .failure(BrokerAddressError("'\(text)': the port must be 1 to 65535"))
            }
            port = value
        }
        let host = String(hostPart)
        if !useTLS && !isLoopback(host) {
            return .failure(BrokerAddressError("mqtt:// (no TLS) is only allowed for a loopback host (127.0.0.0/8, ::1, localhost); use mqtts:// for \(host)"))
        }
        return .success(BrokerAddress(host: host, port: port, useTLS: useTLS))
    }

    /// 127.0.0.0/8 in dotted-decimal form, ::1, or localhost.
    public static func isLoopback(_ host: String) -> Bool {
        if host == "localhost" || host == "::1" { return true }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "127" else { return false }
        for part in parts {
            guard !part.isEmpty, part.utf8.count <= 3, let value = Int(String(part)), value <= 255 else { return false }
        }
        return true
    }
}

public struct BrokerAddressError: Error, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
}
