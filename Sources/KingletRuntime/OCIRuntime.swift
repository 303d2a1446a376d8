import CKingletSystem
import KingletCore

/// Runs each container with an OCI runtime (runc, crun) from an image's root file system,
/// behind the same protocol and events as `ExecRuntime`, so the pod manager does not change.
///
/// Per container, all on the loop and never waiting for a process:
/// 1. its bundle `<bundles>/<pod uid>_<name>/`: `rootfs` is an overlayfs mount (the image
///    below, `upper`/`work` in the bundle) or, when the kernel refuses, a copy of the image
///    made by a child process; `config.json` (`OCIConfig`);
/// 2. `runc create --bundle B --pid-file B/init.pid <id>` with the container's stdout and
///    stderr on the same pipes and CRI log writer as an exec container; when it exits, its
///    init process (waiting for `start`) has been re-parented to the agent, a child
///    subreaper, so `ChildReaper` reaps it as it reaps an exec container's process;
/// 3. `runc start <id>`, then `.started` with the init's pid;
/// 4. the init's exit is `.exited`, exactly as an exec container's; then `runc delete
///    --force`, the root unmounted and the bundle removed (in a forked child).
/// A stop signals the init directly with kill(2) (see `stop`).
public final class OCIRuntime: ContainerRuntime {
    public var delegate: (any ContainerRuntimeDelegate)? = nil
    public let configuration: OCIRuntimeConfiguration
    /// What the runtime did with root file systems and bundles.
    public private(set) var statistics = OCIRuntimeStatistics()

    private let loop: any EventLoop
    private let reaper: ChildReaper
    /// The runtime binary, resolved once; nil when it is missing (every start then fails).
    private let runtimePath: String?
    private var containers: [ContainerID: OCIContainer] = [:]
    /// Runtime ids whose bundle is being removed, and a start waiting for each.
    private var cleanups: Set<String> = []
    private var waiting: [String: OCIContainer] = [:]
    private var events = ContainerEventQueue()
    /// When set, `runc create` runs as the keeper's child and the keeper is the init's
    /// subreaper: containers outlive the agent (docs/runtime.md).
    private let keeper: KeeperClient?
    /// Held containers no pod adopted, being stopped, by runtime id.
    private var orphans: [String: OCIContainer] = [:]

    /// Where cgroup file systems are mounted.
    static let cgroupMount = "/sys/fs/cgroup"
    /// The environment of the runtime's own processes.
    static let commandEnvironment = [EnvironmentVariable(name: "PATH", value: ExecutableLookup.defaultPath)]

    /// Creates the bundles folder and makes the agent a child subreaper (the containers'
    /// init processes must come back to it). Throws when either fails.
    public init(loop: any EventLoop, reaper: ChildReaper, configuration: OCIRuntimeConfiguration,
                keeper: KeeperClient? = nil) throws(SystemError) {
        self.loop = loop
        self.reaper = reaper
        self.configuration = configuration
        self.keeper = keeper
        runtimePath = ExecutableLookup.resolve(configuration.runtime, environment: [])
        if kinglet_make_folders(configuration.bundles, 0o700) != 0 {
            throw SystemError.last("mkdir", path: configuration.bundles)
        }
        if kinglet_oci_set_child_subreaper(1) != 0 { throw SystemError.last("prctl(PR_SET_CHILD_SUBREAPER)") }
    }

    /// The runtime's id for a container: `<pod uid>_<name>`, with anything outside
    /// [A-Za-z0-9_.-] replaced by '_' (a pod uid has no '_', a container name neither, so
    /// ids stay distinct).
    public static func runtimeID(for id: ContainerID) -> String {
        ContainerCgroup.safeName(id.podUID) + "_" + ContainerCgroup.safeName(id.name)
    }

    /// The keeper's key for a container of this runtime.
    static func keeperKey(_ name: String) -> String { "oci:" + name }

    /// The container's bundle folder.
    public func bundle(of id: ContainerID) -> String { configuration.bundles + "/" + OCIRuntime.runtimeID(for: id) }

    public func isRunning(_ id: ContainerID) -> Bool { containers[id] != nil }

    /// The running container's init pid (as the host sees it), once created.
    public func pid(of id: ContainerID) -> Int32? {
        guard let pid = containers[id]?.initPid, pid > 0 else { return nil }
        return pid
    }

    /// The limits the runtime applied, as read back from the container's cgroup.
    public func limits(of id: ContainerID) -> AppliedLimits? { containers[id]?.limits }

    /// How the container's root file system was made.
    public func rootMode(of id: ContainerID) -> OCIRootMode? { containers[id]?.rootMode }

    /// Containers started and not yet reported as exited.
    public var runningContainers: [ContainerID] { Array(containers.keys) }

    /// Bundles still being removed (the agent waits for none before it exits cleanly).
    public var pendingCleanups: Int { cleanups.count }

    // MARK: Start

