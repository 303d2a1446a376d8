/// The kubelet's rules for a pod's phase and conditions from its containers' states
/// (kubelet getPhase and the status manager's conditions), restated for the agent.
public enum PodPhaseRules {
    /// The phase:
    /// - Pending while init containers have not all succeeded (Failed if one failed and the
    ///   policy is Never), or while an app container waits for its first start;
    /// - Running while a container runs, or when all stopped but the policy restarts them;
    /// - Succeeded when all app containers exited 0 and none will restart;
    /// - Failed when all stopped, one failed, and the policy is Never.
    /// A container waiting in back-off after a run counts as stopped, as in the kubelet.
    public static func phase(restartPolicy: RestartPolicy, initStatuses: [ContainerStatus],
                             initCount: Int, statuses: [ContainerStatus], containerCount: Int) -> PodPhase {
        var initDone = 0
        for status in initStatuses {
            if case .terminated(let code, _, _, _, _, _) = status.state {
                if code == 0 { initDone += 1 } else if restartPolicy == .never { return .failed }
            } else if case .waiting = status.state, restartPolicy == .never,
                      case .terminated(let code, _, _, _, _, _)? = status.lastState, code != 0 {
                return .failed
            }
        }
        if initDone < initCount { return .pending }

        var running = 0, waiting = 0, stopped = 0, succeeded = 0
        let unknown = containerCount - statuses.count
        for status in statuses {
            switch status.state {
            case .running: running += 1
            case .terminated(let code, _, _, _, _, _):
                stopped += 1
                if code == 0 { succeeded += 1 }
            case .waiting:
                if case .terminated? = status.lastState { stopped += 1 } else { waiting += 1 }
            }
        }
        if waiting > 0 { return .pending }
        if running > 0 && unknown == 0 { return .running }
        if running == 0 && stopped > 0 && unknown == 0 {
            if restartPolicy == .always { return .running }
            if stopped == succeeded { return .succeeded }
            if restartPolicy == .never { return .failed }
            return .running
        }
        return .pending
    }

    /// PodScheduled, Initialized, ContainersReady and Ready; a condition keeps its
    /// lastTransitionTime from `previous` while its value does not change.
    public static func conditions(initDone: Bool, containersReady: Bool, notReadyNames: [String], phase: PodPhase,
                                  now: Int64, previous: [PodCondition]) -> [PodCondition] {
        func condition(_ type: String, _ isTrue: Bool, _ reason: String, _ message: String) -> PodCondition {
            var time = now
            for old in previous where old.type == type && old.isTrue == isTrue { time = old.lastTransitionTime }
            return PodCondition(type: type, isTrue: isTrue, lastTransitionTime: time,
                                reason: isTrue ? "" : reason, message: isTrue ? "" : message)
        }
        // A finished pod's containers are not ready, and the kubelet says PodCompleted.
        let finished = phase == .succeeded || phase == .failed
        let notReadyMessage = "containers with unready status: [\(notReadyNames.joined(separator: " "))]"
        let readyReason = finished ? "PodCompleted" : "ContainersNotReady"
        let ready = containersReady && !finished
        return [
            condition("PodScheduled", true, "", ""),
            condition("Initialized", initDone, "ContainersNotInitialized", "containers with incomplete status: init"),
            condition("ContainersReady", ready, readyReason, finished ? "" : notReadyMessage),
            condition("Ready", ready, readyReason, finished ? "" : notReadyMessage),
        ]
    }
}
