import Foundation

/// A certificate and its private key, as PEM files.
public struct CertificateFiles: Sendable {
    public let certificate: String
    public let key: String
}

/// A throwaway certificate authority made with the `openssl` command line in a test
/// folder: EC P-256 keys, certificates valid for two days. Issues the broker's server
/// certificate (SANs for 127.0.0.1 and localhost) and client certificates whose CN is
/// the MQTT identity (the node name, or the relay's user).
public final class TestCA: @unchecked Sendable {
    public let folder: String
    /// ca.crt: what brokers and clients trust.
    public let certificate: String
    /// ca.key
    public let key: String
    private let lock = NSLock()
    private var serial = 1
    static let openssl = "/usr/bin/openssl"
    static let bound = 20.0

    /// Makes the CA in `folder` (created if missing).
    public init(folder: String, commonName: String = "Kinglet Test CA") throws {
        self.folder = folder
        certificate = folder + "/ca.crt"
        key = folder + "/ca.key"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let config = folder + "/openssl.cnf"
        try Self.configText.write(toFile: config, atomically: true, encoding: .utf8)
        try Self.makeKey(key)
        try Self.openssl(["req", "-x509", "-new", "-config", config, "-extensions", "ca_ext", "-key", key,
                          "-subj", "/CN=\(commonName)", "-days", "2", "-sha256", "-out", certificate])
    }

    /// A server certificate for the broker, with `hosts` as subject alternative names
    /// (IP addresses become IP entries, the rest DNS entries).
    public func server(certFor commonName: String = "kinglet-broker",
                       hosts: [String] = ["127.0.0.1", "localhost"]) throws -> CertificateFiles {
        let names = hosts.map { Self.isIPAddress($0) ? "IP:\($0)" : "DNS:\($0)" }.joined(separator: ",")
        return try issue(commonName: commonName, extensions: """
            basicConstraints = critical, CA:FALSE
            keyUsage = critical, digitalSignature, keyEncipherment
            extendedKeyUsage = serverAuth
            subjectAltName = \(names)
            """)
    }

    /// A client certificate whose CN is `commonName` (mosquitto's username with
    /// `use_identity_as_username true`).
    public func client(commonName: String) throws -> CertificateFiles {
        try issue(commonName: commonName, extensions: """
            basicConstraints = critical, CA:FALSE
            keyUsage = critical, digitalSignature, keyEncipherment
            extendedKeyUsage = clientAuth
            """)
    }

    private func issue(commonName: String, extensions: String) throws -> CertificateFiles {
        guard !commonName.isEmpty, !commonName.contains("/"), !commonName.contains("\n") else {
            throw PeerError("TestCA: unusable common name '\(commonName)'")
        }
        lock.lock()
        let number = serial
        serial += 1
        lock.unlock()
        let base = folder + "/\(number)-\(Self.fileName(commonName))"
        let files = CertificateFiles(certificate: base + ".crt", key: base + ".key")
        try (extensions + "\n").write(toFile: base + ".ext", atomically: true, encoding: .utf8)
        try Self.makeKey(files.key)
        try Self.openssl(["req", "-new", "-config", folder + "/openssl.cnf", "-key", files.key,
                          "-subj", "/CN=\(commonName)", "-out", base + ".csr"])
        try Self.openssl(["x509", "-req", "-in", base + ".csr", "-CA", certificate, "-CAkey", key,
                          "-set_serial", String(1000 + number), "-days", "2", "-sha256",
                          "-extfile", base + ".ext", "-out", files.certificate])
        return files
    }

    private static func makeKey(_ path: String) throws {
        try openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", path])
    }

    private static func openssl(_ arguments: [String]) throws {
        let result = try PeerProcess.run(openssl, arguments, within: bound)
        guard result.status == 0 else {
            throw PeerError("openssl \(arguments.joined(separator: " ")) failed (\(result.status)"
                            + (result.timedOut ? ", timed out" : "") + "):\n\(result.output)")
        }
    }

    private static func fileName(_ commonName: String) -> String {
        String(commonName.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "." ? $0 : "_" })
    }

    static func isIPAddress(_ host: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1
    }

    /// `req` needs a distinguished_name section even with -subj; ca_ext marks the CA.
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

        """
}
