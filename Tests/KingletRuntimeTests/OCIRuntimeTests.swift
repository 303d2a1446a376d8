import CKingletSystem
import Foundation
import KingletCore
import KingletEpoll
@testable import KingletRuntime
import Testing

/// What the OCI tests need from the machine: root, and the runtime binaries.
enum OCITestEnvironment {
    static let isRoot = getuid() == 0

    static func binary(_ name: String) -> String? {
        ["/usr/sbin/", "/usr/bin/", "/sbin/", "/bin/", "/usr/local/bin/", "/usr/local/sbin/"]
            .map { $0 + name }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    static let runcPath = binary("runc")
    static let canRunRunc = isRoot && runcPath != nil && FileManager.default.isExecutableFile(atPath: "/bin/busybox")

    /// Why crun cannot run a container on this machine, found once by running one by hand
    /// (nil when it can).
    static let crunProblem: String? = {
        guard isRoot, let crun = binary("crun") else { return "needs root and crun" }
        let folder = NSTemporaryDirectory() + "kinglet-crun-probe-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: folder) }
        do {
            try OCIImage.build(at: folder + "/bundle/rootfs")
            var config = OCIConfig(arguments: ["/bin/true"], environment: [], workingDirectory: "/", user: .root,
                                   hostname: nil, mounts: [], devices: [], resources: ResourceLimits(), cgroupsPath: nil)
            config.rootPath = "rootfs"
            try Data(config.json()).write(to: URL(fileURLWithPath: folder + "/bundle/config.json"))
        } catch {
            return "could not build the probe bundle: \(error)"
        }
        let root = folder + "/state"
        let (status, output) = runTool(crun, ["--root", root, "run", "--bundle", folder + "/bundle", "kinglet-probe"])
        _ = runTool(crun, ["--root", root, "delete", "--force", "kinglet-probe"])
        if status == 0 { return nil }
        let problem = "crun cannot run a container here: " + output.trimmingCharacters(in: .whitespacesAndNewlines)
        print(problem)
        return problem
    }()

    /// Runs a tool to its end (test set-up and checks only, never the runtime under test).
    @discardableResult
    static func runTool(_ path: String, _ arguments: [String]) -> (Int32, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        do { try process.run() } catch { return (-1, "\(error)") }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}

/// A root file system made by hand from Debian's busybox-static.
enum OCIImage {
    static let applets = ["sh", "echo", "sleep", "cat", "ls", "pwd", "id", "true", "touch", "stat", "env"]

    static func build(at path: String) throws {
        let manager = FileManager.default
        for folder in ["bin", "etc", "tmp"] {
            try manager.createDirectory(atPath: path + "/" + folder, withIntermediateDirectories: true)
        }
        try manager.copyItem(atPath: "/bin/busybox", toPath: path + "/bin/busybox")
        for applet in applets { try manager.createSymbolicLink(atPath: path + "/bin/" + applet, withDestinationPath: "busybox") }
        try "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\napp:x:1000:1001::/:/bin/sh\n"
            .write(toFile: path + "/etc/passwd", atomically: false, encoding: .utf8)
        try "root:x:0:\nnogroup:x:65534:\napp:x:1001:\n".write(toFile: path + "/etc/group", atomically: false, encoding: .utf8)
        try "image\n".write(toFile: path + "/etc/original", atomically: false, encoding: .utf8)
    }
}

/// A real epoll loop, a reaper and an OCIRuntime with its own bundles folder, runtime state
/// root (`--root`, so no other container is seen) and cgroup parent, all removed in
/// `finish`, which also checks that nothing is left: no container in the runtime's list, no
/// mount below the scratch folder, no bundle, no cgroup.
final class OCIHarness {
    let loop: EpollEventLoop
    let reaper: ChildReaper
    let runtime: OCIRuntime
    let recorder = EventRecorder()
    let runtimeName: String
    let runtimeBinary: String
    let folder: String
    let image: String
    let stateRoot: String
    let cgroupParent: String

    init(runtime runtimeName: String = "runc", useOverlay: Bool = true) throws {
        self.runtimeName = runtimeName
        runtimeBinary = try #require(OCITestEnvironment.binary(runtimeName))
        folder = URL(fileURLWithPath: NSTemporaryDirectory())
            .appendingPathComponent("kinglet-oci-" + UUID().uuidString).resolvingSymlinksInPath().path
        image = folder + "/image/rootfs"
        stateRoot = folder + "/state"
        cgroupParent = "/kinglet-test-" + String(UUID().uuidString.prefix(8))
        try FileManager.default.createDirectory(atPath: folder + "/logs", withIntermediateDirectories: true)
        try OCIImage.build(at: image)
        loop = try EpollEventLoop()
        reaper = try ChildReaper(loop: loop, scope: .registeredOnly, pollInterval: .milliseconds(5))
        let configuration = OCIRuntimeConfiguration(runtime: runtimeBinary, bundles: folder + "/bundles", stateRoot: stateRoot,
                                                    cgroupParent: cgroupParent, useOverlay: useOverlay,
                                                    commandTimeout: .seconds(30))
        self.runtime = try OCIRuntime(loop: loop, reaper: reaper, configuration: configuration)
        self.runtime.delegate = recorder
    }

    /// A container running `/bin/sh -c script` in the busybox image.
    func shell(_ name: String, _ script: String, environment: [EnvironmentVariable] = [],
               workingDirectory: String? = nil, resourceLimits: ResourceLimits = ResourceLimits(),
               options: (inout OCILaunchOptions) -> Void = { _ in }) -> ContainerLaunch {
        command(name, ["sh", "-c", script], environment: environment, workingDirectory: workingDirectory,
                resourceLimits: resourceLimits, options: options)
    }

    func command(_ name: String, _ argv: [String], environment: [EnvironmentVariable] = [],
                 workingDirectory: String? = nil, resourceLimits: ResourceLimits = ResourceLimits(),
                 options: (inout OCILaunchOptions) -> Void = { _ in }) -> ContainerLaunch {
        var launch = ContainerLaunch(podUID: "0f6c1b3e-pod", containerName: name, executable: argv[0],
                                     arguments: Array(argv.dropFirst()), environment: environment,
                                     workingDirectory: workingDirectory, logPath: logPath(name),
                                     resourceLimits: resourceLimits)
        var oci = OCILaunchOptions(imageRootfs: image)
        options(&oci)
        launch.oci = oci
        return launch
    }

    func logPath(_ name: String) -> String { folder + "/logs/" + name + ".log" }

    func logLines(_ name: String) -> [String] {
        let text = (try? String(contentsOfFile: logPath(name), encoding: .utf8)) ?? ""
        return text.split(separator: "\n").map(String.init)
    }

    func messages(_ name: String) -> [String] {
        ((try? ContainerLogReader.messages(logPath: logPath(name))) ?? []).map(\.text)
    }

    @discardableResult
    func run(for seconds: Double = 30, until condition: () -> Bool) throws -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while !condition() {
            if Date() > deadline { return false }
            try loop.runOnce(timeoutMilliseconds: 20)
        }
        return true
    }

    func start(_ launch: ContainerLaunch) throws -> ContainerStarted? {
        runtime.start(launch)
        try run { recorder.started(launch.id) != nil || recorder.failure(launch.id) != nil }
        return recorder.started(launch.id)
    }

    func exit(of id: ContainerID) throws -> ContainerExited? {
        try run { recorder.exited(id) != nil }
        return recorder.exited(id)
    }

    /// Runtime ids the runtime still lists under our `--root`.
    func listedContainers() -> [String] {
        let (_, output) = OCITestEnvironment.runTool(runtimeBinary, ["--root", stateRoot, "list", "-q"])
        return output.split(separator: "\n").map(String.init).filter { !$0.isEmpty }
    }

    /// Mount points below the scratch folder.
    func mountsLeft() -> [String] {
        let text = (try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ")
            guard fields.count > 4, fields[4].hasPrefix(folder) else { return nil }
            return String(fields[4])
        }
    }

    /// The container's folder in a cgroup v1 hierarchy (or below the v2 root for nil).
    func cgroupFolder(_ id: ContainerID, controller: String?) -> String {
        "/sys/fs/cgroup" + (controller.map { "/" + $0 } ?? "") + cgroupParent + "/" + OCIRuntime.runtimeID(for: id)
    }

    /// Stops what still runs, waits for every exit and bundle removal, then checks that
    /// nothing is left, and removes the scratch folder and the cgroup parent.
    func finish(sourceLocation: SourceLocation = #_sourceLocation) throws {
        for id in runtime.runningContainers { runtime.stop(id, gracePeriod: .zero) }
        let done = try run {
            runtime.runningContainers.isEmpty && runtime.pendingCleanups == 0 && reaper.watchedCount == 0
        }
        #expect(done, "containers or clean-ups still running at the end of the test", sourceLocation: sourceLocation)
        for pid in recorder.startedPids {
            let reaped = kinglet_child_reap(pid) == -1 && kinglet_errno() == ECHILD
            #expect(reaped, "pid \(pid) was not reaped", sourceLocation: sourceLocation)
        }
        #expect(listedContainers() == [], "containers left in \(runtimeName) list", sourceLocation: sourceLocation)
        #expect(mountsLeft() == [], "mounts left", sourceLocation: sourceLocation)
        let bundles = (try? FileManager.default.contentsOfDirectory(atPath: folder + "/bundles")) ?? []
        #expect(bundles == [], "bundles left", sourceLocation: sourceLocation)
        #expect(runtime.statistics.cleanupFailures == 0, "\(runtime.statistics.lastCleanupFailure ?? "")",
                sourceLocation: sourceLocation)
        let hierarchies = (try? FileManager.default.contentsOfDirectory(atPath: "/sys/fs/cgroup")) ?? []
        for hierarchy in hierarchies + [""] {
            let parent = "/sys/fs/cgroup/" + hierarchy + cgroupParent
            guard FileManager.default.fileExists(atPath: parent) else { continue }
            let children = ((try? FileManager.default.contentsOfDirectory(atPath: parent)) ?? [])
                .filter { (try? FileManager.default.attributesOfItem(atPath: parent + "/" + $0)[.type] as? FileAttributeType) == .typeDirectory }
            #expect(children == [], "cgroups left in \(parent)", sourceLocation: sourceLocation)
            rmdir(parent)
        }
        try? FileManager.default.removeItem(atPath: folder)
    }
}

