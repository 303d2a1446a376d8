/// KingletPodManager: runs the pods bound to this node (kubelet's pod workers): starts
/// init containers in order and then the app containers, restarts them by restart policy
/// with CrashLoopBackOff, runs their probes, stops them gracefully, and keeps each pod's
/// Kubernetes status current. Desired pods are reconciled by spec hash, so an unchanged
/// pod is never restarted. All on the agent's event loop.
import KingletPod
import KingletRuntime

/// Where things live and what the node is, for turning a container spec into a launch.
public struct LaunchContext {
    public var nodeName: String
    public var hostIP: String
    /// `image` names resolve under this folder (see `LaunchPlanner`).
    public var appsFolder: String
    public var logsFolder: String
    public var logLimits: LogLimits
    /// Added to every container's environment after its own entries (the agent's owner
    /// tag, which lets a restarted agent find its predecessor's leftover processes).
    public var extraEnvironment: [EnvironmentVariable] = []
    /// Registry images (with an OCI runtime); nil keeps every `image` with the exec runtime.
    public var images: (any ContainerImages)? = nil
    /// ConfigMap and Secret keys, once the relay sends them: (kind, name, key) -> value.
    public var lookupReference: (ReferenceKind, String, String) -> String?
    /// Containers outlive the agent (the keeper): a pod whose containers had all ended for
    /// good before the agent stopped stays ended. Without it the agent stops its pods
    /// itself, and starts them all again at its next start, as it always did.
    public var containersOutliveAgent = false

    public init(nodeName: String, hostIP: String = "127.0.0.1", appsFolder: String, logsFolder: String,
                logLimits: LogLimits = LogLimits(),
                lookupReference: @escaping (ReferenceKind, String, String) -> String? = { _, _, _ in nil }) {
        self.nodeName = nodeName
        self.hostIP = hostIP
        self.appsFolder = appsFolder
        self.logsFolder = logsFolder
        self.logLimits = logLimits
        self.lookupReference = lookupReference
    }
}

public enum ReferenceKind: Equatable {
    case configMap
    case secret
}

/// A container that cannot be launched as specified (kubelet: CreateContainerConfigError).
public struct LaunchError: Error, Equatable {
    public let message: String
    public var description: String { message }
}

/// Turns a pod's container spec into what the exec runtime starts.
///
/// The exec runtime has no images. `image` names what to run:
/// - an absolute path (`/usr/bin/python3`) is the executable itself;
/// - any other name, `NAME[:TAG]` (a registry host and digest are ignored), is the folder
///   `<apps>/<NAME>/<TAG or latest>/`, whose `entrypoint` file is the executable; the
///   folder is also the default working directory.
/// `command` replaces the executable and `args` the arguments, as they replace an image's
/// ENTRYPOINT and CMD; a relative `command[0]` is looked up in the image folder first,
/// then in PATH. `$(VAR)` references expand against the container's environment.
public enum LaunchPlanner {
    public static func plan(pod: Pod, container: Container, context: LaunchContext) throws(LaunchError) -> ContainerLaunch {
        var environment = try resolveEnvironment(pod: pod, container: container, context: context)
        let lookup: (String) -> String? = { name in
            for variable in environment.reversed() where variable.name == name { return variable.value }
            return nil
        }
        let image = ImageLocation(image: container.image, appsFolder: context.appsFolder)
        var executable: String
        var arguments: [String] = []
        if let first = container.command.first {
            executable = VariableExpansion.expand(first, lookup: lookup)
            if !executable.contains("/"), let folder = image.folder {
                executable = folder + "/" + executable
                if !FileTests.isExecutable(executable) { executable = VariableExpansion.expand(first, lookup: lookup) }
            }
            for word in container.command.dropFirst() { arguments.append(VariableExpansion.expand(word, lookup: lookup)) }
        } else {
            executable = image.executable
        }
        for word in container.args { arguments.append(VariableExpansion.expand(word, lookup: lookup)) }
        let workingDirectory = container.workingDir.isEmpty ? image.folder : container.workingDir
        environment.append(contentsOf: context.extraEnvironment)
        return ContainerLaunch(
            podUID: pod.metadata.uid, containerName: container.name, executable: executable, arguments: arguments,
            environment: environment, workingDirectory: workingDirectory,
            logPath: logPath(pod: pod, container: container.name, logsFolder: context.logsFolder),
            logLimits: context.logLimits,
            resourceLimits: ResourceLimits(memoryBytes: container.resources.memoryLimitBytes,
                                           cpuMillicores: container.resources.cpuLimitMillicores))
    }

