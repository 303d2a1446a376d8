import Glibc
import KingletCore
import KingletDevices
import KingletDocument
import KingletPod
import Testing
@testable import KingletBLE

// The controller link with a device whose property is a notifying GATT characteristic,
// against a scripted controller: the test's end of a socket carries H4 both ways, bring-up
// commands are answered by rote, and every connection event and ATT PDU of the peripheral is
// written out here. The clock is the test's.

/// An event loop whose clock moves only when the test says.
final class TestLoop: EventLoop {
    private(set) var now: Instant
    private var watches: [Int32: (IOReadiness) -> Void] = [:]
    private var timers = TimerQueue()
    private var due: [TimerHandle] = []

    init(now: Instant) { self.now = now }

    func watch(_ fd: Int32, interest: IOInterest, handler: @escaping (IOReadiness) -> Void) throws(LoopError) {
        watches[fd] = handler
    }

    func changeInterest(of fd: Int32, to interest: IOInterest) throws(LoopError) {}
    func unwatch(_ fd: Int32) { watches[fd] = nil }

    @discardableResult
    func schedule(at deadline: Instant, _ callback: @escaping () -> Void) -> TimerHandle {
        timers.schedule(at: deadline, callback)
    }

    func cancel(_ timer: TimerHandle) { timers.cancel(timer) }
    func handle(_ signals: [ProcessSignal], handler: @escaping (ProcessSignal) -> Void) throws(LoopError) {}
    func stop() {}

    /// Moves the clock to `instant`, firing the timers due on the way, in order.
    func advance(to instant: Instant, between: () -> Void = {}) {
        for _ in 0..<10_000 {
            guard let next = timers.nextDeadline(), next <= instant else { break }
            if next > now { now = next }
            timers.collectDue(at: now, into: &due)
            for timer in due { timers.takeCallback(timer)?.run() }
            between()
        }
        if instant > now { now = instant }
    }

    func ready(_ fd: Int32, _ readiness: IOReadiness = .readable) { watches[fd]?(readiness) }
}

/// The controller's side of the H4 line.
final class ScriptedController {
    let fd: Int32
    /// Every command the host sent, in order.
    private(set) var commands: [(opcode: HCIOpcode, parameters: [UInt8])] = []
    /// Every ATT PDU the host sent, with its connection handle.
    private(set) var att: [(handle: UInt16, pdu: [UInt8])] = []
    private var input: [UInt8] = []
    private var fragments: [UInt16: [UInt8]] = [:]
    var sent = false
    /// Status of the Command Status to LE Create Connection.
    var createConnectionStatus: UInt8 = 0x00
    private var pendingPeer: BLEAddress?

    init(fd: Int32) { self.fd = fd }

    func send(_ bytes: [UInt8]) {
        let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        precondition(written == bytes.count, "the socket took \(written) of \(bytes.count) bytes")
        sent = true
    }

    /// Reads what the host sent, answers bring-up commands; true when something came.
    @discardableResult
    func readHost() -> Bool {
        var buffer = [UInt8](repeating: 0, count: 4096)
        var got = false
        for _ in 0..<64 {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            guard count > 0 else { break }
            input += buffer[0..<count]
            got = true
        }
        parse()
        return got
    }

    private func parse() {
        for _ in 0..<1000 {
            guard let indicator = input.first else { return }
            if indicator == 0x01 {
                guard input.count >= 4, input.count >= 4 + Int(input[3]) else { return }
                let opcode = HCIOpcode(rawValue: UInt16(input[1]) | UInt16(input[2]) << 8)
                let parameters = Array(input[4..<(4 + Int(input[3]))])
                input.removeFirst(4 + Int(input[3]))
                commands.append((opcode, parameters))
                answer(opcode, parameters)
            } else if indicator == 0x02 {
                guard input.count >= 5 else { return }
                let length = Int(input[3]) | Int(input[4]) << 8
                guard input.count >= 5 + length else { return }
                let handle = (UInt16(input[1]) | UInt16(input[2]) << 8) & 0x0FFF
                let continuing = input[2] & 0x30 == 0x10
                let data = Array(input[5..<(5 + length)])
                input.removeFirst(5 + length)
                var pdu = continuing ? (fragments[handle] ?? []) + data : data
                // The controller's buffer is free again at once (Number Of Completed Packets).
                send([0x04, 0x13, 0x05, 0x01, UInt8(handle & 0xFF), UInt8(handle >> 8), 0x01, 0x00])
                guard pdu.count >= 4 else {
                    fragments[handle] = pdu
                    continue
                }
                let l2capLength = Int(pdu[0]) | Int(pdu[1]) << 8
                guard pdu.count >= 4 + l2capLength else {
                    fragments[handle] = pdu
                    continue
                }
                fragments[handle] = nil
                if pdu[2] == 0x04 && pdu[3] == 0x00 {
                    pdu = Array(pdu[4..<(4 + l2capLength)])
                    att.append((handle, pdu))
                }
            } else {
                Issue.record("the host sent H4 indicator \(indicator)")
                input.removeAll()
                return
            }
        }
    }

