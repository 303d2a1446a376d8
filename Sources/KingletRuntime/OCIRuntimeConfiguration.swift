import KingletCore

/// How `OCIRuntime` runs its containers.
public struct OCIRuntimeConfiguration: Sendable {
    /// The runtime binary: a path, or a name looked up in the default PATH (`runc`, `crun`).
    public var runtime: String
    /// The state folder holding one bundle per container, `<bundles>/<pod uid>_<container>/`.
    public var bundles: String
    /// The runtime's own state folder (`--root`); nil is its default (`/run/runc`, `/run/crun`).
    public var stateRoot: String?
    /// Each container's cgroup is `<cgroupParent>/<container id>` (linux.cgroupsPath, below
    /// every v1 hierarchy or the v2 root); nil leaves the path to the runtime.
    public var cgroupParent: String?
    /// Whether the container's root may be an overlayfs mount (else always a copy).
    public var useOverlay: Bool
    /// Copies an image's root file system when overlayfs cannot be mounted: run as
    /// `<copyCommand> <image rootfs>/. <bundle>/rootfs`, off the loop (a child process).
    public var copyCommand: [String]
    /// How long `runc create`, `start` and `delete` may take before they are killed.
    public var commandTimeout: Duration
    /// How long a copy of an image may take.
    public var copyTimeout: Duration
    /// Global options before the command, e.g. `--systemd-cgroup`.
    public var extraGlobalArguments: [String]
    /// Options of `create`, e.g. `--no-pivot` when the state folder is on an initramfs.
    public var extraCreateArguments: [String]

    public init(runtime: String = "runc", bundles: String, stateRoot: String? = nil, cgroupParent: String? = "/kinglet",
                useOverlay: Bool = true, copyCommand: [String] = ["cp", "-a"],
                commandTimeout: Duration = .seconds(60), copyTimeout: Duration = .seconds(600),
                extraGlobalArguments: [String] = [], extraCreateArguments: [String] = []) {
        self.runtime = runtime
        self.bundles = bundles
        self.stateRoot = stateRoot
        self.cgroupParent = cgroupParent
        self.useOverlay = useOverlay
        self.copyCommand = copyCommand
        self.commandTimeout = commandTimeout
        self.copyTimeout = copyTimeout
        self.extraGlobalArguments = extraGlobalArguments
        self.extraCreateArguments = extraCreateArguments
    }
}
