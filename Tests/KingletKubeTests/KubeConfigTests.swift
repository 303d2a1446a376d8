import Foundation
import KingletKube
import Testing

@Suite struct KubeConfigTests {
    static let sample = """
        apiVersion: v1
        kind: Config
        current-context: main
        clusters:
        - name: c1
          cluster:
            server: https://10.0.0.1:6443
            certificate-authority-data: \(Data("CA PEM".utf8).base64EncodedString())
        - name: c2
          cluster:
            server: http://127.0.0.1:8080
            insecure-skip-tls-verify: true
        users:
        - name: u1
          user:
            token: secret-token
        - name: u2
          user:
            client-certificate: certs/client.crt
            client-key: certs/client.key
        contexts:
        - name: main
          context: {cluster: c1, user: u1, namespace: edge}
        - name: other
          context: {cluster: c2, user: u2}
        """

    @Test func currentContextGivesServerCAAndToken() throws {
        let config = try KubeConfig.parse(kubeconfig: Array(Self.sample.utf8), file: "/k/config")
        #expect(config.server == "https://10.0.0.1:6443")
        #expect(config.certificateAuthority == Array("CA PEM".utf8))
        #expect(config.token == "secret-token")
        #expect(config.namespace == "edge")
        #expect(config.insecureSkipTLSVerify == false)
    }

    @Test func namedContextReadsClientFilesRelativeToTheKubeconfig() throws {
        let folder = NSTemporaryDirectory() + "kubeconfig-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: folder + "/certs", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try "CERT".write(toFile: folder + "/certs/client.crt", atomically: true, encoding: .utf8)
        try "KEY".write(toFile: folder + "/certs/client.key", atomically: true, encoding: .utf8)
        try Self.sample.write(toFile: folder + "/config", atomically: true, encoding: .utf8)
        let config = try KubeConfig.load(kubeconfig: folder + "/config", context: "other")
        #expect(config.server == "http://127.0.0.1:8080")
        #expect(config.clientCertificate == Array("CERT".utf8))
        #expect(config.clientKey == Array("KEY".utf8))
        #expect(config.insecureSkipTLSVerify)
        #expect(config.token == nil)
    }

    @Test func unknownContextIsNamedWithTheFile() {
        #expect {
            _ = try KubeConfig.parse(kubeconfig: Array(Self.sample.utf8), file: "/k/config", context: "nope")
        } throws: { error in
            "\(error)".contains("/k/config") && "\(error)".contains("no entry named \"nope\"")
        }
    }

    @Test func yamlSyntaxErrorNamesFileLineAndColumn() {
        #expect {
            _ = try KubeConfig.parse(kubeconfig: Array("clusters: [\n  - a\n  b: ]".utf8), file: "/k/broken")
        } throws: { error in
            "\(error)".hasPrefix("kubeconfig /k/broken:")
        }
    }

    @Test func serverThatIsNoURLIsRejected() {
        let text = Self.sample.replacingOccurrences(of: "https://10.0.0.1:6443", with: "10.0.0.1:6443")
        #expect {
            _ = try KubeConfig.parse(kubeconfig: Array(text.utf8), file: "/k/config")
        } throws: { error in
            "\(error)".contains("is not an http:// or https:// URL")
        }
    }

    @Test func missingFileSaysSo() {
        #expect {
            _ = try KubeConfig.load(kubeconfig: "/nonexistent/kubeconfig")
        } throws: { error in
            "\(error)" == "kubeconfig /nonexistent/kubeconfig: cannot read the file (no such file)"
        }
    }

    @Test func inClusterReadsTheServiceAccountFolder() throws {
        let folder = NSTemporaryDirectory() + "sa-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try "tok\n".write(toFile: folder + "/token", atomically: true, encoding: .utf8)
        try "CA".write(toFile: folder + "/ca.crt", atomically: true, encoding: .utf8)
        try "kinglet-system\n".write(toFile: folder + "/namespace", atomically: true, encoding: .utf8)
        let config = try KubeConfig.inCluster(environment: ["KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443"],
                                              accountFolder: folder)
        #expect(config.server == "https://10.96.0.1:443")
        #expect(config.tokenFile == folder + "/token")
        #expect(config.namespace == "kinglet-system")
        #expect(config.certificateAuthority == Array("CA".utf8))
    }

    @Test func inClusterWithoutEnvironmentIsAClearError() {
        #expect {
            _ = try KubeConfig.inCluster(environment: [:])
        } throws: { error in
            "\(error)".contains("KUBERNETES_SERVICE_HOST")
        }
    }
}