    /// `<logs>/<namespace>_<name>_<uid>/<container>.log`, the kubelet's folder naming.
    public static func logPath(pod: Pod, container: String, logsFolder: String) -> String {
        podLogFolder(pod: pod, logsFolder: logsFolder) + "/" + container + ".log"
    }

    public static func podLogFolder(pod: Pod, logsFolder: String) -> String {
        logsFolder + "/" + pod.metadata.namespace + "_" + pod.metadata.name + "_" + pod.metadata.uid
    }

    /// The container's env in order, each value expanded against the ones before it, as the
    /// kubelet does; fieldRefs from the pod; ConfigMap/Secret keys through the context.
    static func resolveEnvironment(pod: Pod, container: Container, context: LaunchContext) throws(LaunchError) -> [EnvironmentVariable] {
        var resolved: [EnvironmentVariable] = []
        for variable in container.env {
            let value: String?
            switch variable.source {
            case .value(let text):
                value = VariableExpansion.expand(text) { name in
                    for earlier in resolved.reversed() where earlier.name == name { return earlier.value }
                    return nil
                }
            case .field(let path):
                guard let fieldValue = fieldValue(path, pod: pod, context: context) else {
                    throw LaunchError(message: "env \(variable.name): unsupported fieldPath '\(path)'")
                }
                value = fieldValue
            case .configMapKey(let name, let key, let optional):
                value = try reference(.configMap, "configmap", name, key, optional, variable.name, context)
            case .secretKey(let name, let key, let optional):
                value = try reference(.secret, "secret", name, key, optional, variable.name, context)
            }
            guard let value else { continue }
            // A name given twice: the last value wins, as with the kubelet (getenv would
            // otherwise read the first).
            if let earlier = resolved.firstIndex(where: { $0.name == variable.name }) {
                resolved[earlier] = EnvironmentVariable(name: variable.name, value: value)
            } else {
                resolved.append(EnvironmentVariable(name: variable.name, value: value))
            }
        }
        return resolved
    }

    private static func reference(_ kind: ReferenceKind, _ kindName: String, _ name: String, _ key: String, _ optional: Bool,
                                  _ variable: String, _ context: LaunchContext) throws(LaunchError) -> String? {
        if let value = context.lookupReference(kind, name, key) { return value }
        if optional { return nil }
        throw LaunchError(message: "\(kindName) \"\(name)\" key \"\(key)\" not found (env \(variable))")
    }

    /// The downward API fields an exec container can be given.
    static func fieldValue(_ path: String, pod: Pod, context: LaunchContext) -> String? {
        switch path {
        case "metadata.name": return pod.metadata.name
        case "metadata.namespace": return pod.metadata.namespace
        case "metadata.uid": return pod.metadata.uid
        case "spec.nodeName": return context.nodeName
        case "status.hostIP", "status.podIP": return context.hostIP
        default:
            for (prefix, pairs) in [("metadata.labels['", pod.metadata.labels), ("metadata.annotations['", pod.metadata.annotations)]
                where path.hasPrefix(prefix) && path.hasSuffix("']") {
                let key = String(path.dropFirst(prefix.count).dropLast(2))
                for (name, value) in pairs where name == key { return value }
                return ""
            }
            return nil
        }
    }
}

/// Where an `image` lives for the exec runtime.
struct ImageLocation {
    /// The image folder; nil when the image is an absolute path.
    let folder: String?
    let executable: String

    init(image: String, appsFolder: String) {
        if image.hasPrefix("/") {
            folder = nil
            executable = image
            return
        }
        var reference = image
        if let at = reference.firstIndex(of: "@") { reference = String(reference[..<at]) }
        var tag = "latest"
        let lastSlash = reference.lastIndex(of: "/")
        if let colon = reference.lastIndex(of: ":"), lastSlash == nil || colon > lastSlash! {
            tag = String(reference[reference.index(after: colon)...])
            reference = String(reference[..<colon])
        }
        // A first component with a dot or a port is a registry host, which the exec
        // runtime has no use for.
        let parts = reference.split(separator: "/")
        if parts.count > 1, parts[0].contains(".") || parts[0].contains(":") || parts[0] == "localhost" {
            reference = parts.dropFirst().joined(separator: "/")
        }
        let folder = appsFolder + "/" + reference + "/" + tag
        self.folder = folder
        executable = folder + "/entrypoint"
    }
}