/// The OCI runtime with real runc (and crun where it works), as root. Every test removes
/// what it made and checks that no container, mount, bundle or cgroup is left.
@Suite(.enabled(if: OCITestEnvironment.canRunRunc, "needs root, runc and /bin/busybox"))
struct OCIRuntimeTests {
    @Test func aContainersOutputGoesToItsCRILogAndItsExitCodeIsReported() throws { try Self.aContainersOutputGoesToItsCRILogAndItsExitCodeIsReported(runtime: "runc") }

    static func aContainersOutputGoesToItsCRILogAndItsExitCodeIsReported(runtime name: String) throws {
        let harness = try OCIHarness(runtime: name)
        let launch = harness.shell("hello", "echo to stdout; echo to stderr >&2; exit 3")
        let clock = ContinuousClock()
        let began = clock.now
        let started = try #require(try harness.start(launch))
        let latency = clock.now - began
        print("\(name): start() to .started in \(latency)")
        #expect(started.pid > 1)
        #expect(harness.runtime.statistics.overlayRoots == 1)
        let exit = try #require(try harness.exit(of: launch.id))
        #expect(exit.status == .exited(code: 3))
        #expect(exit.reason == "Error")
        #expect(!exit.stopRequested)
        #expect(exit.pid == started.pid)
        let lines = harness.logLines("hello")
        #expect(lines.count == 2)
        #expect(lines.contains { $0.hasSuffix(" stdout F to stdout") })
        #expect(lines.contains { $0.hasSuffix(" stderr F to stderr") })
        // Every event in order: started, then exited.
        #expect(harness.recorder.events.count == 2)
        try harness.finish()
    }

