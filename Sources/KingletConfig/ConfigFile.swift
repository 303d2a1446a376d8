import CKingletSystem
import KingletDocument

/// Reads the agent's config file.
public enum ConfigFile {
    public static func load(_ path: String, defaultNodeName: String) throws(DocumentError) -> AgentConfig {
        let bytes = try LocalFiles.read(path)
        let documents = try YAMLReader().parseDocuments(bytes, file: path)
        if documents.count > 1 {
            throw DocumentError(file: path, position: documents[1].position, message: "expected one YAML document, found \(documents.count)")
        }
        guard let document = documents.first else { return AgentConfig(nodeName: defaultNodeName) }
        return try ConfigDecoder.decode(document, file: path, defaultNodeName: defaultNodeName)
    }

    /// The host name, lower-cased, as the kubelet names its Node by default.
    public static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        let name = buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        return name.isEmpty ? "localhost" : name.lowercased()
    }
}
