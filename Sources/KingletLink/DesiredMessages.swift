import KingletCore
import KingletDocument
import KingletPod

/// `desired/pods/<uid>`: one pod the relay wants on this node, checked and decoded.
public struct DesiredPodMessage: Equatable {
    public var uid: String
    public var specHash: UInt64
    /// The pod, with `metadata.uid` set to `uid`.
    public var pod: Pod
    /// The `pod` object as compact JSON: what the cache keeps as the spec.
    public var podJSON: [UInt8]
    /// configMap/secret volume contents: volume name -> files.
    public var files: [VolumeFiles]
    /// The registry credentials of the pod's imagePullSecrets, one per registry.
    public var pullCredentials: [PullCredential]

    public init(uid: String, specHash: UInt64, pod: Pod, podJSON: [UInt8], files: [VolumeFiles] = [],
                pullCredentials: [PullCredential] = []) {
        self.uid = uid
        self.specHash = specHash
        self.pod = pod
        self.podJSON = podJSON
        self.files = files
        self.pullCredentials = pullCredentials
    }
}

/// One registry's credentials from a pod's pull secrets (`pullCredentials` in
/// docs/protocol.md): a registry host as image references name it, and `auth`, the base64
/// of `user:password` (checked, kept as sent).
public struct PullCredential: Equatable {
    public var registry: String
    public var auth: String

    public init(registry: String, auth: String) {
        self.registry = registry
        self.auth = auth
    }
}

/// The files of one configMap or secret volume.
public struct VolumeFiles: Equatable {
    public var volume: String
    /// (path inside the volume, content), in document order.
    public var files: [(path: String, content: [UInt8])]

    public init(volume: String, files: [(path: String, content: [UInt8])]) {
        self.volume = volume
        self.files = files
    }

    public static func == (a: VolumeFiles, b: VolumeFiles) -> Bool {
        a.volume == b.volume && a.files.count == b.files.count
            && zip(a.files, b.files).allSatisfy { $0.path == $1.path && $0.content == $1.content }
    }
}

/// `desired/index`: the complete desired set of the node.
public struct DesiredIndex: Equatable {
    /// uid -> spec hash.
    public var pods: [String: UInt64]
    /// uid -> grace period in seconds, for pods being deleted.
    public var deleting: [String: Int64]
    /// Device uid -> spec hash (absent from the payload: no devices).
    public var devices: [String: UInt64]

    public init(pods: [String: UInt64] = [:], deleting: [String: Int64] = [:], devices: [String: UInt64] = [:]) {
        self.pods = pods
        self.deleting = deleting
        self.devices = devices
    }
}

/// Reads the relay's payloads strictly: a payload either decodes whole or is rejected with
/// its kind; nothing in it can crash or half-apply.
public enum DesiredMessages {
    /// Payloads above this are skipped unread (docs/protocol.md).
    public static let maxPayloadBytes = 256 * 1024
    /// Nesting allowed in a payload (a pod is about 8 deep).
    static let maxDepth = 48

    public static func pod(_ payload: [UInt8], topicUID: String) -> Result<DesiredPodMessage, PayloadRejection> {
        keyedMessage(payload, topicUID: topicUID) { object, uid, hash throws(DocumentError) in
            guard let podField = object.field("pod") else { return .failure(PayloadRejection(.missingField, "pod is missing")) }
            var pod = try PodDecoder.decode(podField.node, file: "desired/pods/" + uid)
            if !pod.metadata.uid.isEmpty && pod.metadata.uid != uid {
                return .failure(PayloadRejection(.invalid, "pod.metadata.uid differs from uid"))
            }
            pod.metadata.uid = uid
            var writer = JSONWriter(capacity: payload.count)
            writer.write(podField.node)
            var files: [VolumeFiles] = []
            if let filesObject = try object.object("files") {
                for member in filesObject.members {
                    if let problem = NameRules.dnsLabelProblem(member.key) {
                        return .failure(PayloadRejection(.invalid, "files: volume " + problem))
                    }
                    let volume = try FieldReader(member.node, path: "files." + member.key).object()
                    var entries: [(path: String, content: [UInt8])] = []
                    for file in volume.members {
                        if let problem = filePathProblem(file.key) {
                            return .failure(PayloadRejection(.invalid, "files.\(member.key): \(problem)"))
                        }
                        let text = try FieldReader(file.node, path: "files." + member.key + "." + file.key).string()
                        guard let content = Base64.decode(text) else {
                            return .failure(PayloadRejection(.invalid, "files.\(member.key).\(file.key) is not base64"))
                        }
                        entries.append((file.key, content))
                    }
                    files.append(VolumeFiles(volume: member.key, files: entries))
                }
            }
            var pullCredentials: [PullCredential] = []
            if let credentials = try object.object("pullCredentials") {
                switch try Self.pullCredentials(credentials) {
                case .success(let decoded): pullCredentials = decoded
                case .failure(let rejection): return .failure(rejection)
                }
            }
            return .success(DesiredPodMessage(uid: uid, specHash: hash, pod: pod, podJSON: writer.bytes, files: files,
                                              pullCredentials: pullCredentials))
        }
    }