    @Test func aGracefulStopEndsAContainerWhoseInitHandlesSIGTERM() throws { try Self.aGracefulStopEndsAContainerWhoseInitHandlesSIGTERM(runtime: "runc") }

    static func aGracefulStopEndsAContainerWhoseInitHandlesSIGTERM(runtime name: String) throws {
        let harness = try OCIHarness(runtime: name)
        let launch = harness.shell("graceful", "trap 'echo got TERM; exit 143' TERM; echo ready; sleep 100 & wait $!")
        _ = try #require(try harness.start(launch))
        try harness.run { harness.messages("graceful") == ["ready"] }
        let stoppedAt = Date()
        harness.runtime.stop(launch.id, gracePeriod: .seconds(30))
        let exit = try #require(try harness.exit(of: launch.id))
        #expect(exit.status == .exited(code: 143))
        #expect(exit.stopRequested)
        #expect(Date().timeIntervalSince(stoppedAt) < 10)
        #expect(harness.messages("graceful") == ["ready", "got TERM"])
        try harness.finish()
    }

    @Test func aContainerIgnoringSIGTERMIsKilledAfterTheGracePeriod() throws {
        let harness = try OCIHarness()
        let launch = harness.shell("stubborn", "trap '' TERM; echo ready; sleep 100")
        _ = try #require(try harness.start(launch))
        try harness.run { harness.messages("stubborn") == ["ready"] }
        let grace = KingletCore.Duration.milliseconds(300)
        let stoppedAt = harness.loop.now
        harness.runtime.stop(launch.id, gracePeriod: grace)
        let exit = try #require(try harness.exit(of: launch.id))
        #expect(exit.status == .killed(signal: SIGKILL, coreDumped: false))
        #expect(exit.status.exitCode == 137)
        #expect(exit.stopRequested)
        #expect(harness.loop.now.since(stoppedAt) >= grace)
        try harness.finish()
    }

