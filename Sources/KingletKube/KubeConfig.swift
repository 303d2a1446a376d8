import Foundation
import KingletDocument

/// Where and how to reach the API server: from a kubeconfig file (its current context or
/// a named one) or from the in-cluster service account.
public struct KubeConfig: Sendable, Equatable {
    /// The API server's base URL, e.g. "https://10.0.0.1:6443" (no trailing slash).
    public var server: String
    /// PEM bundle of the CAs to trust; nil = the system's.
    public var certificateAuthority: [UInt8]?
    public var clientCertificate: [UInt8]?
    public var clientKey: [UInt8]?
    /// A bearer token, fixed.
    public var token: String?
    /// A file holding the bearer token, re-read as it rotates (bound service account tokens).
    public var tokenFile: String?
    public var insecureSkipTLSVerify: Bool
    /// The context's (or service account's) namespace, when given.
    public var namespace: String?
    /// Where this came from, for messages: "kubeconfig /root/.kube/config (context kind)".
    public var source: String

    public init(server: String, certificateAuthority: [UInt8]? = nil, clientCertificate: [UInt8]? = nil,
                clientKey: [UInt8]? = nil, token: String? = nil, tokenFile: String? = nil,
                insecureSkipTLSVerify: Bool = false, namespace: String? = nil, source: String = "") {
        self.server = server.hasSuffix("/") ? String(server.dropLast()) : server
        self.certificateAuthority = certificateAuthority
        self.clientCertificate = clientCertificate
        self.clientKey = clientKey
        self.token = token
        self.tokenFile = tokenFile
        self.insecureSkipTLSVerify = insecureSkipTLSVerify
        self.namespace = namespace
        self.source = source
    }

    // MARK: kubeconfig

