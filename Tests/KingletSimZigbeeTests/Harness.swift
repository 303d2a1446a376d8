/// A manual clock and a frame-level view of the simulator, so tests run without sleeping.
@testable import KingletSimZigbee

struct Harness {
    var simulator: ZNPSimulator
    var now = SimInstant(milliseconds: 1_000)
    private var decoder = MTFrameDecoder()
    /// Frames the stick sent that no `expect` has taken yet.
    var inbox: [MTFrame] = []
    var garbageSkipped = 0
    var badChecksums = 0

    init(configuration: ZNPConfiguration = ZNPConfiguration(), devices: [SimulatedDevice] = TestDevices.all) {
        simulator = ZNPSimulator(configuration: configuration, devices: devices, now: now)
    }

    mutating func take(_ bytes: [UInt8]) {
        for event in decoder.feed(bytes) {
            switch event {
            case .frame(let frame): inbox.append(frame)
            case .badChecksum: badChecksums += 1
            case .skipped(let count): garbageSkipped += count
            }
        }
    }

    mutating func sendRaw(_ bytes: [UInt8]) { take(simulator.received(bytes, now: now)) }

    mutating func send(_ type: MTType, _ subsystem: MTSubsystem, _ command: UInt8, _ payload: [UInt8] = []) {
        sendRaw(MTFrame(type: type, subsystem: subsystem, command: command, payload: payload).encoded)
    }

    /// Sends an SREQ and returns its SRSP (or the RPC error), taking it out of the inbox.
    mutating func request(_ subsystem: MTSubsystem, _ command: UInt8, _ payload: [UInt8] = []) -> MTFrame? {
        send(.sreq, subsystem, command, payload)
        guard let index = inbox.firstIndex(where: { $0.type == .srsp }) else { return nil }
        return inbox.remove(at: index)
    }

    /// Moves the clock forward in steps, collecting what the stick sends.
    mutating func advance(milliseconds: UInt64, step: UInt64 = 10) {
        let end = now.adding(milliseconds: milliseconds)
        while now < end {
            now = min(now.adding(milliseconds: step), end)
            take(simulator.tick(now: now))
        }
    }

    /// Takes the first frame in the inbox with this CMD0/CMD1.
    mutating func expect(_ cmd0: UInt8, _ cmd1: UInt8) -> MTFrame? {
        guard let index = inbox.firstIndex(where: { $0.cmd0 == cmd0 && $0.cmd1 == cmd1 }) else { return nil }
        return inbox.remove(at: index)
    }

    mutating func all(_ cmd0: UInt8, _ cmd1: UInt8) -> [MTFrame] {
        let matching = inbox.filter { $0.cmd0 == cmd0 && $0.cmd1 == cmd1 }
        inbox.removeAll { $0.cmd0 == cmd0 && $0.cmd1 == cmd1 }
        return matching
    }

    /// Forms the network and registers endpoint 1 (home automation), as a host does at start.
    mutating func startNetwork() {
        _ = request(.zdo, 0x40, [0x64, 0x00])
        advance(milliseconds: 600)
        inbox.removeAll()
        _ = request(.af, 0x00, [1, 0x04, 0x01, 0x05, 0x00, 0x01, 0x00, 0x00, 0x00])
    }

    /// An AF_DATA_REQUEST carrying `zcl` to `nwk` endpoint 1 from endpoint 1; returns the SRSP status.
    @discardableResult
    mutating func zcl(to nwk: UInt16, cluster: UInt16, tsn: UInt8 = 1, _ zcl: [UInt8]) -> UInt8? {
        let payload = le16(nwk) + [1, 1] + le16(cluster) + [tsn, 0x00, 30, UInt8(zcl.count)] + zcl
        return request(.af, 0x01, payload)?.payload.first
    }

    /// AF_INCOMING_MSG frames decoded to (cluster, source, destination endpoint, ZCL frame).
    mutating func incoming() -> [(cluster: UInt16, source: UInt16, endpoint: UInt8, frame: ZCLFrame)] {
        all(0x44, 0x81).compactMap { message in
            var reader = ByteReader(message.payload)
            guard reader.u16() != nil, let cluster = reader.u16(), let source = reader.u16(), reader.u8() != nil,
                  let endpoint = reader.u8(), reader.take(3) != nil, reader.u32() != nil, reader.u8() != nil,
                  let data = reader.shortBytes(), reader.u16() != nil, reader.u8() != nil, reader.isAtEnd,
                  let frame = ZCLFrame(parsing: data) else { return nil }
            return (cluster, source, endpoint, frame)
        }
    }
}

enum TestDevices {
    static let plugIEEE = IEEEAddress(0x0012_4B00_0000_0001)
    static let sensorIEEE = IEEEAddress(0x0012_4B00_0000_0002)
    static let joinerIEEE = IEEEAddress(0x0012_4B00_0000_0003)

    static var plug: SimulatedDevice {
        SimulatedDevice(
            name: "plug", ieee: plugIEEE, nwk: 0x1A2B, reportInterval: 5,
            endpoints: [SimulatedEndpoint(id: 1, deviceID: 0x0051, inputClusters: [
                SimulatedCluster(id: ZCLCluster.onOff, attributes: [
                    SimulatedAttribute(id: 0x0000, type: .bool, value: .integer(1), reported: true),
                ]),
                SimulatedCluster(id: ZCLCluster.levelControl, attributes: [
                    SimulatedAttribute(id: 0x0000, type: .uint8, value: .integer(128), reported: true),
                    SimulatedAttribute(id: 0x0011, type: .uint8, value: .integer(254), writable: true),
                ]),
                SimulatedCluster(id: ZCLCluster.electricalMeasurement, attributes: [
                    SimulatedAttribute(id: 0x050B, type: .int16, value: .integer(118), reported: true, drift: 5),
                ]),
            ])])
    }

    static var sensor: SimulatedDevice {
        SimulatedDevice(
            name: "sensor", ieee: sensorIEEE, nwk: 0x2B3C, logicalType: .endDevice, reportInterval: 2,
            endpoints: [SimulatedEndpoint(id: 1, deviceID: 0x0302, inputClusters: [
                SimulatedCluster(id: ZCLCluster.temperatureMeasurement, attributes: [
                    SimulatedAttribute(id: 0x0000, type: .int16, value: .integer(2150), reported: true, drift: 15),
                ]),
            ])])
    }

    static var joiner: SimulatedDevice {
        SimulatedDevice(
            name: "joiner", ieee: joinerIEEE, nwk: 0x3C4D, joinsOnPermit: true, joinDelay: 0.5, reportInterval: 5,
            endpoints: [SimulatedEndpoint(id: 1, deviceID: 0x0100, inputClusters: [
                SimulatedCluster(id: ZCLCluster.onOff, attributes: [
                    SimulatedAttribute(id: 0x0000, type: .bool, value: .integer(0), reported: true),
                ]),
            ])])
    }

    static var all: [SimulatedDevice] { [plug, sensor, joiner] }
}
