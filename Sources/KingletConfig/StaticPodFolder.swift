import KingletCore
import KingletDocument
import KingletPod

/// A pod read from a static manifest, with what the cache and reconciliation need.
public struct StaticPod: Equatable {
    public var pod: Pod
    /// The manifest as compact JSON: what the cache stores as the spec "as received".
    public var specJSON: [UInt8]
    /// FNV-1a 64 of `specJSON`: an unchanged manifest keeps its running pod.
    public var specHash: UInt64
    public var file: String
}

/// The static pod folder, like the kubelet's staticPodPath: every *.yaml, *.yml and *.json
/// file, multi-document YAML allowed. Loading is all-or-nothing: one bad manifest fails
/// the whole load with its position, so a reload never half-applies.
public enum StaticPodFolder {
    public static func load(_ folder: String, nodeName: String) throws(DocumentError) -> [StaticPod] {
        guard let names = try LocalFiles.files(in: folder) else { return [] }
        var pods: [StaticPod] = []
        for name in names {
            let isYAML = name.hasSuffix(".yaml") || name.hasSuffix(".yml")
            guard isYAML || name.hasSuffix(".json") else { continue }
            let path = folder + "/" + name
            let bytes = try LocalFiles.read(path)
            let documents = isYAML ? try YAMLReader().parseDocuments(bytes, file: path)
                                   : [try JSONReader().parseDocument(bytes, file: path)]
            for document in documents {
                let pod = try staticPod(from: document, file: path, nodeName: nodeName)
                for other in pods where other.pod.fullName == pod.pod.fullName {
                    throw DocumentError(file: path, position: document.position, path: "metadata.name",
                                        message: "pod \(pod.pod.fullName) is also defined in \(other.file)")
                }
                pods.append(pod)
            }
        }
        return pods
    }

    /// A static pod as the kubelet publishes it: named `<name>-<node>`, bound to this node,
    /// with a uid stable across edits (so an edit restarts the pod instead of replacing it).
    static func staticPod(from document: Node, file: String, nodeName: String) throws(DocumentError) -> StaticPod {
        var pod = try PodDecoder.decode(document, file: file)
        pod.metadata.name += "-" + nodeName
        if pod.spec.nodeName.isEmpty { pod.spec.nodeName = nodeName }
        var writer = JSONWriter()
        writer.write(document)
        let specJSON = writer.bytes
        let hash = FNV1a.hash(specJSON)
        pod.metadata.uid = "static-" + FNV1a.hex(FNV1a.hash(Array(("static/" + pod.fullName).utf8)))
        pod.metadata.annotations.append(("kubernetes.io/config.source", "file"))
        pod.metadata.annotations.append(("kubernetes.io/config.hash", FNV1a.hex(hash)))
        return StaticPod(pod: pod, specJSON: specJSON, specHash: hash, file: file)
    }
}
