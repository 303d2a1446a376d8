import KingletCore
@testable import KingletProbes
import Testing

/// The probe policy as pure values: thresholds, verdicts, due times.
@Suite struct ProbeScheduleTests {
    let start = Instant(nanoseconds: 1_000_000_000_000)
    let pass = ProbeOutcome.success()
    let fail = ProbeOutcome.failure("HTTP probe failed with statuscode: 500")

    func at(_ seconds: Int64) -> Instant { start.advanced(by: .seconds(seconds)) }

    @Test func policyDefaultsAreKubernetes() {
        let policy = ProbePolicy()
        #expect(policy.initialDelaySeconds == 0)
        #expect(policy.periodSeconds == 10)
        #expect(policy.timeoutSeconds == 1)
        #expect(policy.successThreshold == 1)
        #expect(policy.failureThreshold == 3)
        #expect(policy.timeout == .seconds(1))
    }

    @Test func unsetFieldsTakeTheirDefaultsAsTheAPIServerDoes() {
        let policy = ProbePolicy(initialDelaySeconds: -5, periodSeconds: 0, timeoutSeconds: 0, successThreshold: 0, failureThreshold: -1)
        #expect(policy == ProbePolicy())
    }

    @Test func verdictsStartAsTheKubeletsDo() {
        #expect(ProbeSchedule(kind: .readiness, policy: ProbePolicy(), containerStartedAt: start).verdict == .failure)
        #expect(ProbeSchedule(kind: .liveness, policy: ProbePolicy(), containerStartedAt: start).verdict == .success)
        #expect(ProbeSchedule(kind: .startup, policy: ProbePolicy(), containerStartedAt: start).verdict == .unknown)
    }

    @Test func firstAttemptAfterInitialDelayThenEveryPeriod() {
        var schedule = ProbeSchedule(kind: .readiness, policy: ProbePolicy(initialDelaySeconds: 5, periodSeconds: 10), containerStartedAt: start)
        #expect(schedule.nextAttemptAt == at(5))
        #expect(!schedule.isDue(at: at(4)))
        #expect(schedule.isDue(at: at(5)))
        schedule.record(pass, at: at(5))
        #expect(schedule.nextAttemptAt == at(15))
        schedule.record(pass, at: at(16))
        #expect(schedule.nextAttemptAt == at(25))
    }

    @Test func dueTimesMissedDuringALongAttemptAreSkipped() {
        var schedule = ProbeSchedule(kind: .readiness, policy: ProbePolicy(periodSeconds: 2, timeoutSeconds: 7), containerStartedAt: start)
        schedule.record(fail, at: at(7))  // due at 0; 2, 4 and 6 passed meanwhile
        #expect(schedule.nextAttemptAt == at(8))
        schedule.record(fail, at: at(8))  // finished exactly when the next one falls due
        #expect(schedule.nextAttemptAt == at(10))
    }

    @Test func readinessFlipsOnlyAfterThresholdsInARow() {
        var schedule = ProbeSchedule(kind: .readiness, policy: ProbePolicy(successThreshold: 2, failureThreshold: 3), containerStartedAt: start)
        #expect(schedule.record(pass, at: at(0)) == nil)
        #expect(schedule.record(fail, at: at(10)) == nil)   // breaks the run of successes
        #expect(schedule.record(pass, at: at(20)) == nil)
        #expect(schedule.record(.warning("Probe terminated redirects, statuscode: 302"), at: at(30)) == .success)
        #expect(schedule.verdict == .success)
        #expect(schedule.record(pass, at: at(40)) == nil)   // no flip, no news
        #expect(schedule.record(fail, at: at(50)) == nil)
        #expect(schedule.record(fail, at: at(60)) == nil)
        #expect(schedule.record(fail, at: at(70)) == .failure)
        #expect(schedule.record(fail, at: at(80)) == nil)
        #expect(schedule.nextAttemptAt == at(90))  // readiness keeps probing
    }

    @Test func livenessFailureStopsTheScheduleUntilANewContainer() {
        var schedule = ProbeSchedule(kind: .liveness, policy: ProbePolicy(failureThreshold: 2), containerStartedAt: start)
        #expect(schedule.record(fail, at: at(0)) == nil)
        #expect(schedule.nextAttemptAt == at(10))
        #expect(schedule.record(fail, at: at(10)) == .failure)
        #expect(schedule.nextAttemptAt == nil)
        #expect(!schedule.isDue(at: at(1000)))
    }

    @Test func livenessAndStartupIgnoreASuccessThresholdAboveOne() {
        var schedule = ProbeSchedule(kind: .startup, policy: ProbePolicy(successThreshold: 3), containerStartedAt: start)
        #expect(schedule.record(pass, at: at(0)) == .success)
        #expect(schedule.nextAttemptAt == nil)  // started: liveness and readiness take over
    }

    @Test func startupFailsAfterItsThreshold() {
        var schedule = ProbeSchedule(kind: .startup, policy: ProbePolicy(periodSeconds: 1, failureThreshold: 30), containerStartedAt: start)
        for second in 0..<29 { #expect(schedule.record(fail, at: at(Int64(second))) == nil) }
        #expect(schedule.verdict == .unknown)
        #expect(schedule.record(fail, at: at(29)) == .failure)
        #expect(schedule.nextAttemptAt == nil)
    }
}
