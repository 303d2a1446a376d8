import KingletCore
import KingletPod
import KingletPodManager
import KingletProbes
import KingletRuntime
import Testing

@Suite struct PodManagerTests {
    @Test func initContainersRunOneAfterAnotherBeforeTheApps() {
        let h = PodManagerHarness()
        let pod = makePod("web", containers: ["app", "sidecar"], initContainers: ["first", "second"])
        h.manager.apply([DesiredPod(pod: pod, specHash: 1)])
        h.settle()
        #expect(h.runtime.log == ["start first"])
        #expect(h.status("web").phase == .pending)
        h.runtime.exit(ContainerID(podUID: "uid-web", name: "first"), .exited(code: 0))
        h.settle()
        #expect(h.runtime.log.suffix(1) == ["start second"])
        h.runtime.exit(ContainerID(podUID: "uid-web", name: "second"), .exited(code: 0))
        h.settle()
        #expect(h.runtime.log.suffix(2) == ["start app", "start sidecar"])
        #expect(h.status("web").phase == .running)
        #expect(h.status("web").conditions.first { $0.type == "Initialized" }?.isTrue == true)
        #expect(h.status("web").conditions.first { $0.type == "Ready" }?.isTrue == true)
    }

    @Test func crashingContainerBacksOffTenTwentyFortySeconds() {
        let h = PodManagerHarness()
        h.manager.apply([DesiredPod(pod: makePod("web", containers: ["app"]), specHash: 1)])
        h.settle()
        let id = ContainerID(podUID: "uid-web", name: "app")
        var restartTimes: [Int64] = []
        for _ in 0..<3 {
            let crashedAt = h.loop.now
            h.runtime.exit(id, .exited(code: 1))
            h.settle()
            guard case .waiting(let reason, let message)? = h.container("web", "app")?.state else {
                Issue.record("expected waiting"); return
            }
            #expect(reason == "CrashLoopBackOff")
            #expect(message.hasPrefix("back-off "))
            #expect(h.status("web").phase == .running)
            let starts = h.runtime.launches.count
            for _ in 0..<400 where h.runtime.launches.count == starts { h.loop.advance(by: .seconds(1)) }
            restartTimes.append(h.loop.now.since(crashedAt).nanoseconds / 1_000_000_000)
        }
        #expect(restartTimes == [10, 20, 40])
        #expect(h.container("web", "app")?.restartCount == 3)
        if case .terminated(let code, _, let reason, _, _, _)? = h.container("web", "app")?.lastState {
            #expect(code == 1 && reason == "Error")
        } else {
            Issue.record("expected lastState terminated")
        }
    }

    @Test func restartPolicyDecidesSucceededFailedOrRestart() {
        let h = PodManagerHarness()
        h.manager.apply([
            DesiredPod(pod: makePod("once", containers: ["job"], policy: .never), specHash: 1),
            DesiredPod(pod: makePod("retry", containers: ["job"], policy: .onFailure), specHash: 1),
            DesiredPod(pod: makePod("done", containers: ["job"], policy: .onFailure), specHash: 1),
        ])
        h.settle()
        h.runtime.exit(ContainerID(podUID: "uid-once", name: "job"), .exited(code: 2))
        h.runtime.exit(ContainerID(podUID: "uid-retry", name: "job"), .exited(code: 2))
        h.runtime.exit(ContainerID(podUID: "uid-done", name: "job"), .exited(code: 0))
        h.settle()
        #expect(h.status("once").phase == .failed)
        #expect(h.status("retry").phase == .running)
        #expect(h.status("done").phase == .succeeded)
        #expect(h.status("done").conditions.first { $0.type == "Ready" }?.reason == "PodCompleted")
    }

    @Test func unchangedSpecHashKeepsTheRunningPod() {
        let h = PodManagerHarness()
        let pod = makePod("web", containers: ["app"])
        h.manager.apply([DesiredPod(pod: pod, specHash: 7)])
        h.settle()
        h.manager.apply([DesiredPod(pod: pod, specHash: 7)])
        h.settle()
        #expect(h.runtime.log == ["start app"])
    }

    @Test func changedSpecHashStopsThenStartsTheNewSpec() {
        let h = PodManagerHarness()
        h.manager.apply([DesiredPod(pod: makePod("web", containers: ["app"]), specHash: 1)])
        h.settle()
        h.manager.apply([DesiredPod(pod: makePod("web", containers: ["app2"]), specHash: 2)])
        h.settle()
        h.settle()
        #expect(h.runtime.log == ["start app", "stop app grace=5s", "exit app 143", "start app2"])
        #expect(h.removed.isEmpty)
    }

