import Foundation
import KingletKube

/// One pod as the agent receives it on `desired/pods/<uid>`, ready to publish.
public struct DesiredPod: Sendable, Equatable {
    public var uid: String
    public var specHash: String
    /// The compact JSON message, keys sorted: the same pod always gives the same bytes.
    public var payload: [UInt8]
    /// Pod-level warning Events about pull secrets it was sent without (missing or unusable).
    public var warnings: [DerivedEvent] = []
}

/// Why a pod cannot be sent yet: a missing non-optional ConfigMap, Secret or key. The
/// message is the kubelet's wording, shown as the containers' waiting message.
public struct ConfigProblem: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(message: String) { self.message = message }
    public var description: String { message }
}

/// What the builder reads ConfigMaps and Secrets from ("namespace/name" -> object).
public struct ConfigSources: Sendable {
    public var configMap: @Sendable (String, String) -> JSONValue?
    public var secret: @Sendable (String, String) -> JSONValue?

    public init(configMap: @escaping @Sendable (String, String) -> JSONValue?,
                secret: @escaping @Sendable (String, String) -> JSONValue?) {
        self.configMap = configMap
        self.secret = secret
    }
}

/// Turns an API Pod into the agent's desired message (docs/protocol.md, "desired/pods"):
/// every API reference resolved, scheduling-only fields dropped, files for configMap and
/// secret volumes, the registry credentials of its pull secrets, and the spec hash.
public enum DesiredPodBuilder {
    /// Spec fields that only the scheduler and the API use. They are left out so that,
    /// e.g., the relay adding tolerations to a running pod does not change its hash.
    static let schedulingOnlyFields: Set<String> = [
        "tolerations", "affinity", "schedulerName", "priority", "priorityClassName", "preemptionPolicy",
        "topologySpreadConstraints", "schedulingGates", "nodeSelector", "enableServiceLinks", "readinessGates",
        "overhead", "runtimeClassName", "resourceClaims",
    ]

    public static func build(pod: JSONValue, sources: ConfigSources) -> Result<DesiredPod, ConfigProblem> {
        let namespace = pod.namespace ?? "default"
        let uid = pod.uid ?? ""
        guard var spec = pod["spec"]?.objectValue else { return .failure(ConfigProblem(message: "pod has no spec")) }
        for field in schedulingOnlyFields { spec.removeValue(forKey: field) }
        var resolver = Resolver(namespace: namespace, sources: sources)
        do {
            for key in ["initContainers", "containers"] {
                guard let containers = spec[key]?.arrayValue else { continue }
                spec[key] = .array(try containers.map { try resolver.resolveContainer($0) })
            }
            let files = try resolver.volumeFiles(spec["volumes"]?.arrayValue ?? [])
            let metadata: JSONValue = [
                "name": .string(pod.name ?? ""), "namespace": .string(namespace), "uid": .string(uid),
                "labels": pod[path: "metadata", "labels"] ?? [:], "annotations": pod[path: "metadata", "annotations"] ?? [:],
            ]
            let pull = PullSecrets.resolve(PullSecrets.names(in: spec)) { resolver.object(.secret, $0) }
            let specValue = JSONValue.object(spec)
            var hashed: JSONValue = ["pod": ["spec": specValue], "files": files]
            // Only when there are some: a pod without pull credentials keeps the hash and
            // bytes it had before the field existed (a relay upgrade restarts nothing).
            if !pull.credentials.isEmpty { hashed["pullCredentials"] = .object(pull.credentials) }
            let hash = FNV1a64.hex(FNV1a64.hash(hashed.compactBytes))
            var message: JSONValue = [
                "v": 1, "uid": .string(uid), "specHash": .string(hash),
                "pod": ["apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": specValue],
                "files": files,
            ]
            if !pull.credentials.isEmpty { message["pullCredentials"] = .object(pull.credentials) }
            return .success(DesiredPod(uid: uid, specHash: hash, payload: message.compactBytes, warnings: pull.warnings))
        } catch let problem as ConfigProblem {
            return .failure(problem)
        } catch {
            return .failure(ConfigProblem(message: "\(error)"))
        }
    }