    @Test func aBareSleepAsPID1IgnoresSIGTERMAsInDocker() throws {
        let harness = try OCIHarness()
        // PID 1 of a PID namespace gets only the signals it has a handler for.
        let launch = harness.command("pid1", ["sleep", "100"])
        _ = try #require(try harness.start(launch))
        harness.runtime.stop(launch.id, gracePeriod: .milliseconds(300))
        let exit = try #require(try harness.exit(of: launch.id))
        #expect(exit.status == .killed(signal: SIGKILL, coreDumped: false))
        try harness.finish()
    }

    @Test func aStopDuringTheStartIsAppliedOnceTheContainerRuns() throws {
        let harness = try OCIHarness()
        let launch = harness.shell("early", "trap '' TERM; sleep 100")
        harness.runtime.start(launch)
        harness.runtime.stop(launch.id, gracePeriod: .zero)
        let exit = try #require(try harness.exit(of: launch.id))
        #expect(exit.status == .killed(signal: SIGKILL, coreDumped: false))
        #expect(exit.stopRequested)
        // `.started` still comes first.
        #expect(harness.recorder.events.count == 2)
        #expect(harness.recorder.started(launch.id) != nil)
        try harness.finish()
    }

    @Test func environmentWorkingDirectoryAndUserReachTheProcess() throws {
        let harness = try OCIHarness()
        let launch = harness.shell("env", "pwd; echo $GREETING; echo $PATH; id -u; id -g",
                                   environment: [EnvironmentVariable(name: "GREETING", value: "hello from the pod")],
                                   workingDirectory: "/srv/app") { $0.user = OCIUser(uid: 1000, gid: 1001) }
        _ = try #require(try harness.start(launch))
        let exit = try #require(try harness.exit(of: launch.id))
        #expect(exit.status == .exited(code: 0))
        #expect(exit.reason == "Completed")
        #expect(harness.messages("env") == ["/srv/app", "hello from the pod", ExecutableLookup.defaultPath, "1000", "1001"])
        try harness.finish()
    }

