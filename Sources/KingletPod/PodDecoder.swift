import KingletDocument

/// Reads a Pod out of a document tree and validates what the agent relies on, the way the
/// API server would reject it, so a bad static pod fails at load time with its position.
public enum PodDecoder {
    public static func decode(_ node: Node, file: String = "") throws(DocumentError) -> Pod {
        let root = try FieldReader(node, file: file).object()
        if let kind = root.field("kind") {
            let text = try kind.string()
            if text != "Pod" { throw kind.error("expected kind Pod, found '\(text)'") }
        }
        if let apiVersion = root.field("apiVersion") {
            let text = try apiVersion.string()
            if text != "v1" { throw apiVersion.error("expected apiVersion v1, found '\(text)'") }
        }
        let metadata = try decodeMetadata(try root.required("metadata").object())
        let spec = try decodeSpec(try root.required("spec").object())
        return Pod(metadata: metadata, spec: spec)
    }

    static func decodeMetadata(_ object: ObjectReader) throws(DocumentError) -> ObjectMeta {
        let nameField = try object.required("name")
        let name = try nameField.string()
        if let problem = NameRules.dnsSubdomainProblem(name) { throw nameField.error(problem) }
        var namespace = "default"
        if let field = object.field("namespace") {
            namespace = try field.string()
            if let problem = NameRules.dnsLabelProblem(namespace) { throw field.error(problem) }
        }
        return ObjectMeta(
            name: name, namespace: namespace,
            uid: try object.string("uid") ?? "",
            resourceVersion: try object.string("resourceVersion") ?? "",
            labels: try object.stringMap("labels"),
            annotations: try object.stringMap("annotations"))
    }

    static func decodeSpec(_ object: ObjectReader) throws(DocumentError) -> PodSpec {
        var restartPolicy = RestartPolicy.always
        if let field = object.field("restartPolicy") {
            let text = try field.string()
            guard let policy = RestartPolicy(rawValue: text) else {
                throw field.error("unsupported restartPolicy '\(text)' (expected Always, OnFailure or Never)")
            }
            restartPolicy = policy
        }
        var grace: Int64 = 30
        if let field = object.field("terminationGracePeriodSeconds") {
            grace = try field.integer()
            if grace < 0 { throw field.error("must be 0 or more") }
        }
        var names: [String] = []
        var initContainers: [Container] = []
        for item in try object.array("initContainers") {
            initContainers.append(try ContainerDecoder.decode(item, takenNames: &names))
        }
        let containerItems = try object.array("containers")
        if containerItems.isEmpty {
            let field = object.field("containers")
            throw field?.error("must have at least one container")
                ?? DocumentError(file: object.reader.file, position: object.reader.node.position,
                                 path: object.reader.path.isEmpty ? "containers" : object.reader.path + ".containers",
                                 message: "required field is missing")
        }
        var containers: [Container] = []
        for item in containerItems {
            containers.append(try ContainerDecoder.decode(item, takenNames: &names))
        }
        return PodSpec(
            initContainers: initContainers, containers: containers, restartPolicy: restartPolicy,
            terminationGracePeriodSeconds: grace, nodeName: try object.string("nodeName") ?? "",
            hostNetwork: try object.bool("hostNetwork") ?? false)
    }
}

/// Kubernetes object-name rules (RFC 1123 labels and subdomains).
public enum NameRules {
    /// Lower-case alphanumerics and '-', starting and ending alphanumeric, at most 63.
    public static func dnsLabelProblem(_ name: String) -> String? {
        if name.isEmpty { return "must not be empty" }
        if name.utf8.count > 63 { return "'\(name)' is longer than 63 characters" }
        return labelCharactersProblem(name, allowDots: false)
    }

    /// Labels joined by '.', at most 253.
    public static func dnsSubdomainProblem(_ name: String) -> String? {
        if name.isEmpty { return "must not be empty" }
        if name.utf8.count > 253 { return "'\(name)' is longer than 253 characters" }
        return labelCharactersProblem(name, allowDots: true)
    }

    private static func labelCharactersProblem(_ name: String, allowDots: Bool) -> String? {
        let bytes = Array(name.utf8)
        func alphanumeric(_ byte: UInt8) -> Bool {
            (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
        }
        for (index, byte) in bytes.enumerated() {
            let edge = index == 0 || index == bytes.count - 1
            let separator = byte == UInt8(ascii: "-") || (allowDots && byte == UInt8(ascii: "."))
            if alphanumeric(byte) { continue }
            if separator && !edge { continue }
            let what = allowDots ? "lower-case letters, digits, '-' and '.'" : "lower-case letters, digits and '-'"
            return "'\(name)' is not a valid name: use \(what), starting and ending with a letter or digit"
        }
        return nil
    }
}