    public func start(_ launch: ContainerLaunch) {
        let id = launch.id
        if containers[id] != nil {
            return fail(id, "CreateContainerError", "container " + id.description + " is already running")
        }
        guard let options = launch.oci else {
            return fail(id, "CreateContainerError", "no image root file system: the OCI runtime runs images only")
        }
        guard runtimePath != nil else {
            return fail(id, "CreateContainerError",
                        "exec: \"" + configuration.runtime + "\": executable file not found in $PATH")
        }
        let name = OCIRuntime.runtimeID(for: id)
        let container = OCIContainer(launch: launch, options: options, name: name,
                                     bundle: configuration.bundles + "/" + name, now: loop.now)
        containers[id] = container
        if let keeper, keeper.held[OCIRuntime.keeperKey(name)] != nil {
            // An earlier agent's container with this id that no pod adopted (its spec
            // changed): stopped, its bundle removed, then this one starts.
            waiting[name] = container
            stopHeld(OCIRuntime.keeperKey(name), gracePeriod: ExecRuntime.replacedGracePeriod)
            return
        }
        if cleanups.contains(name) || orphans[name] != nil {
            // The previous run's bundle is still going: start once it is gone.
            waiting[name] = container
            return
        }
        if kinglet_file_exists(container.bundle) != 0 {
            // Left by an agent that died: clear the runtime's state, mount and folder first.
            waiting[name] = container
            cleanUp(name: name, bundle: container.bundle, deleteFromRuntime: true)
            return
        }
        prepare(container)
    }

    private func prepare(_ container: OCIContainer) {
        container.phase = .preparing
        let launch = container.launch
        if kinglet_file_exists(container.bundle) != 0 {
            return abort(container, "CreateContainerError", "the previous bundle " + container.bundle
                         + " could not be removed: " + (statistics.lastCleanupFailure ?? "unknown reason"), cleanUp: false)
        }
        do {
            container.logFile = try RotatingLogFile(path: launch.logPath, limits: launch.logLimits)
        } catch {
            return abort(container, "CreateContainerError", "cannot open the log file: " + error.description, cleanUp: false)
        }
        do {
            container.pipes = try OutputPipes()
            container.childEndsOpen = true
        } catch {
            return abort(container, "CreateContainerError", error.description, cleanUp: false)
        }
        for device in container.options.devices {
            do {
                container.devices.append(try OCIDeviceNode.resolve(device))
            } catch {
                return abort(container, "CreateContainerError", error.description, cleanUp: false)
            }
        }
        let image = container.options.imageRootfs
        let layers = container.options.imageLayers
        for folder in layers.isEmpty ? [image] : layers where kinglet_is_directory(folder) == 0 {
            return abort(container, "CreateContainerError", "the image's " + (layers.isEmpty ? "root file system " : "layer ")
                         + folder + ": " + SystemError.last("stat").reason, cleanUp: false)
        }
        for (folder, mode) in [(container.bundle, UInt32(0o700)), (container.rootfs, UInt32(0o755))] {
            if kinglet_make_directory(folder, mode) != 0 {
                return abort(container, "CreateContainerError", SystemError.last("mkdir", path: folder).description)
            }
        }
        if configuration.useOverlay {
            let upper = container.bundle + "/upper"
            let work = container.bundle + "/work"
            // The layers top first, as overlayfs lists lower folders.
            let lower = layers.isEmpty ? image : layers.joined(separator: ":")
            if kinglet_make_directory(upper, 0o755) == 0 && kinglet_make_directory(work, 0o700) == 0
                && kinglet_oci_mount_overlay(lower, upper, work, container.rootfs) == 0 {
                container.rootMode = .overlay
                statistics.overlayRoots += 1
                return create(container)
            }
            statistics.lastOverlayFailure = "overlayfs at " + container.rootfs + ": " + SystemError.last("mount").reason
        }
        guard !image.isEmpty else {
            // Layers cannot be copied as they are (their whiteouts need overlayfs): the image
            // manager gives a flattened root where the probe found overlayfs unusable.
            return abort(container, "CreateContainerError", "cannot stack the image's layers: "
                         + (statistics.lastOverlayFailure ?? "overlayfs is not used"))
        }
        container.rootMode = .copy
        statistics.copiedRoots += 1
        guard !configuration.copyCommand.isEmpty else {
            return abort(container, "CreateContainerError", "cannot mount overlayfs and no copy command is configured")
        }
        let copy = ContainerCommand(loop: loop, reaper: reaper) { result in
            if result.succeeded { return self.create(container) }
            self.abort(container, "CreateContainerError", "copying the image's root file system failed: "
                       + OCIRuntime.describe(result))
        }
        copy.start(configuration.copyCommand + [image + "/.", container.rootfs], environment: OCIRuntime.commandEnvironment,
                   workingDirectory: nil, cgroup: nil, timeout: configuration.copyTimeout)
    }