    /// The names of the ConfigMaps and Secrets a pod refers to, pull secrets included (to
    /// know which pods a ConfigMap or Secret change concerns).
    public static func references(of pod: JSONValue) -> (configMaps: Set<String>, secrets: Set<String>) {
        var configMaps: Set<String> = []
        var secrets: Set<String> = []
        let spec = pod["spec"] ?? .null
        secrets.formUnion(PullSecrets.names(in: spec.objectValue ?? [:]))
        for key in ["initContainers", "containers"] {
            for container in spec[key]?.arrayValue ?? [] {
                for entry in container["envFrom"]?.arrayValue ?? [] {
                    if let name = entry[path: "configMapRef", "name"]?.stringValue { configMaps.insert(name) }
                    if let name = entry[path: "secretRef", "name"]?.stringValue { secrets.insert(name) }
                }
                for entry in container["env"]?.arrayValue ?? [] {
                    if let name = entry[path: "valueFrom", "configMapKeyRef", "name"]?.stringValue { configMaps.insert(name) }
                    if let name = entry[path: "valueFrom", "secretKeyRef", "name"]?.stringValue { secrets.insert(name) }
                }
            }
        }
        for volume in spec["volumes"]?.arrayValue ?? [] {
            if let name = volume[path: "configMap", "name"]?.stringValue { configMaps.insert(name) }
            if let name = volume[path: "secret", "secretName"]?.stringValue { secrets.insert(name) }
            for source in volume[path: "projected", "sources"]?.arrayValue ?? [] {
                if let name = source[path: "configMap", "name"]?.stringValue { configMaps.insert(name) }
                if let name = source[path: "secret", "name"]?.stringValue { secrets.insert(name) }
            }
        }
        return (configMaps, secrets)
    }
}

/// Looks references up in one namespace.
struct Resolver {
    let namespace: String
    let sources: ConfigSources

    init(namespace: String, sources: ConfigSources) {
        self.namespace = namespace
        self.sources = sources
    }

    enum Kind { case configMap, secret }

    func object(_ kind: Kind, _ name: String) -> JSONValue? {
        kind == .configMap ? sources.configMap(namespace, name) : sources.secret(namespace, name)
    }

    func missingObject(_ kind: Kind, _ name: String) -> ConfigProblem {
        ConfigProblem(message: kind == .configMap ? "configmap \"\(name)\" not found" : "secret \"\(name)\" not found")
    }

    func missingKey(_ kind: Kind, _ name: String, _ key: String) -> ConfigProblem {
        ConfigProblem(message: "couldn't find key \(key) in \(kind == .configMap ? "ConfigMap" : "Secret") \(namespace)/\(name)")
    }

    /// Every key of a ConfigMap or Secret as text (Secret data and ConfigMap binaryData are base64).
    func textEntries(_ kind: Kind, _ object: JSONValue) -> [(String, String)] {
        var entries: [(String, String)] = []
        for (key, value) in object["data"]?.objectValue ?? [:] {
            guard let text = value.stringValue else { continue }
            if kind == .secret {
                entries.append((key, Data(base64Encoded: text).map { String(decoding: $0, as: UTF8.self) } ?? ""))
            } else {
                entries.append((key, text))
            }
        }
        if kind == .configMap {
            for (key, value) in object["binaryData"]?.objectValue ?? [:] {
                guard let text = value.stringValue else { continue }
                entries.append((key, Data(base64Encoded: text).map { String(decoding: $0, as: UTF8.self) } ?? ""))
            }
        }
        return entries.sorted { $0.0 < $1.0 }
    }

    /// Every key as base64 content, for files.
    func base64Entries(_ kind: Kind, _ object: JSONValue) -> [String: String] {
        var entries: [String: String] = [:]
        for (key, value) in object["data"]?.objectValue ?? [:] {
            guard let text = value.stringValue else { continue }
            entries[key] = kind == .secret ? text : Data(text.utf8).base64EncodedString()
        }
        if kind == .configMap {
            for (key, value) in object["binaryData"]?.objectValue ?? [:] {
                if let text = value.stringValue { entries[key] = text }
            }
        }
        return entries
    }

