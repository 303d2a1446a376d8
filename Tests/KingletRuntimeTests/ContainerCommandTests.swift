import CKingletSystem
import Foundation
import KingletCore
@testable import KingletRuntime
import Testing

/// Commands run in a running container's context, as exec probes need.
@Suite struct ContainerCommandTests {
    private func runningContainer(_ harness: RuntimeHarness) throws -> ContainerID {
        let launch = ContainerLaunch(podUID: "pod-1", containerName: "app", executable: "/bin/sleep", arguments: ["1000"],
                                     environment: [EnvironmentVariable(name: "GREETING", value: "hello"),
                                                   EnvironmentVariable(name: "PATH", value: "/usr/bin:/bin")],
                                     workingDirectory: harness.folder, logPath: harness.logPath("app"))
        _ = try #require(try harness.start(launch))
        return launch.id
    }

    private func run(_ harness: RuntimeHarness, _ command: [String], in id: ContainerID,
                     timeout: Duration = .seconds(30)) throws -> CommandResult? {
        var result: CommandResult? = nil
        let running = harness.runtime.run(command, in: id, timeout: timeout) { result = $0 }
        #expect(result == nil, "never called from inside run")
        #expect(running.isRunning)
        try harness.run { result != nil }
        return result
    }

    @Test func aCommandSeesTheContainersEnvironmentAndFolder() throws {
        let harness = try RuntimeHarness()
        let id = try runningContainer(harness)
        let result = try #require(try run(harness, ["sh", "-c", "echo $GREETING; pwd; echo oops >&2"], in: id))
        #expect(result.succeeded)
        #expect(result.output == "hello\n" + harness.folder + "\noops\n")
        try harness.finish()
    }

    @Test func exitCodesTimeoutsAndFailuresAreReported() throws {
        let harness = try RuntimeHarness()
        let id = try runningContainer(harness)
        #expect(try run(harness, ["sh", "-c", "exit 2"], in: id)?.ending == .exited(.exited(code: 2)))
        #expect(try run(harness, ["sh", "-c", "sleep 1000"], in: id, timeout: .milliseconds(100))?.ending == .timedOut)
        #expect(try run(harness, ["kinglet-no-such-probe"], in: id)?.ending
                == .failedToStart("exec: \"kinglet-no-such-probe\": executable file not found in $PATH"))
        #expect(try run(harness, ["true"], in: ContainerID(podUID: "pod-1", name: "absent"))?.ending
                == .failedToStart("container pod-1/absent is not running"))
        #expect(try run(harness, [], in: id)?.ending == .failedToStart("empty command"))
        try harness.finish()
    }

    @Test func outputIsCappedAtTenKiB() throws {
        let harness = try RuntimeHarness()
        let id = try runningContainer(harness)
        let result = try #require(try run(harness, ["sh", "-c", "head -c 50000 /dev/zero | tr '\\0' x"], in: id))
        #expect(result.succeeded)
        #expect(result.output == String(repeating: "x", count: ContainerCommand.outputLimit))
        try harness.finish()
    }

    @Test func aCancelledCommandIsKilledAndReapedWithoutCallingBack() throws {
        let harness = try RuntimeHarness()
        let id = try runningContainer(harness)
        var called = false
        let running = harness.runtime.run(["sh", "-c", "sleep 1000"], in: id, timeout: .seconds(3600)) { _ in called = true }
        #expect(harness.reaper.watchedCount == 2)
        running.cancel()
        #expect(try harness.run { harness.reaper.watchedCount == 1 })
        for _ in 0..<3 { try harness.loop.runOnce(timeoutMilliseconds: 10) }
        #expect(!called)
        try harness.finish()
    }
}
