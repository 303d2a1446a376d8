import Foundation

/// A registry user of the token issuer: `password` authenticates it (HTTP Basic on the
/// realm), and it holds `actions` on the repositories matching `repositories` ("*" any,
/// "team/*" any below team/, otherwise the exact name).
public struct TokenUser: Sendable {
    public var name: String
    public var password: String
    public var actions: Set<String>
    public var repositories: [String]

    public init(name: String, password: String, actions: Set<String> = ["pull", "push"], repositories: [String] = ["*"]) {
        self.name = name
        self.password = password
        self.actions = actions
        self.repositories = repositories
    }

    func holds(repository: String) -> Bool {
        repositories.contains { pattern in
            if pattern == "*" { return true }
            if pattern.hasSuffix("/*") { return repository.hasPrefix(String(pattern.dropLast())) }
            return pattern == repository
        }
    }
}

/// What the issuer saw and answered, for tests that check a client's token traffic.
public struct TokenRequestRecord: Sendable {
    public var method: String
    public var path: String
    /// The Basic user, nil when the request came without credentials.
    public var user: String?
    public var service: String?
    /// The requested scopes, one `type:name:actions` per entry.
    public var scopes: [String]
    public var status: Int
    /// The access placed in the token (empty when refused or nothing was granted).
    public var granted: [TokenAccess]
}

/// The token issuer a registry in token mode trusts: Docker's token authentication
/// (distribution's spec/auth/token.md and jwt.md), written for the tests because no
/// Debian package provides one. It runs in the test process on a free loopback port:
///
///     GET /token?service=<service>&scope=repository:<name>:pull,push   [Authorization: Basic ...]
///     200 {"token": JWT, "access_token": JWT, "expires_in": N, "issued_at": RFC 3339}
///
/// Wrong credentials answer 401 (with a Basic challenge); an unknown `service` answers 400.
/// Otherwise the token carries, for each requested resource, the intersection of the
/// requested actions and those the user (or, without credentials, `anonymousActions`)
/// holds — possibly empty, which is not an error (the registry then refuses with 401).
/// No refresh tokens (`offline_token` is ignored). Only `repository` resources are
/// granted; other types (`registry:catalog:*`) get an empty grant. The JWT is signed by
/// `openssl` (ES256 or RS256) with a `kid` header (libtrust key id), and `x5c` for
/// `.certificateChain`; claims iss/sub/aud/exp/nbf/iat/jti/access.
public final class TokenServerPeer: @unchecked Sendable {
    public struct Options: Sendable {
        public var users: [TokenUser]
        /// What a request without credentials is granted on every repository ([] refuses
        /// anonymous access; ["pull"] is a public registry).
        public var anonymousActions: Set<String>
        /// The registry's `auth.token.service`, checked against the request's `service`
        /// and placed in `aud`.
        public var service: String
        /// `iss`, the registry's `auth.token.issuer`.
        public var issuer: String
        /// Seconds a token lives (`exp - iat`, and `expires_in`). The registry adds 60 s of
        /// leeway to `exp` (distribution's token.Leeway).
        public var lifetime: Int
        public var algorithm: TokenSigningAlgorithm
        public var keyReference: TokenKeyReference

        public init(users: [TokenUser] = [TokenUser(name: "kinglet", password: "kinglet-secret")],
                    anonymousActions: Set<String> = [], service: String = "kinglet-registry",
                    issuer: String = "kinglet-token-issuer", lifetime: Int = 300,
                    algorithm: TokenSigningAlgorithm = .es256, keyReference: TokenKeyReference = .keyID) {
            self.users = users
            self.anonymousActions = anonymousActions
            self.service = service
            self.issuer = issuer
            self.lifetime = lifetime
            self.algorithm = algorithm
            self.keyReference = keyReference
        }
    }

    public let options: Options
    public let key: TokenSigningKey
    public let folder: String
    public let port: Int
    /// `http://127.0.0.1:<port>/token`, the registry's `auth.token.realm`.
    public var realm: String { "http://127.0.0.1:\(port)/token" }
    public var service: String { options.service }
    public var issuer: String { options.issuer }
    /// The PEM file the registry's `auth.token.rootcertbundle` names.
    public var rootCertificateBundle: String { key.rootCertificateBundle }

    private var server: TokenHTTPServer!
    private let lock = NSLock()
    private var records: [TokenRequestRecord] = []

    /// Makes the signing key (openssl) and starts serving on a free loopback port.
    public static func start(options: Options = Options(), label: String = "token") throws -> TokenServerPeer {
        let folder = try BuiltProducts.temporaryFolder("token-\(label)")
        let key = try TokenSigningKey(folder: folder + "/key", algorithm: options.algorithm,
                                      reference: options.keyReference, commonName: options.issuer)
        return try TokenServerPeer(options: options, key: key, folder: folder)
    }

    init(options: Options, key: TokenSigningKey, folder: String) throws {
        self.options = options
        self.key = key
        self.folder = folder
        let box = TokenWeakBox<TokenServerPeer>()
        let server = try TokenHTTPServer { request in
            guard let peer = box.value else { return TokenHTTPResponse(status: 503) }
            return peer.answer(request)
        }
        self.server = server
        self.port = server.port
        box.value = self
    }

    /// Every token request so far, oldest first.
    public var requests: [TokenRequestRecord] { lock.withLock { records } }

