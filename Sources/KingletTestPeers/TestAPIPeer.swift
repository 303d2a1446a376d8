import Foundation

/// The test API server (`kinglet-testapi`, the etcd-backed stand-in for kube-apiserver)
/// with its own etcd, for tests and benchmarks:
///
///     let api = try TestAPIPeer.start(label: "relay")
///     defer { api.stop() }
///     // api.url, api.kubeconfigPath, api.token, api.etcd.clientURL
///
/// `POST <url>/admin/compact` compacts etcd at its current revision (410 for older
/// resourceVersions). With `tls: .server` the URL is https (kubectl only sends tokens over
/// https); with `.mutual` clients also need `certificates.clientCertificatePath`/`clientKeyPath`
/// (the kubeconfig names them).
public final class TestAPIPeer: @unchecked Sendable {
    public enum TLSMode: Sendable {
        case none
        /// HTTPS; the kubeconfig trusts `certificates.caPath`.
        case server
        /// HTTPS with client certificates required (signed by `certificates.caPath`).
        case mutual
    }

    public let etcd: EtcdPeer
    public let process: PeerProcess
    /// `http://127.0.0.1:<port>` (`https://` with TLS).
    public let url: String
    public let port: Int
    /// A kubeconfig for `url` (with the token when there is one), usable by kubectl,
    /// the Python client and the relay.
    public let kubeconfigPath: String
    public let token: String?
    public let folder: String
    /// The CA, server and client certificates when started with TLS.
    public let certificates: TestCertificates?

    /// Starts etcd, then `kinglet-testapi` from the built products, and waits for its ready
    /// line. `token` makes the server require `Authorization: Bearer <token>`.
    public static func start(label: String, token: String? = nil, tls: TLSMode = .none, bookmarkInterval: Double = 5,
                             extraArguments: [String] = [], within seconds: Double = 60) throws -> TestAPIPeer
    {
        let etcd = try EtcdPeer.start(label: label, within: seconds)
        do {
            let folder = try BuiltProducts.temporaryFolder("testapi-\(label)")
            let kubeconfig = folder + "/kubeconfig"
            var arguments = ["--etcd", etcd.clientURL, "--port", "0", "--kubeconfig-out", kubeconfig,
                             "--bookmark-interval", String(bookmarkInterval)]
            if let token { arguments += ["--token", token] }
            var certificates: TestCertificates? = nil
            if tls != .none {
                let made = try TestCertificates.make(in: folder)
                certificates = made
                arguments += ["--tls-cert", made.serverCertificatePath, "--tls-key", made.serverKeyPath, "--kubeconfig-ca", made.caPath]
                if tls == .mutual {
                    arguments += ["--client-ca", made.caPath, "--kubeconfig-client-cert", made.clientCertificatePath,
                                  "--kubeconfig-client-key", made.clientKeyPath]
                }
            }
            let process = try PeerProcess(name: "kinglet-testapi", executable: BuiltProducts.path("kinglet-testapi"),
                                          arguments: arguments + extraArguments, logPath: folder + "/testapi.log")
            do {
                try process.waitForOutput("kinglet-testapi: serving on http", within: seconds)
                guard let line = process.output.split(separator: "\n").first(where: { $0.hasPrefix("kinglet-testapi: serving on ") }),
                      let port = Int(line.split(separator: ":").last ?? "") else {
                    throw PeerError("kinglet-testapi printed no port:\n\(process.tail)")
                }
                return TestAPIPeer(etcd: etcd, process: process, port: port, scheme: tls == .none ? "http" : "https",
                                   kubeconfigPath: kubeconfig, token: token, folder: folder, certificates: certificates)
            } catch {
                process.stop()
                throw error
            }
        } catch {
            etcd.stop()
            throw error
        }
    }

    init(etcd: EtcdPeer, process: PeerProcess, port: Int, scheme: String, kubeconfigPath: String, token: String?, folder: String,
         certificates: TestCertificates?) {
        self.etcd = etcd
        self.process = process
        self.port = port
        self.url = "\(scheme)://127.0.0.1:\(port)"
        self.certificates = certificates
        self.kubeconfigPath = kubeconfigPath
        self.token = token
        self.folder = folder
    }

    /// Stops the server, then etcd; reaps both.
    public func stop() {
        process.stop()
        etcd.stop()
    }
}
