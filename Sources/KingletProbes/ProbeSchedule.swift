import KingletCore

/// When a probe runs next and when its verdict flips: the kubelet's prober worker as a
/// value, with no loop in it.
///
/// - The verdict starts as the kubelet's: readiness `failure` (not ready until proven),
///   liveness `success` (alive until proven otherwise), startup `unknown`.
/// - The first attempt is due `initialDelaySeconds` after the container started, then one
///   every `periodSeconds`, counted from the previous due time; due times that passed while
///   an attempt ran are skipped, as Go's ticker drops ticks.
/// - The verdict becomes success after `successThreshold` successes in a row, failure after
///   `failureThreshold` failures in a row; a run shorter than its threshold keeps the
///   current verdict. Warnings count as successes.
/// - A liveness or startup probe that fails stops (`nextAttemptAt` nil): the container is
///   restarted and the new container gets a new schedule. A startup probe that succeeds
///   stops too; liveness and readiness probes take over.
/// - Liveness and startup probes use a success threshold of 1, which the API server enforces.
///
/// Unlike the kubelet, the first attempt is not jittered: the loop's timer wheel copes with
/// many probes due at once, and tests stay exact.
public struct ProbeSchedule: Equatable, Sendable {
    public let kind: ProbeKind
    public let policy: ProbePolicy
    public private(set) var verdict: ProbeVerdict
    /// When the next attempt is due; nil once this probe has nothing more to say about the
    /// container.
    public private(set) var nextAttemptAt: Instant?
    private var lastSucceeded: Bool? = nil
    private var runLength = 0

    public init(kind: ProbeKind, policy: ProbePolicy, containerStartedAt: Instant) {
        self.kind = kind
        self.policy = policy
        switch kind {
        case .readiness: verdict = .failure
        case .liveness: verdict = .success
        case .startup: verdict = .unknown
        }
        nextAttemptAt = containerStartedAt.advanced(by: policy.initialDelay)
    }

    /// Whether an attempt should start at `now`.
    public func isDue(at now: Instant) -> Bool {
        guard let next = nextAttemptAt else { return false }
        return next <= now
    }

    /// Records an attempt that ended at `now` and moves `nextAttemptAt` on. Returns the new
    /// verdict when it changed, nil when it stayed.
    @discardableResult
    public mutating func record(_ outcome: ProbeOutcome, at now: Instant) -> ProbeVerdict? {
        let succeeded = outcome.succeeded
        if lastSucceeded == succeeded {
            runLength += 1
        } else {
            lastSucceeded = succeeded
            runLength = 1
        }
        advanceNextAttempt(past: now)

        let threshold = succeeded ? successThreshold : policy.failureThreshold
        guard runLength >= threshold else { return nil }
        let settled: ProbeVerdict = succeeded ? .success : .failure
        if kind != .readiness && (settled == .failure || kind == .startup) {
            nextAttemptAt = nil
        }
        guard settled != verdict else { return nil }
        verdict = settled
        return settled
    }

    private var successThreshold: Int { kind == .readiness ? policy.successThreshold : 1 }

    private mutating func advanceNextAttempt(past now: Instant) {
        guard let due = nextAttemptAt else { return }
        let period = policy.period.nanoseconds
        var next = due.nanoseconds + period
        if next < now.nanoseconds {
            let missed = (now.nanoseconds - next + period - 1) / period
            next += missed * period
        }
        nextAttemptAt = Instant(nanoseconds: next)
    }
}
