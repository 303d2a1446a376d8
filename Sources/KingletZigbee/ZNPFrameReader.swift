/// What the frame reader threw away, for logs and health checks.
public struct ZNPFrameReaderCounters: Equatable, Sendable {
    /// Frames delivered with a good FCS.
    public var frames: UInt64 = 0
    /// Bytes dropped while hunting for a start-of-frame byte (line noise, a bootloader's
    /// output, the remains of a frame that failed its FCS).
    public var garbageBytes: UInt64 = 0
    /// Candidate frames whose FCS did not match.
    public var badChecksums: UInt64 = 0
    /// Candidate frames whose LEN was above 250: the 0xFE was not a real start of frame.
    public var oversizeLengths: UInt64 = 0
    /// Partial frames given up on because the rest never came (`abandonPartialFrame`).
    public var abandonedPartialFrames: UInt64 = 0

    public init() {}
}

/// Splits a UART byte stream into MT frames. Takes chunks of any size: a frame split across
/// reads, several frames in one read, noise between them.
///
/// On a bad FCS or an impossible LEN the reader skips only the 0xFE it started from and
/// scans again from the next byte, as zigpy-znp's uart.py does: a frame whose head was lost
/// can hide a good frame inside the bytes it claimed.
///
/// Steady state allocates nothing: the buffer keeps its capacity, and `nextFrame(into:)`
/// refills the caller's frame in place.
public struct ZNPFrameReader: Sendable {
    /// Bytes received and not yet consumed; `head` is the first unconsumed one.
    private var buffer: [UInt8] = []
    private var head = 0
    public private(set) var counters = ZNPFrameReaderCounters()
    /// The most the reader holds unconsumed. A caller that appends without draining past
    /// this loses the oldest bytes (counted as garbage) rather than growing without bound.
    public let capacity: Int

    public init(capacity: Int = 4096) {
        self.capacity = max(capacity, ZNPFrame.maximumDataLength + ZNPFrame.overhead)
        buffer.reserveCapacity(self.capacity)
    }

    /// Bytes held that are not part of a delivered frame yet.
    public var bufferedCount: Int { buffer.count - head }

    /// Whether a frame has started (a 0xFE at the head) but is not complete.
    public var hasPartialFrame: Bool { head < buffer.count && buffer[head] == ZNPFrame.startOfFrame }

    /// Adds received bytes. Call `nextFrame(into:)` until it returns false afterwards.
    public mutating func append<C: Collection>(_ bytes: C) where C.Element == UInt8 {
        compact()
        let overflow = bufferedCount + bytes.count - capacity
        if overflow > 0 {
            // Nothing can be salvaged from more than a frame's worth of unconsumed bytes
            // the caller never drained; keep the newest.
            let dropped = min(overflow, bufferedCount)
            head += dropped
            counters.garbageBytes += UInt64(dropped)
            compact()
        }
        var skip = max(0, bytes.count - capacity)
        counters.garbageBytes += UInt64(skip)
        for byte in bytes {
            if skip > 0 { skip -= 1; continue }
            buffer.append(byte)
        }
    }

    /// Fills `frame` with the next complete, valid frame and returns true, or returns
    /// false when more bytes are needed. `frame.data` keeps its capacity between calls.
    public mutating func nextFrame(into frame: inout ZNPFrame) -> Bool {
        while true {
            skipToStartOfFrame()
            let available = buffer.count - head
            guard available >= 2 else { return false }
            let length = Int(buffer[head + 1])
            if length > ZNPFrame.maximumDataLength {
                counters.oversizeLengths += 1
                dropStartOfFrame()
                continue
            }
            guard available >= length + ZNPFrame.overhead else { return false }
            var fcs: UInt8 = 0
            for index in (head + 1)..<(head + 4 + length) { fcs ^= buffer[index] }
            if fcs != buffer[head + 4 + length] {
                counters.badChecksums += 1
                dropStartOfFrame()
                continue
            }
            frame.cmd0 = buffer[head + 2]
            frame.cmd1 = buffer[head + 3]
            frame.data.removeAll(keepingCapacity: true)
            frame.data.append(contentsOf: buffer[(head + 4)..<(head + 4 + length)])
            head += length + ZNPFrame.overhead
            counters.frames += 1
            return true
        }
    }

    /// Gives up on a frame whose rest never came (the caller's inter-byte timeout): skips
    /// its 0xFE, so frames hidden in the bytes it claimed can still be found.
    public mutating func abandonPartialFrame() {
        guard hasPartialFrame else { return }
        counters.abandonedPartialFrames += 1
        dropStartOfFrame()
    }

    /// Forgets everything buffered (e.g. after reopening the port).
    public mutating func reset() {
        counters.garbageBytes += UInt64(bufferedCount)
        buffer.removeAll(keepingCapacity: true)
        head = 0
    }

    private mutating func skipToStartOfFrame() {
        while head < buffer.count, buffer[head] != ZNPFrame.startOfFrame {
            head += 1
            counters.garbageBytes += 1
        }
    }

    private mutating func dropStartOfFrame() {
        head += 1
        counters.garbageBytes += 1
    }

    /// Moves unconsumed bytes to the front, in place (no allocation).
    private mutating func compact() {
        if head == 0 { return }
        if head >= buffer.count {
            buffer.removeAll(keepingCapacity: true)
        } else {
            buffer.removeSubrange(0..<head)
        }
        head = 0
    }
}
