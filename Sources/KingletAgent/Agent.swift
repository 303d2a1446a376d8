import CKingletSystem
import KingletCache
import KingletConfig
import KingletCore
import KingletDocument
import KingletEpoll
import KingletNode
import KingletPod
import KingletPodManager
import KingletProbes
import KingletRuntime
import KingletStatusSocket

/// A start-up failure, with the exit status it maps to.
struct AgentStartError: Error {
    let message: String
    let status: Int32
}

/// The running agent: one event loop and the components on it, wired together.
///
/// Boot order (docs/ARCHITECTURE.md): config, static pods (both validated first: a bad
/// file exits 2 before anything starts), the cache (its lock keeps a second agent out),
/// leftovers of a killed predecessor, then every cached and static pod at once, then the
/// status socket.
final class Agent {
    let log: AgentLog
    let configPath: String
    private(set) var config: AgentConfig
    let loop: EpollEventLoop
    let cache: PodCache
    let runtime: ExecRuntime
    let manager: PodManager
    let nodeFacts: NodeFactsReader
    private var statusServer: StatusSocketServer? = nil
    private var statusWriter = JSONWriter(capacity: 4096)
    private var cacheWriter = JSONWriter(capacity: 2048)
    /// Statuses waiting to be committed to the cache, newest per pod.
    private var unsavedStatus: [String: PodStatus] = [:]
    private var saveTimer: TimerHandle? = nil
    /// Each commit msyncs (about 0.3 ms), so a turn of the loop commits at most this many;
    /// 100 pods starting at once would otherwise hold the loop for 30 ms.
    static let statusCommitsPerTurn = 8
    private var shuttingDown = false
    /// Whether the last stop left no pod running.
    private(set) var stoppedPods = false
    let bootStarted: Instant

    init(configPath: String, log: AgentLog) throws(AgentStartError) {
        self.log = log
        self.configPath = configPath
        let config: AgentConfig
        let staticPods: [StaticPod]
        do {
            config = try ConfigFile.load(configPath, defaultNodeName: ConfigFile.hostName())
            staticPods = try StaticPodFolder.load(config.paths.staticPods, nodeName: config.nodeName)
        } catch {
            throw AgentStartError(message: error.description, status: AgentMain.exitUsage)
        }
        self.config = config
        do {
            loop = try EpollEventLoop()
        } catch {
            throw AgentStartError(message: "cannot start the event loop: \(error.description)", status: AgentMain.exitFailure)
        }
        bootStarted = loop.now
        try Agent.makeFolders(config)

        // The cache's writer lock comes first: it proves no other agent owns these
        // containers, so the ones tagged with our cache are a killed predecessor's.
        cache = try Agent.openCache(config.paths.cacheFile, log: log)
        let leftovers = kinglet_kill_tagged_process_groups(Agent.ownerEntry(config))
        if leftovers > 0 { log.info("stopped \(leftovers) container process group(s) left by a previous run") }
        nodeFacts = NodeFactsReader(stateFolder: FolderListing.parentFolder(of: config.paths.cacheFile),
                                    podCapacity: Int64(cache.geometry.recordCapacity), agentVersion: AgentVersion.number)
        let reaper: ChildReaper
        do {
            reaper = try ChildReaper(loop: loop)
        } catch {
            throw AgentStartError(message: "cannot watch child processes: \(error.description)", status: AgentMain.exitFailure)
        }
        runtime = ExecRuntime(loop: loop, reaper: reaper, cgroupBase: config.runtime.cgroupRoot)
        var context = LaunchContext(nodeName: config.nodeName, appsFolder: config.paths.apps, logsFolder: config.paths.logs,
                                    logLimits: LogLimits(maxBytesPerFile: config.runtime.logMaxBytes, maxFiles: Int(config.runtime.logMaxFiles)))
        context.extraEnvironment = [EnvironmentVariable(name: "KINGLET_OWNER", value: config.paths.cacheFile)]
        let loop = self.loop
        let runtime = self.runtime
        let factory = ProbeFactory(loop: loop, hostIP: context.hostIP) { id, command in
            ExecProbeRunner(runtime: runtime, container: id, command: command)
        }
        manager = PodManager(loop: loop, runtime: runtime, context: context,
                             clock: WallClock { kinglet_realtime_ns() }, probeFactory: factory)
        runtime.delegate = manager
        manager.onStatusChange = { [self] pod, status in self.record(pod, status) }
        manager.onRemoved = { [self] pod in self.forget(pod) }

        let restored = RestoredPods.fromCache(cache, log: log)
        if !restored.isEmpty { log.info("restoring \(restored.count) pod(s) from the cache \(config.paths.cacheFile)") }
        apply(restored: restored, staticPods: staticPods)
        log.info("\(staticPods.count) static pod(s) from \(config.paths.staticPods)")
        do {
            statusServer = try StatusSocketServer(path: config.paths.socket, loop: loop) { [self] line in self.answer(line) }
        } catch {
            log.warning("no status socket: \(error.description)")
        }
        do {
            try loop.handle([.terminate, .interrupt, .hangup]) { [self] signal in self.received(signal) }
        } catch {
            throw AgentStartError(message: "cannot handle signals: \(error.description)", status: AgentMain.exitFailure)
        }
    }

