import KingletDocument
import Testing
@testable import KingletPod

/// What a restarted agent takes back from a cached pod status.
@Suite struct CachedContainerStatusesTests {
    @Test func restartCountsAndEndedStatesComeBackFromWhatTheStatusWriterWrote() {
        var status = PodStatus()
        status.initContainerStatuses = [
            ContainerStatus(name: "setup", image: "/bin/sh",
                            state: .terminated(exitCode: 0, signal: 0, reason: "Completed", message: "",
                                               startedAt: 1_764_500_000_000_000_000, finishedAt: 1_764_500_001_000_000_000)),
        ]
        status.containerStatuses = [
            ContainerStatus(name: "main", image: "/bin/sh", containerID: "exec://12", state: .running(startedAt: 1_764_500_002_000_000_000),
                            lastState: .terminated(exitCode: 137, signal: 9, reason: "Error", message: "killed",
                                                   startedAt: 1_764_499_000_000_000_000, finishedAt: 1_764_499_999_000_000_000),
                            restartCount: 4),
            ContainerStatus(name: "waits", image: "x", state: .waiting(reason: "CrashLoopBackOff", message: "back-off")),
        ]
        var writer = JSONWriter()
        PodStatusJSON.write(status, to: &writer)
        let cached = CachedContainerStatuses(json: writer.bytes)

        #expect(cached[name: "main"]?.restartCount == 4)
        #expect(cached[name: "main"]?.state == .running(startedAt: 1_764_500_002_000_000_000))
        #expect(cached[name: "main"]?.lastState == .terminated(exitCode: 137, signal: 9, reason: "Error", message: "killed",
                                                              startedAt: 1_764_499_000_000_000_000,
                                                              finishedAt: 1_764_499_999_000_000_000))
        #expect(cached[name: "setup"]?.state == .terminated(exitCode: 0, signal: 0, reason: "Completed", message: "",
                                                           startedAt: 1_764_500_000_000_000_000,
                                                           finishedAt: 1_764_500_001_000_000_000))
        // A waiting state says nothing worth keeping.
        #expect(cached[name: "waits"]?.state == nil)
        #expect(cached[name: "other"] == nil)
    }

    @Test func unreadableStatusesGiveNothingRatherThanFailing() {
        #expect(CachedContainerStatuses(json: []).entries.isEmpty)
        #expect(CachedContainerStatuses(json: Array("{\"containerStatuses\": [".utf8)).entries.isEmpty)
        #expect(CachedContainerStatuses(json: Array("[1,2]".utf8)).entries.isEmpty)
        let odd = CachedContainerStatuses(json: Array("""
            {"containerStatuses": [{"name": "a", "restartCount": -3, "state": {"terminated": {"exitCode": "x", "finishedAt": "yesterday"}}},
                                   {"restartCount": 2}]}
            """.utf8))
        #expect(odd[name: "a"]?.restartCount == 0)
        #expect(odd[name: "a"]?.state == .terminated(exitCode: 0, signal: 0, reason: "", message: "", startedAt: 0, finishedAt: 0))
        #expect(odd.entries.count == 1)
    }
}