    /// Stops serving (requests in flight are answered first). The key files stay until the
    /// folder is removed by `removeFiles()` or the OS.
    public func stop() { server.stop() }

    /// Stops and deletes the key folder.
    public func removeFiles() {
        stop()
        try? FileManager.default.removeItem(atPath: folder)
    }

    deinit { server?.stop() }

    /// Mints a token directly (for tests that need one the endpoint would not give, e.g.
    /// already expired: `lifetime: -120`, or for another audience).
    public func issue(subject: String, access: [TokenAccess], lifetime: Int? = nil, audience: String? = nil,
                      issuer: String? = nil, now: Date = Date()) throws -> String {
        let issuedAt = Int(now.timeIntervalSince1970)
        let claims = TokenClaims(iss: issuer ?? options.issuer, sub: subject, aud: audience ?? options.service,
                                 exp: issuedAt + (lifetime ?? options.lifetime), nbf: issuedAt - 1, iat: issuedAt,
                                 jti: UUID().uuidString, access: access)
        return try key.token(claims: claims)
    }

    /// The access `user` (nil: anonymous) gets for `scopes`: per resource the intersection
    /// of the requested and held actions, merged when a resource repeats.
    public func grant(user: TokenUser?, scopes: [String]) -> [TokenAccess] {
        var granted: [TokenAccess] = []
        for scope in scopes {
            // type:name:actions, where the name may itself hold ':' (a registry host with
            // a port never appears here, but be lenient): type before the first ':',
            // actions after the last.
            guard let first = scope.firstIndex(of: ":"), let last = scope.lastIndex(of: ":"), first < last else { continue }
            let type = String(scope[..<first])
            let name = String(scope[scope.index(after: first)..<last])
            let requested = scope[scope.index(after: last)...].split(separator: ",").map(String.init)
            var held: Set<String> = []
            if type == "repository" {
                if let user {
                    if user.holds(repository: name) { held = user.actions }
                } else {
                    held = options.anonymousActions
                }
            }
            let actions = requested.filter { held.contains($0) || (held.contains("*") && $0 != "*") }
            if let index = granted.firstIndex(where: { $0.type == type && $0.name == name }) {
                for action in actions where !granted[index].actions.contains(action) { granted[index].actions.append(action) }
            } else {
                granted.append(TokenAccess(type: type, name: name, actions: actions))
            }
        }
        return granted
    }

    private func answer(_ request: TokenHTTPRequest) -> TokenHTTPResponse {
        var record = TokenRequestRecord(method: request.method, path: request.path, user: nil, service: request.value("service"),
                                        scopes: request.values("scope").flatMap { $0.split(separator: " ").map(String.init) },
                                        status: 0, granted: [])
        let response = respond(request, &record)
        record.status = response.status
        lock.withLock { records.append(record) }
        return response
    }

    private func respond(_ request: TokenHTTPRequest, _ record: inout TokenRequestRecord) -> TokenHTTPResponse {
        guard request.path == "/token" else { return Self.error(404, "NOT_FOUND", "no such endpoint: \(request.path)") }
        guard request.method == "GET" else {
            // The OAuth2 POST form (spec/auth/oauth.md) is not offered; clients fall back
            // to GET on 404, as docker's does.
            return Self.error(404, "UNSUPPORTED", "only GET \(request.path) is served")
        }
        guard record.service == options.service else {
            return Self.error(400, "INVALID_REQUEST", "unknown service '\(record.service ?? "")'")
        }
        var user: TokenUser?
        if let authorization = request.headers["authorization"] {
            guard authorization.lowercased().hasPrefix("basic "),
                  let decoded = Data(base64Encoded: String(authorization.dropFirst(6)).trimmingCharacters(in: .whitespaces)),
                  let pair = String(data: decoded, encoding: .utf8), let colon = pair.firstIndex(of: ":")
            else {
                return Self.error(401, "UNAUTHORIZED", "malformed credentials", challenge: true)
            }
            let name = String(pair[..<colon])
            let password = String(pair[pair.index(after: colon)...])
            record.user = name
            guard let known = options.users.first(where: { $0.name == name }), known.password == password else {
                return Self.error(401, "UNAUTHORIZED", "invalid username or password", challenge: true)
            }
            user = known
        }
        record.granted = grant(user: user, scopes: record.scopes)
        let now = Date()
        let token: String
        do {
            token = try issue(subject: user?.name ?? "", access: record.granted, now: now)
        } catch {
            return Self.error(500, "UNKNOWN", "signing failed: \(error)")
        }
        let body: [String: Any] = [
            "token": token, "access_token": token, "expires_in": options.lifetime,
            "issued_at": ISO8601DateFormatter().string(from: now),
        ]
        let data = (try? JSONSerialization.data(withJSONObject: body, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return .json(200, data)
    }

    private static func error(_ status: Int, _ code: String, _ message: String, challenge: Bool = false) -> TokenHTTPResponse {
        let body = ["errors": [["code": code, "message": message]]]
        let data = (try? JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])) ?? Data()
        return .json(status, data, headers: challenge ? [("WWW-Authenticate", "Basic realm=\"kinglet-token\"")] : [])
    }
}

/// A weak reference the server's handler holds, so the peer can be released.
final class TokenWeakBox<T: AnyObject>: @unchecked Sendable {
    private let lock = NSLock()
    private weak var stored: T?
    var value: T? {
        get { lock.withLock { stored } }
        set { lock.withLock { stored = newValue } }
    }
}
