import KingletCore
import Testing
@testable import KingletZigbee

/// SplitMix64: a seeded generator, so a failing run repeats exactly.
struct ZigbeeSeededGenerator: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite struct ZNPFuzzTests {
    /// Real frames to mutate: every reference frame the stick or a device might send.
    static let corpus: [[UInt8]] = {
        var frames = [
            ZNPReferenceVectors.announce, ZNPReferenceVectors.trustCenterDevice, ZNPReferenceVectors.leave,
            ZNPReferenceVectors.activeEndpointsResponse, ZNPReferenceVectors.bindResponse, ZNPReferenceVectors.dataConfirm,
            ZNPReferenceVectors.dataConfirmNoAck, ZNPReferenceVectors.incomingTemperature, ZNPReferenceVectors.rpcErrorPing,
            ZNPReferenceVectors.versionShort, ZNPReferenceVectors.resetIndication, ZNPReferenceVectors.stateStarted,
            ZNPReferenceVectors.dataRequestOk, ZNPReferenceVectors.permitJoinOk, ZNPReferenceVectors.bindOk,
        ].map(zigbeeHex)
        for step in ZNPReferenceVectors.resume { frames += step.responses.map(zigbeeHex) }
        // AF_INCOMING_MSG around each reference ZCL frame.
        for zcl in [ZNPReferenceVectors.zclReadAttributesResponse, ZNPReferenceVectors.zclReportBattery,
                    ZNPReferenceVectors.zclReportStringAndFloat, ZNPReferenceVectors.zclReportSigned,
                    ZNPReferenceVectors.zclDefaultResponse] {
            let payload = zigbeeHex(zcl)
            let data: [UInt8] = [0, 0, 0x02, 0x04, 0x34, 0x12, 1, 1, 0, 0x60, 0, 0, 0, 0, 0, 0, UInt8(payload.count)] + payload
            frames.append(try! ZNPFrame(.afIncomingMessage, data: data).encoded())
        }
        return frames
    }()

    /// A chunk: noise, a real frame, a mutated one (flipped, cut, or with a re-computed FCS
    /// so the damage reaches the decoders), or several glued together.
    static func chunk(_ random: inout ZigbeeSeededGenerator) -> [UInt8] {
        func frame() -> [UInt8] { corpus[Int.random(in: 0..<corpus.count, using: &random)] }
        switch Int.random(in: 0..<7, using: &random) {
        case 0:
            return (0..<Int.random(in: 0...64, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
        case 1:
            return frame()
        case 2:
            var bytes = frame()
            for _ in 0..<Int.random(in: 1...3, using: &random) {
                bytes[Int.random(in: 0..<bytes.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
            }
            return bytes
        case 3:
            let bytes = frame()
            return Array(bytes[0..<Int.random(in: 0..<bytes.count, using: &random)])
        case 4:
            // Valid FCS around damaged data: exercises the MT and ZCL decoders.
            var data = Array(frame().dropFirst(4).dropLast())
            let header = frame()
            if !data.isEmpty, Bool.random(using: &random) {
                data[Int.random(in: 0..<data.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
            }
            if !data.isEmpty, Bool.random(using: &random) { data.removeLast(Int.random(in: 0...data.count, using: &random)) }
            return try! ZNPFrame(cmd0: header[2], cmd1: header[3], data: data).encoded()
        case 5:
            // A well-framed AF_INCOMING_MSG whose ZCL is a plausible header and noise.
            let commands: [UInt8] = [0x01, 0x04, 0x07, 0x0A, 0x0B]
            var zcl: [UInt8] = [Bool.random(using: &random) ? 0x18 : 0x08, 0x01,
                                commands[Int.random(in: 0..<commands.count, using: &random)]]
            zcl += (0..<Int.random(in: 0...20, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            let data: [UInt8] = [0, 0, 0x02, 0x04, 0x34, 0x12, 1, 1, 0, 0x60, 0, 0, 0, 0, 0, 0, UInt8(zcl.count)] + zcl
            return try! ZNPFrame(.afIncomingMessage, data: data).encoded()
        default:
            return frame() + frame() + [UInt8.random(in: 0...255, using: &random)] + frame()
        }
    }

    @Test func tenThousandRandomAndMutatedChunksNeverCrashTheCoordinator() {
        var random = ZigbeeSeededGenerator(state: 0x5EED_2B2B)
        let (coordinator, stick, start) = readyCoordinator()
        var clock = start
        var events = 0
        for round in 0..<10_000 {
            coordinator.received(ZNPFuzzTests.chunk(&random), now: clock.now)
            if round % 7 == 0 {
                clock.advance(.milliseconds(Int64.random(in: 0...3000, using: &random)))
                coordinator.tick(now: clock.now)
            }
            if round % 13 == 0 {
                // Requests keep flowing (or are refused) whatever the line did.
                _ = try? coordinator.setOnOff(.toggle, device: testDeviceIEEE, endpoint: 1)
                _ = try? coordinator.readAttributes([0, 0x21], of: testDeviceIEEE, endpoint: 1, cluster: 0x0001)
            }
            if round % 5 == 0 { _ = coordinator.takeOutgoing() }
            while coordinator.nextEvent() != nil { events += 1 }
        }
        let reader = coordinator.readerCounters
        let counters = coordinator.counters
        #expect(reader.frames > 5_000)
        #expect(reader.badChecksums > 500)
        #expect(reader.garbageBytes > 10_000)
        #expect(counters.malformedFrames > 100)
        #expect(counters.malformedZCL > 10)
        #expect(events > 1_000)
        // And afterwards it still works: timeouts fire, it restarts and resumes the network.
        for _ in 0..<5 where coordinator.state != .ready {
            clock.advance(.seconds(61))
            coordinator.tick(now: clock.now)
            zigbeeExchange(coordinator, stick, at: clock.now)
        }
        #expect(coordinator.state == .ready)
        // The exported table always reads back.
        #expect((try? ZigbeeDeviceTable.importRecord(coordinator.exportDevices(), capacity: 128)) == coordinator.devices)
    }

    @Test func randomBytesNeverCrashTheDecoders() {
        var random = ZigbeeSeededGenerator(state: 42)
        var frame = ZNPFrame(cmd0: 0, cmd1: 0)
        var refused = 0
        for _ in 0..<10_000 {
            let length = Int.random(in: 0...40, using: &random)
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &random) }
            let corpusFrame = ZNPFuzzTests.corpus[Int.random(in: 0..<ZNPFuzzTests.corpus.count, using: &random)]
            frame.cmd0 = corpusFrame[2]
            frame.cmd1 = corpusFrame[3]
            frame.data = bytes
            if (try? ZNPIncoming.decode(frame)) == nil { refused += 1 }
            _ = ZCLHeader.decode(bytes[...])
            try? ZCLGlobalRecords.forEachAttribute(command: bytes.first ?? 0x0A, payload: bytes.dropFirst()) { _, _, _ in }
            _ = try? ZCLGlobalRecords.statuses(command: 0x07, payload: bytes[...])
            _ = try? ZigbeeDeviceTable.importRecord([0x5A, 0x42, 0x01] + bytes)
        }
        #expect(refused > 1_000)
    }
}