    @Test func aMissingExecutableFailsToStartWithTheRuntimesReason() throws { try Self.aMissingExecutableFailsToStartWithTheRuntimesReason(runtime: "runc") }

    static func aMissingExecutableFailsToStartWithTheRuntimesReason(runtime name: String) throws {
        let harness = try OCIHarness(runtime: name)
        let launch = harness.command("missing", ["no-such-program", "--flag"])
        #expect(try harness.start(launch) == nil)
        let failure = try #require(harness.recorder.failure(launch.id))
        #expect(failure.reason == "StartError")
        #expect(failure.message.contains("no-such-program"))
        print("\(name) reason: \(failure.message)")
        if name == "runc" {
            #expect(failure.message.contains("exec: \"no-such-program\": executable file not found in $PATH"))
        }
        #expect(!harness.runtime.isRunning(launch.id))
        // The runtime's own message is not the container's output.
        #expect(harness.logLines("missing") == [])
        try harness.finish()
    }

    @Test func memoryAndCPULimitsAreInTheContainersCgroup() throws {
        let harness = try OCIHarness()
        let limits = ResourceLimits(memoryBytes: 64 * 1024 * 1024, cpuMillicores: 500)
        let launch = harness.shell("limited", "echo ready; sleep 100", resourceLimits: limits)
        let started = try #require(try harness.start(launch))
        #expect(harness.runtime.rootMode(of: launch.id) == .overlay)
        #expect(harness.runtime.pid(of: launch.id) == started.pid)
        let v2 = FileManager.default.fileExists(atPath: "/sys/fs/cgroup/cgroup.controllers")
        if v2 {
            let folder = harness.cgroupFolder(launch.id, controller: nil)
            #expect(try String(contentsOfFile: folder + "/memory.max", encoding: .utf8) == "67108864\n")
            #expect(try String(contentsOfFile: folder + "/cpu.max", encoding: .utf8) == "50000 100000\n")
            #expect(started.limits.mechanism == .cgroupV2(folder: folder))
        } else {
            let memory = harness.cgroupFolder(launch.id, controller: "memory")
            #expect(try String(contentsOfFile: memory + "/memory.limit_in_bytes", encoding: .utf8) == "67108864\n")
            let cpu = harness.cgroupFolder(launch.id, controller: "cpu")
            #expect(try String(contentsOfFile: cpu + "/cpu.cfs_quota_us", encoding: .utf8) == "50000\n")
            // The init is in it.
            let procs = try String(contentsOfFile: memory + "/cgroup.procs", encoding: .utf8)
            #expect(procs.split(separator: "\n").contains(Substring(String(started.pid))))
        }
        #expect(started.limits.memoryBytes == Int64(67_108_864))
        #expect(started.limits.cpuQuota == CPUQuota(quotaMicroseconds: 50000, periodMicroseconds: 100000))
        print("limits: \(started.limits.description)")
        harness.runtime.stop(launch.id, gracePeriod: .zero)
        #expect(try harness.exit(of: launch.id)?.status == .killed(signal: SIGKILL, coreDumped: false))
        try harness.finish()
    }

    @Test func aContainerOverItsMemoryLimitIsReportedOOMKilled() throws {
        let harness = try OCIHarness()
        let limits = ResourceLimits(memoryBytes: 8 * 1024 * 1024)
        // A shell variable doubling until the kernel's OOM killer ends the shell (PID 1).
        let launch = harness.shell("hungry", "x=0123456789abcdef; while :; do x=$x$x; done", resourceLimits: limits)
        _ = try #require(try harness.start(launch))
        let exit = try #require(try harness.exit(of: launch.id))
        #expect(exit.status == .killed(signal: SIGKILL, coreDumped: false))
        #expect(exit.reason == "OOMKilled")
        try harness.finish()
    }