    /// Whether containers' roots can stack the image store's layer folders: mounts, once, an
    /// overlayfs of two small layers made in `lowerScratch` (on the store's file system) in
    /// overlayfs's whiteout format (a character device 0/0, an opaque folder), with the
    /// upper and work folders in the bundles folder as containers have them, and checks
    /// that the whiteouts hide what they should. Nil when all of it works, else why not
    /// (the image manager then gives every image a flattened root). Both scratch folders
    /// are removed.
    public func probeOverlay(lowerScratch: String) -> String? {
        guard configuration.useOverlay else { return "overlayfs roots are turned off (OCIRuntimeConfiguration.useOverlay)" }
        let upperScratch = configuration.bundles + "/.overlay-probe"
        defer {
            _ = kinglet_oci_unmount(upperScratch + "/merged")
            _ = kinglet_oci_remove_tree(upperScratch)
            _ = kinglet_oci_remove_tree(lowerScratch)
        }
        _ = kinglet_oci_unmount(upperScratch + "/merged")
        _ = kinglet_oci_remove_tree(upperScratch)
        _ = kinglet_oci_remove_tree(lowerScratch)
        let bottom = lowerScratch + "/bottom"
        let top = lowerScratch + "/top"
        for folder in [bottom + "/d", top + "/d", upperScratch + "/upper", upperScratch + "/work", upperScratch + "/merged"]
            where kinglet_make_folders(folder, 0o700) != 0 {
            return SystemError.last("mkdir", path: folder).description
        }
        for file in [bottom + "/gone", bottom + "/d/old", top + "/d/new"] {
            do {
                try OCIRuntime.writeFile([], to: file)
            } catch {
                return error.description
            }
        }
        let topFolder = kinglet_tree_open_root(top)
        if topFolder < 0 { return SystemError.last("open", path: top).description }
        defer { _ = close(topFolder) }
        if kinglet_tree_make_whiteout(topFolder, "gone") != 0 { return SystemError.last("mknod (a whiteout)", path: top + "/gone").description }
        let opaque = kinglet_tree_open_folder(topFolder, "d")
        if opaque < 0 { return SystemError.last("open", path: top + "/d").description }
        let marked = kinglet_tree_set_opaque(opaque)
        let markError = SystemError.last("setxattr trusted.overlay.opaque", path: top + "/d")
        _ = close(opaque)
        if marked != 0 { return markError.description }
        let merged = upperScratch + "/merged"
        if kinglet_oci_mount_overlay(top + ":" + bottom, upperScratch + "/upper", upperScratch + "/work", merged) != 0 {
            return "overlayfs at " + merged + ": " + SystemError.last("mount").reason
        }
        let hidden = kinglet_file_exists(merged + "/gone") == 0 && kinglet_file_exists(merged + "/d/old") == 0
        let shown = kinglet_file_exists(merged + "/d/new") != 0
        if kinglet_oci_unmount(merged) < 0 { return SystemError.last("umount", path: merged).description }
        return hidden && shown ? nil : "overlayfs at " + merged + " did not apply the layers' whiteouts"
    }

    private func create(_ container: OCIContainer) {
        container.phase = .creating
        let launch = container.launch
        let config = OCIConfig(arguments: [launch.executable] + launch.arguments, environment: launch.environment,
                               workingDirectory: launch.workingDirectory ?? "/", user: container.options.user,
                               hostname: container.options.hostname, mounts: container.options.mounts,
                               devices: container.devices, resources: launch.resourceLimits,
                               cgroupsPath: configuration.cgroupParent.map { $0 + "/" + container.name })
        do {
            try OCIRuntime.writeFile(config.json(), to: container.bundle + "/config.json")
        } catch {
            return abort(container, "CreateContainerError", error.description)
        }
        _ = unlink(container.pidFile)
        guard let runtimePath, let pipes = container.pipes else { return }
        let arguments = globalArguments + ["create", "--bundle", container.bundle, "--pid-file", container.pidFile]
            + configuration.extraCreateArguments + [container.name]
        let pid: Int32
        do {
            // The runtime's stdout and stderr are the container's: its init inherits them.
            if let keeper {
                let request = KeeperSpawn(key: OCIRuntime.keeperKey(container.name), label: "", executable: runtimePath,
                                          arguments: [runtimePath] + arguments,
                                          environment: OCIRuntime.commandEnvironment.map { $0.name + "=" + $0.value },
                                          workingDirectory: "", killGroupOnExit: false)
                pid = try keeper.spawn(request, stdoutWrite: pipes.stdoutWrite, stderrWrite: pipes.stderrWrite,
                                       stdoutRead: pipes.stdoutRead, stderrRead: pipes.stderrRead).pid
            } else {
                pid = try ProcessSpawner.spawn(executable: runtimePath, arguments: arguments,
                                               environment: OCIRuntime.commandEnvironment, workingDirectory: nil,
                                               stdout: pipes.stdoutWrite, stderr: pipes.stderrWrite)
            }
        } catch {
            return abort(container, "CreateContainerError", error.message)
        }
        pipes.closeChildEnds()
        container.childEndsOpen = false
        container.created = true
        container.createPid = pid
        if let keeper {
            keeper.onExit(OCIRuntime.keeperKey(container.name)) { exit in
                self.created(container, ChildExit(pid: exit.pid, status: exit.status))
            }
        } else {
            reaper.watch(pid: pid) { exit in
                // Off the reaper's call: runc create is reaped first.
                self.loop.schedule(after: .zero) { self.created(container, exit) }
            }
        }
        container.timer = loop.schedule(after: configuration.commandTimeout) {
            container.timer = nil
            container.createTimedOut = true
            _ = kinglet_kill_group(pid, SIGKILL)
        }
    }

