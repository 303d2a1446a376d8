import KingletCore
import KingletConfig

/// Finds a container's log file from what a user types: the pod's name as in `kinglet
/// status` (or a static pod's manifest name, without the node suffix), its namespace, and
/// the container when the pod has several.
enum ContainerLogLocator {
    static func find(options: LogsOptions, config: AgentConfig) -> Result<String, LocatorProblem> {
        let folders = FolderListing.folders(in: config.paths.logs) ?? []
        var match: String? = nil
        for name in [options.pod, options.pod + "-" + config.nodeName] {
            let prefix = options.namespace + "_" + name + "_"
            // "<namespace>_<name>_<uid>": the uid never contains '_', so the prefix is exact.
            for folder in folders where folder.hasPrefix(prefix) && !folder.dropFirst(prefix.count).contains("_") {
                match = folder
            }
            if match != nil { break }
        }
        guard let folder = match else {
            return .failure(LocatorProblem("no logs for pod \(options.namespace)/\(options.pod) in \(config.paths.logs)"))
        }
        let path = config.paths.logs + "/" + folder
        let containers = logFiles(in: path)
        if let container = options.container {
            guard containers.contains(container) else {
                return .failure(LocatorProblem("pod \(options.pod) has no container '\(container)' (has: \(containers.joined(separator: ", ")))"))
            }
            return .success(path + "/" + container + ".log")
        }
        guard containers.count == 1, let only = containers.first else {
            return .failure(LocatorProblem("pod \(options.pod) has several containers, choose one with -c: \(containers.joined(separator: ", "))"))
        }
        return .success(path + "/" + only + ".log")
    }

    /// Container names: `<name>.log` files (rotated `.log.N` files are skipped).
    private static func logFiles(in folder: String) -> [String] {
        var names: [String] = []
        for name in FolderListing.files(in: folder) ?? [] where name.hasSuffix(".log") { names.append(String(name.dropLast(4))) }
        return names
    }
}

struct LocatorProblem: Error {
    let message: String
    init(_ message: String) { self.message = message }
}
