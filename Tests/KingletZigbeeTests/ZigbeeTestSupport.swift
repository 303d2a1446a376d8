import KingletCore
@testable import KingletZigbee

/// "FE 00 21 01 20" → bytes.
func zigbeeHex(_ text: String) -> [UInt8] {
    text.split(separator: " ").map { UInt8($0, radix: 16)! }
}

/// Bytes → "FE 00 21 01 20".
func zigbeeHexString<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
    bytes.map { byte in
        let digits = String(byte, radix: 16, uppercase: true)
        return digits.count == 1 ? "0" + digits : digits
    }.joined(separator: " ")
}

/// The frames in a byte stream, each as its hex text (noise such as the bootloader byte
/// is skipped by the reader).
func zigbeeFrames(_ bytes: [UInt8]) -> [String] {
    var reader = ZNPFrameReader()
    reader.append(bytes)
    var frame = ZNPFrame(cmd0: 0, cmd1: 0)
    var result: [String] = []
    while reader.nextFrame(into: &frame) {
        result.append(zigbeeHexString(try! frame.encoded()))
    }
    return result
}

/// The configuration the reference vectors were generated for (tools/zigpy_vectors.py).
func testNetwork() -> ZigbeeNetworkConfig {
    try! ZigbeeNetworkConfig(panID: 0x1A62, extendedPANID: 0x0123_4567_89AB_CDEF, channel: 15,
                             networkKey: [1, 3, 5, 7, 9, 11, 13, 15, 0, 2, 4, 6, 8, 10, 12, 13])
}

let testStickIEEE = ZigbeeIEEEAddress(0x0012_4B00_AABB_CCDD)
let testDeviceIEEE = ZigbeeIEEEAddress(0x0012_4B00_0102_0304)

/// A clock the test moves by hand.
struct ZigbeeManualClock {
    var now = Instant(nanoseconds: 1_000_000_000)
    mutating func advance(_ duration: Duration) { now = now.advanced(by: duration) }
}

/// A Z-Stack 3.x stick in memory: NV items, reset and start-up options, network
/// formation and resume, AF and ZDO answers. Enough Z-Stack to run the coordinator's
/// start-up and requests end to end without a radio.
final class FakeZStack {
    static let stackDefaults: [UInt16: [UInt8]] = [
        ZNPNVItem.startupOption: [0x00],
        ZNPNVItem.extendedPANID: [0, 0, 0, 0, 0, 0, 0, 0],
        ZNPNVItem.apsUseExtendedPANID: [0, 0, 0, 0, 0, 0, 0, 0],
        ZNPNVItem.precfgKey: Array(repeating: 0, count: 16),
        ZNPNVItem.precfgKeysEnable: [0x01],
        ZNPNVItem.panID: [0xFF, 0xFF],
        ZNPNVItem.channelList: [0x00, 0x08, 0x00, 0x00],
        ZNPNVItem.logicalType: [0x00],
        ZNPNVItem.zdoDirectCallback: [0x00],
    ]

    var nv = FakeZStack.stackDefaults
    /// Network state in NV (survives resets unless cleared).
    var formed = false
    var networkRunning = false
    var primaryChannels: UInt32 = 0
    var registered: Set<UInt8> = []
    /// Every frame the host sent, in order.
    var requests: [ZNPFrame] = []

    var capabilities: UInt16 = 0x0D59
    var answersResets = true
    var answersRequests = true
    var formationSucceeds = true
    var keyReadable = true
    var confirmStatus: UInt8 = 0x00
    var sendsConfirms = true
    var activeEndpoints: [UInt8] = [1]

    private var reader = ZNPFrameReader()

    /// Takes the host's bytes, returns the stick's answers.
    func process(_ bytes: [UInt8]) -> [UInt8] {
        reader.append(bytes)
        var frame = ZNPFrame(cmd0: 0, cmd1: 0)
        var out: [UInt8] = []
        while reader.nextFrame(into: &frame) {
            requests.append(frame)
            for answer in answer(frame) { try! answer.encode(appendingTo: &out) }
        }
        return out
    }

    func requestNames() -> [String] { requests.map { $0.command.description } }

    private func srsp(_ request: ZNPFrame, _ data: [UInt8]) -> ZNPFrame {
        ZNPFrame(request.command.response, data: data)
    }

    private func areq(_ command: ZNPCommandID, _ data: [UInt8]) -> ZNPFrame { ZNPFrame(command, data: data) }

