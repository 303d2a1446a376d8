import CKingletSystem
import KingletCore

/// A serial port on the loop, for protocols whose framing is ours (ZNP, H4): opened raw and
/// non-blocking, read when readable, written through a bounded buffer when writable, and
/// reopened with back-off (1 s doubling to 30 s) when it fails or vanishes, as a USB stick
/// pulled and plugged back does. Any descriptor that carries the same byte stream can take
/// the port's place (the kernel's HCI user channel socket carries H4 packets too).
public final class SerialLine {
    public let path: String
    private let opener: () -> Int32
    private let loop: any EventLoop
    private var fd: Int32 = -1
    private var pending: [UInt8] = []
    private var pendingStart = 0
    private let packets: Bool
    /// With `packets`: where each queued packet ends in `pending`.
    private var packetEnds: [Int] = []
    private var input = [UInt8](repeating: 0, count: 512)
    private var reopenTimer: TimerHandle?
    private var reopenDelay = Duration.seconds(1)
    private var running = false
    private var onReadiness: (IOReadiness) -> Void = { _ in }
    private var onReopen: () -> Void = {}
    /// Bytes queued beyond this are dropped (and reported): a stuck UART must not grow memory.
    public static let maximumPending = 16 * 1024

    /// Bytes arrived (the buffer is only valid during the call).
    public var received: (UnsafeBufferPointer<UInt8>) -> Void = { _ in }
    /// The port is open (again): the protocol starts over.
    public var opened: () -> Void = {}
    /// The port failed or could not be opened, with the reason; a reopen is scheduled.
    public var failed: (String) -> Void = { _ in }
    public private(set) var reopens: UInt64 = 0
    public var isOpen: Bool { fd >= 0 }

    public convenience init(loop: any EventLoop, path: String, baud: Int32, flowControl: Bool = false) {
        self.init(loop: loop, name: path) { kinglet_serial_open(path, baud, flowControl ? 1 : 0) }
    }

    /// `open` returns a non-blocking, close-on-exec descriptor, or -1 with errno; `name` is
    /// what the log and errors call it. With `packets` each `write` is one datagram (a
    /// socket that takes one packet per write(2), as the HCI user channel does), kept whole
    /// when it has to wait.
    public init(loop: any EventLoop, name: String, packets: Bool = false, open: @escaping () -> Int32) {
        self.loop = loop
        self.path = name
        self.packets = packets
        self.opener = open
        onReadiness = { [self] readiness in self.ready(readiness) }
        onReopen = { [self] in
            self.reopenTimer = nil
            self.open()
        }
    }

    deinit { closePort() }

    public func start() {
        running = true
        open()
    }

    /// Closes the port for good (a stopped line is not started again) and drops every
    /// callback, which may hold its owner (Embedded Swift has no weak references).
    public func stop() {
        running = false
        if let reopenTimer { loop.cancel(reopenTimer) }
        reopenTimer = nil
        closePort()
        onReadiness = { _ in }
        onReopen = {}
        received = { _ in }
        opened = {}
        failed = { _ in }
    }

    /// Queues `bytes` and writes what the port takes now. False when the port is closed or
    /// the buffer is full (the bytes are dropped).
    @discardableResult
    public func write(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard fd >= 0 else { return false }
        guard pending.count - pendingStart + bytes.count <= SerialLine.maximumPending else { return false }
        if pendingStart > 0 && pendingStart == pending.count {
            pending.removeAll(keepingCapacity: true)
            packetEnds.removeAll(keepingCapacity: true)
            pendingStart = 0
        }
        pending.append(contentsOf: bytes)
        if packets { packetEnds.append(pending.count) }
        flush()
        return true
    }

    @discardableResult
    public func write(_ bytes: [UInt8]) -> Bool { bytes.withUnsafeBufferPointer { write($0) } }

    private func open() {
        guard running, fd < 0 else { return }
        let descriptor = opener()
        guard descriptor >= 0 else {
            fail("cannot open \(path): \(String(cString: kinglet_strerror(kinglet_errno())))")
            return
        }
        do {
            try loop.watch(descriptor, interest: .readable, handler: onReadiness)
        } catch {
            _ = close(descriptor)
            fail("cannot watch \(path): \(error.description)")
            return
        }
        fd = descriptor
        reopenDelay = .seconds(1)
        opened()
    }

    private func closePort() {
        guard fd >= 0 else { return }
        loop.unwatch(fd)
        _ = close(fd)
        fd = -1
        pending.removeAll(keepingCapacity: true)
        packetEnds.removeAll(keepingCapacity: true)
        pendingStart = 0
    }

    private func fail(_ reason: String) {
        closePort()
        failed(reason)
        guard running, reopenTimer == nil else { return }
        reopens += 1
        reopenTimer = loop.schedule(after: reopenDelay, onReopen)
        reopenDelay = min(reopenDelay * 2, .seconds(30))
    }

    private func ready(_ readiness: IOReadiness) {
        if readiness.contains(.readable) {
            // Bounded: at most 8 reads a turn, so a chattering port cannot hold the loop.
            for _ in 0..<8 {
                let count = input.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if count > 0 {
                    input.withUnsafeBufferPointer { received(UnsafeBufferPointer(rebasing: $0[0..<count])) }
                    if fd < 0 { return }  // the receiver stopped us
                    // A short read from a tty took all it had: epoll is level-triggered, so
                    // bytes arriving now wake us again, and a read to hear "nothing" is saved.
                    // (A socket in packet mode returns one packet per read: keep reading.)
                    if !packets && count < input.count { break }
                    continue
                }
                // A tty in raw mode with VMIN 0 reads 0 bytes when nothing is there: that is
                // not an end of file. A vanished device reads EIO (and epoll says HUP).
                if count < 0 && kinglet_errno() != EAGAIN && kinglet_errno() != EINTR {
                    fail("\(path) vanished")
                    return
                }
                break
            }
        }
        if readiness.contains(.hangup) || readiness.contains(.error) {
            fail("\(path) vanished")
            return
        }
        if readiness.contains(.writable) { flush() }
    }

    private func flush() {
        while pendingStart < pending.count {
            var end = pending.count
            if packets, let next = packetEnds.first(where: { $0 > pendingStart }) { end = next }
            let written = pending.withUnsafeBytes { bytes in
                CKingletSystem.write(fd, bytes.baseAddress! + pendingStart, end - pendingStart)
            }
            if written > 0 {
                pendingStart += written
                continue
            }
            if written < 0 && (kinglet_errno() == EAGAIN || kinglet_errno() == EINTR) { break }
            fail("cannot write to \(path): \(String(cString: kinglet_strerror(kinglet_errno())))")
            return
        }
        let wantsWrite = pendingStart < pending.count
        try? loop.changeInterest(of: fd, to: wantsWrite ? [.readable, .writable] : .readable)
        if !wantsWrite {
            pending.removeAll(keepingCapacity: true)
            packetEnds.removeAll(keepingCapacity: true)
            pendingStart = 0
        }
    }
}