    private func answer(_ opcode: HCIOpcode, _ parameters: [UInt8]) {
        switch opcode {
        case .readBDAddr: send(commandComplete(opcode, hex("00 665544332211")))
        case .readLocalVersion: send(commandComplete(opcode, hex("00 0C 0000 0C 0F00 0000")))
        case .leReadBufferSize: send(commandComplete(opcode, hex("00 1B00 08")))
        case .leReadFilterAcceptListSize: send(commandComplete(opcode, hex("00 08")))
        case .leCreateConnection:
            pendingPeer = BLEAddress(hciBytes: parameters[6..<12])
            send(commandStatus(opcode, createConnectionStatus))
            if createConnectionStatus != 0 { pendingPeer = nil }
        case .leCreateConnectionCancel:
            send(commandComplete(opcode))
            if let peer = pendingPeer { send(connectionComplete(status: 0x02, handle: 0, peer: peer)) }
            pendingPeer = nil
        case .disconnect:
            send(commandStatus(opcode, 0x00))
            send([0x04, 0x05, 0x04, 0x00, parameters[0], parameters[1], 0x16])
        default: send(commandComplete(opcode))
        }
    }

    /// The peer is connected: LE Connection Complete.
    func connect(handle: UInt16) {
        guard let peer = pendingPeer else {
            Issue.record("no LE Create Connection is pending")
            return
        }
        pendingPeer = nil
        send(connectionComplete(status: 0x00, handle: handle, peer: peer))
    }

    func failConnection(status: UInt8) {
        guard let peer = pendingPeer else { return }
        pendingPeer = nil
        send(connectionComplete(status: status, handle: 0, peer: peer))
    }

    /// An ATT PDU from the peripheral, on CID 4.
    func sendATT(_ pdu: [UInt8], handle: UInt16 = 0x0040) {
        let l2cap = [UInt8(pdu.count & 0xFF), UInt8(pdu.count >> 8), 0x04, 0x00] + pdu
        send([0x02, UInt8(handle & 0xFF), UInt8(handle >> 8) | 0x20, UInt8(l2cap.count & 0xFF), UInt8(l2cap.count >> 8)] + l2cap)
    }

    /// The peripheral went away (Disconnection Complete, connection timeout 0x08).
    func disconnect(handle: UInt16 = 0x0040, reason: UInt8 = 0x08) {
        send([0x04, 0x05, 0x04, 0x00, UInt8(handle & 0xFF), UInt8(handle >> 8), reason])
    }

    func commandStatus(_ opcode: HCIOpcode, _ status: UInt8) -> [UInt8] {
        [0x04, 0x0F, 0x04, status, 0x01, UInt8(opcode.rawValue & 0xFF), UInt8(opcode.rawValue >> 8)]
    }

    func connectionComplete(status: UInt8, handle: UInt16, peer: BLEAddress) -> [UInt8] {
        [0x04, 0x3E, 0x13, 0x01, status, UInt8(handle & 0xFF), UInt8(handle >> 8), 0x00, 0x00] + peer.hciBytes
            + [0x28, 0x00, 0x00, 0x00, 0xF4, 0x01, 0x00]
    }

    /// Commands (with parameters) sent since `mark`.
    func commands(since mark: Int, _ opcode: HCIOpcode) -> [[UInt8]] {
        commands[mark...].filter { $0.opcode == opcode }.map(\.parameters)
    }

    var commandCount: Int { commands.count }
    var attCount: Int { att.count }
    func att(since mark: Int) -> [[UInt8]] { att[mark...].map(\.pdu) }
}

/// What a driver told its manager.
final class DriverRecorder {
    let events = DeviceDriverEvents()
    var reported: [(property: Int, value: DeviceValue)] = []
    var written: [(property: Int, failure: String?)] = []
    var state: (DeviceState, String) = (.unknown, "")
    var logs: [String] = []

