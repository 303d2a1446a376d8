/// The simulated Zigbee devices behind the coordinator: their endpoints, clusters and
/// attributes, how they answer ZCL frames, and how their readings drift and get reported.

/// A point on the simulator's monotonic clock, in milliseconds.
public struct SimInstant: Comparable, Hashable, Sendable, CustomStringConvertible {
    public var milliseconds: UInt64

    public init(milliseconds: UInt64) { self.milliseconds = milliseconds }

    public static let zero = SimInstant(milliseconds: 0)

    public static func < (lhs: SimInstant, rhs: SimInstant) -> Bool { lhs.milliseconds < rhs.milliseconds }

    public func adding(milliseconds delta: UInt64) -> SimInstant { SimInstant(milliseconds: milliseconds &+ delta) }

    public func adding(seconds: Double) -> SimInstant { adding(milliseconds: UInt64(max(0, seconds * 1000).rounded())) }

    public var description: String { "t+\(milliseconds)ms" }
}

/// How a reading changes between reports.
public enum DriftMode: String, Sendable {
    /// A bounded random walk around the starting value.
    case walk
    /// Only ever decreases, now and then (batteries).
    case decay
    /// Flips bit 0 now and then (occupancy).
    case flip
}

public struct SimulatedAttribute: Sendable {
    public var id: UInt16
    public var type: ZCLDataType
    public var value: ZCLValue
    public var writable: Bool
    /// Reported at the device's interval until Configure Reporting says otherwise.
    public var reported: Bool
    /// Largest change per report; 0 keeps the value constant.
    public var drift: Int64
    public var driftMode: DriftMode
    public var bounds: ClosedRange<Int64>
    /// The starting value, restored when a coupled attribute comes back (power after "on").
    public var baseValue: ZCLValue

    public init(id: UInt16, type: ZCLDataType, value: ZCLValue, writable: Bool = false, reported: Bool = false,
                drift: Int64 = 0, driftMode: DriftMode = .walk, bounds: ClosedRange<Int64>? = nil) {
        self.id = id
        self.type = type
        self.value = value
        self.writable = writable
        self.reported = reported
        self.drift = drift
        self.driftMode = driftMode
        let start = value.integer ?? 0
        let span = max(drift * 20, 1)
        let natural = type.range
        let wanted = bounds ?? (start - span)...(start + span)
        let low = max(wanted.lowerBound, natural.lowerBound)
        let high = min(wanted.upperBound, natural.upperBound)
        self.bounds = low <= high ? low...high : natural
        baseValue = value
    }
}

public struct SimulatedCluster: Sendable {
    public var id: UInt16
    public var attributes: [SimulatedAttribute]

    public init(id: UInt16, attributes: [SimulatedAttribute]) {
        self.id = id
        self.attributes = attributes.sorted { $0.id < $1.id }
    }

    func index(of attribute: UInt16) -> Int? { attributes.firstIndex { $0.id == attribute } }
}

public struct SimulatedEndpoint: Sendable {
    public var id: UInt8
    public var profileID: UInt16
    public var deviceID: UInt16
    public var deviceVersion: UInt8
    /// Server clusters: the ones with attributes the coordinator reads and commands.
    public var inputClusters: [SimulatedCluster]
    public var outputClusters: [UInt16]

    public init(id: UInt8, profileID: UInt16 = 0x0104, deviceID: UInt16, deviceVersion: UInt8 = 1,
                inputClusters: [SimulatedCluster], outputClusters: [UInt16] = []) {
        self.id = id
        self.profileID = profileID
        self.deviceID = deviceID
        self.deviceVersion = deviceVersion
        self.inputClusters = inputClusters
        self.outputClusters = outputClusters
    }

    func clusterIndex(_ cluster: UInt16) -> Int? { inputClusters.firstIndex { $0.id == cluster } }
}

public enum LogicalType: String, Sendable {
    case router
    case endDevice = "end-device"

    /// MAC capability flags of the device announce (zdo.py `MACCapabilities`): a mains-powered
    /// router 0x8E (router, mains, rx-on-when-idle, allocate address); a sleepy end device 0x80.
    var macCapabilities: UInt8 { self == .router ? 0x8E : 0x80 }
}

/// One binding entry made by ZDO_BIND_REQ (source endpoint and cluster to a destination).
struct Binding: Equatable {
    var sourceEndpoint: UInt8
    var cluster: UInt16
    var destination: IEEEAddress?
    var group: UInt16?
    var destinationEndpoint: UInt8
}

/// Per-attribute reporting state (ZCL §2.5.7): the periodic interval and when the next report is due.
struct ReportingState {
    /// Seconds between periodic reports; nil when periodic reporting is off.
    var interval: Double?
    var nextDue: SimInstant?
}

public struct SimulatedDevice: Sendable {
    public var name: String
    public var ieee: IEEEAddress
    public var nwk: UInt16
    public var logicalType: LogicalType
    public var manufacturerCode: UInt16
    /// True: the device is not on the network until permit-join opens; false: already paired.
    public var joinsOnPermit: Bool
    /// Seconds after permit-join opens at which the device joins.
    public var joinDelay: Double
    /// Seconds between reports; nil uses the simulator's default.
    public var reportInterval: Double?
    /// Typical link quality to the coordinator (0–255).
    public var linkQuality: UInt8
    public var endpoints: [SimulatedEndpoint]