    private func answer(_ f: ZNPFrame) -> [ZNPFrame] {
        let d = f.data
        func u16(_ i: Int) -> UInt16 { UInt16(d[i]) | UInt16(d[i + 1]) << 8 }
        switch f.command {
        case .sysResetRequest:
            guard answersResets else { return [] }
            let option = nv[ZNPNVItem.startupOption]?.first ?? 0
            if option & 0x01 != 0 {
                for (id, value) in FakeZStack.stackDefaults { nv[id] = value }
            }
            if option & 0x02 != 0 { formed = false }
            networkRunning = false
            registered = []
            return [areq(.sysResetIndication, [0x01, 0x02, 0x01, 0x02, 0x07, 0x01])]
        default:
            break
        }
        guard answersRequests else { return [] }
        switch f.command {
        case .sysPing:
            return [srsp(f, [UInt8(capabilities & 0xFF), UInt8(capabilities >> 8)])]
        case .sysVersion:
            return [srsp(f, [0x02, 0x01, 0x02, 0x07, 0x01])]
        case .utilGetDeviceInfo:
            var data: [UInt8] = [0x00]
            var ieee = testStickIEEE.rawValue
            for _ in 0..<8 { data.append(UInt8(ieee & 0xFF)); ieee >>= 8 }
            data += [0x00, 0x00, 0x03, networkRunning ? 0x09 : 0x00, 0x00]
            return [srsp(f, data)]
        case .sysNVRead:
            let id = u16(0)
            guard let value = nv[id], id != ZNPNVItem.precfgKey || keyReadable else {
                return [srsp(f, [id == ZNPNVItem.precfgKey ? 0x02 : 0x09, 0x00])]
            }
            return [srsp(f, [0x00, UInt8(value.count)] + value)]
        case .sysNVWrite:
            let id = u16(0)
            guard nv[id] != nil else { return [srsp(f, [0x09])] }
            nv[id] = Array(d[4...])
            return [srsp(f, [0x00])]
        case .sysNVItemInit:
            let id = u16(0)
            if nv[id] != nil { return [srsp(f, [0x00])] }
            nv[id] = Array(d[5...])
            return [srsp(f, [0x09])]
        case .appConfigBDBSetChannel:
            if d[0] == 1 { primaryChannels = UInt32(d[1]) | UInt32(d[2]) << 8 | UInt32(d[3]) << 16 | UInt32(d[4]) << 24 }
            return [srsp(f, [0x00])]
        case .appConfigBDBStartCommissioning:
            guard formationSucceeds else {
                return [srsp(f, [0x00]), areq(.appConfigBDBCommissioningNotification, [0x01, 0x04, 0x04])]
            }
            formed = true
            networkRunning = true
            return [srsp(f, [0x00]),
                    areq(.appConfigBDBCommissioningNotification, [0x01, 0x04, 0x04]),
                    areq(.zdoStateChangeIndication, [0x08]),
                    areq(.zdoStateChangeIndication, [0x09]),
                    areq(.appConfigBDBCommissioningNotification, [0x00, 0x04, 0x00])]
        case .zdoStartupFromApp:
            guard formed else { return [srsp(f, [0x02])] }
            networkRunning = true
            return [srsp(f, [0x00]), areq(.zdoStateChangeIndication, [0x08]), areq(.zdoStateChangeIndication, [0x09])]
        case .afRegister:
            let fresh = registered.insert(d[0]).inserted
            return [srsp(f, [fresh ? 0x00 : 0xB8])]
        case .afDataRequest:
            let transactionID = d[6]
            guard sendsConfirms else { return [srsp(f, [0x00])] }
            return [srsp(f, [0x00]), areq(.afDataConfirm, [confirmStatus, d[3], transactionID])]
        case .zdoMgmtPermitJoinRequest:
            return [srsp(f, [0x00]), areq(.zdoMgmtPermitJoinResponse, [0x00, 0x00, 0x00])]
        case .zdoBindRequest:
            return [srsp(f, [0x00]), areq(.zdoBindResponse, [d[0], d[1], 0x00])]
        case .zdoActiveEndpointsRequest:
            return [srsp(f, [0x00]),
                    areq(.zdoActiveEndpointsResponse, [d[0], d[1], 0x00, d[2], d[3], UInt8(activeEndpoints.count)] + activeEndpoints)]
        default:
            // What a real stick says to an SREQ it does not know: RPC error 2.
            return [ZNPFrame(.rpcError, data: [0x02, f.cmd0, f.cmd1])]
        }
    }
}

/// Passes bytes between the coordinator and the fake stick until neither has more.
func zigbeeExchange(_ coordinator: ZNPCoordinator, _ stick: FakeZStack, at now: Instant) {
    for _ in 0..<1000 {
        let out = coordinator.takeOutgoing()
        if out.isEmpty { return }
        let answers = stick.process(out)
        if !answers.isEmpty { coordinator.received(answers, now: now) }
    }
}

/// All events waiting, drained.
func zigbeeEvents(_ coordinator: ZNPCoordinator) -> [ZigbeeEvent] {
    var events: [ZigbeeEvent] = []
    while let event = coordinator.nextEvent() { events.append(event) }
    return events
}

/// A coordinator that has formed the test network on a fake stick and is ready, with the
/// test device announced (and its endpoints discovered); events drained.
func readyCoordinator(settings: ZNPCoordinatorSettings = ZNPCoordinatorSettings())
    -> (ZNPCoordinator, FakeZStack, ZigbeeManualClock) {
    let clock = ZigbeeManualClock()
    let stick = FakeZStack()
    let coordinator = ZNPCoordinator(network: testNetwork(), settings: settings)
    coordinator.start(now: clock.now)
    zigbeeExchange(coordinator, stick, at: clock.now)
    coordinator.received(zigbeeHex(ZNPReferenceVectors.announce), now: clock.now)
    zigbeeExchange(coordinator, stick, at: clock.now)
    _ = zigbeeEvents(coordinator)
    stick.requests.removeAll()
    return (coordinator, stick, clock)
}