    init() {
        events.reported = { [unowned self] property, value in self.reported.append((property, value)) }
        events.written = { [unowned self] property, failure in self.written.append((property, failure)) }
        events.stateChanged = { [unowned self] state, reason in self.state = (state, reason) }
        events.log = { [unowned self] message in self.logs.append(message) }
    }

    func values(_ property: Int) -> [DeviceValue] { reported.filter { $0.property == property }.map(\.value) }
}

/// The relay of boards/sim: `power` a writable switch characteristic, `temperature` the
/// Temperature characteristic (0x2A6E, sint16 in 0.01 °C) it notifies.
func relaySpec(temperatureVisitor: String = #"{characteristic: "2A6E", format: int16le, scale: 0.01, notify: true}"#,
               temperatureType: String = "FLOAT", temperatureAccess: String = "ReadOnly",
               extraModel: [String] = [], extraDevice: [(name: String, visitor: String)] = []) throws -> DeviceSpec {
    let model = """
        apiVersion: devices.kubeedge.io/v1beta1
        kind: DeviceModel
        metadata: {name: ble-switch}
        spec:
          protocol: ble
          properties:
            - {name: power, type: BOOLEAN, accessMode: ReadWrite}
            - {name: temperature, type: \(temperatureType), accessMode: \(temperatureAccess), unit: Cel}

        """ + extraModel.map { "    - " + $0 + "\n" }.joined()
    let device = """
        apiVersion: devices.kubeedge.io/v1beta1
        kind: Device
        metadata: {name: garden-relay}
        spec:
          deviceModelRef: {name: ble-switch}
          protocol: {protocolName: ble, configData: {macAddress: "24:0A:C4:00:00:06", addressType: public}}
          properties:
            - name: power
              visitors: {protocolName: ble, configData: {characteristic: "a1b2c3d4-0002-4b4c-8e1f-6b696e676c65", format: uint8}}
            - name: temperature
              visitors: {protocolName: ble, configData: \(temperatureVisitor)}

        """ + extraDevice.map { "    - name: " + $0.name + "\n      visitors: {protocolName: ble, configData: " + $0.visitor + "}\n" }.joined()
    let reader = YAMLReader()
    return try DeviceDecoder.decode(device: FieldReader(try reader.parseDocument(device, file: "device.yaml"), file: "device.yaml"),
                                    model: FieldReader(try reader.parseDocument(model, file: "model.yaml"), file: "model.yaml"),
                                    uid: "device-relay", specHash: 1, sourceJSON: [])
}

/// A link brought up against the scripted controller, and the relay's driver on it.
final class NotifyBench {
    let loop = TestLoop(now: at(0))
    let controller: ScriptedController
    let hostFD: Int32
    let link: BLEControllerLink
    let recorder = DriverRecorder()
    private(set) var driver: BLEDeviceDriver!
    var linkLog: [String] = []