    private func created(_ container: OCIContainer, _ exit: ChildExit) {
        if let timer = container.timer { loop.cancel(timer) }
        container.timer = nil
        guard let pipes = container.pipes else { return }
        // Whatever is in the pipes now is the runtime's own (the container's program has not
        // run yet): its error message on failure, else warnings that are not the container's.
        let stderr = OCIRuntime.readAvailable(pipes.stderrRead)
        let stdout = OCIRuntime.readAvailable(pipes.stdoutRead)
        if exit.status != .exited(code: 0) {
            var message = OCIRuntime.lastLine(stderr) ?? OCIRuntime.lastLine(stdout)
                ?? (runtimeName + " create " + exit.status.description)
            if container.createTimedOut {
                message = runtimeName + " create did not finish within "
                    + String(configuration.commandTimeout.milliseconds / 1000) + " s"
            }
            return abort(container, "StartError", message)
        }
        guard let text = FileIO.text(container.pidFile), let pid = Int32(OCIRuntime.trimmed(Substring(text))), pid > 1 else {
            return abort(container, "CreateContainerError", runtimeName + " create left no pid in " + container.pidFile)
        }
        container.initPid = pid
        container.phase = .starting
        readCgroup(container)

        let logFile = container.logFile!
        let log = CRILogWriter(file: logFile, lineBufferBytes: container.launch.logLimits.lineBufferBytes)
        let output = ContainerOutput(loop: loop, stdout: pipes.stdoutRead, stderr: pipes.stderrRead, log: log,
                                     lineBufferBytes: container.launch.logLimits.lineBufferBytes)
        container.output = output
        output.writesIncompleteLines = keeper != nil
        container.pipes = nil
        // Both pipes closed usually means the container has exited: look at once.
        output.onClosed = { self.loop.schedule(after: .zero) { self.reaper.reapExited() } }
        do {
            try output.startWatching()
        } catch {
            container.startFailure = ContainerStartFailure(id: container.id, reason: "CreateContainerError",
                                                           message: "cannot watch the container's output: " + error.description)
            watchInit(container)
            signal(container, SIGKILL)
            return
        }
        // The container runs from here: `runc start` only lets its init exec the program.
        container.startInstant = loop.now
        container.startedAt = kinglet_realtime_ns()
        watchInit(container)
        runCommand(["start", container.name]) { result in self.startAnswered(container, result) }
    }

    private func startAnswered(_ container: OCIContainer, _ result: CommandResult) {
        guard container.phase == .starting else { return }
        if !result.succeeded && container.startFailure == nil {
            var message = OCIRuntime.describe(result)
            if result.ending == .timedOut { message = runtimeName + " start " + message }
            container.startFailure = ContainerStartFailure(id: container.id, reason: "StartError", message: message)
        }
        if container.startFailure != nil {
            if let exit = container.earlyExit { return finish(container, exit) }
            signal(container, SIGKILL)
            return
        }
        container.phase = .running
        post(.started(ContainerStarted(id: container.id, pid: container.initPid, startedAt: container.startedAt,
                                       limits: container.limits)))
        if let exit = container.earlyExit { return finish(container, exit) }
        if let deadline = container.pendingStopDeadline {
            container.pendingStopDeadline = nil
            signal(container, killAt: deadline)
        }
    }

    // MARK: Stop

    /// SIGTERM to the container's init, SIGKILL after `gracePeriod`, both with kill(2) on
    /// the init's pid rather than `runc kill`: no process to start per signal (runc costs a
    /// fork, an exec and ~10 MB for a moment on a board), nothing that can fail on the
    /// runtime's state lock, and the pid is safe to signal: the init is the agent's own
    /// child, not reaped until its exit has been handled, so the pid cannot be reused
    /// meanwhile. `runc kill` (without --all) sends the same signal to the same process.
    /// SIGKILL to the init ends the whole container: the kernel kills every process of its
    /// PID namespace with it. As in Docker, an init that has no SIGTERM handler (a bare
    /// `sleep` as PID 1) ignores SIGTERM and is killed after the grace period.
    public func stop(_ id: ContainerID, gracePeriod: Duration) {
        guard let container = containers[id] else { return }
        container.stopRequested = true
        let deadline = loop.now.advanced(by: gracePeriod)
        guard container.phase == .running else {
            // Applied once `.started` is reported.
            if let earlier = container.pendingStopDeadline, earlier <= deadline { return }
            container.pendingStopDeadline = deadline
            return
        }
        signal(container, killAt: deadline)
    }

    private func signal(_ container: OCIContainer, killAt deadline: Instant) {
        if let earlier = container.killDeadline, earlier <= deadline { return }
        if let timer = container.killTimer { loop.cancel(timer) }
        container.killTimer = nil
        let now = loop.now
        if deadline <= now {
            container.killDeadline = now
            signal(container, SIGKILL)
            return
        }
        if container.killDeadline == nil { signal(container, SIGTERM) }
        container.killDeadline = deadline
        container.killTimer = loop.schedule(at: deadline) {
            container.killTimer = nil
            self.signal(container, SIGKILL)
        }
    }

    /// To the init: through the keeper when it is the init's parent (it knows whether the
    /// pid is still its child), else with kill(2) (the agent is the parent).
    private func signal(_ container: OCIContainer, _ number: Int32) {
        if let keeper {
            keeper.signal(OCIRuntime.keeperKey(container.name), number)
        } else {
            _ = kill(container.initPid, number)
        }
    }