    @Test func removedPodIsStoppedGracefullyAndReported() {
        let h = PodManagerHarness()
        h.manager.apply([DesiredPod(pod: makePod("web", containers: ["app"]), specHash: 1)])
        h.settle()
        h.manager.apply([])
        h.settle()
        h.settle()
        #expect(h.runtime.log == ["start app", "stop app grace=5s", "exit app 143"])
        #expect(h.removed == ["web"])
        #expect(h.manager.pods.isEmpty)
    }

    @Test func stoppedContainerIsNotRestartedWhilePodTerminates() {
        let h = PodManagerHarness()
        h.manager.apply([DesiredPod(pod: makePod("web", containers: ["app"]), specHash: 1)])
        h.settle()
        var stopped = false
        h.manager.stopAll(limit: .seconds(30)) { stopped = true }
        h.settle()
        h.loop.advance(by: .seconds(600))
        #expect(stopped)
        #expect(h.runtime.log == ["start app", "stop app grace=5s", "exit app 143"])
    }

    @Test func failingLivenessProbeKillsAndRestartsTheContainer() {
        let h = PodManagerHarness()
        let pod = makePod("web", containers: ["app"]) { spec in
            spec.containers[0].livenessProbe = Probe(action: .exec(command: ["check"]), periodSeconds: 1, failureThreshold: 2)
        }
        h.manager.apply([DesiredPod(pod: pod, specHash: 1)])
        h.settle()
        h.probe.result = ProbeOutcome(result: .failure, message: "exit status 1")
        for _ in 0..<20 where !h.runtime.log.contains(where: { $0.hasPrefix("stop") }) { h.loop.advance(by: .seconds(1)) }
        #expect(h.runtime.log.contains("stop app grace=5s"))
        h.settle()
        if case .terminated(let code, _, _, let message, _, _)? = h.container("web", "app")?.lastState {
            #expect(code == 143)
            #expect(message == "Container app failed liveness probe, will be restarted: exit status 1")
        } else {
            Issue.record("expected the killed run in lastState")
        }
        h.probe.result = ProbeOutcome(result: .success, message: "")
        for _ in 0..<20 where h.runtime.launches.count < 2 { h.loop.advance(by: .seconds(1)) }
        #expect(h.runtime.launches.count == 2)
    }

    @Test func readinessProbeGatesReady() {
        let h = PodManagerHarness()
        let pod = makePod("web", containers: ["app"]) { spec in
            spec.containers[0].readinessProbe = Probe(action: .exec(command: ["ready"]), periodSeconds: 1)
        }
        h.probe.result = ProbeOutcome(result: .failure, message: "not yet")
        h.manager.apply([DesiredPod(pod: pod, specHash: 1)])
        h.settle()
        h.loop.advance(by: .seconds(3))
        #expect(h.container("web", "app")?.ready == false)
        #expect(h.status("web").conditions.first { $0.type == "Ready" }?.message == "containers with unready status: [app]")
        h.probe.result = ProbeOutcome(result: .success, message: "")
        h.loop.advance(by: .seconds(3))
        #expect(h.container("web", "app")?.ready == true)
        #expect(h.status("web").conditions.first { $0.type == "Ready" }?.isTrue == true)
    }

    @Test func missingSecretWaitsWithCreateContainerConfigError() {
        let h = PodManagerHarness()
        let pod = makePod("web", containers: ["app"]) { spec in
            spec.containers[0].env = [EnvVar(name: "TOKEN", source: .secretKey(name: "creds", key: "token", optional: false))]
        }
        h.manager.apply([DesiredPod(pod: pod, specHash: 1)])
        h.settle()
        #expect(h.runtime.launches.isEmpty)
        #expect(h.container("web", "app")?.state == .waiting(reason: "CreateContainerConfigError",
                                                            message: "secret \"creds\" key \"token\" not found (env TOKEN)"))
        h.loop.advance(by: .seconds(35))
        #expect(h.runtime.launches.isEmpty)
        #expect(h.container("web", "app")?.restartCount == 0, "a container never created has not restarted")
    }

    @Test func startFailureIsRecordedAndRetriedWithBackOff() {
        let h = PodManagerHarness()
        h.runtime.autoStart = false
        h.manager.apply([DesiredPod(pod: makePod("web", containers: ["app"]), specHash: 1)])
        h.settle()
        h.runtime.failToStart(ContainerID(podUID: "uid-web", name: "app"), message: "exec: \"/bin/app\": no such file or directory")
        h.settle()
        if case .terminated(let code, _, let reason, let message, _, _)? = h.container("web", "app")?.lastState {
            #expect(code == 128 && reason == "StartError" && message.contains("no such file"))
        } else {
            Issue.record("expected StartError in lastState")
        }
        h.loop.advance(by: .seconds(10))
        #expect(h.runtime.launches.count == 2)
    }
}

