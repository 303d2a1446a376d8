import KingletCore
import KingletLoopTesting
import KingletProbes
import Testing

/// The worker drives a schedule on a loop; a scripted runner stands in for the network.
@Suite struct ProbeWorkerTests {
    /// Answers each attempt with the next scripted outcome after `latency` of loop time.
    final class ScriptedRunner: ProbeRunning {
        let loop: ManualEventLoop
        var script: [ProbeOutcome]
        let latency: Duration
        var startedAt: [Instant] = []
        var timeouts: [Duration] = []
        var cancels = 0
        private var pending: TimerHandle? = nil

        init(loop: ManualEventLoop, latency: Duration = .milliseconds(100), script: [ProbeOutcome]) {
            self.loop = loop
            self.latency = latency
            self.script = script
        }

        func run(timeout: Duration, completion: @escaping (ProbeOutcome) -> Void) {
            startedAt.append(loop.now)
            timeouts.append(timeout)
            let outcome = script.isEmpty ? ProbeOutcome.success() : script.removeFirst()
            pending = loop.schedule(after: latency) { [self] in
                pending = nil
                completion(outcome)
            }
        }

        func cancel() {
            cancels += 1
            if let pending { loop.cancel(pending) }
            pending = nil
        }
    }

    let fail = ProbeOutcome.failure("HTTP probe failed with statuscode: 500")

    @Test func runsOnScheduleAndReportsEveryAttempt() {
        let loop = ManualEventLoop()
        let runner = ScriptedRunner(loop: loop, script: [.success(), fail, fail])
        let policy = ProbePolicy(initialDelaySeconds: 3, periodSeconds: 5, timeoutSeconds: 2, failureThreshold: 2)
        var reports: [ProbeReport] = []
        let worker = ProbeWorker(schedule: ProbeSchedule(kind: .readiness, policy: policy, containerStartedAt: loop.now),
                                 runner: runner, loop: loop) { reports.append($0) }
        worker.start()
        loop.advance(by: .seconds(14))
        let t0 = Instant(nanoseconds: 0)
        #expect(runner.startedAt == [t0.advanced(by: .seconds(3)), t0.advanced(by: .seconds(8)), t0.advanced(by: .seconds(13))])
        #expect(runner.timeouts.allSatisfy { $0 == .seconds(2) })
        #expect(reports.map(\.changed) == [true, false, true])
        #expect(reports.map(\.verdict) == [.success, .success, .failure])
        #expect(reports.last?.outcome == fail)
        #expect(reports.allSatisfy { $0.kind == .readiness })
        #expect(worker.verdict == .failure)
        worker.stop()
        #expect(loop.pendingTimers == 0)
    }

    @Test func livenessStopsProbingOnceItFails() {
        let loop = ManualEventLoop()
        let runner = ScriptedRunner(loop: loop, script: [fail, fail, fail, fail])
        var reports: [ProbeReport] = []
        let worker = ProbeWorker(schedule: ProbeSchedule(kind: .liveness, policy: ProbePolicy(), containerStartedAt: loop.now),
                                 runner: runner, loop: loop) { reports.append($0) }
        worker.start()
        loop.advance(by: .seconds(100))
        #expect(runner.startedAt.count == 3)
        #expect(reports.last?.verdict == .failure)
        #expect(reports.last?.changed == true)
        #expect(loop.pendingTimers == 0)
    }

    @Test func stopCancelsTheRunningAttemptAndNothingIsReported() {
        let loop = ManualEventLoop()
        let runner = ScriptedRunner(loop: loop, latency: .seconds(1), script: [fail])
        var reports: [ProbeReport] = []
        let worker = ProbeWorker(schedule: ProbeSchedule(kind: .readiness, policy: ProbePolicy(), containerStartedAt: loop.now),
                                 runner: runner, loop: loop) { reports.append($0) }
        worker.start()
        loop.advance(by: .milliseconds(500))
        #expect(runner.startedAt.count == 1)
        worker.stop()
        #expect(runner.cancels == 1)
        loop.advance(by: .seconds(60))
        #expect(reports.isEmpty)
        #expect(runner.startedAt.count == 1)
        #expect(loop.pendingTimers == 0)
    }
}