    /// `pullCredentials`: registry host -> `{"auth": base64 of user:password}`.
    static func pullCredentials(_ object: ObjectReader) throws(DocumentError) -> Result<[PullCredential], PayloadRejection> {
        var credentials: [PullCredential] = []
        for member in object.members {
            if let problem = registryProblem(member.key) { return .failure(PayloadRejection(.invalid, "pullCredentials: " + problem)) }
            let entry = try FieldReader(member.node, path: "pullCredentials." + member.key).object()
            let auth = try entry.requiredString("auth")
            // Never quoted in a reason: it is a password.
            guard let decoded = Base64.decode(auth), decoded.contains(UInt8(ascii: ":")) else {
                return .failure(PayloadRejection(.invalid, "pullCredentials.\(member.key).auth is not base64 of user:password"))
            }
            credentials.append(PullCredential(registry: member.key, auth: auth))
        }
        return .success(credentials)
    }

    /// A registry as an image reference names it: a host (a name, an IPv4 address or a
    /// bracketed IPv6 one) with an optional port, 1 to 255 bytes; no scheme, path or space.
    static func registryProblem(_ registry: String) -> String? {
        if registry.isEmpty || registry.utf8.count > 255 { return "a registry must be 1 to 255 bytes" }
        for byte in registry.utf8 {
            let ok = (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || ".-_:[]".utf8.contains(byte)
            if !ok { return "registry '\(registry)' is not a host with an optional port" }
        }
        return nil
    }

    /// A message kept under its uid (a pod, a device): the envelope read, its `uid` checked
    /// against the topic's, then `body` on the object; a document error becomes a rejection
    /// (a missing required field, or an invalid payload).
    static func keyedMessage<Message>(
        _ payload: [UInt8], topicUID: String,
        _ body: (ObjectReader, String, UInt64) throws(DocumentError) -> Result<Message, PayloadRejection>
    ) -> Result<Message, PayloadRejection> {
        let object: ObjectReader
        switch envelope(payload) {
        case .success(let value): object = value
        case .failure(let rejection): return .failure(rejection)
        }
        do throws(DocumentError) {
            switch try identity(object, topicUID: topicUID) {
            case .success(let (uid, hash)): return try body(object, uid, hash)
            case .failure(let rejection): return .failure(rejection)
            }
        } catch {
            return .failure(PayloadRejection(error.message == "required field is missing" ? .missingField : .invalid, error.description))
        }
    }

    public static func index(_ payload: [UInt8]) -> Result<DesiredIndex, PayloadRejection> {
        let object: ObjectReader
        switch envelope(payload) {
        case .success(let value): object = value
        case .failure(let rejection): return .failure(rejection)
        }
        do throws(DocumentError) {
            guard let podsObject = try object.object("pods") else { return .failure(PayloadRejection(.missingField, "pods is missing")) }
            var index = DesiredIndex()
            for member in podsObject.members {
                if let problem = uidProblem(member.key) { return .failure(PayloadRejection(.invalid, "pods: " + problem)) }
                guard case .string(let text) = member.node.value, let hash = specHash(text) else {
                    return .failure(PayloadRejection(.invalid, "pods.\(member.key) is not a spec hash"))
                }
                index.pods[member.key] = hash
            }
            if let deleting = try object.object("deleting") {
                for member in deleting.members {
                    if let problem = uidProblem(member.key) { return .failure(PayloadRejection(.invalid, "deleting: " + problem)) }
                    let seconds = try FieldReader(member.node, path: "deleting." + member.key).integer()
                    if seconds < 0 { return .failure(PayloadRejection(.invalid, "deleting.\(member.key) is negative")) }
                    if index.pods[member.key] == nil { index.deleting[member.key] = seconds }
                }
            }
            if let devices = try object.object("devices") {
                for member in devices.members {
                    if let problem = uidProblem(member.key) { return .failure(PayloadRejection(.invalid, "devices: " + problem)) }
                    guard case .string(let text) = member.node.value, let hash = specHash(text) else {
                        return .failure(PayloadRejection(.invalid, "devices.\(member.key) is not a spec hash"))
                    }
                    index.devices[member.key] = hash
                }
            }
            return .success(index)
        } catch {
            return .failure(PayloadRejection(.invalid, error.description))
        }
    }

    /// The `uid` (equal to the topic's, well formed) and `specHash` of a desired message.
    static func identity(_ object: ObjectReader, topicUID: String) throws(DocumentError) -> Result<(String, UInt64), PayloadRejection> {
        guard let uidField = object.field("uid") else { return .failure(PayloadRejection(.missingField, "uid is missing")) }
        let uid = try uidField.string()
        if uid != topicUID { return .failure(PayloadRejection(.invalid, "uid '\(uid)' differs from the topic's '\(topicUID)'")) }
        if let problem = uidProblem(uid) { return .failure(PayloadRejection(.invalid, problem)) }
        guard let hashField = object.field("specHash") else { return .failure(PayloadRejection(.missingField, "specHash is missing")) }
        guard let hash = specHash(try hashField.string()) else {
            return .failure(PayloadRejection(.invalid, "specHash is not 1 to 16 hex digits"))
        }
        return .success((uid, hash))
    }

    /// Size, JSON, an object, `"v": 1`.
    static func envelope(_ payload: [UInt8]) -> Result<ObjectReader, PayloadRejection> {
        if payload.count > maxPayloadBytes {
            return .failure(PayloadRejection(.tooLarge, "\(payload.count) bytes is above the limit of \(maxPayloadBytes)"))
        }
        let root: Node
        do throws(DocumentError) {
            root = try JSONReader(maxDepth: maxDepth).parseDocument(payload)
        } catch {
            return .failure(PayloadRejection(.notJSON, error.description))
        }
        guard case .object = root.value, let object = try? FieldReader(root).object() else {
            return .failure(PayloadRejection(.notJSON, "not a JSON object"))
        }
        guard let version = object.field("v") else { return .failure(PayloadRejection(.missingField, "v is missing")) }
        guard case .integer(let number) = version.node.value, number == 1 else {
            return .failure(PayloadRejection(.wrongVersion, "v is not 1"))
        }
        return .success(object)
    }

    /// 1 to 16 hex digits (the relay writes 16, lower case).
    public static func specHash(_ text: String) -> UInt64? {
        if text.isEmpty || text.utf8.count > 16 { return nil }
        var value: UInt64 = 0
        for byte in text.utf8 {
            let digit: UInt64
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt64(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt64(byte - UInt8(ascii: "a")) + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt64(byte - UInt8(ascii: "A")) + 10
            default: return nil
            }
            value = value << 4 | digit
        }
        return value
    }

    /// A uid the agent can use as a cache key, a folder name and a topic level: 1 to 40 bytes
    /// of letters, digits, '-', '.' and '_', not starting with '.', and not a static pod's.
    public static func uidProblem(_ uid: String) -> String? {
        if uid.isEmpty { return "empty uid" }
        if uid.utf8.count > 40 { return "uid longer than 40 bytes" }
        if uid.hasPrefix("static-") { return "uid '\(uid)' is reserved for static pods" }
        // It names a folder (<state>/pods/<uid>, removed with the pod): "." or ".." would be
        // the pods folder or the state folder itself.
        if uid.hasPrefix(".") { return "uid '\(uid)' starts with '.'" }
        for byte in uid.utf8 {
            let ok = (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".")
                || byte == UInt8(ascii: "_")
            if !ok { return "uid has a character other than letters, digits, '-', '.' and '_'" }
        }
        return nil
    }

    /// A relative path inside a volume: no '..', no empty or absolute parts, no NUL.
    static func filePathProblem(_ path: String) -> String? {
        if path.isEmpty || path.utf8.count > 255 { return "file path must be 1 to 255 bytes" }
        if path.hasPrefix("/") { return "file path '\(path)' is absolute" }
        for part in path.split(separator: "/", omittingEmptySubsequences: false) {
            if part.isEmpty || part == "." || part == ".." { return "file path '\(path)' has an empty, '.' or '..' part" }
        }
        if path.utf8.contains(0) { return "file path has a NUL byte" }
        return nil
    }
}
