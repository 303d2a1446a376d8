import Foundation

/// The JWS algorithms the token issuer signs with (both verified by distribution 2.8's libtrust).
public enum TokenSigningAlgorithm: String, Sendable, CaseIterable {
    /// ECDSA P-256 with SHA-256; the signature is r‖s, 64 bytes (RFC 7518 §3.4).
    case es256 = "ES256"
    /// RSASSA-PKCS1-v1_5 with SHA-256, a 2048-bit key.
    case rs256 = "RS256"
}

/// How a token's JWS header lets the registry find the signing key. Distribution 2.8
/// (`registry/auth/token/token.go`, VerifySigningKey) tries `x5c`, then `jwk`, then `kid`.
public enum TokenKeyReference: String, Sendable, CaseIterable {
    /// `kid` only: the libtrust fingerprint of the public key. The registry indexes every
    /// certificate of its rootcertbundle by that fingerprint, so the bundle is the signing
    /// key's own (self-signed) certificate. This is what docker_auth and most issuers do.
    case keyID
    /// `x5c`: the signing certificate (base64 DER) in the header, issued by a CA whose
    /// certificate is the rootcertbundle; the registry verifies the chain. `kid` is sent too.
    case certificateChain
}

/// A token signing key, its certificate and the rootcertbundle the registry trusts, made
/// with the `openssl` command line in a folder. Signing runs `openssl dgst -sha256 -sign`
/// once per token (a few milliseconds).
public final class TokenSigningKey: @unchecked Sendable {
    public let algorithm: TokenSigningAlgorithm
    public let reference: TokenKeyReference
    /// The private key (PEM).
    public let keyPath: String
    /// The signing key's certificate (PEM): self-signed for `.keyID`, issued by the CA for
    /// `.certificateChain`.
    public let certificatePath: String
    /// What the registry's `auth.token.rootcertbundle` names.
    public let rootCertificateBundle: String
    /// The libtrust key id of the public key (`ABCD:EFGH:...`, 12 groups of 4).
    public let keyID: String
    /// The `x5c` header value (`.certificateChain` only): the leaf certificate, base64 DER.
    public let certificateChain: [String]?
    let folder: String

    static let openssl = "/usr/bin/openssl"
    static let bound = 30.0

