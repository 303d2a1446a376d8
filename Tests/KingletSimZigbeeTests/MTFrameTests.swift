import Testing
@testable import KingletSimZigbee

@Suite("MT framing")
struct MTFrameTests {
    @Test func pingFrameIsTheBytesTheSpecShows() {
        let ping = MTFrame(type: .sreq, subsystem: .sys, command: 0x01)
        #expect(ping.encoded == [0xFE, 0x00, 0x21, 0x01, 0x20])
    }

    @Test func checksumIsTheXorOfLengthCommandAndData() {
        let frame = MTFrame(cmd0: 0x61, cmd1: 0x01, payload: [0x79, 0x06])
        #expect(frame.encoded == [0xFE, 0x02, 0x61, 0x01, 0x79, 0x06, 0x02 ^ 0x61 ^ 0x01 ^ 0x79 ^ 0x06])
    }

    @Test func decoderSkipsGarbageBetweenFrames() {
        var decoder = MTFrameDecoder()
        let ping = MTFrame(type: .sreq, subsystem: .sys, command: 0x01).encoded
        let events = decoder.feed([0x00, 0x13] + ping + [0x37] + ping)
        #expect(events == [.skipped(count: 2), .frame(MTFrame(cmd0: 0x21, cmd1: 0x01)),
                           .skipped(count: 1), .frame(MTFrame(cmd0: 0x21, cmd1: 0x01))])
    }

    @Test func decoderDropsAFrameWithABadChecksumWhole() {
        var decoder = MTFrameDecoder()
        var bad = MTFrame(type: .sreq, subsystem: .sys, command: 0x02, payload: [0xFE, 0x00]).encoded
        bad[bad.count - 1] ^= 0x01
        let good = MTFrame(type: .sreq, subsystem: .sys, command: 0x01).encoded
        let events = decoder.feed(bad + good)
        // The 0xFE inside the bad frame's data is not taken for a new start of frame.
        #expect(events.count == 2)
        guard case .badChecksum = events[0] else {
            Issue.record("expected a bad checksum first, got \(events)")
            return
        }
        #expect(events[1] == .frame(MTFrame(cmd0: 0x21, cmd1: 0x01)))
    }

    @Test func decoderWaitsForTheRestOfASplitFrame() {
        var decoder = MTFrameDecoder()
        let frame = MTFrame(type: .sreq, subsystem: .zdo, command: 0x40, payload: [0x64, 0x00]).encoded
        #expect(decoder.feed(Array(frame.prefix(3))).isEmpty)
        #expect(decoder.pendingCount == 3)
        #expect(decoder.feed(Array(frame.dropFirst(3))) == [.frame(MTFrame(cmd0: 0x25, cmd1: 0x40, payload: [0x64, 0x00]))])
        #expect(decoder.pendingCount == 0)
    }

    @Test func decoderRejectsALengthOver250AndResynchronises() {
        var decoder = MTFrameDecoder()
        let ping = MTFrame(type: .sreq, subsystem: .sys, command: 0x01).encoded
        let events = decoder.feed([0xFE, 0xFB] + ping)
        #expect(events == [.skipped(count: 2), .frame(MTFrame(cmd0: 0x21, cmd1: 0x01))])
    }
}
