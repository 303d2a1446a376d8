import Foundation
import KingletKube

/// The registry credentials of a pod's `imagePullSecrets`, for the desired message's
/// `pullCredentials` (docs/protocol.md). The kubelet reads two Secret types:
/// `kubernetes.io/dockerconfigjson` (`.dockerconfigjson`: a docker `config.json`, entries
/// under `auths`) and `kubernetes.io/dockercfg` (`.dockercfg`: the older `~/.dockercfg`,
/// the same entries without the `auths` wrapper). It pulls without a secret it cannot
/// find, with a warning Event; so does the relay, for a secret it cannot use as well: a
/// pull secret never holds a pod back.
enum PullSecrets {
    static let dockerConfigJSONType = "kubernetes.io/dockerconfigjson"
    static let dockerCfgType = "kubernetes.io/dockercfg"

    struct Resolved: Equatable {
        /// Registry host -> `{"auth": base64 of user:password}`.
        var credentials: [String: JSONValue] = [:]
        /// The kubelet's warnings about the secrets left out (pod-level Events).
        var warnings: [DerivedEvent] = []
    }

    /// The names a pod spec lists, in its order, without empty names (the API once let
    /// them through; the kubelet skips them without a word) or repeats.
    static func names(in spec: [String: JSONValue]) -> [String] {
        var names: [String] = []
        for entry in spec["imagePullSecrets"]?.arrayValue ?? [] {
            guard let name = entry["name"]?.stringValue, !name.isEmpty, !names.contains(name) else { continue }
            names.append(name)
        }
        return names
    }

    /// Merges the secrets in the order the pod lists them: for a registry named by several,
    /// the first wins (the kubelet tries them in that order and keeps the first that works;
    /// the board gets one set per registry).
    static func resolve(_ names: [String], secret: (String) -> JSONValue?) -> Resolved {
        var resolved = Resolved()
        var missing: [String] = []
        for name in names {
            guard let object = secret(name) else {
                missing.append(name)
                continue
            }
            switch entries(of: object) {
            case .success(let entries):
                for (registry, auth) in entries where resolved.credentials[registry] == nil {
                    resolved.credentials[registry] = ["auth": .string(auth)]
                }
            case .failure(let problem):
                resolved.warnings.append(DerivedEvent(
                    reason: "InvalidImagePullSecret",
                    message: "Image pull secret \"\(name)\" cannot be used: \(problem.message); attempting to pull the image without it may not succeed.",
                    type: "Warning", container: ""))
            }
        }
        if !missing.isEmpty {
            // The kubelet's own event (kubelet_pods.go, getPullSecretsForPod).
            resolved.warnings.insert(DerivedEvent(
                reason: "FailedToRetrieveImagePullSecret",
                message: "Unable to retrieve some image pull secrets (\(missing.joined(separator: ", "))); attempting to pull the image may not succeed.",
                type: "Warning", container: ""), at: 0)
        }
        return resolved
    }

    /// (registry host, base64 of `user:password`) for each usable entry of one Secret,
    /// sorted by its key. Skipped: an entry with neither `auth` nor `username` (an identity
    /// token, a credential helper's), and one whose key names no single registry (the
    /// kubelet's `*.example.com` patterns), which the board, matching registries exactly,
    /// could not use and would reject the message for. An `auth` that is not base64 of
    /// `user:password` makes the whole Secret unusable, as it fails the kubelet's decoding.
    static func entries(of secret: JSONValue) -> Result<[(String, String)], ConfigProblem> {
        let type = secret["type"]?.stringValue ?? ""
        let key: String
        switch type {
        case dockerConfigJSONType: key = ".dockerconfigjson"
        case dockerCfgType: key = ".dockercfg"
        default:
            return .failure(ConfigProblem(message: "its type is \(type.isEmpty ? "Opaque" : type), not \(dockerConfigJSONType) or \(dockerCfgType)"))
        }
        guard let text = secret[path: "data", key]?.stringValue, let bytes = Data(base64Encoded: text), !bytes.isEmpty else {
            return .failure(ConfigProblem(message: "it has no \(key)"))
        }
        guard let document = try? JSONValue.parse(Array(bytes)) else {
            return .failure(ConfigProblem(message: "its \(key) is not JSON"))
        }
        let auths = type == dockerConfigJSONType ? document["auths"] : document
        guard let auths, let members = auths.objectValue else {
            return .failure(ConfigProblem(message: "its \(key) has no \(type == dockerConfigJSONType ? "auths object" : "object of registries")"))
        }
        var entries: [(String, String)] = []
        for registryKey in members.keys.sorted() {
            let entry = members[registryKey] ?? .null
            let registry = host(of: registryKey)
            guard isRegistry(registry) else { continue }
            if let auth = entry["auth"]?.stringValue, !auth.isEmpty {
                guard let decoded = Data(base64Encoded: auth), decoded.contains(UInt8(ascii: ":")) else {
                    return .failure(ConfigProblem(message: "the auth of \(registryKey) in its \(key) is not base64 of user:password"))
                }
                entries.append((registry, decoded.base64EncodedString()))
            } else if let username = entry["username"]?.stringValue {
                let password = entry["password"]?.stringValue ?? ""
                entries.append((registry, Data("\(username):\(password)".utf8).base64EncodedString()))
            }
        }
        return .success(entries)
    }

    /// What the board takes as a registry (docs/protocol.md, `pullCredentials`): 1 to 255
    /// bytes of letters, digits, `.`, `-`, `_`, `:`, `[` and `]`.
    static func isRegistry(_ host: String) -> Bool {
        !host.isEmpty && host.utf8.count <= 255
            && host.unicodeScalars.allSatisfy { $0.isASCII && (CharacterSet.alphanumerics.contains($0) || ".-_:[]".unicodeScalars.contains($0)) }
    }

    /// The registry a docker config key names, as the agent matches it against an image's
    /// registry: scheme and path dropped, Docker Hub's aliases as `docker.io`
    /// (`https://index.docker.io/v1/` -> `docker.io`).
    static func host(of key: String) -> String {
        var text = Substring(key)
        for scheme in ["https://", "http://"] where text.hasPrefix(scheme) { text = text.dropFirst(scheme.count) }
        let host = text.prefix { $0 != "/" }
        return ["index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"].contains(host) ? "docker.io" : String(host)
    }
}