    init(spec: DeviceSpec? = nil) throws {
        var fds: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0 else { throw LoopError(call: "socketpair", errno: errno, reason: "") }
        for fd in fds { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
        hostFD = fds[0]
        controller = ScriptedController(fd: fds[1])
        let host = fds[0]
        link = try BLEControllerLink(loop: loop, settings: BLEBoardSettings(serialPort: "scripted-h4"), open: { host })
        link.log = { [unowned self] in self.linkLog.append($0) }
        link.start()
        settle()
        driver = try BLEDeviceDriver(link: link, spec: try spec ?? relaySpec(), events: recorder.events)
        driver.start()
        settle()
    }

    /// Lets bytes go back and forth until both sides are quiet.
    func settle() {
        for _ in 0..<200 {
            let heard = controller.readHost()
            if controller.sent {
                controller.sent = false
                loop.ready(hostFD)
                continue
            }
            if !heard { return }
        }
        Issue.record("the line never went quiet")
    }

    /// Moves the clock on, letting the line settle after each timer.
    func advance(to instant: Instant) {
        loop.advance(to: instant) { self.settle() }
        settle()
    }

    /// The peripheral's ATT answer to the host's last request, and what follows.
    func peripheral(_ pdu: [UInt8], handle: UInt16 = 0x0040) {
        controller.sendATT(pdu, handle: handle)
        settle()
    }

    /// The standard setup on connection 0x0040: Temperature value at 0x000B (23.00 °C),
    /// its CCCD at 0x000C, the next declaration at 0x000D. Returns the ATT PDUs the host sent.
    @discardableResult
    func subscribe(handle: UInt16 = 0x0040) -> [[UInt8]] {
        let mark = controller.attCount
        controller.connect(handle: handle)
        settle()
        peripheral([0x09, 0x04, 0x0B, 0x00, 0xFC, 0x08], handle: handle)   // Read By Type: 0x000B = 2300
        peripheral([0x05, 0x01, 0x0C, 0x00, 0x02, 0x29, 0x0D, 0x00, 0x03, 0x28], handle: handle)  // 0x2902, then 0x2803
        peripheral([0x13], handle: handle)  // Write Response
        return controller.att(since: mark)
    }

    func close() {
        driver.stop()
        link.stop()
        Glibc.close(controller.fd)
    }
}

@Suite(.serialized) struct GATTNotificationTests {
    @Test func theSetupConnectsFindsTheValueAndItsConfigurationAndEnablesNotifications() throws {
        let bench = try NotifyBench()
        defer { bench.close() }
        // LE Create Connection to the device's address, with its address type.
        let creates = bench.controller.commands(since: 0, .leCreateConnection)
        #expect(creates.count == 1)
        #expect(creates.first.map { Array($0[5..<12]) } == [0x00] + BLEAddress("24:0A:C4:00:00:06")!.hciBytes)

        let sent = bench.subscribe()
        #expect(sent == [
            hex("08 0100 FFFF 6E2A"),  // Read By Type 0x2A6E over the whole table
            hex("04 0C00 FFFF"),       // Find Information after the value handle
            hex("12 0C00 0100"),       // notifications on
        ])
        // The value read while subscribing is the first reading (0.01 °C).
        #expect(bench.recorder.values(1) == [.double(23.0)])
        #expect(bench.recorder.state.0 == .online)
        #expect(bench.link.heldConnections.first?.isSubscribed == true)
        #expect(bench.link.heldConnections.first?.subscriptions.first?.configurationHandle == 0x000C)
        #expect(bench.recorder.logs.contains { $0.contains("holding a GATT connection for notifications of 2A6E (handle 11)") })