    public init(name: String, ieee: IEEEAddress, nwk: UInt16, logicalType: LogicalType = .router,
                manufacturerCode: UInt16 = 0x1234, joinsOnPermit: Bool = false, joinDelay: Double = 1,
                reportInterval: Double? = nil, linkQuality: UInt8 = 160, endpoints: [SimulatedEndpoint]) {
        self.name = name
        self.ieee = ieee
        self.nwk = nwk
        self.logicalType = logicalType
        self.manufacturerCode = manufacturerCode
        self.joinsOnPermit = joinsOnPermit
        self.joinDelay = joinDelay
        self.reportInterval = reportInterval
        self.linkQuality = linkQuality
        self.endpoints = endpoints
    }

    func endpointIndex(_ id: UInt8) -> Int? { endpoints.firstIndex { $0.id == id } }

    /// The value of an attribute, for tests and logs.
    public func value(endpoint: UInt8, cluster: UInt16, attribute: UInt16) -> ZCLValue? {
        guard let e = endpointIndex(endpoint), let c = endpoints[e].clusterIndex(cluster),
              let a = endpoints[e].inputClusters[c].index(of: attribute) else { return nil }
        return endpoints[e].inputClusters[c].attributes[a].value
    }
}

/// Where an attribute lives on a device.
struct AttributePath: Hashable, Comparable {
    var endpoint: UInt8
    var cluster: UInt16
    var attribute: UInt16

    static func < (lhs: AttributePath, rhs: AttributePath) -> Bool {
        (lhs.endpoint, lhs.cluster, lhs.attribute) < (rhs.endpoint, rhs.cluster, rhs.attribute)
    }
}

/// What a device does with one ZCL frame: the frame it answers with (if any) and the
/// attributes whose change it reports at once.
struct ZCLOutcome {
    var response: ZCLFrame?
    var changed: [AttributePath] = []
    var log: String
}

/// A device on the network: its model plus the run-time state (sequence numbers, reporting).
struct LiveDevice {
    var model: SimulatedDevice
    var joined: Bool
    var apsCounter: UInt8 = 0
    var zclSequence: UInt8 = 0
    var bindings: [Binding] = []
    var reporting: [AttributePath: ReportingState] = [:]

    init(model: SimulatedDevice) {
        self.model = model
        joined = !model.joinsOnPermit
    }

    mutating func nextAPSCounter() -> UInt8 {
        apsCounter &+= 1
        return apsCounter
    }

    mutating func nextZCLSequence() -> UInt8 {
        zclSequence &+= 1
        return zclSequence
    }

    /// Starts the default reporting: each attribute marked reported, at `interval` seconds,
    /// the first report staggered by `offset` so devices do not all speak at once.
    mutating func startReporting(now: SimInstant, defaultInterval: Double, offset: Double) {
        let interval = model.reportInterval ?? defaultInterval
        reporting.removeAll()
        for endpoint in model.endpoints {
            for cluster in endpoint.inputClusters {
                for attribute in cluster.attributes where attribute.reported {
                    let path = AttributePath(endpoint: endpoint.id, cluster: cluster.id, attribute: attribute.id)
                    reporting[path] = ReportingState(interval: interval, nextDue: now.adding(seconds: min(offset, interval)))
                }
            }
        }
    }

    func attribute(_ path: AttributePath) -> SimulatedAttribute? {
        guard let e = model.endpointIndex(path.endpoint), let c = model.endpoints[e].clusterIndex(path.cluster),
              let a = model.endpoints[e].inputClusters[c].index(of: path.attribute) else { return nil }
        return model.endpoints[e].inputClusters[c].attributes[a]
    }

    mutating func update(_ path: AttributePath, _ change: (inout SimulatedAttribute) -> Void) {
        guard let e = model.endpointIndex(path.endpoint), let c = model.endpoints[e].clusterIndex(path.cluster),
              let a = model.endpoints[e].inputClusters[c].index(of: path.attribute) else { return }
        change(&model.endpoints[e].inputClusters[c].attributes[a])
    }

    /// Moves every drifting reading one step, then keeps power and current at zero while the
    /// endpoint's On/Off is off (a switched-off plug draws nothing).
    mutating func drift(_ path: AttributePath, random: inout SimRandom) {
        update(path) { attribute in
            guard attribute.drift > 0, let current = attribute.value.integer else { return }
            var next = current
            switch attribute.driftMode {
            case .walk:
                next = current + random.next(in: -attribute.drift...attribute.drift)
            case .decay:
                if random.next(in: 0...9) == 0 { next = current - random.next(in: 1...attribute.drift) }
            case .flip:
                if random.next(in: 0...3) == 0 { next = current ^ 1 }
            }
            attribute.value = .integer(min(max(next, attribute.bounds.lowerBound), attribute.bounds.upperBound))
        }
        applyPowerCoupling(endpoint: path.endpoint)
    }

    mutating func applyPowerCoupling(endpoint: UInt8) {
        let onOffPath = AttributePath(endpoint: endpoint, cluster: ZCLCluster.onOff, attribute: 0x0000)
        guard let onOff = attribute(onOffPath)?.value.integer else { return }
        for id: UInt16 in [0x0508, 0x050B] {
            let path = AttributePath(endpoint: endpoint, cluster: ZCLCluster.electricalMeasurement, attribute: id)
            update(path) { attribute in
                if onOff == 0 {
                    attribute.value = .integer(0)
                } else if attribute.value == .integer(0) {
                    attribute.value = attribute.baseValue
                }
            }
        }
    }
}