    @Test func hostFoldersAreBindMountedReadOnlyWhenAsked() throws {
        let harness = try OCIHarness()
        let data = harness.folder + "/volumes/data"
        let out = harness.folder + "/volumes/out"
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        try "from the host\n".write(toFile: data + "/hello.txt", atomically: false, encoding: .utf8)
        let launch = harness.shell("volumes", "cat /data/hello.txt; echo written > /out/result; touch /data/nope || echo refused") {
            $0.mounts = [OCIBindMount(hostPath: data, containerPath: "/data", readOnly: true),
                         OCIBindMount(hostPath: out, containerPath: "/out")]
        }
        _ = try #require(try harness.start(launch))
        _ = try #require(try harness.exit(of: launch.id))
        let messages = harness.messages("volumes")
        // stdout and stderr lines may interleave either way: look at stdout's alone.
        #expect(messages.filter { !$0.hasPrefix("touch:") } == ["from the host", "refused"])
        #expect(try String(contentsOfFile: out + "/result", encoding: .utf8) == "written\n")
        #expect(!FileManager.default.fileExists(atPath: data + "/nope"))
        try harness.finish()
    }

    @Test(arguments: [true, false])
    func writesStayInTheContainerAndNeverReachTheImage(overlay: Bool) throws {
        let harness = try OCIHarness(useOverlay: overlay)
        let launch = harness.shell("writer", "echo changed > /etc/original; echo new > /bin/added; cat /etc/original")
        let clock = ContinuousClock()
        let began = clock.now
        _ = try #require(try harness.start(launch))
        print("root \(overlay ? "overlay" : "copy"): start() to .started in \(clock.now - began)")
        let exit = try #require(try harness.exit(of: launch.id))
        #expect(exit.ranFor >= .zero)
        #expect(harness.messages("writer") == ["changed"])
        #expect(try String(contentsOfFile: harness.image + "/etc/original", encoding: .utf8) == "image\n")
        #expect(!FileManager.default.fileExists(atPath: harness.image + "/bin/added"))
        #expect(harness.runtime.statistics.overlayRoots == (overlay ? 1 : 0))
        #expect(harness.runtime.statistics.copiedRoots == (overlay ? 0 : 1))
        try harness.finish()
    }

    @Test func aHostDeviceNodeIsCreatedAndAllowed() throws {
        let harness = try OCIHarness()
        // A character device 1:3 (what /dev/null is) under another name.
        let node = harness.folder + "/ttyFAKE0"
        #expect(OCITestEnvironment.runTool("/usr/bin/mknod", ["-m", "666", node, "c", "1", "3"]).0 == 0)
        let launch = harness.shell("device", "echo hi > /dev/ttyUSB0 && echo wrote; stat -c '%F %t:%T' /dev/ttyUSB0") {
            $0.devices = [OCIDevice(hostPath: node, containerPath: "/dev/ttyUSB0")]
        }
        _ = try #require(try harness.start(launch))
        _ = try #require(try harness.exit(of: launch.id))
        #expect(harness.messages("device") == ["wrote", "character special file 1:3"])
        try harness.finish()
    }

    @Test func containersOfOneImageRunSideBySide() throws {
        let harness = try OCIHarness()
        let launches = (1...3).map { harness.shell("twin\($0)", "echo I am \($0) > /etc/original; sleep 0.2; cat /etc/original") }
        for launch in launches { harness.runtime.start(launch) }
        #expect(try harness.run { launches.allSatisfy { harness.recorder.exited($0.id) != nil } })
        for (index, launch) in launches.enumerated() {
            #expect(harness.recorder.exited(launch.id)?.status == .exited(code: 0))
            #expect(harness.messages(launch.containerName) == ["I am \(index + 1)"])
        }
        #expect(harness.runtime.statistics.overlayRoots == 3)
        try harness.finish()
    }

