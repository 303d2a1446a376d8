import KingletCore

/// A runtime's lifecycle events, handed to its delegate in order on a later turn of the
/// loop, never from inside the call that caused them, so the pod manager is never
/// re-entered. Shared by the exec and OCI runtimes.
struct ContainerEventQueue {
    private var pending: [ContainerEvent] = []
    private var scheduled = false

    /// Queues `event`; true when the caller must schedule a delivery (none is scheduled yet).
    mutating func add(_ event: ContainerEvent) -> Bool {
        pending.append(event)
        if scheduled { return false }
        scheduled = true
        return true
    }

    /// The events to deliver now, oldest first.
    mutating func take() -> [ContainerEvent] {
        scheduled = false
        let events = pending
        pending.removeAll()
        return events
    }
}

extension ContainerRuntime {
    /// Posts `event` through `queue`, delivering on the next loop turn.
    func post(_ event: ContainerEvent, queue: inout ContainerEventQueue, loop: any EventLoop,
              take: @escaping () -> [ContainerEvent]) {
        guard queue.add(event) else { return }
        loop.schedule(after: .zero) {
            for event in take() { self.delegate?.containerRuntime(self, didReport: event) }
        }
    }
}