        // Every notification of the value handle is a reading, counted as advertisements are.
        let reads = bench.driver.counters.reads
        bench.peripheral([0x1B, 0x0B, 0x00, 0x0A, 0x09])  // 2314
        bench.peripheral([0x1B, 0x0B, 0x00, 0xF6, 0xFF])  // -10
        #expect(bench.recorder.values(1) == [.double(23.0), .double(23.14), .double(-0.1)])
        #expect(bench.driver.counters.reads == reads + 2)
        // The connection stays: no Disconnect.
        #expect(bench.controller.commands(since: 0, .disconnect).isEmpty)
    }

    @Test func eachCharacteristicIsSubscribedOnceAndFeedsEveryPropertyNamingIt() throws {
        let spec = try relaySpec(
            extraModel: ["{name: raw, type: INT, accessMode: ReadOnly}", #"{name: battery, type: INT, accessMode: ReadOnly, unit: "%"}"#],
            extraDevice: [("raw", #"{characteristic: "2a6e", format: int16le, notify: true}"#),
                          ("battery", #"{characteristic: "2A19", notify: true}"#)])
        let bench = try NotifyBench(spec: spec)
        defer { bench.close() }
        let mark = bench.controller.attCount
        bench.controller.connect(handle: 0x0040)
        bench.settle()
        bench.peripheral([0x09, 0x04, 0x0B, 0x00, 0xFC, 0x08])
        bench.peripheral([0x05, 0x01, 0x0C, 0x00, 0x02, 0x29])
        bench.peripheral([0x13])
        bench.peripheral([0x09, 0x03, 0x12, 0x00, 0x5A])      // Battery Level 0x0012 = 90
        bench.peripheral([0x05, 0x01, 0x13, 0x00, 0x02, 0x29])
        bench.peripheral([0x13])
        #expect(bench.controller.att(since: mark) == [hex("08 0100 FFFF 6E2A"), hex("04 0C00 FFFF"), hex("12 0C00 0100"),
                                                      hex("08 0100 FFFF 192A"), hex("04 1300 FFFF"), hex("12 1300 0100")])
        #expect(bench.link.heldConnections.first?.subscriptions.map(\.properties) == [[1, 2], [3]])
        bench.peripheral([0x1B, 0x0B, 0x00, 0x0A, 0x09])
        bench.peripheral([0x1B, 0x12, 0x00, 0x59])
        #expect(bench.recorder.values(1) == [.double(23.0), .double(23.14)])
        #expect(bench.recorder.values(2) == [.integer(2300), .integer(2314)])
        #expect(bench.recorder.values(3) == [.integer(90), .integer(89)])
    }

    @Test func descriptorsAreSearchedUntilTheConfigurationOrTheNextDeclaration() throws {
        let bench = try NotifyBench()
        defer { bench.close() }
        bench.controller.connect(handle: 0x0040)
        bench.settle()
        let mark = bench.controller.attCount
        bench.peripheral([0x09, 0x04, 0x0B, 0x00, 0xFC, 0x08])
        // A 128-bit descriptor first (its own response), then User Description and the CCCD.
        bench.peripheral([0x05, 0x02, 0x0C, 0x00] + BLEUUID("a1b2c3d4-0009-4b4c-8e1f-6b696e676c65")!.attBytes)
        bench.peripheral([0x05, 0x01, 0x0D, 0x00, 0x01, 0x29, 0x0E, 0x00, 0x02, 0x29])
        bench.peripheral([0x13])
        #expect(bench.controller.att(since: mark) == [hex("04 0C00 FFFF"), hex("04 0D00 FFFF"), hex("12 0E00 0100")])
        #expect(bench.link.heldConnections.first?.isSubscribed == true)
    }

    @Test func aCharacteristicWithoutConfigurationDescriptorFailsTheSetupAndIsTriedAgain() throws {
        let bench = try NotifyBench()
        defer { bench.close() }
        bench.controller.connect(handle: 0x0040)
        bench.settle()
        bench.peripheral([0x09, 0x04, 0x0B, 0x00, 0xFC, 0x08])
        bench.peripheral([0x05, 0x01, 0x0C, 0x00, 0x03, 0x28])  // the next characteristic already
        #expect(bench.recorder.logs.contains {
            $0.contains("characteristic 2A6E has no Client Characteristic Configuration descriptor")
        }, "\(bench.recorder.logs)")
        #expect(bench.controller.commands(since: 0, .disconnect).count == 1)
        let mark = bench.controller.commandCount
        bench.advance(to: at(900))
        #expect(bench.controller.commands(since: mark, .leCreateConnection).isEmpty)
        bench.advance(to: at(1_000))
        #expect(bench.controller.commands(since: mark, .leCreateConnection).count == 1)
    }

    @Test func aNotifyOnlyValueIsFoundThroughTheReadNotPermittedError() throws {
        let bench = try NotifyBench()
        defer { bench.close() }
        bench.controller.connect(handle: 0x0040)
        bench.settle()
        let mark = bench.controller.attCount
        bench.peripheral([0x01, 0x08, 0x0B, 0x00, 0x02])  // Read Not Permitted at 0x000B
        bench.peripheral([0x05, 0x01, 0x0C, 0x00, 0x02, 0x29])
        bench.peripheral([0x13])
        #expect(bench.controller.att(since: mark) == [hex("04 0C00 FFFF"), hex("12 0C00 0100")])
        bench.peripheral([0x1B, 0x0B, 0x00, 0x0A, 0x09])
        #expect(bench.recorder.values(1) == [.double(23.14)])
    }

    @Test func aDeviceThatOnlyNotifiesStaysOnlineWhileItsConnectionIsHeld() throws {
        let bench = try NotifyBench()
        defer { bench.close() }
        bench.subscribe()
        // No advertisement at all for two minutes (a connected peripheral stops advertising);
        // the manager's collects find the device there.
        for second in 1...120 {
            bench.advance(to: at(Int64(second) * 1_000))
            if second % 10 == 0 { bench.peripheral([0x1B, 0x0B, 0x00, 0x0A, 0x09]) }
            bench.driver.collect(property: 1)
        }
        #expect(bench.recorder.state.0 == .online)

        // Lost: the silence counts from the loss; nothing answers the reconnections.
        bench.controller.disconnect()
        bench.settle()
        bench.advance(to: at(140_000))
        bench.driver.collect(property: 1)
        #expect(bench.recorder.state.0 == .online)
        bench.advance(to: at(151_000))
        bench.driver.collect(property: 1)
        #expect(bench.recorder.state == (.offline, "no advertisement or notification for 30 s"))
    }

    @Test func reconnectionsBackOffFromOneToThirtySecondsAndEachReasonIsLoggedOnce() throws {
        let bench = try NotifyBench()
        defer { bench.close() }
        bench.subscribe()
        bench.controller.disconnect(reason: 0x08)
        bench.settle()
        #expect(bench.link.heldConnections.first?.isSubscribed == false)
        // Every try: LE Create Connection, which the device never completes; after 15 s it
        // is cancelled and the next waits 1 s, 2, 4, 8, 16, 30, 30.
        var tries: [Int64] = []
        let mark = bench.controller.commandCount
        let lostAt = bench.loop.now
        var seen = 0
        for tenth in 1...2_400 {
            bench.advance(to: lostAt.advanced(by: .milliseconds(Int64(tenth) * 100)))
            let creates = bench.controller.commands(since: mark, .leCreateConnection).count
            if creates > seen {
                seen = creates
                tries.append(Int64(tenth) * 100)
            }
        }
        // The first try 1 s after the loss, then each 15 s attempt plus the next delay.
        let delays: [Int64] = [2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000]
        var expected: [Int64] = [1_000]
        for delay in delays { expected.append(expected[expected.count - 1] + 15_000 + delay) }
        #expect(expected == [1_000, 18_000, 37_000, 60_000, 91_000, 136_000, 181_000, 226_000])
        #expect(tries == expected, "\(tries)")
        #expect(bench.controller.commands(since: mark, .leCreateConnectionCancel).count == tries.count - 1)
        let lost = bench.recorder.logs.filter { $0.contains("disconnected: connection timeout") }
        let silent = bench.recorder.logs.filter { $0.contains("no answer within 15 s") }
        #expect(lost.count == 1 && silent.count == 1, "\(bench.recorder.logs)")

        // A try that works, then a notification: the next loss waits 1 s again.
        bench.controller.connect(handle: 0x0041)
        bench.settle()
        bench.peripheral([0x09, 0x04, 0x0B, 0x00, 0xFC, 0x08], handle: 0x0041)
        bench.peripheral([0x05, 0x01, 0x0C, 0x00, 0x02, 0x29], handle: 0x0041)
        bench.peripheral([0x13], handle: 0x0041)
        bench.peripheral([0x1B, 0x0B, 0x00, 0x0A, 0x09], handle: 0x0041)
        #expect(bench.recorder.logs.last == "GATT notifications flow again")
        let again = bench.controller.commandCount
        bench.controller.disconnect(handle: 0x0041)
        bench.settle()
        let lostAgainAt = bench.loop.now
        bench.advance(to: lostAgainAt.advanced(by: .milliseconds(999)))
        #expect(bench.controller.commands(since: again, .leCreateConnection).isEmpty)
        bench.advance(to: lostAgainAt.advanced(by: .milliseconds(1_000)))
        #expect(bench.controller.commands(since: again, .leCreateConnection).count == 1)
    }

    @Test func aWriteToADeviceWithAHeldConnectionGoesOverItAndLeavesItOpen() throws {
        let bench = try NotifyBench()
        defer { bench.close() }
        // Asked for while the setup runs: it waits for it, then goes over the same connection.
        bench.driver.write(property: 0, value: .bool(true))
        bench.settle()
        bench.subscribe()
        let mark = bench.controller.attCount
        #expect(bench.controller.att(since: mark - 1).first == hex("08 0100 FFFF 656c676e696b1f8e4c4b0200d4c3b2a1"))
        bench.peripheral([0x09, 0x03, 0x08, 0x00, 0x00])   // the switch's value at 0x0008
        // A notification in between is still a reading.
        bench.peripheral([0x1B, 0x0B, 0x00, 0x0A, 0x09])
        bench.peripheral([0x13])                            // Write Response
        bench.peripheral([0x0B, 0x01])                      // Read Response
        #expect(bench.controller.att(since: mark) == [hex("12 0800 01"), hex("0A 0800")])
        #expect(bench.recorder.written.count == 1 && bench.recorder.written.first?.failure == nil)
        #expect(bench.recorder.values(0) == [.bool(true)])
        #expect(bench.recorder.values(1) == [.double(23.0), .double(23.14)])
        #expect(bench.controller.commands(since: 0, .leCreateConnection).count == 1, "no second connection")
        #expect(bench.controller.commands(since: 0, .disconnect).isEmpty)
        #expect(bench.link.heldConnections.first?.isSubscribed == true)

        // An ATT error fails the write but keeps the connection.
        bench.driver.write(property: 0, value: .bool(false))
        bench.settle()
        bench.peripheral([0x09, 0x03, 0x08, 0x00, 0x01])
        bench.peripheral([0x01, 0x12, 0x08, 0x00, 0x03])   // Write Not Permitted
        #expect(bench.recorder.written.last?.failure?.contains("write not permitted") == true)
        #expect(bench.controller.commands(since: 0, .disconnect).isEmpty)
        bench.peripheral([0x1B, 0x0B, 0x00, 0x0B, 0x09])
        #expect(bench.recorder.values(1).last?.twinText == "23.15")
    }

    @Test func aWriteWhileTheConnectionIsDownUsesAShortSession() throws {
        let bench = try NotifyBench()
        defer { bench.close() }
        bench.subscribe()
        bench.controller.disconnect()
        bench.settle()
        bench.driver.write(property: 0, value: .bool(true))
        bench.settle()
        #expect(bench.controller.commands(since: 0, .leCreateConnection).count == 2)
        bench.controller.connect(handle: 0x0042)
        bench.settle()
        bench.peripheral([0x09, 0x03, 0x08, 0x00, 0x00], handle: 0x0042)
        bench.peripheral([0x13], handle: 0x0042)
        bench.peripheral([0x0B, 0x01], handle: 0x0042)
        #expect(bench.recorder.written.first.map { $0.failure == nil } == true)
        // The short session closes its connection; then the held one is set up again.
        #expect(bench.controller.commands(since: 0, .disconnect).count == 1)
        let mark = bench.controller.commandCount
        bench.advance(to: bench.loop.now.advanced(by: .seconds(1)))
        #expect(bench.controller.commands(since: mark, .leCreateConnection).count == 1)
        bench.subscribe(handle: 0x0043)
        #expect(bench.link.heldConnections.first?.isSubscribed == true)
    }

    @Test func malformedAndUnexpectedPDUsAreCountedAndChangeNothing() throws {
        let bench = try NotifyBench()
        defer { bench.close() }
        bench.subscribe()
        let bad = bench.driver.counters.badFrames
        bench.peripheral([0x1B, 0x0B])                     // a notification cut short
        bench.peripheral([0x0B, 0x01])                     // a Read Response nobody asked for
        bench.peripheral([0x1B, 0x99, 0x00, 0x01])         // a handle nobody subscribed to
        bench.peripheral([0x1B, 0x0B, 0x00, 0x0A])         // a value too short for int16le
        bench.peripheral([])                               // an empty ATT PDU
        #expect(bench.driver.counters.badFrames == bad + 5)
        // Bytes for a connection that does not exist are dropped.
        bench.peripheral([0x1B, 0x0B, 0x00, 0x0A, 0x09], handle: 0x0077)
        bench.peripheral([0x1B, 0x0B, 0x00, 0x0A, 0x09])
        #expect(bench.recorder.values(1) == [.double(23.0), .double(23.14)])
        #expect(bench.link.heldConnections.first?.isSubscribed == true)
    }

    @Test func randomATTPDUsOnAHeldConnectionNeverBreakIt() throws {
        let bench = try NotifyBench()
        defer { bench.close() }
        bench.subscribe()
        var random = BLETestRandom(state: 0x6B696E67)
        for round in 0..<2_000 {
            if round % 50 == 0 { bench.settle() }
            // Mostly PDUs a server sends (responses, notifications, indications), some anything.
            let opcodes: [UInt8] = [0x01, 0x03, 0x05, 0x09, 0x0B, 0x0D, 0x13, 0x1B, 0x1D, 0x02, 0x08, 0x52, random.byte()]
            var pdu = [opcodes[random.below(opcodes.count)]]
            for _ in 0..<random.below(22) { pdu.append(random.byte()) }
            bench.controller.sendATT(pdu)
        }
        bench.settle()
        #expect(bench.driver.counters.badFrames > 0)
        #expect(bench.link.heldConnections.first?.isSubscribed == true)
        bench.peripheral([0x1B, 0x0B, 0x00, 0x0A, 0x09])
        #expect(bench.recorder.values(1).last == .double(23.14))
        #expect(bench.controller.commands(since: 0, .disconnect).isEmpty)
    }

    @Test func aRefusedConnectionFailsOnlyTheSetup() throws {
        let bench = try NotifyBench()
        defer { bench.close() }
        // The first try is under way; the next one is refused outright.
        bench.controller.failConnection(status: 0x3E)
        bench.settle()
        #expect(bench.recorder.logs.contains { $0.contains("connection failed") })
        bench.controller.createConnectionStatus = 0x09  // Connection Limit Exceeded
        bench.advance(to: at(1_000))
        #expect(bench.link.ready, "a refused command does not take the controller down")
        #expect(bench.recorder.state.0 != .offline)
        bench.controller.createConnectionStatus = 0x00
        let mark = bench.controller.commandCount
        bench.advance(to: at(3_000))
        #expect(bench.controller.commands(since: mark, .leCreateConnection).count == 1)
        bench.subscribe()
        #expect(bench.link.heldConnections.first?.isSubscribed == true)
    }

    @Test func stoppingTheDeviceClosesItsConnection() throws {
        let bench = try NotifyBench()
        defer { bench.close() }
        bench.subscribe()
        bench.driver.stop()
        bench.settle()
        #expect(bench.controller.commands(since: 0, .disconnect).map { Array($0[0..<2]) } == [[0x40, 0x00]])
        #expect(bench.link.heldConnections.isEmpty)
        // Nothing is tried again.
        let mark = bench.controller.commandCount
        bench.advance(to: at(60_000))
        #expect(bench.controller.commands(since: mark, .leCreateConnection).isEmpty)
    }

    @Test func stoppingWhileConnectingCancelsTheConnection() throws {
        let bench = try NotifyBench()
        defer { bench.close() }
        bench.driver.stop()
        bench.settle()
        #expect(bench.controller.commands(since: 0, .leCreateConnectionCancel).count == 1)
        #expect(bench.controller.commands(since: 0, .disconnect).isEmpty)
    }

    @Test func aControllerResetDropsTheConnectionAndSetsItUpAgainOnceScanning() throws {
        let bench = try NotifyBench()
        defer { bench.close() }
        bench.subscribe()
        bench.controller.send([0x04, 0x10, 0x01, 0x01])  // Hardware Error
        bench.settle()
        #expect(!bench.link.ready)
        #expect(bench.recorder.state.0 == .offline)
        #expect(bench.link.heldConnections.first?.isSubscribed == false)
        // Bring-up again 5 s later (Reset first: the old connection is gone), then the setup.
        let mark = bench.controller.commandCount
        bench.advance(to: at(5_000))
        #expect(bench.controller.commands(since: mark, .reset).count == 1)
        #expect(bench.link.ready)
        #expect(bench.controller.commands(since: mark, .leCreateConnection).count == 1)
        #expect(bench.controller.commands(since: mark, .disconnect).isEmpty)
        bench.subscribe(handle: 0x0041)
        #expect(bench.link.heldConnections.first?.isSubscribed == true)
        #expect(bench.recorder.state.0 == .online)
    }

    @Test func aVanishedControllerDropsTheConnection() throws {
        let bench = try NotifyBench()
        defer { bench.close() }
        bench.subscribe()
        bench.loop.ready(bench.hostFD, .hangup)
        #expect(!bench.link.ready)
        #expect(bench.recorder.state.0 == .offline)
        #expect(bench.link.heldConnections.first?.isSubscribed == false)
    }

    @Test func notifyAndScaleAreCheckedWithTheRestOfTheVisitor() throws {
        // Notifying and writable at once is fine.
        let both = try relaySpec(temperatureVisitor: #"{characteristic: "2A6E", format: int16le, scale: 0.01, notify: true}"#,
                                 temperatureAccess: "ReadWrite")
        #expect(throws: Never.self) { try BLEDeviceDriver.validate(both) }
        for (visitor, message) in [
            (#"{reading: temperature, notify: true}"#, "give its characteristic"),
            (#"{reading: temperature, scale: 0.1}"#, "not to an advertised reading"),
            (#"{characteristic: "2A6E", format: utf8, scale: 0.1}"#, "a utf8 value has no scale"),
            (#"{characteristic: "2A6E", format: int16le, scale: 0}"#, "non-zero"),
            (#"{characteristic: "2A6E", notify: maybe}"#, "notify"),
        ] {
            let spec = try relaySpec(temperatureVisitor: visitor)
            do {
                try BLEDeviceDriver.validate(spec)
                Issue.record("\(visitor) was taken")
            } catch {
                #expect(error.description.contains(message), "\(visitor): \(error.description)")
            }
        }
    }

    @Test func scaleAppliesToReadingsAndWrites() {
        #expect(BLEValueFormat.int16le.decode([0xFC, 0x08], as: .float, scale: 0.01) == .double(23.0))
        #expect(BLEValueFormat.int16le.decode([0x0A, 0x09], as: .int, scale: 0.01) == .integer(23))
        #expect(BLEValueFormat.int16le.decode([0x0A, 0x09], as: .string, scale: 0.01) == .text("23.14"))
        #expect(BLEValueFormat.int16le.encode(.double(21.5), scale: 0.01) == [0x66, 0x08])
        #expect(BLEValueFormat.uint8.encode(.double(300), scale: 0.1) == nil)
        #expect(BLEValueFormat.uint16le.decode([0x10, 0x27], as: .int) == .integer(10_000))
    }
}
