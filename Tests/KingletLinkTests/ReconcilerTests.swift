import KingletLink
import Testing

/// docs/protocol.md rules 1-5, on the pure reconciler.
@Suite struct ReconcilerTests {
    let noCache: (String) -> UInt64? = { _ in nil }

    @Test func nothingIsPlannedBeforeTheFirstIndexOfAConnection() {
        let reconciler = DesiredStateReconciler()
        reconciler.connectionStarted()
        reconciler.received(Fixtures.message(uid: "a", hash: 1))
        #expect(reconciler.plan(running: ["old": 9], cachedHash: noCache) == nil)
        reconciler.received(Fixtures.index(["a": 1]))
        let plan = reconciler.plan(running: ["old": 9], cachedHash: noCache)
        #expect(plan?.entries == [.start(Fixtures.message(uid: "a", hash: 1))])
        #expect(plan?.stops == [RelayPlan.Stop(uid: "old", graceSeconds: nil)])
        // A new connection waits for its own index, even though an old one is known.
        reconciler.connectionStarted()
        #expect(reconciler.plan(running: [:], cachedHash: noCache) == nil)
    }

    @Test func indexBeforeItsPodMessageWaitsThenStarts() {
        let reconciler = DesiredStateReconciler()
        reconciler.connectionStarted()
        reconciler.received(Fixtures.index(["a": 1]))
        let first = reconciler.plan(running: [:], cachedHash: noCache)
        #expect(first?.entries == [])
        #expect(first?.waiting == ["a"])
        #expect(first?.changesSomething == false)
        reconciler.received(Fixtures.message(uid: "a", hash: 1))
        #expect(reconciler.plan(running: [:], cachedHash: noCache)?.entries == [.start(Fixtures.message(uid: "a", hash: 1))])
    }

    @Test func unchangedSpecHashIsNeverRestarted() {
        let reconciler = DesiredStateReconciler()
        reconciler.connectionStarted()
        reconciler.received(Fixtures.message(uid: "a", hash: 1))
        reconciler.received(Fixtures.index(["a": 1]))
        let plan = reconciler.plan(running: ["a": 1], cachedHash: { _ in 1 })
        #expect(plan?.entries == [.keep(uid: "a")])
        #expect(plan?.changesSomething == false)
        // Once cached and running, the message's bytes are not kept in memory.
        #expect(reconciler.messages["a"] == nil)
    }

    @Test func newHashWithoutItsMessageKeepsTheCurrentIncarnation() {
        let reconciler = DesiredStateReconciler()
        reconciler.connectionStarted()
        reconciler.received(Fixtures.index(["a": 2]))
        #expect(reconciler.plan(running: ["a": 1], cachedHash: { _ in 1 })?.entries == [.keep(uid: "a")])
        reconciler.received(Fixtures.message(uid: "a", hash: 2))
        #expect(reconciler.plan(running: ["a": 1], cachedHash: { _ in 1 })?.entries == [.start(Fixtures.message(uid: "a", hash: 2))])
    }

    @Test func cachedRecordWithTheIndexHashIsUsedWhenNoMessageCame() {
        let reconciler = DesiredStateReconciler()
        reconciler.connectionStarted()
        reconciler.received(Fixtures.index(["a": 5]))
        #expect(reconciler.plan(running: [:], cachedHash: { $0 == "a" ? 5 : nil })?.entries == [.startCached(uid: "a", specHash: 5)])
        // A message with another hash than the index's is not used.
        reconciler.received(Fixtures.message(uid: "a", hash: 6))
        #expect(reconciler.plan(running: [:], cachedHash: { $0 == "a" ? 5 : nil })?.entries == [.startCached(uid: "a", specHash: 5)])
    }

    @Test func podsLeaveOnlyBecauseTheIndexDropsThemWithDeletingGrace() {
        let reconciler = DesiredStateReconciler()
        reconciler.connectionStarted()
        reconciler.received(Fixtures.index(["a": 1, "b": 2]))
        let running: [String: UInt64] = ["a": 1, "b": 2]
        #expect(reconciler.plan(running: running, cachedHash: noCache)?.stops == [])
        // The relay clears a pod's topic: nothing happens until the index says so.
        reconciler.cleared(uid: "b")
        #expect(reconciler.plan(running: running, cachedHash: noCache)?.stops == [])
        reconciler.received(Fixtures.index(["a": 1], deleting: ["b": 7]))
        #expect(reconciler.plan(running: running, cachedHash: noCache)?.stops == [RelayPlan.Stop(uid: "b", graceSeconds: 7)])
        reconciler.received(Fixtures.index([:]))
        #expect(reconciler.plan(running: running, cachedHash: noCache)?.stops
                == [RelayPlan.Stop(uid: "a", graceSeconds: nil), RelayPlan.Stop(uid: "b", graceSeconds: nil)])
    }

    @Test func deletingPodsTheNodeDoesNotRunArePlannedAsAbsent() {
        let reconciler = DesiredStateReconciler()
        reconciler.connectionStarted()
        reconciler.received(Fixtures.index(["a": 1], deleting: ["never": 30, "running": 5]))
        let plan = reconciler.plan(running: ["a": 1, "running": 2], cachedHash: noCache)
        // "never" was never started here: the kubelet would let the API delete it at once.
        #expect(plan?.absent == ["never"])
        #expect(plan?.stops == [RelayPlan.Stop(uid: "running", graceSeconds: 5)])
        #expect(plan?.changesSomething == true)
    }

    @Test func latestIndexWinsWhateverTheOrderOfMessages() {
        // Rule 5, over every order of three messages.
        let events: [(DesiredStateReconciler) -> Void] = [
            { $0.received(Fixtures.message(uid: "a", hash: 1)) },
            { $0.received(Fixtures.message(uid: "b", hash: 2)) },
            { $0.received(Fixtures.index(["a": 1, "b": 2])) },
        ]
        for order in [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]] {
            let reconciler = DesiredStateReconciler()
            reconciler.connectionStarted()
            for step in order { events[step](reconciler) }
            let plan = reconciler.plan(running: ["gone": 3], cachedHash: noCache)
            #expect(plan?.entries == [.start(Fixtures.message(uid: "a", hash: 1)), .start(Fixtures.message(uid: "b", hash: 2))])
            #expect(plan?.stops == [RelayPlan.Stop(uid: "gone", graceSeconds: nil)])
        }
    }
}
