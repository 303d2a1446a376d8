import Foundation

/// A throwaway CA with a server certificate for 127.0.0.1/localhost and a client
/// certificate, made with the openssl command for TLS tests.
public struct TestCertificates: Sendable {
    public let caPath: String
    public let serverCertificatePath: String
    public let serverKeyPath: String
    public let clientCertificatePath: String
    public let clientKeyPath: String

    /// Writes the files into `folder`; the client certificate's CN is `clientName`.
    public static func make(in folder: String, clientName: String = "kinglet-test-client") throws -> TestCertificates {
        let openssl = ["/usr/bin/openssl", "/usr/local/bin/openssl"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let openssl else { throw PeerError("openssl is not installed") }
        func run(_ arguments: [String]) throws {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: openssl)
            process.arguments = arguments
            process.currentDirectoryURL = URL(fileURLWithPath: folder)
            process.standardOutput = FileHandle.nullDevice
            let errors = Pipe()
            process.standardError = errors
            try process.run()
            let message = errors.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            guard process.terminationStatus == 0 else {
                throw PeerError("openssl \(arguments.joined(separator: " ")) failed: \(String(decoding: message, as: UTF8.self))")
            }
        }
        let key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        try run(["req", "-x509"] + key + ["-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=kinglet-test-ca"])
        for (name, subject, extensions) in [
            ("server", "/CN=127.0.0.1", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n"),
            ("client", "/CN=\(clientName)", "extendedKeyUsage=clientAuth\n"),
        ] {
            try extensions.write(toFile: folder + "/\(name).ext", atomically: true, encoding: .utf8)
            try run(["req"] + key + ["-keyout", "\(name).key", "-out", "\(name).csr", "-subj", subject])
            try run(["x509", "-req", "-in", "\(name).csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                     "-out", "\(name).crt", "-days", "2", "-extfile", "\(name).ext"])
        }
        return TestCertificates(caPath: folder + "/ca.crt", serverCertificatePath: folder + "/server.crt",
                                serverKeyPath: folder + "/server.key", clientCertificatePath: folder + "/client.crt",
                                clientKeyPath: folder + "/client.key")
    }
}
