import KingletCore

/// How an `HTTPClient` connects.
public struct HTTPClientSettings: Sendable {
    /// Debian's and Alpine's bundle of the system's trusted CAs.
    public static let systemCAFile = "/etc/ssl/certs/ca-certificates.crt"

    /// The trusted CAs (PEM). When the file cannot be read or loaded, OpenSSL's default
    /// paths (its OPENSSLDIR's cert.pem and certs/) are used instead.
    public var caFile: String
    /// One more CA file (PEM) trusted besides `caFile`: a private registry's CA, or a
    /// test's. An error when it cannot be loaded.
    public var extraCAFile: String?
    /// Verify the server's certificate chain and host name. On by default; off only for a
    /// registry the operator declared insecure.
    public var verifyCertificates: Bool
    /// Allowed for each step before the request is written: name resolution, each TCP
    /// connect (the next address is tried when one times out), the TLS handshake.
    public var connectTimeout: Duration
    /// Allowed without a byte moving once connected (the response's first byte, or the
    /// next bytes of a body).
    public var idleTimeout: Duration
    /// Sent as User-Agent unless the request has one ("" sends none).
    public var userAgent: String
    /// The most bytes of status line and headers (and of trailers) accepted.
    public var maxHeadBytes: Int
    /// The most bytes read from one connection per readiness (one loop turn), so a fast
    /// server cannot hold the loop; also the largest single `body` callback.
    public var readBudget: Int

    public init(caFile: String = HTTPClientSettings.systemCAFile, extraCAFile: String? = nil,
                verifyCertificates: Bool = true, connectTimeout: Duration = .seconds(30),
                idleTimeout: Duration = .seconds(60), userAgent: String = "kinglet/0.1",
                maxHeadBytes: Int = 64 * 1024, readBudget: Int = 64 * 1024) {
        self.caFile = caFile
        self.extraCAFile = extraCAFile
        self.verifyCertificates = verifyCertificates
        self.connectTimeout = connectTimeout
        self.idleTimeout = idleTimeout
        self.userAgent = userAgent
        self.maxHeadBytes = maxHeadBytes
        self.readBudget = readBudget
    }
}