    /// Hears the init's exit: from the keeper (told the init's pid and the container's
    /// label, for a later agent), else from the agent's reaper.
    private func watchInit(_ container: OCIContainer) {
        guard let keeper else {
            reaper.watch(pid: container.initPid) { exit in self.initExited(container, exit) }
            return
        }
        let key = OCIRuntime.keeperKey(container.name)
        let label = KeeperLabel(specHash: container.launch.podSpecHash, startedAt: container.startedAt,
                                graceSeconds: container.launch.gracePeriodSeconds, logPath: container.launch.logPath, limits: container.limits.description,
                                extra: container.rootMode == .copy ? "copy" : "overlay")
        keeper.watch(key, pid: container.initPid, label: label.text)
        keeper.onExit(key) { exit in
            container.keptFinishedAt = exit.finishedAt
            self.initExited(container, ChildExit(pid: exit.pid, status: exit.status))
        }
    }

    // MARK: Adoption

    public func adopt(_ launch: ContainerLaunch) -> AdoptedContainer? {
        let id = launch.id
        let name = OCIRuntime.runtimeID(for: id)
        let key = OCIRuntime.keeperKey(name)
        guard let keeper, let options = launch.oci, containers[id] == nil,
              let (held, label) = keeper.adoptable(key, specHash: launch.podSpecHash),
              let container = takeHeld(key, launch: launch, options: options, label: label) else { return nil }
        containers[id] = container
        guard watchAdopted(container, held.kept) else { return nil }
        return AdoptedContainer(pid: container.initPid, startedAt: label.startedAt, limits: label.limits)
    }

    public func stopUnadopted(gracePeriod: Duration) {
        guard let keeper else { return }
        for key in Array(keeper.held.keys) where key.hasPrefix("oci:") { stopHeld(key, gracePeriod: gracePeriod) }
    }

    /// A held container as one of this runtime's, running, its output going on to its log.
    private func takeHeld(_ key: String, launch: ContainerLaunch, options: OCILaunchOptions,
                          label: KeeperLabel) -> OCIContainer? {
        guard let keeper,
              let (kept, output) = keeper.takeWithOutput(key, loop: loop,
                                                         logPath: label.logPath.isEmpty ? launch.logPath : label.logPath,
                                                         limits: launch.logLimits) else { return nil }
        let name = String(key.dropFirst(4))
        let container = OCIContainer(launch: launch, options: options, name: name,
                                     bundle: configuration.bundles + "/" + name, now: label.startInstant(now: loop.now))
        container.output = output
        container.phase = .running
        container.created = true
        container.initPid = kept.pid
        container.rootMode = label.extra == "copy" ? .copy : .overlay
        container.startedAt = label.startedAt
        readCgroup(container)
        return container
    }

    /// Watches an adopted (or orphaned) container's output and exit. False when its output
    /// cannot be watched (it is then killed).
    private func watchAdopted(_ container: OCIContainer, _ kept: KeptContainer) -> Bool {
        guard let keeper, let output = container.output else { return false }
        let key = OCIRuntime.keeperKey(container.name)
        if let status = kept.exit {
            // It ended while no agent ran: reported on a later turn, as any exit.
            container.keptFinishedAt = kept.finishedAt
            let exit = ChildExit(pid: kept.pid, status: status)
            loop.schedule(after: .zero) { self.initExited(container, exit) }
        } else {
            keeper.onExit(key) { exit in
                container.keptFinishedAt = exit.finishedAt
                self.initExited(container, ChildExit(pid: exit.pid, status: exit.status))
            }
        }
        do {
            try output.startWatching()
        } catch {
            container.startFailure = ContainerStartFailure(id: container.id, reason: "CreateContainerError",
                                                           message: "cannot watch the container's output: " + error.description)
            signal(container, SIGKILL)
            return false
        }
        return true
    }

    /// Stops a held container no pod adopted (SIGTERM, SIGKILL after `gracePeriod`), then
    /// removes its bundle; a start waiting for its name goes on after that.
    private func stopHeld(_ key: String, gracePeriod: Duration) {
        guard let keeper, let held = keeper.held[key] else { return }
        let name = String(key.dropFirst(4))
        let label = KeeperLabel(held.kept.label) ?? KeeperLabel.unknown
        let launch = ContainerLaunch(podUID: name, containerName: name, executable: "",
                                     logPath: label.logPath.isEmpty ? "/dev/null" : label.logPath,
                                     logLimits: label.stoppingLogLimits)
        let options = OCILaunchOptions(imageRootfs: "")
        guard let container = takeHeld(key, launch: launch, options: options, label: label) else {
            // Could not watch it (it was killed): clear its bundle; a waiting start follows.
            return cleanUp(name: name, bundle: configuration.bundles + "/" + name, deleteFromRuntime: true)
        }
        container.orphaned = true
        orphans[name] = container
        guard watchAdopted(container, held.kept) else { return }
        // The pod's own grace period, as its label kept it.
        let grace = KeeperLabel(held.kept.label)?.gracePeriod ?? gracePeriod
        if held.kept.exit == nil { signal(container, killAt: loop.now.advanced(by: grace)) }
    }

