/// Fault injection on the Controller-to-Host byte stream, to test a host's resilience:
/// garbage between packets, truncated events, and a controller that goes silent.

public struct FaultPlan: Sendable, Equatable {
    /// After every N-th packet sent, 1 to 8 garbage octets.
    public var garbageEvery: Int?
    /// Every N-th event is cut short; the next packet's octets follow at once.
    public var truncateEvery: Int?
    /// After N packets, nothing more is sent (the controller hangs) until it is unplugged.
    public var silenceAfter: Int?

    public init(garbageEvery: Int? = nil, truncateEvery: Int? = nil, silenceAfter: Int? = nil) {
        self.garbageEvery = garbageEvery
        self.truncateEvery = truncateEvery
        self.silenceAfter = silenceAfter
    }

    public var isEmpty: Bool { garbageEvery == nil && truncateEvery == nil && silenceAfter == nil }
}

public struct FaultCounters: Sendable, Equatable {
    public var packetsSent = 0
    public var eventsSent = 0
    public var garbageInsertions = 0
    public var garbageOctets = 0
    public var eventsTruncated = 0
    public var packetsSilenced = 0
}

struct FaultInjector: Sendable {
    let plan: FaultPlan
    private(set) var counters = FaultCounters()
    private var rng: SimRandom

    init(plan: FaultPlan, seed: UInt64) {
        self.plan = plan
        rng = SimRandom(seed: seed ^ 0x6661_756C_7473)
    }

    /// The octets that reach the UART for these packets, faults applied; each fault is logged.
    mutating func render(_ packets: [H4Packet], log: BLESimLog) -> [UInt8] {
        var out: [UInt8] = []
        for packet in packets {
            if let limit = plan.silenceAfter, counters.packetsSent >= limit {
                if counters.packetsSilenced == 0 {
                    log.info("fault: silent after \(limit) packets; nothing more is sent until unplugged")
                }
                counters.packetsSilenced += 1
                continue
            }
            var bytes = packet.encoded
            counters.packetsSent += 1
            if case .event = packet {
                counters.eventsSent += 1
                if let n = plan.truncateEvery, n > 0, counters.eventsSent % n == 0 {
                    let keep = max(1, bytes.count / 2)
                    log.info("fault: event #\(counters.eventsSent) truncated to \(keep) of \(bytes.count) octets: \(hexDump(bytes.prefix(keep)))")
                    bytes = Array(bytes.prefix(keep))
                    counters.eventsTruncated += 1
                }
            }
            out += bytes
            if let n = plan.garbageEvery, n > 0, counters.packetsSent % n == 0 {
                let garbage = (0..<(1 + Int(rng.next() % 8))).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
                log.info("fault: \(garbage.count) garbage octets after packet #\(counters.packetsSent): \(hexDump(garbage))")
                out += garbage
                counters.garbageInsertions += 1
                counters.garbageOctets += garbage.count
            }
        }
        return out
    }
}

/// Where the controller's messages go. `info` lines are always written (faults, connections,
/// refusals); `debug` lines only with --verbose (every packet).
public struct BLESimLog: Sendable {
    public let verbose: Bool
    private let sink: @Sendable (String) -> Void

    public init(verbose: Bool, sink: @escaping @Sendable (String) -> Void) {
        self.verbose = verbose
        self.sink = sink
    }

    public static let silent = BLESimLog(verbose: false, sink: { _ in })

    public func info(_ message: String) { sink(message) }

    public func debug(_ message: @autoclosure () -> String) {
        if verbose { sink(message()) }
    }
}
