import CKingletSystem
import Foundation
import KingletCore
import KingletLoopTesting
@testable import KingletRuntime
import Testing

@Suite struct ChildReaperTests {
    /// A child that exits before its pid is registered is still reported, once registered.
    @Test func aChildThatExitedBeforeRegistrationIsStillReported() throws {
        let harness = try RuntimeHarness()
        let devNull = kinglet_open("/dev/null", O_WRONLY, 0)
        defer { _ = close(devNull) }
        let pid = try ProcessSpawner.spawn(executable: "/bin/sh", arguments: ["-c", "exit 7"], environment: [],
                                           workingDirectory: nil, stdout: devNull, stderr: devNull)
        // Let it finish first: it is a zombie before anyone asked for it.
        try harness.run { processStatus(pid)["State"]?.hasPrefix("Z") == true }
        var exit: ChildExit? = nil
        harness.reaper.watch(pid: pid) { exit = $0 }
        #expect(exit == nil, "never called from inside watch")
        try harness.run { exit != nil }
        #expect(exit == ChildExit(pid: pid, status: .exited(code: 7)))
        #expect(kinglet_child_reap(pid) == -1 && kinglet_errno() == ECHILD)
        try harness.finish()
    }

    /// In the agent's mode every child is reaped, so an exit can come before its owner
    /// registers: it is kept briefly and handed over on registration. (On a manual loop:
    /// reaping any child for real would take other suites' children in this process.)
    @Test func anUnclaimedExitIsHandedToItsOwnerLater() throws {
        let loop = ManualEventLoop()
        let reaper = try ChildReaper(loop: loop, scope: .allChildren)
        let pid: Int32 = 999_999_001
        reaper.keepUnclaimed(ChildExit(pid: pid, status: .killed(signal: SIGKILL, coreDumped: false)))
        var exit: ChildExit? = nil
        reaper.watch(pid: pid) { exit = $0 }
        #expect(exit == nil)
        loop.advance(by: .zero)
        #expect(exit == ChildExit(pid: pid, status: .killed(signal: SIGKILL, coreDumped: false)))
        #expect(reaper.watchedCount == 0)
    }

    @Test func aStaleUnclaimedExitIsNotHandedToANewProcessWithThePid() throws {
        let loop = ManualEventLoop()
        let reaper = try ChildReaper(loop: loop, scope: .allChildren)
        let pid: Int32 = 999_999_002
        reaper.keepUnclaimed(ChildExit(pid: pid, status: .exited(code: 0)))
        loop.advance(by: .seconds(11))
        var called = false
        reaper.watch(pid: pid) { _ in called = true }
        loop.advance(by: .seconds(1))
        #expect(!called)
        #expect(reaper.watchedCount == 1)
        reaper.forget(pid: pid)
        #expect(reaper.watchedCount == 0)
    }
}
