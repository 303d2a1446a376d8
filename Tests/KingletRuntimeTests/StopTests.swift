import CKingletSystem
import Foundation
import KingletCore
@testable import KingletRuntime
import Testing

/// Graceful stop: SIGTERM to the process group, SIGKILL after the grace period.
@Suite struct StopTests {
    @Test func stopTerminatesTheWholeProcessGroupIncludingAGrandchild() throws {
        let harness = try RuntimeHarness()
        let launch = harness.shell("group", "sleep 1000 & echo child $!; wait")
        let started = try #require(try harness.start(launch))
        try harness.run { harness.messages("group").first?.hasPrefix("child ") == true }
        let grandchild = try #require(harness.messages("group").first.flatMap { Int32($0.dropFirst(6)) })
        #expect(!processIsGone(grandchild))
        #expect(processGroup(of: grandchild) == started.pid)

        harness.runtime.stop(launch.id, gracePeriod: .seconds(30))
        let exit = try #require(try harness.exit(of: launch.id))
        #expect(exit.status == .killed(signal: SIGTERM, coreDumped: false))
        #expect(exit.stopRequested)
        // Not our child, so someone else reaps it: it is enough that it died.
        #expect(try harness.run { processIsGone(grandchild) })
        try harness.finish()
    }

    @Test func aChildThatIgnoresSIGTERMIsKilledAfterTheGracePeriod() throws {
        let harness = try RuntimeHarness()
        let launch = harness.shell("stubborn", "trap '' TERM; echo ready; while :; do sleep 1; done")
        _ = try #require(try harness.start(launch))
        try harness.run { harness.messages("stubborn") == ["ready"] }
        let grace = Duration.milliseconds(200)
        let stoppedAt = harness.loop.now
        harness.runtime.stop(launch.id, gracePeriod: grace)
        let exit = try #require(try harness.exit(of: launch.id))
        #expect(exit.status == .killed(signal: SIGKILL, coreDumped: false))
        #expect(exit.status.exitCode == 137)
        #expect(exit.stopRequested)
        // SIGKILL never comes before the grace period is over.
        #expect(harness.loop.now.since(stoppedAt) >= grace)
        try harness.finish()
    }

    @Test func aShorterSecondStopBringsTheKillForward() throws {
        let harness = try RuntimeHarness()
        let launch = harness.shell("forward", "trap '' TERM; echo ready; while :; do sleep 1; done")
        _ = try #require(try harness.start(launch))
        try harness.run { harness.messages("forward") == ["ready"] }
        harness.runtime.stop(launch.id, gracePeriod: .seconds(3600))
        harness.runtime.stop(launch.id, gracePeriod: .zero)
        let exit = try #require(try harness.exit(of: launch.id))
        #expect(exit.status == .killed(signal: SIGKILL, coreDumped: false))
        try harness.finish()
    }

    @Test func stoppingAnExitedOrUnknownContainerDoesNothing() throws {
        let harness = try RuntimeHarness()
        let launch = harness.shell("done", "exit 0")
        _ = try #require(try harness.start(launch))
        _ = try #require(try harness.exit(of: launch.id))
        let before = harness.recorder.events.count
        harness.runtime.stop(launch.id, gracePeriod: .seconds(1))
        harness.runtime.stop(ContainerID(podUID: "nobody", name: "nothing"), gracePeriod: .zero)
        for _ in 0..<5 { try harness.loop.runOnce(timeoutMilliseconds: 10) }
        #expect(harness.recorder.events.count == before)
        #expect(!harness.runtime.isRunning(launch.id))
        try harness.finish()
    }

    @Test func whatTheMainProcessLeavesBehindIsKilledWithIt() throws {
        let harness = try RuntimeHarness()
        // The main process exits at once and leaves a background process in its group.
        let launch = harness.shell("orphan", "sleep 1000 & echo child $!")
        _ = try #require(try harness.start(launch))
        let exit = try #require(try harness.exit(of: launch.id))
        #expect(exit.status == .exited(code: 0))
        let leftover = try #require(harness.messages("orphan").first.flatMap { Int32($0.dropFirst(6)) })
        #expect(try harness.run { processIsGone(leftover) })
        try harness.finish()
    }

    private func processGroup(of pid: Int32) -> Int32? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        // After "pid (comm)": state, ppid, pgrp.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return fields.count > 2 ? Int32(fields[2]) : nil
    }
}
