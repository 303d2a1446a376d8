import KingletCore
import KingletPod
import KingletRuntime

/// A pod the node should run, with the hash of its spec as received.
public struct DesiredPod {
    public var pod: Pod
    public var specHash: UInt64
    /// What the cache says of its containers: a container the agent adopts keeps its
    /// restart count and last state.
    public var cachedStatuses: CachedContainerStatuses

    public init(pod: Pod, specHash: UInt64, cachedStatuses: CachedContainerStatuses = CachedContainerStatuses()) {
        self.pod = pod
        self.specHash = specHash
        self.cachedStatuses = cachedStatuses
    }
}

/// Keeps the running pods equal to the desired set: starts new pods, stops removed ones,
/// and replaces a pod whose spec hash changed (stop, then start), leaving unchanged pods
/// alone. Routes runtime events to the pod they belong to.
public final class PodManager: ContainerRuntimeDelegate {
    private let loop: any EventLoop
    private let runtime: any ContainerRuntime
    private let context: LaunchContext
    private let clock: WallClock
    private let probeFactory: ProbeFactory
    private var workers: [String: PodWorker] = [:]
    /// Pods waiting for their old incarnation to stop before they start.
    private var replacements: [String: DesiredPod] = [:]
    private var stopping: Set<String> = []
    /// Set by `stopAll`: the node is shutting down and takes no new pods.
    private var stoppingAll = false

    /// Called on every status change of a pod.
    public var onStatusChange: (Pod, PodStatus) -> Void = { _, _ in }
    /// Called once a removed pod's containers have all stopped.
    public var onRemoved: (Pod) -> Void = { _ in }

    public init(loop: any EventLoop, runtime: any ContainerRuntime, context: LaunchContext, clock: WallClock,
                probeFactory: ProbeFactory) {
        self.loop = loop
        self.runtime = runtime
        self.context = context
        self.clock = clock
        self.probeFactory = probeFactory
    }

    /// The pods and their current status, in no particular order.
    public var pods: [(Pod, PodStatus, UInt64)] {
        var result: [(Pod, PodStatus, UInt64)] = []
        for worker in workers.values { result.append((worker.pod, worker.status, worker.specHash)) }
        return result
    }

    public func status(of uid: String) -> PodStatus? { workers[uid]?.status }

    /// The spec hash of the pod running (or stopping) under `uid`.
    public func specHash(of uid: String) -> UInt64? { workers[uid]?.specHash }

    /// Makes `desired` the full set of pods this node runs. A pod stopped because it is
    /// not in `desired` gets its grace period from `gracePeriods` (seconds, e.g. the
    /// API's deletionGracePeriodSeconds) when given there, else from its spec.
    public func apply(_ desired: [DesiredPod], gracePeriods: [String: Int64] = [:]) {
        guard !stoppingAll else { return }
        var wanted: Set<String> = []
        for item in desired {
            let uid = item.pod.metadata.uid
            wanted.insert(uid)
            if let worker = workers[uid] {
                if worker.specHash == item.specHash && !stopping.contains(uid) {
                    replacements[uid] = nil
                    continue
                }
                if worker.specHash != item.specHash {
                    replacements[uid] = item
                    stop(worker)
                } else {
                    replacements[uid] = item // same spec, but it was being stopped: bring it back
                }
            } else {
                start(item)
            }
        }
        for (uid, worker) in workers where !wanted.contains(uid) {
            replacements[uid] = nil
            stop(worker, graceSeconds: gracePeriods[uid])
        }
    }

    /// Stops every pod gracefully (each with its own grace period, at most `limit`), then
    /// calls `completion`. Used when the agent shuts down.
    public func stopAll(limit: Duration, completion: @escaping () -> Void) {
        stoppingAll = true
        replacements = [:]
        var remaining = workers.count
        if remaining == 0 {
            loop.schedule(after: .zero) { completion() }
            return
        }
        for worker in workers.values {
            let grace = Duration.seconds(worker.pod.spec.terminationGracePeriodSeconds)
            stopping.insert(worker.uid)
            worker.stop(gracePeriod: grace < limit ? grace : limit) {
                self.stopping.remove(worker.uid)
                remaining -= 1
                if remaining == 0 { completion() }
            }
        }
    }

    /// The node's images changed (a pull ended, a back-off ran out): containers waiting
    /// for an image ask again.
    public func imagesChanged() {
        for worker in workers.values { worker.imagesChanged() }
    }

    public func containerRuntime(_ runtime: any ContainerRuntime, didReport event: ContainerEvent) {
        workers[event.id.podUID]?.handle(event)
    }

    private func start(_ item: DesiredPod) {
        let worker = PodWorker(pod: item.pod, specHash: item.specHash, loop: loop, runtime: runtime, context: context,
                               clock: clock, probeFactory: probeFactory) { worker in
            // A stopped pod's last status still counts: it says how its containers ended.
            self.onStatusChange(worker.pod, worker.status)
        }
        workers[item.pod.metadata.uid] = worker
        worker.start(cached: item.cachedStatuses)
    }

    private func stop(_ worker: PodWorker, graceSeconds: Int64? = nil) {
        let uid = worker.uid
        guard !stopping.contains(uid) else { return }
        stopping.insert(uid)
        worker.stop(gracePeriod: .seconds(graceSeconds ?? worker.pod.spec.terminationGracePeriodSeconds)) {
            self.stopping.remove(uid)
            self.workers[uid] = nil
            if let next = self.replacements.removeValue(forKey: uid) {
                self.start(next)
            } else {
                self.onRemoved(worker.pod)
            }
        }
    }
}