    /// The keeper is gone: its containers' exits will not come. Each is ended (runc
    /// delete --force) and reported as killed, so its pod restarts it by its policy.
    public func keeperLost() {
        let killed = ChildExit(pid: 0, status: .killed(signal: SIGKILL, coreDumped: false))
        for container in Array(containers.values) + Array(orphans.values) {
            switch container.phase {
            case .running, .starting:
                if container.initPid > 1 { _ = kill(container.initPid, SIGKILL) }
                initExited(container, ChildExit(pid: container.initPid, status: killed.status))
            case .creating:
                // `runc create` was the keeper's child: its exit will not come either.
                if let timer = container.timer { loop.cancel(timer) }
                container.timer = nil
                if container.createPid > 1 { _ = kinglet_kill_group(container.createPid, SIGKILL) }
                abort(container, "StartError", "the container keeper went away while " + runtimeName + " create ran")
            default:
                break
            }
        }
    }

    // MARK: Exit

    /// Runs while the init is a zombie: its cgroup (for the OOM count) is still there.
    private func initExited(_ container: OCIContainer, _ exit: ChildExit) {
        if let timer = container.killTimer { loop.cancel(timer) }
        container.killTimer = nil
        container.exitInstant = loop.now
        container.finishedAt = container.keptFinishedAt ?? kinglet_realtime_ns()
        container.oomKilled = oomKilled(container)
        if container.phase == .starting && container.startFailure == nil {
            // Exited before runc start answered: `.started` must come first.
            container.earlyExit = exit
            return
        }
        finish(container, exit)
    }

    private func finish(_ container: OCIContainer, _ exit: ChildExit) {
        container.phase = .exited
        container.output?.drain()
        if containers[container.id] === container { containers[container.id] = nil }
        if container.orphaned {
            orphans[container.name] = nil
        } else if let failure = container.startFailure {
            post(.failedToStart(failure))
        } else {
            let reason: String
            if container.oomKilled {
                reason = "OOMKilled"
            } else if exit.status == .exited(code: 0) {
                reason = "Completed"
            } else {
                reason = "Error"
            }
            let ranFor = (container.exitInstant ?? loop.now).since(container.startInstant)
            post(.exited(ContainerExited(id: container.id, pid: container.initPid, status: exit.status,
                                         finishedAt: container.finishedAt, ranFor: ranFor, reason: reason,
                                         stopRequested: container.stopRequested,
                                         logError: container.output?.logError?.description)))
        }
        // Runs on a later turn: the init is reaped by then, so the runtime sees it stopped.
        cleanUp(name: container.name, bundle: container.bundle, deleteFromRuntime: container.created)
    }

    /// Reports a start that went no further and removes what it made.
    private func abort(_ container: OCIContainer, _ reason: String, _ message: String, cleanUp: Bool = true) {
        container.phase = .exited
        container.closePipes()
        container.logFile = nil
        if containers[container.id] === container { containers[container.id] = nil }
        fail(container.id, reason, message)
        if cleanUp {
            self.cleanUp(name: container.name, bundle: container.bundle, deleteFromRuntime: container.created)
        } else if let next = waiting.removeValue(forKey: container.name) {
            // Nothing to remove: a start queued behind this one may go.
            if containers[next.id] === next { prepare(next) }
        }
    }

    // MARK: Clean-up

    /// `runc delete --force`, unmount the root, remove the bundle (in a forked child, a
    /// copied root can be large). A start of the same container waits until it is done.
    private func cleanUp(name: String, bundle: String, deleteFromRuntime: Bool) {
        // Marked at once, so a start of the same container from now on waits for it.
        cleanups.insert(name)
        loop.schedule(after: .zero) { self.removeBundle(name: name, bundle: bundle, deleteFromRuntime: deleteFromRuntime) }
    }

    private func removeBundle(name: String, bundle: String, deleteFromRuntime: Bool) {
        if deleteFromRuntime {
            runCommand(["delete", "--force", name]) { result in
                // A container the runtime never made (or already forgot) is no failure.
                if !result.succeeded && !OCIRuntime.contains(result.output, "does not exist")
                    && !OCIRuntime.contains(result.output, "not found") {
                    self.noteCleanupFailure(self.runtimeName + " delete: " + OCIRuntime.describe(result))
                }
                self.unmountAndRemove(name: name, bundle: bundle)
            }
        } else {
            unmountAndRemove(name: name, bundle: bundle)
        }
    }

    private func unmountAndRemove(name: String, bundle: String) {
        let rootfs = bundle + "/rootfs"
        if kinglet_file_exists(rootfs) != 0 && kinglet_oci_unmount(rootfs) < 0 {
            // Never remove below a root that is still mounted: that would reach the image.
            noteCleanupFailure(SystemError.last("umount", path: rootfs).description)
            return cleanedUp(name)
        }
        var pid: Int32 = 0
        let error = kinglet_oci_spawn_remove_tree(bundle, &pid)
        if error != 0 {
            noteCleanupFailure(SystemError(call: "fork", path: bundle, errno: error).description)
            return cleanedUp(name)
        }
        reaper.watch(pid: pid) { exit in
            if exit.status != .exited(code: 0) {
                let errno = exit.status.signal == nil ? exit.status.exitCode : EINTR
                self.noteCleanupFailure(SystemError(call: "remove", path: bundle, errno: errno).description)
            }
            self.loop.schedule(after: .zero) { self.cleanedUp(name) }
        }
    }