    @Test func aRestartWaitsForThePreviousRunsBundle() throws {
        let harness = try OCIHarness()
        let launch = harness.shell("again", "echo run")
        _ = try #require(try harness.start(launch))
        _ = try #require(try harness.exit(of: launch.id))
        // At once, while the first run's bundle is still being removed.
        #expect(harness.runtime.pendingCleanups == 1)
        harness.runtime.start(launch)
        let exits = { harness.recorder.events.filter { if case .exited = $0 { return true } else { return false } }.count }
        #expect(try harness.run { exits() == 2 })
        #expect(harness.recorder.failure(launch.id) == nil)
        #expect(harness.messages("again") == ["run", "run"])
        try harness.finish()
    }

    @Test func leftoversOfAnEarlierAgentAreRemovedBeforeTheContainerStarts() throws {
        let harness = try OCIHarness()
        let launch = harness.shell("leftover", "ls /stale 2>/dev/null || echo fresh")
        // A bundle as a killed agent leaves it: the root still mounted, a write in its layer.
        let bundle = harness.runtime.bundle(of: launch.id)
        for folder in ["rootfs", "upper", "work"] {
            try FileManager.default.createDirectory(atPath: bundle + "/" + folder, withIntermediateDirectories: true)
        }
        #expect(kinglet_oci_mount_overlay(harness.image, bundle + "/upper", bundle + "/work", bundle + "/rootfs") == 0)
        try "old\n".write(toFile: bundle + "/rootfs/stale", atomically: false, encoding: .utf8)
        _ = try #require(try harness.start(launch))
        _ = try #require(try harness.exit(of: launch.id))
        #expect(harness.messages("leftover") == ["fresh"])
        try harness.finish()
    }

    @Test func anExecCommandRunsInTheContainersContext() throws {
        let harness = try OCIHarness()
        let launch = harness.shell("probed", "echo ready; sleep 100",
                                   environment: [EnvironmentVariable(name: "MODE", value: "probe")],
                                   workingDirectory: "/tmp")
        _ = try #require(try harness.start(launch))
        var result: CommandResult? = nil
        harness.runtime.run(["sh", "-c", "echo $MODE; pwd; cat /etc/original"], in: launch.id, timeout: .seconds(10)) {
            result = $0
        }
        try harness.run { result != nil }
        #expect(result?.succeeded == true)
        #expect(result?.output == "probe\n/tmp\nimage\n")
        harness.runtime.stop(launch.id, gracePeriod: .zero)
        _ = try #require(try harness.exit(of: launch.id))
        try harness.finish()
    }

    @Test func aLaunchWithoutAnImageFailsToStart() throws {
        let harness = try OCIHarness()
        let launch = ContainerLaunch(podUID: "p", containerName: "plain", executable: "/bin/true", logPath: harness.logPath("plain"))
        #expect(try harness.start(launch) == nil)
        #expect(harness.recorder.failure(launch.id)?.reason == "CreateContainerError")
        try harness.finish()
    }
}

/// The same container life with crun, where crun can run containers (crun 1.8 refuses
/// cgroup v1 hosts whose cgroup v2 hierarchy has controllers, "hybrid" mode; the reason
/// found is printed).
@Suite(.enabled(if: OCITestEnvironment.crunProblem == nil, "crun cannot run a container on this machine"))
struct OCICrunTests {
    @Test func aContainersOutputGoesToItsCRILogAndItsExitCodeIsReported() throws {
        try OCIRuntimeTests.aContainersOutputGoesToItsCRILogAndItsExitCodeIsReported(runtime: "crun")
    }

    @Test func aGracefulStopEndsAContainerWhoseInitHandlesSIGTERM() throws {
        try OCIRuntimeTests.aGracefulStopEndsAContainerWhoseInitHandlesSIGTERM(runtime: "crun")
    }

    @Test func aMissingExecutableFailsToStartWithTheRuntimesReason() throws {
        try OCIRuntimeTests.aMissingExecutableFailsToStartWithTheRuntimesReason(runtime: "crun")
    }
}
