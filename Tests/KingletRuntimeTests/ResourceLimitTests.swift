import CKingletSystem
import Foundation
import KingletCore
@testable import KingletRuntime
import Testing

/// cgroup v2 when the base folder can hold it, else RLIMIT_AS, and a description of what
/// was applied either way.
@Suite struct ResourceLimitTests {
    static let memory: Int64 = 64 * 1024 * 1024

    private func sleeper(_ harness: RuntimeHarness, _ name: String, _ limits: ResourceLimits) -> ContainerLaunch {
        ContainerLaunch(podUID: "pod-1", containerName: name, executable: "/bin/sleep", arguments: ["1000"],
                        logPath: harness.logPath(name), resourceLimits: limits)
    }

    /// The "Max address space" soft limit from /proc/<pid>/limits.
    private func addressSpaceLimit(_ pid: Int32) -> String? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/limits", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("Max address space") }) else { return nil }
        return line.dropFirst("Max address space".count).split(separator: " ").first.map(String.init)
    }

    @Test func noLimitsAppliesNothing() throws {
        let harness = try RuntimeHarness()
        let started = try #require(try harness.start(sleeper(harness, "free", ResourceLimits())))
        #expect(started.limits.mechanism == .none)
        #expect(started.limits.description == "none: no limits requested")
        #expect(addressSpaceLimit(started.pid) == "unlimited")
        try harness.finish()
    }

    @Test func withoutCgroupsMemoryFallsBackToRLIMIT_AS() throws {
        let harness = try RuntimeHarness(cgroupBase: nil)
        let limits = ResourceLimits(memoryBytes: ResourceLimitTests.memory, cpuMillicores: 500)
        let started = try #require(try harness.start(sleeper(harness, "capped", limits)))
        #expect(started.limits.mechanism == .rlimit)
        #expect(started.limits.memoryBytes == ResourceLimitTests.memory)
        #expect(started.limits.description == "rlimit: RLIMIT_AS=67108864 (cpu limit not applied; cgroups disabled)")
        #expect(addressSpaceLimit(started.pid) == "67108864")
        #expect(harness.runtime.limits(of: ContainerID(podUID: "pod-1", name: "capped")) == started.limits)
        try harness.finish()
    }

    @Test func aCPUOnlyLimitWithoutCgroupsIsReportedAsNotApplied() throws {
        let harness = try RuntimeHarness(cgroupBase: nil)
        let started = try #require(try harness.start(sleeper(harness, "cpu", ResourceLimits(cpuMillicores: 250))))
        #expect(started.limits.mechanism == .none)
        #expect(started.limits.description == "none: cpu limit not applied; cgroups disabled")
        try harness.finish()
    }

    @Test func aBaseFolderOutsideCgroupFSFallsBackAndSaysWhy() throws {
        let harness = try RuntimeHarness()
        let base = harness.folder + "/plain/kinglet"
        try FileManager.default.createDirectory(atPath: harness.folder + "/plain", withIntermediateDirectories: true)
        let runtime = ExecRuntime(loop: harness.loop, reaper: harness.reaper, cgroupBase: base)
        runtime.delegate = harness.recorder
        let launch = sleeper(harness, "plain", ResourceLimits(memoryBytes: ResourceLimitTests.memory))
        runtime.start(launch)
        try harness.run { harness.recorder.started(launch.id) != nil }
        let started = try #require(harness.recorder.started(launch.id))
        #expect(started.limits.mechanism == .rlimit)
        #expect(started.limits.description == "rlimit: RLIMIT_AS=67108864 (" + harness.folder + "/plain is not a cgroup v2 folder)")
        runtime.stop(launch.id, gracePeriod: .zero)
        try harness.run { !runtime.isRunning(launch.id) }
        try harness.finish()
    }

    /// cgroup v2's files imitated by plain files: checks what the runtime writes where.
    @Test func cgroupV2LimitsAreWrittenAndTheProcessMovedIn() throws {
        let harness = try RuntimeHarness()
        let root = harness.folder + "/fake-cgroup"
        let base = root + "/kinglet"
        let group = base + "/pod-1_limited"
        try FileManager.default.createDirectory(atPath: group, withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: root + "/cgroup.controllers", contents: Data("cpuset cpu io memory pids\n".utf8))
        for file in [root + "/cgroup.subtree_control", base + "/cgroup.subtree_control",
                     group + "/memory.max", group + "/cpu.max", group + "/cgroup.procs"] {
            FileManager.default.createFile(atPath: file, contents: nil)
        }
        let runtime = ExecRuntime(loop: harness.loop, reaper: harness.reaper, cgroupBase: base)
        runtime.delegate = harness.recorder
        let launch = sleeper(harness, "limited", ResourceLimits(memoryBytes: ResourceLimitTests.memory, cpuMillicores: 500))
        runtime.start(launch)
        try harness.run { harness.recorder.started(launch.id) != nil }
        let started = try #require(harness.recorder.started(launch.id))
        #expect(started.limits.mechanism == .cgroupV2(folder: group))
        #expect(started.limits.description == "cgroup v2: memory.max=67108864, cpu.max=50000 100000")
        func read(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }
        #expect(read(root + "/cgroup.subtree_control") == "+memory +cpu")
        #expect(read(base + "/cgroup.subtree_control") == "+memory +cpu")
        #expect(read(group + "/memory.max") == "67108864")
        #expect(read(group + "/cpu.max") == "50000 100000")
        #expect(read(group + "/cgroup.procs") == String(started.pid))
        runtime.stop(launch.id, gracePeriod: .zero)
        try harness.run { !runtime.isRunning(launch.id) }
        try harness.finish()
    }

    /// The real thing, where this machine offers it; otherwise the fallback must say why.
    @Test func realCgroupV2OrAnExplainedFallback() throws {
        let harness = try RuntimeHarness()
        guard let mount = cgroup2Mount() else {
            // No cgroup v2 at all: the fallback path is what runs here.
            let runtime = ExecRuntime(loop: harness.loop, reaper: harness.reaper, cgroupBase: "/sys/fs/cgroup/kinglet-test")
            runtime.delegate = harness.recorder
            let launch = sleeper(harness, "nocg", ResourceLimits(memoryBytes: ResourceLimitTests.memory))
            runtime.start(launch)
            try harness.run { harness.recorder.started(launch.id) != nil }
            #expect(harness.recorder.started(launch.id)?.limits.mechanism == .rlimit)
            runtime.stop(launch.id, gracePeriod: .zero)
            try harness.run { !runtime.isRunning(launch.id) }
            try harness.finish()
            return
        }
        let base = mount + "/kinglet-test-" + UUID().uuidString.prefix(8)
        defer { _ = rmdir(base) }
        let runtime = ExecRuntime(loop: harness.loop, reaper: harness.reaper, cgroupBase: base)
        runtime.delegate = harness.recorder
        let launch = sleeper(harness, "real", ResourceLimits(memoryBytes: ResourceLimitTests.memory, cpuMillicores: 500))
        runtime.start(launch)
        try harness.run { harness.recorder.started(launch.id) != nil }
        let started = try #require(harness.recorder.started(launch.id))
        let controllers = (try? String(contentsOfFile: mount + "/cgroup.controllers", encoding: .utf8)) ?? ""
        let offers = controllers.split(whereSeparator: \.isWhitespace)
        if offers.contains("memory") && offers.contains("cpu") && started.limits.note == nil {
            let group = base + "/pod-1_real"
            #expect(started.limits.mechanism == .cgroupV2(folder: group))
            let membership = (try? String(contentsOfFile: "/proc/\(started.pid)/cgroup", encoding: .utf8)) ?? ""
            #expect(membership.contains("/pod-1_real"), "\(membership)")
            runtime.stop(launch.id, gracePeriod: .zero)
            try harness.run { !runtime.isRunning(launch.id) }
            // Removed once the container is gone.
            #expect(try harness.run { !FileManager.default.fileExists(atPath: group) })
        } else {
            // This sandbox: cgroup v2 is mounted without the memory controller.
            #expect(started.limits.mechanism == .rlimit)
            let note = started.limits.note ?? ""
            #expect(note.contains("has no memory controller") || note.contains("has no cpu controller") || note.contains("cannot"),
                    "\(started.limits.description)")
            runtime.stop(launch.id, gracePeriod: .zero)
            try harness.run { !runtime.isRunning(launch.id) }
        }
        try harness.finish()
    }

    @Test func cpuQuotaFollowsTheKubelet() {
        #expect(ResourceLimits(cpuMillicores: 500).cpuQuota?.description == "50000 100000")
        #expect(ResourceLimits(cpuMillicores: 2000).cpuQuota?.description == "200000 100000")
        #expect(ResourceLimits(cpuMillicores: 1).cpuQuota?.description == "1000 100000")
        #expect(ResourceLimits(memoryBytes: 1).cpuQuota == nil)
        #expect(ContainerCgroup.safeName("uid-1_web.app") == "uid-1_web.app")
        #expect(ContainerCgroup.safeName("../etc") == ".._etc")
        #expect(ContainerCgroup.safeName("..") == "_..")
    }

    /// The cgroup2 mount point from /proc/self/mountinfo, if any.
    private func cgroup2Mount() -> String? {
        guard let text = try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") {
            let halves = line.components(separatedBy: " - ")
            guard halves.count == 2, halves[1].hasPrefix("cgroup2 ") else { continue }
            let fields = halves[0].split(separator: " ")
            if fields.count > 4 { return String(fields[4]) }
        }
        return nil
    }
}
