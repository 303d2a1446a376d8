/// KingletRelay: the relay controller. It makes each board a Node (created, status written,
/// Lease renewed while heartbeats come, Unknown when the board goes silent), relays the
/// pods bound to it as retained MQTT messages (docs/protocol.md), writes pod status,
/// events and deletions back, and shares the nodes between replicas by rendezvous hashing
/// over membership Leases. It keeps no state of its own: the API server and the broker's
/// retained messages hold it, so a restarted or replacing replica republishes nothing
/// that did not change.
import Foundation
import KingletKube
import Logging

/// What the relay knows of one board from the broker.
struct Board {
    /// The latest `status/online` (nil = never seen).
    var online: Bool?
    /// When the board last showed life (heartbeat, online, or a live status message).
    var lastSeen: Date = .distantPast
    /// Whether this replica last acted on the board as alive (nil = not acted yet).
    var actedAlive: Bool?
    /// The latest `status/node` report.
    var report: JSONValue?
    /// The latest `status/pods/<uid>` messages.
    var podStatuses: [String: JSONValue] = [:]
    /// The latest `status/devices/<uid>` messages.
    var deviceStatuses: [String: JSONValue] = [:]
    /// What is retained under `desired/`: pod and device messages by uid, and the index.
    var desiredPods: [String: [UInt8]] = [:]
    var desiredDevices: [String: [UInt8]] = [:]
    var desiredIndex: [UInt8]?
    /// Whether the node's Lease is known to exist (then renewals PATCH, else CREATE).
    var leaseExists = false
}