    mutating func resolveContainer(_ container: JSONValue) throws -> JSONValue {
        guard var fields = container.objectValue else { return container }
        var env: [JSONValue] = []
        for entry in fields["envFrom"]?.arrayValue ?? [] {
            let prefix = entry["prefix"]?.stringValue ?? ""
            let (kind, reference): (Kind, JSONValue?) = entry["configMapRef"] != nil
                ? (.configMap, entry["configMapRef"]) : (.secret, entry["secretRef"])
            guard let reference, let name = reference["name"]?.stringValue else { continue }
            guard let object = object(kind, name) else {
                if reference["optional"]?.boolValue == true { continue }
                throw missingObject(kind, name)
            }
            for (key, value) in textEntries(kind, object) {
                env.append(["name": .string(prefix + key), "value": .string(value)])
            }
        }
        for entry in fields["env"]?.arrayValue ?? [] {
            guard let valueFrom = entry["valueFrom"],
                  let (kind, reference) = (valueFrom["configMapKeyRef"].map { (Kind.configMap, $0) }
                                           ?? valueFrom["secretKeyRef"].map { (Kind.secret, $0) }) else {
                env.append(entry) // a literal value, or fieldRef/resourceFieldRef that the agent resolves
                continue
            }
            let name = reference["name"]?.stringValue ?? ""
            let key = reference["key"]?.stringValue ?? ""
            let optional = reference["optional"]?.boolValue == true
            guard let object = object(kind, name) else {
                if optional { continue }
                throw missingObject(kind, name)
            }
            guard let value = textEntries(kind, object).first(where: { $0.0 == key })?.1 else {
                if optional { continue }
                throw missingKey(kind, name, key)
            }
            env.append(["name": entry["name"] ?? "", "value": .string(value)])
        }
        fields.removeValue(forKey: "envFrom")
        if env.isEmpty { fields.removeValue(forKey: "env") } else { fields["env"] = .array(env) }
        return .object(fields)
    }

    /// volume name -> (path -> base64) for configMap, secret and projected volumes.
    func volumeFiles(_ volumes: [JSONValue]) throws -> JSONValue {
        var files: [String: JSONValue] = [:]
        for volume in volumes {
            guard let volumeName = volume["name"]?.stringValue else { continue }
            var contents: [String: JSONValue] = [:]
            var found = false
            if let source = volume["configMap"] {
                found = true
                try add(.configMap, name: source["name"]?.stringValue ?? "", source: source, into: &contents)
            } else if let source = volume["secret"] {
                found = true
                try add(.secret, name: source["secretName"]?.stringValue ?? "", source: source, into: &contents)
            } else if let sources = volume[path: "projected", "sources"]?.arrayValue {
                for source in sources {
                    if let configMap = source["configMap"] {
                        found = true
                        try add(.configMap, name: configMap["name"]?.stringValue ?? "", source: configMap, into: &contents)
                    } else if let secret = source["secret"] {
                        found = true
                        try add(.secret, name: secret["name"]?.stringValue ?? "", source: secret, into: &contents)
                    }
                }
            }
            if found { files[volumeName] = .object(contents) }
        }
        return .object(files)
    }

    func add(_ kind: Kind, name: String, source: JSONValue, into contents: inout [String: JSONValue]) throws {
        let optional = source["optional"]?.boolValue == true
        guard let object = object(kind, name) else {
            if optional { return }
            throw missingObject(kind, name)
        }
        let entries = base64Entries(kind, object)
        if let items = source["items"]?.arrayValue {
            for item in items {
                let key = item["key"]?.stringValue ?? ""
                guard let content = entries[key] else {
                    if optional { continue }
                    throw missingKey(kind, name, key)
                }
                contents[item["path"]?.stringValue ?? key] = .string(content)
            }
        } else {
            for (key, content) in entries { contents[key] = .string(content) }
        }
    }
}

/// The index message for one node (docs/protocol.md, "desired/index").
public enum DesiredIndex {
    /// `devices` is written only when the node has some: the index of a node without
    /// devices stays byte for byte what it was before devices existed, so upgrading the
    /// relay republishes no index (an absent map lists no device, as an empty one).
    public static func payload(pods: [String: String], deleting: [String: Int64], devices: [String: String] = [:]) -> [UInt8] {
        var message: JSONValue = [
            "v": 1,
            "pods": .object(pods.mapValues { .string($0) }),
            "deleting": .object(deleting.mapValues { .int($0) }),
        ]
        if !devices.isEmpty { message["devices"] = .object(devices.mapValues { .string($0) }) }
        return message.compactBytes
    }

    /// The uid -> hash map of devices in a retained index payload (empty when it has none).
    public static func devices(in payload: [UInt8]?) -> [String: String] {
        guard let payload, let value = try? JSONValue.parse(payload), let devices = value["devices"]?.objectValue else { return [:] }
        return devices.compactMapValues { $0.stringValue }
    }

    /// The uid -> hash map of a retained index payload (nil when it is not one).
    public static func pods(in payload: [UInt8]) -> [String: String]? {
        guard let value = try? JSONValue.parse(payload), let pods = value["pods"]?.objectValue else { return nil }
        return pods.compactMapValues { $0.stringValue }
    }
}