    /// Reads the kubeconfig at `path` and resolves `context` (nil = current-context).
    public static func load(kubeconfig path: String, context: String? = nil) throws(KubeConfigError) -> KubeConfig {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw KubeConfigError("kubeconfig \(path): cannot read the file (\(FileManager.default.fileExists(atPath: path) ? "permission denied" : "no such file"))")
        }
        let directory = (path as NSString).deletingLastPathComponent
        return try parse(kubeconfig: [UInt8](data), file: path, context: context, baseDirectory: directory)
    }

    /// Resolves a kubeconfig's text. Relative file paths in it are taken from `baseDirectory`
    /// (the kubeconfig's folder, as kubectl does).
    public static func parse(kubeconfig bytes: [UInt8], file: String, context wanted: String? = nil,
                             baseDirectory: String = ".") throws(KubeConfigError) -> KubeConfig {
        let root: Node
        do {
            root = try YAMLReader().parseDocument(bytes, file: file)
        } catch {
            throw KubeConfigError("kubeconfig \(error.description)")
        }
        let where_ = "kubeconfig \(file)"
        func fail(_ node: Node?, _ message: String) -> KubeConfigError {
            if let position = node?.position, position.line > 0 {
                return KubeConfigError("\(where_):\(position.line):\(position.column): \(message)")
            }
            return KubeConfigError("\(where_): \(message)")
        }
        guard case .object = root.value else { throw fail(root, "expected a mapping at the top, found \(root.value.kindDescription)") }

        func string(_ node: Node?, _ key: String) throws(KubeConfigError) -> String? {
            guard let member = node?.objectMember(key) else { return nil }
            switch member.node.value {
            case .string(let text): return text
            case .null: return nil
            case .bool(let flag): return flag ? "true" : "false"
            default: throw fail(member.node, "\(key): expected a string, found \(member.node.value.kindDescription)")
            }
        }
        /// The entry named `name` in the list `listKey` (clusters, users, contexts), as its inner object.
        func named(_ listKey: String, _ inner: String, _ name: String) throws(KubeConfigError) -> Node {
            guard let list = root.objectMember(listKey) else { throw fail(root, "no \(listKey) list (needed for \"\(name)\")") }
            guard case .array(let items) = list.node.value else {
                throw fail(list.node, "\(listKey): expected a list, found \(list.node.value.kindDescription)")
            }
            for item in items where (try? string(item, "name")) == name {
                guard let body = item.objectMember(inner) else { throw fail(item, "\(listKey) entry \"\(name)\" has no \(inner)") }
                return body.node
            }
            throw fail(list.node, "\(listKey): no entry named \"\(name)\"")
        }

        var contextName = wanted
        if contextName == nil { contextName = try string(root, "current-context") }
        guard let contextName, !contextName.isEmpty else {
            throw fail(root, "no current-context and no --context given")
        }
        let context = try named("contexts", "context", contextName)
        guard let clusterName = try string(context, "cluster") else { throw fail(context, "context \"\(contextName)\" names no cluster") }
        let cluster = try named("clusters", "cluster", clusterName)
        var user: Node? = nil
        if let userName = try string(context, "user"), !userName.isEmpty { user = try named("users", "user", userName) }

        guard let server = try string(cluster, "server"), !server.isEmpty else { throw fail(cluster, "cluster \"\(clusterName)\" has no server") }
        guard server.hasPrefix("https://") || server.hasPrefix("http://") else {
            throw fail(cluster.objectMember("server")?.node, "server \"\(server)\" is not an http:// or https:// URL")
        }

        func contents(_ node: Node?, dataKey: String, fileKey: String, what: String) throws(KubeConfigError) -> [UInt8]? {
            if let data = try string(node, dataKey) {
                guard let decoded = Data(base64Encoded: data.filter { !$0.isWhitespace }) else {
                    throw fail(node?.objectMember(dataKey)?.node, "\(dataKey) is not valid base64")
                }
                return [UInt8](decoded)
            }
            if let path = try string(node, fileKey) {
                let full = path.hasPrefix("/") ? path : baseDirectory + "/" + path
                guard let data = FileManager.default.contents(atPath: full) else {
                    throw fail(node?.objectMember(fileKey)?.node, "cannot read the \(what) file \(full)")
                }
                return [UInt8](data)
            }
            return nil
        }

        let ca = try contents(cluster, dataKey: "certificate-authority-data", fileKey: "certificate-authority", what: "certificate authority")
        let cert = try contents(user, dataKey: "client-certificate-data", fileKey: "client-certificate", what: "client certificate")
        let key = try contents(user, dataKey: "client-key-data", fileKey: "client-key", what: "client key")
        if (cert == nil) != (key == nil) {
            throw fail(user, "user has a client certificate without a key, or a key without a certificate")
        }
        if user?.objectMember("exec") != nil || user?.objectMember("auth-provider") != nil, cert == nil,
           try string(user, "token") == nil, try string(user, "tokenFile") == nil {
            throw fail(user, "exec and auth-provider credentials are not supported: use a client certificate or a token")
        }
        var tokenFile = try string(user, "tokenFile")
        if let path = tokenFile, !path.hasPrefix("/") { tokenFile = baseDirectory + "/" + path }
        let insecure = try string(cluster, "insecure-skip-tls-verify") == "true"
        return KubeConfig(server: server, certificateAuthority: ca, clientCertificate: cert, clientKey: key,
                          token: try string(user, "token"), tokenFile: tokenFile, insecureSkipTLSVerify: insecure,
                          namespace: try string(context, "namespace"),
                          source: "kubeconfig \(file) (context \(contextName))")
    }

    // MARK: In-cluster

    /// The service account's configuration inside a pod: KUBERNETES_SERVICE_HOST/PORT and
    /// the mounted token, CA and namespace.
    public static func inCluster(environment: [String: String] = ProcessInfo.processInfo.environment,
                                 accountFolder: String = "/var/run/secrets/kubernetes.io/serviceaccount") throws(KubeConfigError) -> KubeConfig {
        guard let host = environment["KUBERNETES_SERVICE_HOST"], !host.isEmpty,
              let port = environment["KUBERNETES_SERVICE_PORT"], !port.isEmpty else {
            throw KubeConfigError("in-cluster config: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set (not running in a pod?)")
        }
        let tokenPath = accountFolder + "/token"
        guard FileManager.default.isReadableFile(atPath: tokenPath) else {
            throw KubeConfigError("in-cluster config: cannot read the service account token \(tokenPath)")
        }
        guard let ca = FileManager.default.contents(atPath: accountFolder + "/ca.crt") else {
            throw KubeConfigError("in-cluster config: cannot read the cluster CA \(accountFolder)/ca.crt")
        }
        let namespace = FileManager.default.contents(atPath: accountFolder + "/namespace")
            .map { String(decoding: $0, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) }
        let hostPart = host.contains(":") ? "[\(host)]" : host
        return KubeConfig(server: "https://\(hostPart):\(port)", certificateAuthority: [UInt8](ca), tokenFile: tokenPath,
                          namespace: namespace, source: "in-cluster service account")
    }
}
