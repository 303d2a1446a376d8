import KingletCore
import KingletDocument
import KingletHTTP
import KingletPod

/// A user name and password for one registry.
public struct RegistryCredentials: Equatable, Sendable {
    public var username: String
    public var password: String

    public init(username: String, password: String) {
        self.username = username
        self.password = password
    }

    /// `Basic <base64(user:password)>` (RFC 7617).
    public var basicAuthorization: String { "Basic " + Base64.encode(Array((username + ":" + password).utf8)) }
}

/// Credentials by registry, from a docker-style `config.json` (`~/.docker/config.json`, or
/// a `kubernetes.io/dockerconfigjson` pull secret's `.dockerconfigjson`): each entry of
/// `auths` has `auth` (base64 of `user:password`) or `username` and `password`. Keys may be
/// a host (`registry.local:5000`) or a URL (`https://index.docker.io/v1/` is Docker Hub).
public struct RegistryCredentialStore: Equatable, Sendable {
    public private(set) var entries: [(registry: String, credentials: RegistryCredentials)] = []

    public init() {}

    public static func == (a: RegistryCredentialStore, b: RegistryCredentialStore) -> Bool {
        a.entries.count == b.entries.count
            && zip(a.entries, b.entries).allSatisfy { $0.registry == $1.registry && $0.credentials == $1.credentials }
    }

    public static func parse(_ bytes: [UInt8], source: String) throws(DocumentError) -> RegistryCredentialStore {
        var store = RegistryCredentialStore()
        let root = FieldReader(try JSONReader().parseDocument(bytes, file: source), file: source)
        guard let auths = try root.object().object("auths") else { return store }
        for member in auths.members {
            guard let entry = try auths.field(member.key)?.object() else { continue }
            let credentials: RegistryCredentials
            if let auth = try entry.string("auth"), !auth.isEmpty {
                guard let decoded = Base64.decode(auth),
                      let colon = decoded.firstIndex(of: UInt8(ascii: ":")) else {
                    throw try entry.required("auth").error("expected base64 of user:password")
                }
                credentials = RegistryCredentials(username: String(decoding: decoded[..<colon], as: UTF8.self),
                                                  password: String(decoding: decoded[(colon + 1)...], as: UTF8.self))
            } else if let username = try entry.string("username") {
                credentials = RegistryCredentials(username: username, password: try entry.string("password") ?? "")
            } else {
                continue  // identity tokens and credential helpers are not supported
            }
            store.add(registry: member.key, credentials)
        }
        return store
    }

    public mutating func add(registry key: String, _ credentials: RegistryCredentials) {
        let registry = RegistryCredentialStore.normalise(key)
        entries.removeAll { $0.registry == registry }
        entries.append((registry, credentials))
    }

    /// Later stores win: pull secrets over the board's config.json.
    public mutating func merge(_ other: RegistryCredentialStore) {
        for entry in other.entries { add(registry: entry.registry, entry.credentials) }
    }

    public func credentials(for registry: String) -> RegistryCredentials? {
        let wanted = RegistryCredentialStore.normalise(registry)
        return entries.first { $0.registry == wanted }?.credentials
    }

    /// `https://index.docker.io/v1/` → `docker.io`; `https://registry.local:5000/` →
    /// `registry.local:5000`.
    static func normalise(_ key: String) -> String {
        var text = key
        for prefix in ["https://", "http://"] where text.hasPrefix(prefix) { text = String(text.dropFirst(prefix.count)) }
        if let slash = text.firstIndex(of: "/") { text = String(text[..<slash]) }
        switch text {
        case "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com": return ImageReference.dockerHub
        default: return text
        }
    }
}

/// A `WWW-Authenticate` challenge from a registry (RFC 7235 auth-params): `Bearer
/// realm="https://auth.example/token",service="registry",scope="repository:a/b:pull"` or
/// `Basic realm="Registry"`.
public struct RegistryChallenge: Equatable, Sendable {
    public var scheme: String
    public var parameters: [(String, String)]