/// Behaviours pinned after review: races between stops and starts, overlapping stops,
/// probe kills, and numbers from manifests that must not trap.
@Suite struct PodManagerEdgeTests {
    @Test func removalWaitsForAStartStillInFlightThenStopsItWithTheGracePeriod() {
        let h = PodManagerHarness()
        h.runtime.autoStart = false
        h.manager.apply([DesiredPod(pod: makePod("web", containers: ["app"]), specHash: 1)])
        h.settle()
        h.manager.apply([])
        h.settle()
        #expect(h.removed.isEmpty, "the container is still starting: the pod is not gone yet")
        h.runtime.started(ContainerID(podUID: "uid-web", name: "app"))
        h.settle()
        h.settle()
        #expect(h.runtime.log == ["start app", "stop app grace=5s", "exit app 143"])
        #expect(h.removed == ["web"])
    }

    @Test func replacementStartsOnlyAfterTheOldStartWasStopped() {
        let h = PodManagerHarness()
        h.runtime.autoStart = false
        h.manager.apply([DesiredPod(pod: makePod("web", containers: ["app"]), specHash: 1)])
        h.settle()
        h.manager.apply([DesiredPod(pod: makePod("web", containers: ["app"]), specHash: 2)])
        h.settle()
        #expect(h.runtime.log == ["start app"])
        h.runtime.started(ContainerID(podUID: "uid-web", name: "app"))
        h.settle()
        h.settle()
        #expect(h.runtime.log == ["start app", "stop app grace=5s", "exit app 143", "start app"])
    }

    @Test func shutdownDuringARemovalCompletesBoth() {
        let h = PodManagerHarness()
        h.runtime.stopExit = .exited(code: 0)
        h.manager.apply([DesiredPod(pod: makePod("web", containers: ["app"]), specHash: 1)])
        h.settle()
        h.manager.apply([])
        var stopped = false
        h.manager.stopAll(limit: .seconds(30)) { stopped = true }
        h.settle()
        h.settle()
        #expect(stopped)
        #expect(h.removed == ["web"])
        #expect(h.manager.pods.isEmpty)
    }

    @Test func noPodStartsOnceTheNodeIsShuttingDown() {
        let h = PodManagerHarness()
        h.manager.stopAll(limit: .seconds(30)) {}
        h.manager.apply([DesiredPod(pod: makePod("late", containers: ["app"]), specHash: 1)])
        h.settle()
        #expect(h.runtime.launches.isEmpty)
    }

    @Test func livenessKillRestartsUnderOnFailureEvenWhenTheContainerExitsZero() {
        let h = PodManagerHarness()
        h.runtime.stopExit = .exited(code: 0)
        let pod = makePod("web", containers: ["app"], policy: .onFailure) { spec in
            spec.containers[0].livenessProbe = Probe(action: .exec(command: ["check"]), periodSeconds: 1, failureThreshold: 1)
        }
        h.manager.apply([DesiredPod(pod: pod, specHash: 1)])
        h.settle()
        h.probe.result = ProbeOutcome(result: .failure, message: "dead")
        for _ in 0..<30 where h.runtime.launches.count < 2 { h.loop.advance(by: .seconds(1)) }
        #expect(h.runtime.launches.count == 2)
        #expect(h.status("web").phase == .running)
    }

    @Test func stoppingPodIsNotReadyDuringItsGracePeriod() {
        let h = PodManagerHarness()
        h.runtime.autoStart = true
        let pod = makePod("web", containers: ["app"]) { spec in
            spec.containers[0].readinessProbe = Probe(action: .exec(command: ["ready"]), periodSeconds: 1)
        }
        h.manager.apply([DesiredPod(pod: pod, specHash: 1)])
        h.settle()
        h.loop.advance(by: .seconds(2))
        #expect(h.container("web", "app")?.ready == true)
        h.manager.apply([])
        // Published at once, before the container has exited.
        #expect(h.container("web", "app")?.ready == false)
        #expect(h.status("web").conditions.first { $0.type == "Ready" }?.isTrue == false)
    }

    @Test func hugeGracePeriodFromAManifestDoesNotTrap() {
        let h = PodManagerHarness()
        let pod = makePod("web", containers: ["app"]) { spec in spec.terminationGracePeriodSeconds = 10_000_000_000 }
        h.manager.apply([DesiredPod(pod: pod, specHash: 1)])
        h.settle()
        h.manager.apply([])
        h.settle()
        #expect(h.runtime.log.contains { $0.hasPrefix("stop app grace=") })
    }
}