public actor RelayController {
    let options: RelayOptions
    let client: KubeClient
    let mqtt: MQTTClient
    let writes: WriteQueue
    let logger: Logger

    // From the API (informers).
    var pods: [String: JSONValue] = [:]
    var podKeyByUID: [String: String] = [:]
    var podsByNode: [String: Set<String>] = [:]
    /// "c/ns/name" or "s/ns/name" -> the pods that refer to that ConfigMap or Secret.
    var podsByReference: [String: Set<String>] = [:]
    var configMaps: [String: JSONValue] = [:]
    var secrets: [String: JSONValue] = [:]
    var nodes: [String: JSONValue] = [:]
    var memberLeases: [String: JSONValue] = [:]
    var devices: [String: JSONValue] = [:]
    var deviceKeyByUID: [String: String] = [:]
    var devicesByNode: [String: Set<String>] = [:]
    /// "namespace/model" -> the devices that name that DeviceModel.
    var devicesByModel: [String: Set<String>] = [:]
    var deviceModels: [String: JSONValue] = [:]
    var syncedInformers: Set<String> = []

    // From the broker.
    var boards: [String: Board] = [:]
    var brokerSynced = false
    var syncToken = ""

    // Membership.
    var ownLeaseRenewedAt: Date?
    var ownLeaseExists = false
    var liveMembers: [String] = []
    var ownership: [String: Bool] = [:]

    // Work.
    var ready = false
    var dirtyNodes: Set<String> = []
    var flushScheduled = false
    var creatingNodes: Set<String> = []
    var toleratedPods: Set<String> = []
    var configProblems: [String: String] = [:]
    /// pod uid -> the pull-secret warnings last recorded for it.
    var pullSecretWarnings: [String: [DerivedEvent]] = [:]
    var deviceProblems: [String: String] = [:]
    var deviceStatusWrittenAt: [String: Date] = [:]
    var deviceStatusDue: Set<String> = []
    var eventBook: EventBook
    var useMergePatchForPodStatus = false
    var tickCount = 0
    var tasks: [Task<Void, Never>] = []
    var rejectedPayloads = 0
    var rejectionLogged: Set<String> = []

    static let informerNames: Set<String> = ["pods", "nodes", "configmaps", "secrets", "members"]
    static let nodeLeaseNamespace = "kube-node-lease"
    static let memberLabel = "kinglet.io/relay-member"

    public init(options: RelayOptions, client: KubeClient, mqtt: MQTTClient, logger: Logger) {
        self.options = options
        self.client = client
        self.mqtt = mqtt
        self.logger = logger
        self.writes = WriteQueue(concurrency: options.writeConcurrency, logger: logger)
        self.eventBook = EventBook(replicaID: options.replicaID)
    }

    /// The marker the relay sends itself after subscribing: the broker delivers it after
    /// every retained message of the subscriptions made before it, so its arrival means
    /// "the retained view is complete". It sits under the status tree the relay may write
    /// (docs/broker.md), at a "node" name no real Node can have (a leading underscore).
    var syncTopic: String { "kinglet/v1/nodes/_\(options.memberLeaseName)/status/relay-sync" }

    /// Starts the informers, the broker link and the ticker; returns at once.
    public func start() throws {
        let informers: [(String, Informer)] = [
            ("pods", Informer(client: client, resource: .pods, watchTimeout: options.watchTimeout, logger: logger)),
            ("nodes", Informer(client: client, resource: .nodes, labelSelector: NodeStatusBuilder.edgeRoleLabel,
                               watchTimeout: options.watchTimeout, logger: logger)),
            ("configmaps", Informer(client: client, resource: .configMaps, watchTimeout: options.watchTimeout, logger: logger)),
            ("secrets", Informer(client: client, resource: .secrets, watchTimeout: options.watchTimeout, logger: logger)),
            ("members", Informer(client: client, resource: .leases, namespace: options.namespace,
                                 labelSelector: Self.memberLabel, watchTimeout: options.watchTimeout, logger: logger)),
            // KubeEdge's CRDs may be missing: then there are no devices, and pods go on.
            ("devices", Informer(client: client, resource: .devices, watchTimeout: options.watchTimeout,
                                 emptyWhenNotServed: true, logger: logger)),
            ("devicemodels", Informer(client: client, resource: .deviceModels, watchTimeout: options.watchTimeout,
                                      emptyWhenNotServed: true, logger: logger)),
        ]
        for (name, informer) in informers {
            tasks.append(Task { await informer.run { event in await self.handle(informer: name, event) } })
        }
        mqtt.subscribe(LinkTopic.allDesired)
        mqtt.subscribe(LinkTopic.allStatus)
        let events = mqtt.events
        tasks.append(Task {
            for await event in events { await self.handle(mqtt: event) }
        })
        try mqtt.start()
        let tick = options.renewInterval / 10
        tasks.append(Task {
            while !Task.isCancelled {
                await self.tick()
                try? await Task.sleep(for: .seconds(tick))
            }
        })
    }

    /// A clean stop: stops acting, releases the membership Lease so that the other
    /// replicas take the nodes over at once, and disconnects.
    public func stop() async {
        for task in tasks { task.cancel() }
        tasks.removeAll()
        ready = false
        do {
            try await client.delete(.leases, namespace: options.namespace, name: options.memberLeaseName)
            logger.info("released membership lease \(options.namespace)/\(options.memberLeaseName)")
        } catch {
            logger.warning("could not release membership lease: \(error)")
        }
        mqtt.stop()
    }

    // MARK: Readiness

    /// Acts only once every informer has synced, the broker has delivered what it retains,
    /// and this replica holds its membership Lease: before that it would publish from a
    /// partial view.
    func updateReadiness() {
        let now = syncedInformers.isSuperset(of: Self.informerNames) && brokerSynced && ownLeaseRenewedAt != nil
        guard now != ready else { return }
        ready = now
        if ready {
            logger.info("synced: \(pods.count) pods, \(nodes.count) edge nodes, \(boards.count) boards on the broker")
            recomputeMembership(force: true)
        }
    }

    /// Whether this replica acts for `node` now.
    func owns(_ node: String) -> Bool {
        guard ready else { return false }
        if let known = ownership[node] { return known }
        let mine = Rendezvous.owner(of: node, among: liveMembers) == options.replicaID
        ownership[node] = mine
        return mine
    }

    /// Every node this relay knows of: edge Nodes and boards seen on the broker.
    var knownNodes: Set<String> { Set(nodes.keys).union(boards.keys) }

    // MARK: Batching

    func markDirty(_ node: String) {
        dirtyNodes.insert(node)
        guard !flushScheduled else { return }
        flushScheduled = true
        Task {
            try? await Task.sleep(for: .milliseconds(20))
            await self.flush()
        }
    }

    func flush() {
        flushScheduled = false
        guard ready else { return }
        let nodes = dirtyNodes
        dirtyNodes.removeAll()
        for node in nodes where owns(node) && isEdge(node) { reconcileDesired(node) }
    }

    func isEdge(_ node: String) -> Bool { nodes[node] != nil || boards[node]?.online != nil }

    // MARK: Ticks

    /// Runs every tenth of the renew interval; each node is in one of ten slots, so lease
    /// renewals and silence checks spread over the interval instead of bursting.
    func tick() {
        tickCount += 1
        let slot = tickCount % 10
        if slot == 0 { renewOwnLease() }
        recomputeMembership(force: false)
        guard ready else { return }
        let now = Date()
        for (node, board) in boards where Self.slot(of: node) == slot && owns(node) {
            let alive = board.online == true && now.timeIntervalSince(board.lastSeen) <= options.leaseDuration
            if alive {
                if board.actedAlive != true { becomeAlive(node) } else { renewNodeLease(node) }
            } else if board.actedAlive != false && board.online != nil {
                goSilent(node)
            }
        }
    }

    static func slot(of node: String) -> Int { Int(FNV1a64.hash(Array(node.utf8)) % 10) }

    func isAlive(_ board: Board) -> Bool {
        board.online == true && Date().timeIntervalSince(board.lastSeen) <= options.leaseDuration
    }

    // MARK: Informer events

    func handle(informer name: String, _ event: InformerEvent) {
        if case .synced = event {
            syncedInformers.insert(name)
            logger.debug("informer \(name) synced")
            updateReadiness()
            if Self.deviceInformerNames.contains(name) { deviceInformersSynced() }
            return
        }
        switch name {
        case "pods": handlePod(event)
        case "nodes": handleNode(event)
        case "configmaps": handleConfig(event, prefix: "c/", into: &configMaps)
        case "secrets": handleConfig(event, prefix: "s/", into: &secrets)
        case "members": handleMember(event)
        case "devices": handleDevice(event)
        case "devicemodels": handleDeviceModel(event)
        default: break
        }
    }

    func handleConfig(_ event: InformerEvent, prefix: String, into store: inout [String: JSONValue]) {
        let object: JSONValue
        switch event {
        case .added(let new), .modified(_, let new):
            object = new
            store[new.storeKey] = new
        case .deleted(let old):
            object = old
            store.removeValue(forKey: old.storeKey)
        case .synced:
            return
        }
        for podKey in podsByReference[prefix + object.storeKey] ?? [] {
            if let node = pods[podKey]?[path: "spec", "nodeName"]?.stringValue, !node.isEmpty { markDirty(node) }
        }
    }

    func handleNode(_ event: InformerEvent) {
        switch event {
        case .added(let node):
            guard let name = node.name else { return }
            nodes[name] = node
            creatingNodes.remove(name)
            ownership.removeValue(forKey: name)
            // A Node just created for a live board gets its status now.
            if owns(name), let board = boards[name], isAlive(board) { writeNodeStatus(name) }
            markDirty(name)
        case .modified(_, let node):
            if let name = node.name { nodes[name] = node }
        case .deleted(let node):
            guard let name = node.name else { return }
            nodes.removeValue(forKey: name)
            // Deleted while the board is up: it comes back, as a kubelet would re-register.
            if owns(name), let board = boards[name], isAlive(board) { ensureNode(name) }
        case .synced:
            break
        }
    }
}