    public static func == (a: RegistryChallenge, b: RegistryChallenge) -> Bool {
        a.scheme == b.scheme && a.parameters.count == b.parameters.count
            && zip(a.parameters, b.parameters).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
    }

    public func parameter(_ name: String) -> String? {
        parameters.first { $0.0.lowercased() == name }?.1
    }

    /// The first challenge of a header value; nil when it is not one.
    public init?(header: String) {
        let bytes = Array(header.utf8)
        var index = 0
        func skipSpaces() { while index < bytes.count, bytes[index] == UInt8(ascii: " ") || bytes[index] == UInt8(ascii: "\t") { index += 1 } }
        func token() -> String {
            let start = index
            while index < bytes.count, !" \t=,\"".utf8.contains(bytes[index]) { index += 1 }
            return String(decoding: bytes[start..<index], as: UTF8.self)
        }
        skipSpaces()
        let scheme = token()
        guard !scheme.isEmpty else { return nil }
        self.scheme = scheme
        parameters = []
        while index < bytes.count {
            skipSpaces()
            if index < bytes.count, bytes[index] == UInt8(ascii: ",") { index += 1; continue }
            let name = token()
            skipSpaces()
            guard !name.isEmpty, index < bytes.count, bytes[index] == UInt8(ascii: "=") else { break }
            index += 1
            skipSpaces()
            var value: [UInt8] = []
            if index < bytes.count, bytes[index] == UInt8(ascii: "\"") {
                index += 1
                while index < bytes.count, bytes[index] != UInt8(ascii: "\"") {
                    if bytes[index] == UInt8(ascii: "\\"), index + 1 < bytes.count { index += 1 }
                    value.append(bytes[index])
                    index += 1
                }
                index += 1
            } else {
                while index < bytes.count, bytes[index] != UInt8(ascii: ","), bytes[index] != UInt8(ascii: " ") {
                    value.append(bytes[index])
                    index += 1
                }
            }
            parameters.append((name, String(decoding: value, as: UTF8.self)))
        }
    }

    /// The token request of the Docker token flow: the realm with `service` and `scope`
    /// query parameters (the registry's own scope when it gave one).
    public func tokenURL(repository: String) throws(HTTPURLError) -> HTTPURL? {
        guard scheme.lowercased() == "bearer", let realm = parameter("realm") else { return nil }
        var query: [String] = []
        if let service = parameter("service") { query.append("service=" + RegistryChallenge.percentEncode(service)) }
        query.append("scope=" + RegistryChallenge.percentEncode(parameter("scope") ?? "repository:\(repository):pull"))
        return try HTTPURL(realm + (realm.contains("?") ? "&" : "?") + query.joined(separator: "&"))
    }

    /// RFC 3986 percent-encoding of a query value (unreserved characters kept).
    static func percentEncode(_ text: String) -> String {
        let digits = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        for byte in text.utf8 {
            if isAlphanumeric(byte) || "-._~".utf8.contains(byte) {
                out.append(byte)
            } else {
                out.append(UInt8(ascii: "%"))
                out.append(digits[Int(byte >> 4)])
                out.append(digits[Int(byte & 0x0F)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// The answer of a token server: `token` (or OAuth's `access_token`) and how long it lasts.
struct RegistryToken {
    var token: String
    var expiresIn: Int64

    static func parse(_ bytes: [UInt8], source: String) throws(DocumentError) -> RegistryToken {
        let root = FieldReader(try JSONReader().parseDocument(bytes, file: source), file: source)
        let object = try root.object()
        var token = try object.string("token") ?? ""
        if token.isEmpty { token = try object.string("access_token") ?? "" }
        guard !token.isEmpty else {
            throw root.error("the token server's answer has no token")
        }
        // The spec's default lifetime is 60 s.
        return RegistryToken(token: token, expiresIn: max(try object.integer("expires_in") ?? 60, 60))
    }
}
