import Testing
@testable import KingletZigbee

@Suite struct ZNPFrameReaderTests {
    private func read(_ chunks: [[UInt8]], reader: inout ZNPFrameReader) -> [String] {
        var frame = ZNPFrame(cmd0: 0, cmd1: 0)
        var result: [String] = []
        for chunk in chunks {
            reader.append(chunk)
            while reader.nextFrame(into: &frame) { result.append(zigbeeHexString(try! frame.encoded())) }
        }
        return result
    }

    let ping = zigbeeHex(ZNPReferenceVectors.sysPing)
    let confirm = zigbeeHex(ZNPReferenceVectors.dataConfirm)

    @Test func skipsGarbageBeforeAFrameAndCountsIt() {
        var reader = ZNPFrameReader()
        let frames = read([[0x00, 0x13, 0xEF, 0x42] + ping], reader: &reader)
        #expect(frames == [ZNPReferenceVectors.sysPing])
        #expect(reader.counters.garbageBytes == 4)
        #expect(reader.counters.frames == 1)
    }

    @Test func badChecksumIsCountedAndTheNextFrameStillDecodes() {
        var reader = ZNPFrameReader()
        var corrupt = confirm
        corrupt[5] ^= 0x40
        let frames = read([corrupt + ping], reader: &reader)
        #expect(frames == [ZNPReferenceVectors.sysPing])
        #expect(reader.counters.badChecksums == 1)
        #expect(reader.counters.garbageBytes == UInt64(corrupt.count))
    }

    @Test func lengthAbove250IsNotAFrameStart() {
        var reader = ZNPFrameReader()
        let frames = read([[0xFE, 0xFB, 0x01] + ping], reader: &reader)
        #expect(frames == [ZNPReferenceVectors.sysPing])
        #expect(reader.counters.oversizeLengths == 1)
    }

    @Test func frameSplitIntoSingleBytesIsReassembled() {
        var reader = ZNPFrameReader()
        let bytes = zigbeeHex(ZNPReferenceVectors.incomingTemperature)
        let frames = read(bytes.map { [$0] }, reader: &reader)
        #expect(frames == [ZNPReferenceVectors.incomingTemperature])
        #expect(reader.counters.garbageBytes == 0)
    }

    @Test func severalFramesInOneChunkAllComeOut() {
        var reader = ZNPFrameReader()
        let frames = read([ping + confirm + ping], reader: &reader)
        #expect(frames == [ZNPReferenceVectors.sysPing, ZNPReferenceVectors.dataConfirm, ZNPReferenceVectors.sysPing])
    }

    @Test func framesSplitAcrossChunkBoundariesAtEveryOffset() {
        let stream = ping + confirm + zigbeeHex(ZNPReferenceVectors.announce)
        for cut in 0...stream.count {
            var reader = ZNPFrameReader()
            let frames = read([Array(stream[0..<cut]), Array(stream[cut...])], reader: &reader)
            #expect(frames.count == 3, "cut at \(cut)")
        }
    }

    @Test func truncatedFrameFollowedByAGoodOneResyncsOnItsStart() {
        // FE 05 21 01 AA claims five data bytes; the good ping follows at once and would be
        // swallowed as that frame's data, so the FCS fails and the scan restarts at byte 1.
        var reader = ZNPFrameReader()
        let frames = read([[0xFE, 0x05, 0x21, 0x01, 0xAA] + ping], reader: &reader)
        #expect(frames == [ZNPReferenceVectors.sysPing])
        #expect(reader.counters.badChecksums == 1)
    }

    @Test func abandonedPartialFrameReleasesTheFrameHiddenInIt() {
        var reader = ZNPFrameReader()
        // A head claiming 200 bytes, then a complete ping: the reader waits for 200 bytes
        // until the owner's inter-byte timeout abandons the head.
        var frames = read([[0xFE, 0xC8, 0x21, 0x01] + ping], reader: &reader)
        #expect(frames.isEmpty)
        #expect(reader.hasPartialFrame)
        reader.abandonPartialFrame()
        frames = read([[]], reader: &reader)
        #expect(frames == [ZNPReferenceVectors.sysPing])
        #expect(reader.counters.abandonedPartialFrames == 1)
    }

    @Test func undrainedBytesBeyondCapacityDropTheOldest() {
        var reader = ZNPFrameReader(capacity: 300)
        reader.append(Array(repeating: 0xFE, count: 299))
        reader.append(ping)
        #expect(reader.bufferedCount == 300)
        #expect(reader.counters.garbageBytes == 4)
        var frame = ZNPFrame(cmd0: 0, cmd1: 0)
        // 0xFE 0xFE ... : each LEN of 0xFE is oversize, until the real ping.
        let found = reader.nextFrame(into: &frame)
        #expect(found)
        #expect(frame == ZNPFrame(.sysPing))
    }

    @Test func steadyStateReusesTheFrameBuffer() {
        var reader = ZNPFrameReader()
        var frame = ZNPFrame(cmd0: 0, cmd1: 0)
        frame.data.reserveCapacity(250)
        let capacity = frame.data.capacity
        for _ in 0..<100 {
            reader.append(zigbeeHex(ZNPReferenceVectors.incomingTemperature))
            let found = reader.nextFrame(into: &frame)
            #expect(found)
        }
        #expect(frame.data.capacity == capacity)
        #expect(reader.counters.frames == 100)
    }
}