    /// The desired set: cached pods from the relay, plus the static folder's pods (cached
    /// static pods no longer in the folder are dropped). Unchanged pods keep running.
    private func apply(restored: [DesiredPod], staticPods: [StaticPod]) {
        var desired: [DesiredPod] = []
        for item in restored where !RestoredPods.isStatic(item.pod.metadata.uid) { desired.append(item) }
        for item in staticPods {
            desired.append(DesiredPod(pod: item.pod, specHash: item.specHash))
            let uid = item.pod.metadata.uid
            if cache.specHash(uid: uid) != item.specHash {
                do throws(CacheError) {
                    try cache.put(CacheRecord(kind: .pod, uid: uid, namespace: item.pod.metadata.namespace,
                                              name: item.pod.metadata.name, resourceVersion: "", specHash: item.specHash,
                                              spec: item.specJSON, status: []))
                } catch {
                    log.error("cannot cache pod \(item.pod.fullName): \(error.description)")
                }
            }
        }
        for item in restored where RestoredPods.isStatic(item.pod.metadata.uid) {
            if !staticPods.contains(where: { $0.pod.metadata.uid == item.pod.metadata.uid }) {
                // Its manifest is gone: running it once more from the cache would be wrong.
                _ = try? cache.remove(uid: item.pod.metadata.uid)
            }
        }
        manager.apply(desired)
    }

    // MARK: signals

    private func received(_ signal: ProcessSignal) {
        switch signal {
        case .hangup:
            if shuttingDown {
                log.info("SIGHUP ignored: stopping")
            } else {
                reload()
            }
        case .terminate, .interrupt:
            if shuttingDown {
                log.info("\(signal.name) received again, stopping at once")
                loop.stop()
                return
            }
            shuttingDown = true
            log.info("\(signal.name) received, stopping pods")
            manager.stopAll(limit: .seconds(30)) { [self] in
                self.log.info("all pods stopped")
                self.stoppedPods = true
                self.loop.stop()
            }
        case .childExited:
            break
        }
    }

    /// SIGHUP: reread the config and the static pods; keep everything as it is when either
    /// is invalid.
    private func reload() {
        do {
            let fresh = try ConfigFile.load(configPath, defaultNodeName: ConfigFile.hostName())
            if fresh.nodeName != config.nodeName || fresh.paths != config.paths || fresh.runtime != config.runtime {
                log.warning("reload: node name, paths and runtime settings apply at the next start")
            }
            let staticPods = try StaticPodFolder.load(config.paths.staticPods, nodeName: config.nodeName)
            config.cloud = fresh.cloud
            config.nodeLabels = fresh.nodeLabels
            apply(restored: RestoredPods.fromCache(cache, log: log), staticPods: staticPods)
            log.info("reloaded: \(staticPods.count) static pod(s)")
        } catch {
            log.error("reload failed, keeping the running state: \(error.description)")
        }
    }

