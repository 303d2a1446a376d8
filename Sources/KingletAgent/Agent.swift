import CKingletSystem
import KingletCache
import KingletConfig
import KingletCore
import KingletDocument
import KingletEpoll
import KingletHTTP
import KingletImages
import KingletLink
import KingletLocalBus
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
    let devices: BoardDevices
    let runtime: RuntimeRouter
    let manager: PodManager
    /// Registry images and their pulls; nil without `runtime.oci`.
    private(set) var images: AgentImages? = nil
    /// The container keeper, when containers outlive the agent.
    private(set) var keeper: KeeperClient? = nil
    /// Containers the keeper held when the agent started.
    private var heldAtStart = 0
    private var appliedOnce = false
    let nodeFacts: NodeFactsReader
    private var statusServer: StatusSocketServer? = nil
    /// The cloud link; nil when the config has no `cloud:` section (headless).
    private(set) var link: CloudLink? = nil
    /// The board's local MQTT broker (`devices.localBroker`); nil when none is set.
    private(set) var localBus: LocalBus? = nil
    /// The relay's pods the node runs now (from the cache at boot, then from the link).
    private var relayPods: [String: DesiredPod] = [:]
    private var staticPods: [StaticPod] = []
    /// Relay pods being stopped because the index dropped them: `removed` goes up once
    /// they are gone.
    private var droppedByIndex: Set<String> = []
    private var nodeStatusPayload = NodeStatusPayload()
    let hostIP: String
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
            try BoardDevices.validate(config.devices)
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
        let syncDelay = Agent.injectedSyncDelay(log: log)
        do {
            try cache.syncInBackground(on: loop, syncDelay: syncDelay)
        } catch {
            throw AgentStartError(message: "cannot start the cache's flusher: \(error.description)", status: AgentMain.exitFailure)
        }
        cache.onSyncFailure = { code in
            log.error("pod cache: msync failed: \(String(cString: kinglet_strerror(code))); trying again in a second")
        }
        let stateFolder = FolderListing.parentFolder(of: config.paths.cacheFile)
        if config.runtime.containersOutliveAgent {
            keeper = Agent.connectKeeper(stateFolder: stateFolder, log: log)
            heldAtStart = keeper?.held.count ?? 0
        }
        // Containers the keeper holds wait for adoption; any other tagged with our cache are
        // a killed predecessor's that nothing supervises any more.
        let spared = (keeper?.held.values.map { $0.kept.pid }) ?? []
        let leftovers = kinglet_kill_tagged_process_groups(Agent.ownerEntry(config), spared, Int32(spared.count))
        if leftovers > 0 { log.info("stopped \(leftovers) container process group(s) left by a previous run") }
        nodeFacts = NodeFactsReader(stateFolder: FolderListing.parentFolder(of: config.paths.cacheFile),
                                    podCapacity: Int64(cache.geometry.recordCapacity), agentVersion: AgentVersion.number)
        let reaper: ChildReaper
        do {
            reaper = try ChildReaper(loop: loop)
        } catch {
            throw AgentStartError(message: "cannot watch child processes: \(error.description)", status: AgentMain.exitFailure)
        }
        let exec = ExecRuntime(loop: loop, reaper: reaper, cgroupBase: config.runtime.cgroupRoot, keeper: keeper)
        var context = LaunchContext(nodeName: config.nodeName, appsFolder: config.paths.apps, logsFolder: config.paths.logs,
                                    logLimits: LogLimits(maxBytesPerFile: config.runtime.logMaxBytes, maxFiles: Int(config.runtime.logMaxFiles)))
        var oci: OCIRuntime? = nil
        if let ociRuntime = config.runtime.oci {
            let made = try Agent.makeImages(config, stateFolder: stateFolder, loop: loop, reaper: reaper, runtime: ociRuntime,
                                            keeper: keeper, syncDelay: syncDelay, log: log)
            oci = made.runtime
            images = made.images
            context.images = made.images
        }
        runtime = RuntimeRouter(exec: exec, oci: oci)
        runtime.connect()
        if let keeper {
            keeper.onLost = { [log] in
                log.error("the container keeper went away: its containers are ended and started again by their restart policy")
                exec.keeperLost()
                oci?.keeperLost()
            }
            do {
                try keeper.attach(to: loop)
            } catch {
                throw AgentStartError(message: error.message, status: AgentMain.exitFailure)
            }
        }
        context.extraEnvironment = [EnvironmentVariable(name: "KINGLET_OWNER", value: config.paths.cacheFile)]
        context.containersOutliveAgent = keeper != nil
        hostIP = context.hostIP
        let loop = self.loop
        let runtime = self.runtime
        let factory = ProbeFactory(loop: loop, hostIP: context.hostIP) { id, command in
            ExecProbeRunner(runtime: runtime, container: id, command: command)
        }
        localBus = Agent.makeLocalBus(config, loop: loop, log: log)
        do {
            devices = try BoardDevices(loop: loop, cache: cache, settings: config.devices, log: log, localBus: localBus)
        } catch {
            throw AgentStartError(message: error.description, status: AgentMain.exitUsage)
        }
        manager = PodManager(loop: loop, runtime: runtime, context: context,
                             clock: WallClock { kinglet_realtime_ns() }, probeFactory: factory)
        runtime.delegate = manager
        images?.puller.changed = { [manager] _ in manager.imagesChanged() }
        if images != nil { scheduleImageGarbageCollection() }
        manager.onStatusChange = { [self] pod, status in self.record(pod, status) }
        manager.onRemoved = { [self] pod in self.forget(pod) }

        let restored = RestoredPods.fromCache(cache, log: log)
        if !restored.isEmpty { log.info("restoring \(restored.count) pod(s) from the cache \(config.paths.cacheFile)") }
        // The link first: unusable TLS files stop the agent before any pod starts. Nothing
        // it receives is handled before the loop runs.
        if let cloud = config.cloud {
            try startLink(cloud, stateFolder: stateFolder)
        }
        apply(restored: restored, staticPods: staticPods)
        log.info("\(staticPods.count) static pod(s) from \(config.paths.staticPods)")
        startLocalBus()
        devices.restoreFromCache()
        devices.apply()
        if !devices.manager.devices.isEmpty { log.info("\(devices.manager.devices.count) device(s)") }
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
        relayPods = [:]
        for item in restored where !RestoredPods.isStatic(item.pod.metadata.uid) { relayPods[item.pod.metadata.uid] = item }
        setStaticPods(staticPods)
        applyDesired()
    }

    private func setStaticPods(_ staticPods: [StaticPod]) {
        for item in staticPods {
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
        for uid in cache.uids where RestoredPods.isStatic(uid) {
            if !staticPods.contains(where: { $0.pod.metadata.uid == uid }) {
                // Its manifest is gone: running it once more from the cache would be wrong.
                _ = cache.removeSoon(uid: uid)
            }
        }
        self.staticPods = staticPods
    }

    /// Relay pods plus static pods, handed to the pod manager.
    private func applyDesired(gracePeriods: [String: Int64] = [:]) {
        var desired: [DesiredPod] = []
        for uid in relayPods.keys.sorted() { desired.append(relayPods[uid]!) }
        let first = !appliedOnce
        appliedOnce = true
        for item in staticPods {
            // At boot a static pod's containers may be adopted: they keep their counts.
            let cached = first ? CachedContainerStatuses(json: cache.record(uid: item.pod.metadata.uid)?.status ?? [])
                : CachedContainerStatuses()
            desired.append(DesiredPod(pod: item.pod, specHash: item.specHash, cachedStatuses: cached))
        }
        // A pod starts only from a durable cache record (docs/protocol.md, rule 4), and the
        // loop does not wait for the disk: the set goes to the pod manager once every record
        // committed so far is durable. Sets reach it in the order they were made.
        cache.whenDurable { [self] in
            guard !self.shuttingDown else { return }
            self.manager.apply(desired, gracePeriods: gracePeriods)
            if first { self.finishAdoption() }
        }
    }

    /// After the first set of pods has been applied: what the keeper still holds belongs
    /// to no pod (or to a pod whose spec changed), and is stopped.
    private func finishAdoption() {
        guard let keeper else { return }
        let unadopted = keeper.held.count
        if runtime.oci == nil {
            for key in Array(keeper.held.keys) where key.hasPrefix("oci:") {
                log.warning("the keeper holds OCI container \(key.dropFirst(4)) but runtime.oci is not set: killing it")
                keeper.discard(key)
            }
        }
        runtime.stopUnadopted(gracePeriod: ExecRuntime.replacedGracePeriod)
        log.info("container keeper \(keeper.keeperPID): containers outlive the agent; \(heldAtStart - unadopted) adopted, \(unadopted) held for no pod stopped")
    }

    // MARK: cloud link

    private func startLink(_ cloud: CloudSettings, stateFolder: String) throws(AgentStartError) {
        let settings = LinkSettings(nodeName: config.nodeName, host: cloud.address.host, port: cloud.address.port,
                                    useTLS: cloud.address.useTLS, caFile: cloud.caFile, certFile: cloud.certFile,
                                    keyFile: cloud.keyFile, agentVersion: AgentVersion.number)
        let link = CloudLink(loop: loop, settings: settings, wallClock: { kinglet_realtime_ns() },
                             seed: UInt64(bitPattern: kinglet_realtime_ns()) ^ UInt64(bitPattern: Int64(getpid())))
        link.log = { [self] level, message in
            if level == .warning { self.log.warning(message) } else { self.log.info(message) }
        }
        link.runningPods = { [self] in
            var running: [String: UInt64] = [:]
            for (uid, item) in self.relayPods { running[uid] = item.specHash }
            return running
        }
        link.cachedHash = { [self] uid in self.cache.specHash(uid: uid) }
        // A pod the index dropped is still the node's until its containers are gone.
        link.holdsPod = { [self] uid in self.relayPods[uid] != nil || self.manager.specHash(of: uid) != nil }
        link.apply = { [self] plan in self.applyRelayPlan(plan, stateFolder: stateFolder) }
        link.currentDevice = { [self] uid in self.devices.relaySpecs[uid] }
        link.applyDevices = { [self] plan in
            let fresh = plan.keys.filter { self.devices.relaySpecs[$0]?.specHash != plan[$0]?.specHash }
            self.devices.setRelaySpecs(plan)
            for uid in fresh { self.link?.deviceStatusChanged(uid: uid) }
        }
        link.deviceStatus = { [self] uid, writer in
            guard self.devices.relaySpecs[uid] != nil, let device = self.devices.manager.devices[uid] else { return false }
            writer.beginObject()
            writer.key("v"); writer.integer(1)
            writer.key("uid"); writer.string(uid)
            writer.key("namespace"); writer.string(device.spec.namespace)
            writer.key("name"); writer.string(device.spec.name)
            writer.key("specHash"); writer.string(FNV1a.hex(device.spec.specHash))
            self.devices.writeStatus(device, to: &writer)
            writer.endObject()
            return true
        }
        devices.twinChanged = { [self] device in
            if self.devices.relaySpecs[device.spec.uid] != nil { self.link?.deviceStatusChanged(uid: device.spec.uid) }
        }
        link.nodeStatus = { [self] in
            self.nodeStatusPayload.make(facts: self.nodeFacts.facts(runtimeReady: true), labels: self.config.nodeLabels,
                                        hostIP: self.hostIP, hostName: ConfigFile.hostName(), now: kinglet_realtime_ns())
        }
        self.link = link
        if let failure = link.start() {
            throw AgentStartError(message: "cloud link: \(failure.description)", status: AgentMain.exitUsage)
        }
        // libmosquitto's wake-up socket pair must not leak into containers either (its
        // broker socket is marked by the link itself, after every connect).
        _ = kinglet_cloexec_inherited_descriptors()
    }

    /// docs/protocol.md rules 2-4: new pods go to the cache (and their files to the state
    /// folder) before they start; pods the index dropped stop with `deleting`'s grace.
    private func applyRelayPlan(_ plan: RelayPlan, stateFolder: String) {
        var next: [String: DesiredPod] = [:]
        for entry in plan.entries {
            switch entry {
            case .keep(let uid):
                if let item = relayPods[uid] { next[uid] = item }
            case .start(let message):
                if let failure = PodVolumeFiles.write(message, stateFolder: stateFolder) {
                    log.error("pod \(message.pod.fullName): \(failure)")
                }
                do throws(CacheError) {
                    try cache.put(CacheRecord(kind: .pod, uid: message.uid, namespace: message.pod.metadata.namespace,
                                              name: message.pod.metadata.name, resourceVersion: message.pod.metadata.resourceVersion,
                                              specHash: message.specHash, spec: message.podJSON, status: []))
                } catch {
                    // It still runs; it just will not come back after a restart while offline.
                    log.error("cannot cache pod \(message.pod.fullName): \(error.description)")
                }
                next[message.uid] = DesiredPod(pod: message.pod, specHash: message.specHash)
            case .startCached(let uid, _):
                if let item = RestoredPods.one(uid: uid, from: cache, log: log) {
                    next[uid] = item
                } else if let item = relayPods[uid] {
                    next[uid] = item
                }
            }
        }
        for uid in next.keys { droppedByIndex.remove(uid) } // listed again before it stopped
        var grace: [String: Int64] = [:]
        for stop in plan.stops {
            guard let item = relayPods[stop.uid] else { continue }
            droppedByIndex.insert(stop.uid)
            if let seconds = stop.graceSeconds { grace[stop.uid] = seconds }
            log.info("pod \(item.pod.fullName) is no longer in the relay's index: stopping it")
        }
        relayPods = next
        applyDesired(gracePeriods: grace)
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
            link?.stop()
            if let keeper, keeper.isConnected {
                // As the kubelet: the containers go on; the next agent adopts them.
                let running = runtime.exec.runningContainers.count + (runtime.oci?.runningContainers.count ?? 0)
                log.info("\(signal.name) received, stopping the agent; its \(running) container(s) go on running with the keeper \(keeper.keeperPID)")
                stoppedPods = true
                stopAfterCleanups(deadline: loop.now.advanced(by: .seconds(10)))
                return
            }
            log.info("\(signal.name) received, stopping pods")
            manager.stopAll(limit: .seconds(30)) { [self] in
                self.log.info("all pods stopped")
                self.stoppedPods = true
                self.stopAfterCleanups(deadline: self.loop.now.advanced(by: .seconds(10)))
            }
        case .childExited:
            break
        }
    }

    /// Stops the loop once the OCI runtime has removed its containers' bundles (runc
    /// delete, the root unmounted), or at `deadline`: a clean stop leaves no mount behind.
    private func stopAfterCleanups(deadline: Instant) {
        guard let oci = runtime.oci, oci.pendingCleanups > 0, loop.now < deadline else {
            loop.stop()
            return
        }
        loop.schedule(after: .milliseconds(20)) { [self] in self.stopAfterCleanups(deadline: deadline) }
    }

    /// SIGHUP: reread the config and the static pods; keep everything as it is when either
    /// is invalid.
    private func reload() {
        do {
            let fresh = try ConfigFile.load(configPath, defaultNodeName: ConfigFile.hostName())
            if fresh.nodeName != config.nodeName || fresh.paths != config.paths || fresh.runtime != config.runtime
                || fresh.cloud != config.cloud || fresh.devices.localBroker != config.devices.localBroker {
                log.warning("reload: node name, paths, runtime, cloud and devices.localBroker settings apply at the next start")
            }
            let staticPods = try StaticPodFolder.load(config.paths.staticPods, nodeName: config.nodeName)
            try BoardDevices.validate(fresh.devices)
            config.nodeLabels = fresh.nodeLabels
            config.devices = fresh.devices
            devices.setConfigSpecs(fresh.devices.specs)
            setStaticPods(staticPods)
            applyDesired()
            log.info("reloaded: \(staticPods.count) static pod(s)")
        } catch {
            log.error("reload failed, keeping the running state: \(error.description)")
        }
    }

    // MARK: cache

    private func record(_ pod: Pod, _ status: PodStatus) {
        let uid = pod.metadata.uid
        if let link, !RestoredPods.isStatic(uid) {
            link.podStatusChanged(uid: uid, namespace: pod.metadata.namespace, name: pod.metadata.name,
                                  specHash: manager.specHash(of: uid) ?? 0, status: status)
        }
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
        let uid = pod.metadata.uid
        unsavedStatus[uid] = nil
        if let failure = cache.removeSoon(uid: uid) {
            log.error("cannot drop pod \(pod.fullName) from the cache: \(failure.description)")
        }
        if !RestoredPods.isStatic(uid) {
            PodVolumeFiles.remove(stateFolder: FolderListing.parentFolder(of: config.paths.cacheFile), uid: uid)
        }
        if droppedByIndex.remove(uid) != nil {
            link?.podRemoved(uid: uid, namespace: pod.metadata.namespace, name: pod.metadata.name)
        }
        // As the kubelet does, a removed pod's logs go with it.
        let logs = LaunchPlanner.podLogFolder(pod: pod, logsFolder: config.paths.logs)
        if kinglet_remove_tree(logs) != 0 {
            log.warning("cannot remove \(logs): \(String(cString: kinglet_strerror(kinglet_errno())))")
        }
        log.info("pod \(pod.fullName) removed")
    }

    func shutdown() {
        shuttingDown = true
        if let saveTimer { loop.cancel(saveTimer) }
        saveStatuses(limit: Int.max)
        devices.stop()
        localBus?.close()
        localBus = nil
        statusServer?.shutdown()
        statusServer = nil
        link?.close()
        link = nil
        images?.puller.cancelAll()
        images?.puller.changed = { _ in }
        images?.puller.store.sync.stop()
        runtime.disconnect()
        cache.close()
    }

    // MARK: status socket

    private func answer(_ line: String) -> [UInt8] {
        statusWriter.reset()
        StatusDocument.write(agent: self, to: &statusWriter)
        return statusWriter.bytes
    }

    // MARK: set-up helpers

    /// KINGLET_FAULT_SYNC_DELAY_MS: fault injection for tests and benchmarks, every cache
    /// msync and every image store sync list first sleeps that long (a slow SD card).
    /// Unset or invalid: none.
    static func injectedSyncDelay(log: AgentLog) -> Duration {
        guard let value = getenv("KINGLET_FAULT_SYNC_DELAY_MS"), let milliseconds = Int64(String(cString: value)),
              milliseconds > 0 else { return .zero }
        log.warning("fault injection: every cache sync takes \(milliseconds) ms more (KINGLET_FAULT_SYNC_DELAY_MS)")
        return .milliseconds(milliseconds)
    }

    static func ownerEntry(_ config: AgentConfig) -> String { "KINGLET_OWNER=" + config.paths.cacheFile }

    /// Connects to the board's container keeper, starting one (this binary, `kinglet
    /// keeper`) when none runs. nil, with a warning, when that fails: containers then stop
    /// with the agent, as with runtime.containersOutliveAgent false.
    static func connectKeeper(stateFolder: String, log: AgentLog) -> KeeperClient? {
        var path = [CChar](repeating: 0, count: 4096)
        guard kinglet_self_executable(&path, path.count) == 0 else {
            log.warning("no container keeper: cannot find this binary (/proc/self/exe); containers stop with the agent")
            return nil
        }
        let binary = String(cString: path)
        do {
            return try KeeperClient(socketPath: KeeperCommand.socketPath(stateFolder),
                                    startCommand: [binary, "keeper", "--state", stateFolder],
                                    keeperLogPath: stateFolder + "/keeper.log")
        } catch {
            log.warning("no container keeper (\(error.message)); containers stop with the agent")
            return nil
        }
    }

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

