import KingletCore

/// What a `ProbeWorker` tells the pod manager after each attempt.
public struct ProbeReport: Equatable, Sendable {
    public let kind: ProbeKind
    public let outcome: ProbeOutcome
    /// The verdict after this attempt.
    public let verdict: ProbeVerdict
    /// Whether this attempt flipped the verdict (the pod manager acts only then; the
    /// kubelet records an event for every failed attempt, hence every report).
    public let changed: Bool
}

/// Runs one probe of one container on the loop according to its schedule: a timer for the
/// next due time, an attempt bounded by `timeoutSeconds`, a report after each attempt.
/// `stop()` cancels the pending timer and the running attempt; the owner calls it when the
/// container goes away.
public final class ProbeWorker {
    public private(set) var schedule: ProbeSchedule
    private let runner: any ProbeRunning
    private let loop: any EventLoop
    private let report: (ProbeReport) -> Void
    private var timer: TimerHandle? = nil
    private var attemptRunning = false
    private var stopped = true

    public init(schedule: ProbeSchedule, runner: any ProbeRunning, loop: any EventLoop,
                report: @escaping (ProbeReport) -> Void) {
        self.schedule = schedule
        self.runner = runner
        self.loop = loop
        self.report = report
    }

    public var verdict: ProbeVerdict { schedule.verdict }

    /// Arms the timer for the first due attempt (at once when already due).
    public func start() {
        guard stopped else { return }
        stopped = false
        armTimer()
    }

    public func stop() {
        stopped = true
        if let timer {
            loop.cancel(timer)
            self.timer = nil
        }
        if attemptRunning {
            attemptRunning = false
            runner.cancel()
        }
    }

    private func armTimer() {
        guard !stopped, let due = schedule.nextAttemptAt else { return }
        timer = loop.schedule(at: due) { [self] in
            timer = nil
            attempt()
        }
    }

    private func attempt() {
        guard !stopped else { return }
        attemptRunning = true
        runner.run(timeout: schedule.policy.timeout) { [self] outcome in
            attemptRunning = false
            guard !stopped else { return }
            let changed = schedule.record(outcome, at: loop.now)
            armTimer()
            report(ProbeReport(kind: schedule.kind, outcome: outcome, verdict: schedule.verdict, changed: changed != nil))
        }
    }
}
