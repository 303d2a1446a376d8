import KingletPod
import KingletRuntime

/// An image ready to run: its root file system and what its config says about running it.
public struct PreparedImage: Equatable, Sendable {
    /// Its flattened root file system, or "" when it runs from `layers`.
    public var rootfs: String
    /// Its layer folders, top first, for an overlayfs root (empty with `rootfs`).
    public var layers: [String]
    public var entrypoint: [String]
    public var command: [String]
    /// `NAME=value` entries, as the image config writes them.
    public var environment: [String]
    public var workingDirectory: String?
    public var user: OCIUser

    public init(rootfs: String, layers: [String] = [], entrypoint: [String] = [], command: [String] = [],
                environment: [String] = [], workingDirectory: String? = nil, user: OCIUser = .root) {
        self.rootfs = rootfs
        self.layers = layers
        self.entrypoint = entrypoint
        self.command = command
        self.environment = environment
        self.workingDirectory = workingDirectory
        self.user = user
    }
}

/// Where a container's image stands, with the kubelet's waiting reasons.
public enum ImagePreparation: Equatable, Sendable {
    case ready(PreparedImage)
    /// Being pulled: the container waits as `ContainerCreating`.
    case pulling
    /// `ErrImagePull`, `ImagePullBackOff`, `InvalidImageName`, `ErrImageNeverPull`, ...
    case waiting(reason: String, message: String)
}

/// The node's images (the kubelet's image manager), for containers whose `image` is a
/// registry reference. A path (`/usr/bin/python3`) never comes here: it stays with the
/// exec runtime. When an answer may have changed, the owner calls
/// `PodManager.imagesChanged()`.
public protocol ContainerImages: AnyObject {
    /// `podUID` names the pod that wants the image: a pull started for it offers the
    /// registry the pod's own pull credentials (its imagePullSecrets) first.
    func prepare(image: String, pullPolicy: String, podUID: String) -> ImagePreparation
}

extension LaunchPlanner {
    /// Whether `image` names a registry image (anything but an absolute path).
    public static func isRegistryImage(_ image: String) -> Bool { !image.hasPrefix("/") }

    /// A launch for an OCI container: the kubelet's rules for `command`/`args` over the
    /// image's entrypoint and cmd, the image's env under the container's, the container's
    /// working directory over the image's.
    public static func plan(pod: Pod, container: Container, context: LaunchContext,
                            image: PreparedImage) throws(LaunchError) -> ContainerLaunch {
        var environment: [EnvironmentVariable] = []
        for entry in image.environment {
            guard let equals = entry.firstIndex(of: "=") else { continue }
            environment.append(EnvironmentVariable(name: String(entry[..<equals]), value: String(entry[entry.index(after: equals)...])))
        }
        for variable in try resolveEnvironment(pod: pod, container: container, context: context) {
            if let index = environment.firstIndex(where: { $0.name == variable.name }) {
                environment[index] = variable
            } else {
                environment.append(variable)
            }
        }
        let lookup: (String) -> String? = { name in
            for variable in environment.reversed() where variable.name == name { return variable.value }
            return nil
        }
        var argv: [String]
        if !container.command.isEmpty {
            argv = container.command + container.args
        } else if !container.args.isEmpty {
            argv = image.entrypoint + container.args
        } else {
            argv = image.entrypoint + image.command
        }
        argv = argv.map { VariableExpansion.expand($0, lookup: lookup) }
        guard let executable = argv.first else {
            throw LaunchError(message: "no command specified: the image has no entrypoint or cmd and the container no command")
        }
        environment.append(contentsOf: context.extraEnvironment)
        var launch = ContainerLaunch(
            podUID: pod.metadata.uid, containerName: container.name, executable: executable, arguments: Array(argv.dropFirst()),
            environment: environment,
            workingDirectory: container.workingDir.isEmpty ? (image.workingDirectory ?? "/") : container.workingDir,
            logPath: logPath(pod: pod, container: container.name, logsFolder: context.logsFolder),
            logLimits: context.logLimits,
            resourceLimits: ResourceLimits(memoryBytes: container.resources.memoryLimitBytes,
                                           cpuMillicores: container.resources.cpuLimitMillicores))
        launch.oci = OCILaunchOptions(imageRootfs: image.rootfs, imageLayers: image.layers, user: image.user)
        return launch
    }
}
