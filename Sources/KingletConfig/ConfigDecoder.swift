import KingletCore
import KingletDocument
import KingletPod

/// Reads an `AgentConfig` from a parsed YAML document.
public enum ConfigDecoder {
    /// - Parameters:
    ///   - file: the config file's path, for errors and for resolving relative paths.
    ///   - defaultNodeName: used when the file names no node (the host name).
    public static func decode(_ node: Node, file: String, defaultNodeName: String) throws(DocumentError) -> AgentConfig {
        let root = FieldReader(node, file: file)
        if root.isNull { return AgentConfig(nodeName: defaultNodeName) }
        let object = try root.object()
        try rejectUnknown(object, allowed: ["node", "paths", "runtime", "cloud", "devices", "images"])
        let folder = FolderListing.parentFolder(of: file)
        var config = AgentConfig(nodeName: defaultNodeName)

        if let nodeSection = try object.object("node") {
            try rejectUnknown(nodeSection, allowed: ["name", "labels"])
            if let nameField = nodeSection.field("name") {
                let name = try nameField.string()
                if let problem = NameRules.dnsSubdomainProblem(name) { throw nameField.error(problem) }
                config.nodeName = name
            }
            config.nodeLabels = try nodeSection.stringMap("labels")
        }
        if let paths = try object.object("paths") {
            try rejectUnknown(paths, allowed: ["cacheFile", "staticPods", "logs", "apps", "socket", "images"])
            config.paths.cacheFile = try path(paths, "cacheFile", folder) ?? config.paths.cacheFile
            config.paths.staticPods = try path(paths, "staticPods", folder) ?? config.paths.staticPods
            config.paths.logs = try path(paths, "logs", folder) ?? config.paths.logs
            config.paths.apps = try path(paths, "apps", folder) ?? config.paths.apps
            config.paths.socket = try path(paths, "socket", folder) ?? config.paths.socket
            config.paths.images = try path(paths, "images", folder) ?? config.paths.images
        }
        if let runtime = try object.object("runtime") {
            try rejectUnknown(runtime, allowed: ["cgroupRoot", "logMaxBytes", "logMaxFiles", "oci", "containersOutliveAgent"])
            if let field = runtime.field("containersOutliveAgent") {
                config.runtime.containersOutliveAgent = try field.bool()
            }
            if let field = runtime.field("oci") {
                let oci = try field.string()
                if oci.isEmpty { throw field.error("must name an OCI runtime: runc, crun or a path") }
                config.runtime.oci = oci
            }
            config.runtime.cgroupRoot = try path(runtime, "cgroupRoot", folder) ?? config.runtime.cgroupRoot
            if let field = runtime.field("logMaxBytes") {
                config.runtime.logMaxBytes = try ContainerSizes.bytes(field)
                if config.runtime.logMaxBytes < 4096 { throw field.error("must be at least 4Ki") }
            }
            if let field = runtime.field("logMaxFiles") {
                config.runtime.logMaxFiles = try field.integer()
                // Rotation renames every kept file on the loop: keep that short.
                if config.runtime.logMaxFiles < 1 || config.runtime.logMaxFiles > 100 { throw field.error("must be between 1 and 100") }
            }
        }
        if let cloud = try object.object("cloud") {
            try rejectUnknown(cloud, allowed: ["broker", "caFile", "certFile", "keyFile"])
            let broker = try cloud.requiredString("broker")
            let address: BrokerAddress
            switch BrokerAddress.parse(broker) {
            case .success(let value): address = value
            case .failure(let error): throw try cloud.required("broker").error(error.message)
            }
            var settings = CloudSettings(
                broker: broker,
                caFile: try path(cloud, "caFile", folder) ?? "",
                certFile: try path(cloud, "certFile", folder) ?? "",
                keyFile: try path(cloud, "keyFile", folder) ?? "")
            settings.address = address
            if address.useTLS {
                // mTLS needs all three: the broker's CA, and this node's certificate and key.
                for key in ["caFile", "certFile", "keyFile"] where cloud.field(key) == nil {
                    throw DocumentError(file: file, position: cloud.reader.node.position, path: "cloud." + key,
                                        message: "required for an mqtts:// broker")
                }
            }
            config.cloud = settings
        }
        if let images = try object.object("images") {
            try rejectUnknown(images, allowed: ["insecureRegistries", "credentialsFile", "platform",
                                                "gcHighThresholdPercent", "gcLowThresholdPercent", "gcPeriodSeconds"])
            config.images.insecureRegistries = try images.stringList("insecureRegistries")
            config.images.credentialsFile = try path(images, "credentialsFile", folder) ?? config.images.credentialsFile
            if let field = images.field("platform") {
                let platform = try field.string()
                let parts = platform.split(separator: "/", omittingEmptySubsequences: false)
                guard (2...3).contains(parts.count), parts.allSatisfy({ !$0.isEmpty }) else {
                    throw field.error("expected os/architecture[/variant], e.g. linux/arm/v7")
                }
                config.images.platform = platform
            }
            for (key, lowest) in [("gcHighThresholdPercent", Int64(1)), ("gcLowThresholdPercent", Int64(0))] {
                guard let field = images.field(key) else { continue }
                let value = try field.integer()
                if value < lowest || value > 100 { throw field.error("must be between \(lowest) and 100") }
                if key == "gcHighThresholdPercent" { config.images.gcHighThresholdPercent = value } else { config.images.gcLowThresholdPercent = value }
            }
            if let field = images.field("gcPeriodSeconds") {
                let value = try field.integer()
                if value < 1 || value > 86_400 { throw field.error("must be between 1 and 86400") }
                config.images.gcPeriodSeconds = value
            }
            if config.images.gcLowThresholdPercent >= config.images.gcHighThresholdPercent {
                throw DocumentError(file: file, position: images.reader.node.position, path: "images.gcLowThresholdPercent",
                                    message: "must be below gcHighThresholdPercent (\(config.images.gcHighThresholdPercent))")
            }
        }
        if let devices = object.field("devices") {
            config.devices = try ConfigDevices.decode(devices, file: file)
        }
        return config
    }

    static func rejectUnknown(_ object: ObjectReader, allowed: [String]) throws(DocumentError) {
        for member in object.members where !allowed.contains(member.key) {
            let expected = allowed.joined(separator: ", ")
            let path = object.reader.path.isEmpty ? member.key : object.reader.path + "." + member.key
            throw DocumentError(file: object.reader.file, position: member.keyPosition, path: path,
                                message: "unknown field '\(member.key)' (expected one of: \(expected))")
        }
    }

    static func path(_ object: ObjectReader, _ key: String, _ folder: String) throws(DocumentError) -> String? {
        guard let field = object.field(key) else { return nil }
        let text = try field.string()
        if text.isEmpty { throw field.error("must not be empty") }
        if text.hasPrefix("/") || folder.isEmpty { return text }
        return folder + "/" + text
    }
}

/// Byte sizes in config: a number, or a quantity like "10Mi".
enum ContainerSizes {
    static func bytes(_ field: FieldReader) throws(DocumentError) -> Int64 {
        switch field.node.value {
        case .integer(let value): return value
        case .string(let text):
            switch Quantity.parse(text, as: .units) {
            case .success(let value): return value
            case .failure(let error): throw field.error(error.message)
            }
        default: throw field.mismatch("a size such as 10Mi")
        }
    }
}
