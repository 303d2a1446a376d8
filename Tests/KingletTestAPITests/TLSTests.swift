import Foundation
import KingletTestAPI
import KingletTestPeers
import Testing

@Suite("HTTPS: tokens over TLS and client certificates", .serialized)
struct TLSTests {
    func kube(_ api: APIFixture, _ arguments: [String]) throws -> ToolRun {
        try runTool(kubectl, ["--kubeconfig", api.peer.kubeconfigPath, "--cache-dir", api.peer.folder + "/kubecache"] + arguments,
                    environment: ["HOME": api.peer.folder], within: 60)
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: kubectl), "kubectl is not installed"))
    func kubectlUsesTheTokenOverHTTPS() async throws {
        try await APIFixture.with("tls-token", token: "tls-token", tls: .server) { api in
            #expect(api.peer.url.hasPrefix("https://"))
            let nodes = try kube(api, ["get", "namespaces", "-o", "name"])
            #expect(nodes.status == 0, "\(nodes.error)")
            #expect(nodes.output.contains("namespace/kube-node-lease"))

            // Without the token the server answers 401.
            let kubeconfig = try String(contentsOfFile: api.peer.kubeconfigPath, encoding: .utf8)
            try kubeconfig.replacingOccurrences(of: "token: tls-token", with: "token: wrong")
                .write(toFile: api.peer.kubeconfigPath, atomically: true, encoding: .utf8)
            let refused = try kube(api, ["get", "namespaces"])
            #expect(refused.status != 0)
            #expect(refused.error.contains("provide credentials") || refused.error.contains("Unauthorized"))
        }
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: kubectl), "kubectl is not installed"))
    func clientCertificatesAreRequiredWithAClientCA() async throws {
        try await APIFixture.with("tls-mutual", tls: .mutual) { api in
            let withCertificate = try kube(api, ["get", "namespaces", "-o", "name"])
            #expect(withCertificate.status == 0, "\(withCertificate.error)")
            #expect(withCertificate.output.contains("namespace/default"))

            let kubeconfig = try String(contentsOfFile: api.peer.kubeconfigPath, encoding: .utf8)
            let anonymous = kubeconfig.split(separator: "\n").filter { !$0.contains("client-certificate:") && !$0.contains("client-key:") }
                .joined(separator: "\n").replacingOccurrences(of: "  user:\n", with: "  user: {}\n")
            try anonymous.write(toFile: api.peer.kubeconfigPath, atomically: true, encoding: .utf8)
            let refused = try kube(api, ["get", "namespaces"])
            #expect(refused.status != 0)
        }
    }
}