    private func noteCleanupFailure(_ failure: String) {
        statistics.cleanupFailures += 1
        statistics.lastCleanupFailure = failure
    }

    private func cleanedUp(_ name: String) {
        cleanups.remove(name)
        // Its exit has been handled and its bundle removed: the keeper may forget it (until
        // then a killed agent's successor finds it held, and removes the bundle itself).
        keeper?.release(OCIRuntime.keeperKey(name))
        guard let next = waiting.removeValue(forKey: name) else { return }
        if containers[next.id] === next { prepare(next) }
    }

    // MARK: Commands in a container

    /// Runs `command` in a running container (`runc exec`: its namespaces, root, user,
    /// environment and working directory), stdout and stderr captured together, the runtime
    /// killed after `timeout`. For exec probes.
    @discardableResult
    public func run(_ command: [String], in id: ContainerID, timeout: Duration,
                    completion: @escaping (CommandResult) -> Void) -> ContainerCommand {
        let run = ContainerCommand(loop: loop, reaper: reaper, completion: completion)
        guard let container = containers[id], container.phase == .running, let runtimePath else {
            run.fail("container " + id.description + " is not running")
            return run
        }
        run.start([runtimePath] + globalArguments + ["exec", container.name] + command,
                  environment: OCIRuntime.commandEnvironment, workingDirectory: nil, cgroup: nil, timeout: timeout)
        return run
    }

    // MARK: Helpers

    /// The runtime binary's name ("runc"), for messages.
    private var runtimeName: String {
        guard let slash = configuration.runtime.utf8.lastIndex(of: UInt8(ascii: "/")) else { return configuration.runtime }
        return String(configuration.runtime[configuration.runtime.utf8.index(after: slash)...])
    }

    private var globalArguments: [String] {
        var arguments: [String] = []
        if let root = configuration.stateRoot { arguments += ["--root", root] }
        return arguments + configuration.extraGlobalArguments
    }

    /// Runs `<runtime> <global options> <arguments>`; `completion` comes on a later turn.
    private func runCommand(_ arguments: [String], completion: @escaping (CommandResult) -> Void) {
        let command = ContainerCommand(loop: loop, reaper: reaper, completion: completion)
        guard let runtimePath else { return command.fail(configuration.runtime + " is missing") }
        command.start([runtimePath] + globalArguments + arguments, environment: OCIRuntime.commandEnvironment,
                      workingDirectory: nil, cgroup: nil, timeout: configuration.commandTimeout)
    }

    /// The container's cgroup, from /proc/<init>/cgroup: where its limits and OOM count are.
    private func readCgroup(_ container: OCIContainer) {
        guard let text = FileIO.text("/proc/" + String(container.initPid) + "/cgroup") else { return }
        let requested = container.launch.resourceLimits
        if kinglet_file_exists(OCIRuntime.cgroupMount + "/cgroup.controllers") != 0 {
            // cgroup v2: "0::/path".
            guard let path = OCIRuntime.cgroupPath(in: text, controller: nil) else { return }
            let folder = OCIRuntime.cgroupMount + path
            container.cgroupV2 = true
            container.memoryCgroup = folder
            if requested.isEmpty { return }
            let memory = FileIO.text(folder + "/memory.max").flatMap { Int64(OCIRuntime.trimmed(Substring($0))) }
            var quota: CPUQuota? = nil
            if let fields = FileIO.text(folder + "/cpu.max")?.split(whereSeparator: { $0 == " " || $0 == "\n" }),
               fields.count == 2, let value = Int64(fields[0]), let period = Int64(fields[1]) {
                quota = CPUQuota(quotaMicroseconds: value, periodMicroseconds: period)
            }
            container.limits = AppliedLimits(mechanism: .cgroupV2(folder: folder), memoryBytes: memory, cpuQuota: quota,
                                             note: "applied by " + runtimeName)
            return
        }
        // cgroup v1: one hierarchy per controller.
        let memoryPath = OCIRuntime.cgroupPath(in: text, controller: "memory")
        if let memoryPath { container.memoryCgroup = OCIRuntime.cgroupMount + "/memory" + memoryPath }
        if requested.isEmpty { return }
        var memory: Int64? = nil
        var notes: [String] = []
        if let folder = container.memoryCgroup,
           let value = FileIO.text(folder + "/memory.limit_in_bytes").flatMap({ Int64(OCIRuntime.trimmed(Substring($0))) }),
           value < Int64(1) << 62 {
            memory = value
            notes.append("memory.limit_in_bytes=" + String(value))
        }
        var quota: CPUQuota? = nil
        if let path = OCIRuntime.cgroupPath(in: text, controller: "cpu") {
            let folder = OCIRuntime.cgroupMount + "/cpu" + path
            if let value = FileIO.text(folder + "/cpu.cfs_quota_us").flatMap({ Int64(OCIRuntime.trimmed(Substring($0))) }),
               let period = FileIO.text(folder + "/cpu.cfs_period_us").flatMap({ Int64(OCIRuntime.trimmed(Substring($0))) }),
               value > 0 {
                quota = CPUQuota(quotaMicroseconds: value, periodMicroseconds: period)
                notes.append("cpu.cfs_quota_us=" + String(value) + " cpu.cfs_period_us=" + String(period))
            }
        }
        let place = memoryPath ?? ""
        container.limits = AppliedLimits(mechanism: .none, memoryBytes: memory, cpuQuota: quota,
                                         note: "cgroup v1 by " + runtimeName + " at " + place + ": "
                                             + notes.joined(separator: ", "))
    }