    /// Makes the key and certificates in `folder` (created if missing).
    public init(folder: String, algorithm: TokenSigningAlgorithm = .es256, reference: TokenKeyReference = .keyID,
                commonName: String = "kinglet-token-issuer") throws {
        guard FileManager.default.isExecutableFile(atPath: Self.openssl) else { throw PeerError("openssl is not installed") }
        self.folder = folder
        self.algorithm = algorithm
        self.reference = reference
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let config = folder + "/openssl.cnf"
        try Self.configText.write(toFile: config, atomically: true, encoding: .utf8)
        keyPath = folder + "/token-signing.key"
        switch algorithm {
        case .es256: try Self.run(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", keyPath])
        case .rs256: try Self.run(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", keyPath])
        }
        let spki = folder + "/token-signing.spki.der"
        try Self.run(["pkey", "-in", keyPath, "-pubout", "-outform", "DER", "-out", spki])
        keyID = Self.libtrustKeyID(subjectPublicKeyInfo: try Data(contentsOf: URL(fileURLWithPath: spki)))

        switch reference {
        case .keyID:
            certificatePath = folder + "/token-signing.crt"
            try Self.run(["req", "-x509", "-new", "-config", config, "-extensions", "leaf_ext", "-key", keyPath,
                          "-subj", "/CN=\(commonName)", "-days", "2", "-sha256", "-out", certificatePath])
            rootCertificateBundle = certificatePath
            certificateChain = nil
        case .certificateChain:
            let caKey = folder + "/token-ca.key"
            let caCertificate = folder + "/token-ca.crt"
            try Self.run(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", caKey])
            try Self.run(["req", "-x509", "-new", "-config", config, "-extensions", "ca_ext", "-key", caKey,
                          "-subj", "/CN=\(commonName) CA", "-days", "2", "-sha256", "-out", caCertificate])
            let request = folder + "/token-signing.csr"
            certificatePath = folder + "/token-signing.crt"
            try Self.run(["req", "-new", "-config", config, "-key", keyPath, "-subj", "/CN=\(commonName)", "-out", request])
            try Self.run(["x509", "-req", "-in", request, "-CA", caCertificate, "-CAkey", caKey, "-set_serial", "2",
                          "-days", "2", "-sha256", "-extfile", config, "-extensions", "leaf_ext", "-out", certificatePath])
            let der = folder + "/token-signing.crt.der"
            try Self.run(["x509", "-in", certificatePath, "-outform", "DER", "-out", der])
            certificateChain = [try Data(contentsOf: URL(fileURLWithPath: der)).base64EncodedString()]
            rootCertificateBundle = caCertificate
        }
    }

    /// The JWS header: `typ`, `alg`, `kid`, and `x5c` for `.certificateChain`.
    public var header: TokenHeader {
        TokenHeader(typ: "JWT", alg: algorithm.rawValue, kid: keyID, x5c: certificateChain)
    }

    /// A compact JWS (`header.claims.signature`, base64url without padding) of `claims`.
    public func token(claims: TokenClaims) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let input = Self.base64URL(try encoder.encode(header)) + "." + Self.base64URL(try encoder.encode(claims))
        return input + "." + Self.base64URL(try sign(Data(input.utf8)))
    }

    /// The JWS signature of `input`: PKCS#1 v1.5 for RS256; for ES256 openssl's DER
    /// ECDSA-Sig-Value turned into the 64-byte r‖s that JWS (and libtrust) expect.
    public func sign(_ input: Data) throws -> Data {
        let base = folder + "/sign-\(UUID().uuidString.prefix(12))"
        defer {
            try? FileManager.default.removeItem(atPath: base + ".in")
            try? FileManager.default.removeItem(atPath: base + ".sig")
        }
        try input.write(to: URL(fileURLWithPath: base + ".in"))
        try Self.run(["dgst", "-sha256", "-sign", keyPath, "-out", base + ".sig", base + ".in"])
        let signature = try Data(contentsOf: URL(fileURLWithPath: base + ".sig"))
        switch algorithm {
        case .rs256: return signature
        case .es256: return try Self.rawECDSASignature(der: signature, octets: 32)
        }
    }

    /// libtrust's key id (github.com/docker/libtrust, keyIDFromCryptoKey): SHA-256 of the
    /// DER SubjectPublicKeyInfo, its first 30 bytes in base32 without padding, in groups of
    /// four joined by ':'.
    public static func libtrustKeyID(subjectPublicKeyInfo: Data) -> String {
        let encoded = base32(Array(TestImageDigest.sha256(subjectPublicKeyInfo).prefix(30)))
        var groups: [String] = []
        var rest = Substring(encoded)
        while !rest.isEmpty {
            groups.append(String(rest.prefix(4)))
            rest = rest.dropFirst(4)
        }
        return groups.joined(separator: ":")
    }

    /// RFC 4648 base32 (A–Z, 2–7) without padding.
    static func base32(_ bytes: [UInt8]) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
        var output = ""
        var buffer: UInt32 = 0
        var bits = 0
        for byte in bytes {
            buffer = buffer << 8 | UInt32(byte)
            bits += 8
            while bits >= 5 {
                output.append(alphabet[Int((buffer >> UInt32(bits - 5)) & 31)])
                bits -= 5
            }
        }
        if bits > 0 { output.append(alphabet[Int((buffer << UInt32(5 - bits)) & 31)]) }
        return output
    }

    /// base64url without padding (RFC 7515 §2).
    public static func base64URL(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// Decodes base64url with or without padding.
    public static func decodeBase64URL(_ text: some StringProtocol) -> Data? {
        var plain = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while plain.count % 4 != 0 { plain += "=" }
        return Data(base64Encoded: plain)
    }

    /// DER `SEQUENCE { INTEGER r, INTEGER s }` to r‖s, each left-padded to `octets` bytes.
    static func rawECDSASignature(der: Data, octets: Int) throws -> Data {
        let bytes = [UInt8](der)
        var index = 0
        func length() throws -> Int {
            guard index < bytes.count else { throw PeerError("ECDSA signature: truncated DER") }
            let first = Int(bytes[index])
            index += 1
            if first < 0x80 { return first }
            let count = first & 0x7f
            guard count <= 2, index + count <= bytes.count else { throw PeerError("ECDSA signature: bad DER length") }
            var value = 0
            for _ in 0..<count {
                value = value << 8 | Int(bytes[index])
                index += 1
            }
            return value
        }
        func integer() throws -> [UInt8] {
            guard index < bytes.count, bytes[index] == 0x02 else { throw PeerError("ECDSA signature: INTEGER expected") }
            index += 1
            let count = try length()
            guard index + count <= bytes.count else { throw PeerError("ECDSA signature: truncated INTEGER") }
            var value = Array(bytes[index..<index + count])
            index += count
            while value.count > octets, value.first == 0 { value.removeFirst() }
            guard value.count <= octets else { throw PeerError("ECDSA signature: INTEGER longer than \(octets) bytes") }
            return [UInt8](repeating: 0, count: octets - value.count) + value
        }
        guard bytes.first == 0x30 else { throw PeerError("ECDSA signature: SEQUENCE expected") }
        index = 1
        _ = try length()
        return Data(try integer() + integer())
    }

    static func run(_ arguments: [String]) throws {
        let result = try PeerProcess.run(openssl, arguments, within: bound)
        guard result.status == 0 else {
            throw PeerError("openssl \(arguments.joined(separator: " ")) failed (\(result.status)"
                            + (result.timedOut ? ", timed out" : "") + "):\n\(result.output)")
        }
    }

    /// `req` needs a distinguished_name section even with -subj.
    private static let configText = """
        [req]
        distinguished_name = dn
        prompt = no
        [dn]
        CN = unused
        [ca_ext]
        basicConstraints = critical, CA:TRUE
        keyUsage = critical, keyCertSign, cRLSign
        subjectKeyIdentifier = hash
        [leaf_ext]
        basicConstraints = critical, CA:FALSE
        keyUsage = critical, digitalSignature

        """
}

/// A token's JWS header.
public struct TokenHeader: Codable, Sendable, Equatable {
    public var typ: String
    public var alg: String
    public var kid: String?
    public var x5c: [String]?
}

/// One `access` entry of a registry token: `actions` on the resource `type`/`name`
/// (e.g. `repository`, `kinglet/busybox`, `["pull"]`).
public struct TokenAccess: Codable, Sendable, Hashable {
    public var type: String
    public var name: String
    public var actions: [String]

    public init(type: String = "repository", name: String, actions: [String]) {
        self.type = type
        self.name = name
        self.actions = actions
    }
}

/// A registry token's claims (distribution's token spec, jwt.md).
public struct TokenClaims: Codable, Sendable, Equatable {
    public var iss: String
    public var sub: String
    public var aud: String
    public var exp: Int
    public var nbf: Int
    public var iat: Int
    public var jti: String
    public var access: [TokenAccess]

    public init(iss: String, sub: String, aud: String, exp: Int, nbf: Int, iat: Int, jti: String, access: [TokenAccess]) {
        self.iss = iss
        self.sub = sub
        self.aud = aud
        self.exp = exp
        self.nbf = nbf
        self.iat = iat
        self.jti = jti
        self.access = access
    }

    /// The claims of a compact JWS, unverified (for tests that look inside a token).
    public static func decode(token: String) throws -> TokenClaims {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let json = TokenSigningKey.decodeBase64URL(parts[1]) else {
            throw PeerError("not a compact JWS: \(token.prefix(40))")
        }
        return try JSONDecoder().decode(TokenClaims.self, from: json)
    }

    /// The header of a compact JWS.
    public static func header(token: String) throws -> TokenHeader {
        guard let first = token.split(separator: ".").first, let json = TokenSigningKey.decodeBase64URL(first) else {
            throw PeerError("not a compact JWS: \(token.prefix(40))")
        }
        return try JSONDecoder().decode(TokenHeader.self, from: json)
    }
}