    // MARK: cache

    private func record(_ pod: Pod, _ status: PodStatus) {
        guard cache.contains(uid: pod.metadata.uid) else { return }
        unsavedStatus[pod.metadata.uid] = status
        scheduleStatusSave()
    }

    private func scheduleStatusSave() {
        guard saveTimer == nil, !unsavedStatus.isEmpty else { return }
        saveTimer = loop.schedule(after: .zero) { [self] in
            self.saveTimer = nil
            self.saveStatuses(limit: Agent.statusCommitsPerTurn)
        }
    }

    /// Commits up to `limit` queued statuses, and schedules the rest for the next turn.
    private func saveStatuses(limit: Int) {
        var saved = 0
        while saved < limit, let (uid, status) = unsavedStatus.first {
            unsavedStatus[uid] = nil
            saved += 1
            guard cache.contains(uid: uid) else { continue }
            cacheWriter.reset()
            PodStatusJSON.write(status, to: &cacheWriter)
            do throws(CacheError) {
                try cache.updateStatus(uid: uid, status: cacheWriter.bytes)
            } catch {
                log.error("cannot cache the status of pod \(uid): \(error.description)")
            }
        }
        scheduleStatusSave()
    }

    private func forget(_ pod: Pod) {
        unsavedStatus[pod.metadata.uid] = nil
        _ = try? cache.remove(uid: pod.metadata.uid)
        // As the kubelet does, a removed pod's logs go with it.
        let logs = LaunchPlanner.podLogFolder(pod: pod, logsFolder: config.paths.logs)
        if kinglet_remove_tree(logs) != 0 {
            log.warning("cannot remove \(logs): \(String(cString: kinglet_strerror(kinglet_errno())))")
        }
        log.info("pod \(pod.fullName) removed")
    }

    func shutdown() {
        if let saveTimer { loop.cancel(saveTimer) }
        saveStatuses(limit: Int.max)
        statusServer?.shutdown()
        statusServer = nil
        runtime.delegate = nil
        cache.close()
    }

    // MARK: status socket

    private func answer(_ line: String) -> [UInt8] {
        statusWriter.reset()
        StatusDocument.write(agent: self, to: &statusWriter)
        return statusWriter.bytes
    }

    // MARK: set-up helpers

    static func ownerEntry(_ config: AgentConfig) -> String { "KINGLET_OWNER=" + config.paths.cacheFile }

    static func openCache(_ path: String, log: AgentLog) throws(AgentStartError) -> PodCache {
        do {
            return try PodCache.open(path: path)
        } catch {
            guard error.isCorruption else {
                throw AgentStartError(message: "cannot open the pod cache: \(error.description)", status: AgentMain.exitFailure)
            }
            do {
                let aside = try PodCache.quarantine(path: path)
                log.error("pod cache \(path) is corrupt (\(error.description)); moved it to \(aside) and starting from static pods")
                return try PodCache.open(path: path)
            } catch {
                throw AgentStartError(message: "cannot replace the corrupt pod cache: \(error.description)", status: AgentMain.exitFailure)
            }
        }
    }

    static func makeFolders(_ config: AgentConfig) throws(AgentStartError) {
        for folder in [FolderListing.parentFolder(of: config.paths.cacheFile), config.paths.logs, FolderListing.parentFolder(of: config.paths.socket)] {
            if kinglet_make_folders(folder, 0o755) != 0 {
                let reason = String(cString: kinglet_strerror(kinglet_errno()))
                throw AgentStartError(message: "cannot create \(folder): \(reason)", status: AgentMain.exitFailure)
            }
        }
    }
}