    /// The path of `controller`'s line in /proc/<pid>/cgroup, or the v2 line's ("0::") for nil.
    static func cgroupPath(in text: String, controller: String?) -> String? {
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard fields.count == 3 else { continue }
            if let controller {
                if fields[1].split(separator: ",").contains(where: { $0 == controller }) { return String(fields[2]) }
            } else if fields[0] == "0" && fields[1].isEmpty {
                return String(fields[2])
            }
        }
        return nil
    }

    /// Whether the kernel's OOM killer killed a process of the container's cgroup.
    private func oomKilled(_ container: OCIContainer) -> Bool {
        guard let folder = container.memoryCgroup else { return false }
        let file = container.cgroupV2 ? "/memory.events" : "/memory.oom_control"
        guard let text = FileIO.text(folder + file) else { return false }
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ")
            if fields.count == 2 && fields[0] == "oom_kill", let count = Int(fields[1]) { return count > 0 }
        }
        return false
    }

    /// What a runtime command said, for a status message: its last line of output, else how
    /// it ended.
    static func describe(_ result: CommandResult) -> String {
        if let line = lastLine(Array(result.output.utf8)) { return line }
        switch result.ending {
        case .exited(let status): return status.description
        case .timedOut: return "timed out"
        case .failedToStart(let reason): return reason
        }
    }

    /// Whether `part` occurs in `text`.
    static func contains(_ text: String, _ part: String) -> Bool {
        let haystack = Array(text.utf8)
        let needle = Array(part.utf8)
        if needle.isEmpty { return true }
        if haystack.count < needle.count { return false }
        for start in 0...(haystack.count - needle.count) where haystack[start] == needle[0] {
            if Array(haystack[start..<(start + needle.count)]) == needle { return true }
        }
        return false
    }

    /// The last line with something in it, trimmed; a logrus line (runc's
    /// `time="..." level=error msg="..."`) gives its message.
    static func lastLine(_ bytes: [UInt8]) -> String? {
        let text = String(decoding: bytes, as: UTF8.self)
        for line in text.split(separator: "\n").reversed() {
            let line = trimmed(line)
            if !line.isEmpty { return logrusMessage(line) ?? line }
        }
        return nil
    }

    /// The `msg="..."` field of a logrus text line, unescaped, or nil.
    static func logrusMessage(_ line: String) -> String? {
        let bytes = Array(line.utf8)
        let key = Array(" msg=\"".utf8)
        guard bytes.count > key.count else { return nil }
        var start: Int? = nil
        for index in 0...(bytes.count - key.count) where Array(bytes[index..<(index + key.count)]) == key {
            start = index + key.count
            break
        }
        guard var index = start else { return nil }
        var message: [UInt8] = []
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") { return String(decoding: message, as: UTF8.self) }
            if byte == UInt8(ascii: "\\") && index + 1 < bytes.count {
                index += 1
                let escaped = bytes[index]
                switch escaped {
                case UInt8(ascii: "n"): message.append(UInt8(ascii: "\n"))
                case UInt8(ascii: "t"): message.append(UInt8(ascii: "\t"))
                default: message.append(escaped)
                }
            } else {
                message.append(byte)
            }
            index += 1
        }
        return nil
    }

    static func trimmed(_ text: Substring) -> String {
        var utf8 = Array(text.utf8)
        while let last = utf8.last, last == 0x20 || last == 0x09 || last == 0x0A || last == 0x0D { utf8.removeLast() }
        var start = 0
        while start < utf8.count && (utf8[start] == 0x20 || utf8[start] == 0x09) { start += 1 }
        return String(decoding: utf8[start...], as: UTF8.self)
    }

    /// What a non-blocking descriptor holds now, at most 64 KiB.
    static func readAvailable(_ fd: Int32) -> [UInt8] {
        var bytes: [UInt8] = []
        let chunk = UnsafeMutableRawPointer.allocate(byteCount: 4096, alignment: 8)
        defer { chunk.deallocate() }
        while bytes.count < 64 * 1024 {
            let count = read(fd, chunk, 4096)
            if count < 0 && kinglet_errno() == EINTR { continue }
            if count <= 0 { break }
            bytes.append(contentsOf: UnsafeRawBufferPointer(start: chunk, count: count))
        }
        return bytes
    }

    static func writeFile(_ bytes: [UInt8], to path: String) throws(SystemError) {
        let fd = kinglet_open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        if fd < 0 { throw SystemError.last("open", path: path) }
        defer { _ = close(fd) }
        if let error = bytes.withUnsafeBytes({ FileIO.writeAll(fd, $0) }) {
            throw SystemError(call: "write", path: path, errno: error)
        }
    }

    private func fail(_ id: ContainerID, _ reason: String, _ message: String) {
        post(.failedToStart(ContainerStartFailure(id: id, reason: reason, message: message)))
    }

    private func post(_ event: ContainerEvent) {
        post(event, queue: &events, loop: loop) { self.events.take() }
    }
}
