import KingletPod
import Testing

@Suite struct PodPhaseRulesTests {
    private func status(_ state: ContainerState, last: ContainerState? = nil) -> ContainerStatus {
        ContainerStatus(name: "c", image: "i", state: state, lastState: last)
    }
    private let running = ContainerState.running(startedAt: 1)
    private let waitingFirst = ContainerState.waiting(reason: "ContainerCreating", message: "")
    private let backOff = ContainerState.waiting(reason: "CrashLoopBackOff", message: "")
    private func exited(_ code: Int32) -> ContainerState {
        .terminated(exitCode: code, signal: 0, reason: code == 0 ? "Completed" : "Error", message: "", startedAt: 1, finishedAt: 2)
    }

    private func phase(_ policy: RestartPolicy, inits: [ContainerStatus] = [], initCount: Int = 0,
                       _ statuses: [ContainerStatus], count: Int? = nil) -> PodPhase {
        PodPhaseRules.phase(restartPolicy: policy, initStatuses: inits, initCount: initCount,
                            statuses: statuses, containerCount: count ?? statuses.count)
    }

    @Test func podIsPendingUntilEveryInitContainerSucceeded() {
        #expect(phase(.always, inits: [status(running)], initCount: 2, [], count: 1) == .pending)
        #expect(phase(.always, inits: [status(exited(0))], initCount: 2, [], count: 1) == .pending)
        #expect(phase(.always, inits: [status(exited(0)), status(exited(0))], initCount: 2, [status(running)]) == .running)
    }

    @Test func failedInitContainerFailsThePodOnlyUnderNever() {
        #expect(phase(.never, inits: [status(exited(1))], initCount: 1, [], count: 1) == .failed)
        #expect(phase(.onFailure, inits: [status(exited(1))], initCount: 1, [], count: 1) == .pending)
        #expect(phase(.always, inits: [status(backOff, last: exited(1))], initCount: 1, [], count: 1) == .pending)
    }

    @Test func containerWaitingForItsFirstStartKeepsThePodPending() {
        #expect(phase(.always, [status(running), status(waitingFirst)]) == .pending)
        #expect(phase(.always, [status(running)], count: 2) == .pending)
    }

    @Test func crashLoopingContainerCountsAsStoppedSoThePodStaysRunning() {
        #expect(phase(.always, [status(backOff, last: exited(1))]) == .running)
        #expect(phase(.always, [status(running), status(backOff, last: exited(2))]) == .running)
    }

    @Test func finishedContainersGiveSucceededOrFailedByPolicy() {
        #expect(phase(.never, [status(exited(0)), status(exited(0))]) == .succeeded)
        #expect(phase(.onFailure, [status(exited(0))]) == .succeeded)
        #expect(phase(.never, [status(exited(0)), status(exited(3))]) == .failed)
        #expect(phase(.onFailure, [status(exited(3))]) == .running)
        #expect(phase(.always, [status(exited(0))]) == .running)
    }

    @Test func conditionsKeepTheirTransitionTimeWhileUnchanged() {
        let first = PodPhaseRules.conditions(initDone: true, containersReady: false, notReadyNames: ["web"], phase: .running,
                                             now: 100, previous: [])
        #expect(first.map(\.type) == ["PodScheduled", "Initialized", "ContainersReady", "Ready"])
        #expect(first[3].message == "containers with unready status: [web]")
        #expect(first[3].reason == "ContainersNotReady")
        let second = PodPhaseRules.conditions(initDone: true, containersReady: true, notReadyNames: [], phase: .running,
                                              now: 200, previous: first)
        #expect(second[1].lastTransitionTime == 100)
        #expect(second[3].isTrue && second[3].lastTransitionTime == 200)
        let done = PodPhaseRules.conditions(initDone: true, containersReady: true, notReadyNames: [], phase: .succeeded,
                                            now: 300, previous: second)
        #expect(!done[3].isTrue && done[3].reason == "PodCompleted")
    }
}