extension Agent {
    /// How often the image store's disk use is checked (`images.gcPeriodSeconds`, by
    /// default the kubelet's 5 minutes).
    func scheduleImageGarbageCollection() {
        loop.schedule(after: .seconds(config.images.gcPeriodSeconds)) { [self] in
            guard !self.shuttingDown, let images = self.images else { return }
            images.collectGarbage(images: self.wantedImages, high: self.config.images.gcHighThresholdPercent,
                                  low: self.config.images.gcLowThresholdPercent)
            self.scheduleImageGarbageCollection()
        }
    }

    /// The `image` of every container of every pod this node should run.
    var wantedImages: [String] {
        var images: [String] = []
        for pod in relayPods.values.map({ $0.pod }) + staticPods.map({ $0.pod }) {
            for container in pod.spec.initContainers + pod.spec.containers { images.append(container.image) }
        }
        return images
    }

    /// The OCI runtime, the image store and the image manager, for `runtime.oci`.
    static func makeImages(_ config: AgentConfig, stateFolder: String, loop: EpollEventLoop, reaper: ChildReaper,
                           runtime: String, keeper: KeeperClient?, syncDelay: Duration,
                           log: AgentLog) throws(AgentStartError) -> (runtime: OCIRuntime, images: AgentImages) {
        guard let board = BoardPlatform.current(override: config.images.platform) else {
            throw AgentStartError(message: "images: cannot tell this board's platform; set images.platform (e.g. linux/arm/v7)",
                                  status: AgentMain.exitUsage)
        }
        let oci: OCIRuntime
        do throws(SystemError) {
            oci = try OCIRuntime(loop: loop, reaper: reaper,
                                 configuration: OCIRuntimeConfiguration(runtime: runtime, bundles: stateFolder + "/bundles",
                                                                        stateRoot: stateFolder + "/runc"),
                                 keeper: keeper)
        } catch {
            throw AgentStartError(message: "cannot start the OCI runtime \(runtime): \(error.description)", status: AgentMain.exitFailure)
        }
        let store: ImageStore
        do throws(ImageStoreError) {
            store = try ImageStore(root: config.paths.images)
        } catch {
            throw AgentStartError(message: "image store: \(error.description)", status: AgentMain.exitFailure)
        }
        if let problem = store.indexProblem { log.warning(problem) }
        do throws(ImageStoreError) {
            try store.sync.start(on: loop, delayMicroseconds: UInt32(clamping: syncDelay.milliseconds * 1000))
        } catch {
            throw AgentStartError(message: "image store: \(error.description)", status: AgentMain.exitFailure)
        }
        store.log = { log.warning($0) }
        if let problem = oci.probeOverlay(lowerScratch: config.paths.images + "/overlay-probe") {
            store.overlayRoots = false
            log.warning("containers get flattened copies of their images: \(problem)")
        }
        var settings = ImagePullSettings(board: board)
        settings.insecureRegistries = config.images.insecureRegistries
        let wallClock: () -> Int64 = { kinglet_realtime_ns() / 1_000_000_000 }
        let puller = ImagePuller(store: store, client: HTTPClient(loop: loop), settings: settings, wallClock: wallClock)
        let credentialsFile = config.images.credentialsFile
        puller.boardCredentials = { ImageCommands.credentials(credentialsFile) }
        puller.log = { log.info($0) }
        let images = AgentImages(puller: puller, wallClock: wallClock, stateFolder: stateFolder)
        images.log = { log.warning($0) }
        log.info("OCI runtime \(runtime); images in \(config.paths.images) for \(board.platform.description)")
        return (oci, images)
    }
}
