import CKingletSystem
import Foundation
import KingletCore
import KingletEpoll
@testable import KingletRuntime
import Testing

/// Records the runtime's events in order.
final class EventRecorder: ContainerRuntimeDelegate {
    private(set) var events: [ContainerEvent] = []

    func containerRuntime(_ runtime: any ContainerRuntime, didReport event: ContainerEvent) {
        events.append(event)
    }

    func started(_ id: ContainerID) -> ContainerStarted? {
        for case .started(let event) in events where event.id == id { return event }
        return nil
    }

    func exited(_ id: ContainerID) -> ContainerExited? {
        for case .exited(let event) in events where event.id == id { return event }
        return nil
    }

    func failure(_ id: ContainerID) -> ContainerStartFailure? {
        for case .failedToStart(let event) in events where event.id == id { return event }
        return nil
    }

    var startedPids: [Int32] {
        var pids: [Int32] = []
        for case .started(let event) in events { pids.append(event.pid) }
        return pids
    }
}

/// A real epoll loop, a reaper and an ExecRuntime, and a scratch folder for log files.
///
/// The reaper collects only the pids it is given (other suites in this process own other
/// children) and also polls, since in a multi-threaded test process SIGCHLD may land on a
/// thread that does not block it. Every wait is a bounded loop of `runOnce`: the bound is a
/// safety net against a hang, never an assertion about speed.
final class RuntimeHarness {
    let loop: EpollEventLoop
    let reaper: ChildReaper
    let runtime: ExecRuntime
    let recorder = EventRecorder()
    let folder: String

    init(cgroupBase: String? = nil) throws {
        loop = try EpollEventLoop()
        reaper = try ChildReaper(loop: loop, scope: .registeredOnly, pollInterval: .milliseconds(20))
        runtime = ExecRuntime(loop: loop, reaper: reaper, cgroupBase: cgroupBase)
        runtime.delegate = recorder
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("kinglet-runtime-" + UUID().uuidString).resolvingSymlinksInPath().path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        folder = path
    }

    /// A container running `/bin/sh -c script`.
    func shell(_ name: String, _ script: String, logLimits: LogLimits = LogLimits(),
               resourceLimits: ResourceLimits = ResourceLimits()) -> ContainerLaunch {
        ContainerLaunch(podUID: "pod-1", containerName: name, executable: "/bin/sh", arguments: ["-c", script],
                        environment: [EnvironmentVariable(name: "PATH", value: "/usr/bin:/bin")],
                        logPath: logPath(name), logLimits: logLimits, resourceLimits: resourceLimits)
    }

    func logPath(_ name: String) -> String { folder + "/" + name + ".log" }

    /// The raw lines of a log file.
    func logLines(_ name: String) -> [String] {
        let text = (try? String(contentsOfFile: logPath(name), encoding: .utf8)) ?? ""
        return text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
    }

    /// The texts of every message the container logged so far.
    func messages(_ name: String) -> [String] {
        ((try? ContainerLogReader.messages(logPath: logPath(name))) ?? []).map(\.text)
    }

    /// Runs the loop until `condition` holds. False when it did not within 30 s.
    @discardableResult
    func run(until condition: () -> Bool) throws -> Bool {
        let deadline = Date().addingTimeInterval(30)
        while !condition() {
            if Date() > deadline { return false }
            try loop.runOnce(timeoutMilliseconds: 50)
        }
        return true
    }

    /// Starts a container and runs the loop until it is reported started (or failed).
    func start(_ launch: ContainerLaunch) throws -> ContainerStarted? {
        runtime.start(launch)
        try run { recorder.started(launch.id) != nil || recorder.failure(launch.id) != nil }
        return recorder.started(launch.id)
    }

    /// Runs the loop until the container's exit is reported.
    func exit(of id: ContainerID) throws -> ContainerExited? {
        try run { recorder.exited(id) != nil }
        return recorder.exited(id)
    }

    /// Kills what still runs, waits until every child is reaped, checks that each pid the
    /// runtime started is no child of ours any more, and removes the scratch folder.
    func finish(sourceLocation: SourceLocation = #_sourceLocation) throws {
        for id in runtime.runningContainers { runtime.stop(id, gracePeriod: .zero) }
        let done = try run { runtime.runningContainers.isEmpty && reaper.watchedCount == 0 }
        #expect(done, "containers still running at the end of the test", sourceLocation: sourceLocation)
        for pid in recorder.startedPids {
            let reaped = kinglet_child_reap(pid) == -1 && kinglet_errno() == ECHILD
            #expect(reaped, "pid \(pid) was not reaped", sourceLocation: sourceLocation)
        }
        try? FileManager.default.removeItem(atPath: folder)
    }
}

/// /proc/<pid>/status fields.
func processStatus(_ pid: Int32) -> [String: String] {
    guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return [:] }
    var fields: [String: String] = [:]
    for line in text.split(separator: "\n") {
        let parts = line.split(separator: ":", maxSplits: 1)
        if parts.count == 2 { fields[String(parts[0])] = parts[1].trimmingCharacters(in: .whitespaces) }
    }
    return fields
}

/// Whether a process is gone, or a zombie waiting for someone else's wait.
func processIsGone(_ pid: Int32) -> Bool {
    guard let state = processStatus(pid)["State"] else { return true }
    return state.hasPrefix("Z") || state.hasPrefix("X")
}
