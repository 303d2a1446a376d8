import CKingletSystem
import KingletCore

/// Reads a container's stdout and stderr pipes on the loop and writes them, line by line,
/// to its CRI log. One buffer of `2 × lineBufferBytes` is allocated when the pipes are
/// first read (a quiet container never costs it: 100 of them held 1.1 MB of touched
/// buffer pages), one half per stream; a line still incomplete stays at the start of its half
/// until its newline arrives, and is written as a partial ("P") record when it fills the
/// half.
final class ContainerOutput {
    private struct Pipe {
        let stream: LogStream
        /// The read end; -1 once closed.
        var fd: Int32
        /// Bytes held in this stream's half of the buffer (an incomplete line).
        var held: Int
    }

    private let loop: any EventLoop
    private let log: CRILogWriter
    private let capacity: Int
    private var storage: UnsafeMutableRawPointer?
    private var pipes: [Pipe]
    /// Called once both pipes have reached end of file: every process holding them is gone.
    var onClosed: (() -> Void)? = nil
    /// Writes an incomplete line as a partial ("P") record once the pipe is empty, instead
    /// of holding it for its newline, as conmon does: for a container that outlives the
    /// agent, so that a killed agent loses nothing it had read.
    var writesIncompleteLines = false

    /// Reads per wake-up and stream: a chatty container gets the rest of its output on the
    /// next wake-up (the pipe stays readable), so it cannot starve the loop.
    private static let readsPerWakeUp = 16

    init(loop: any EventLoop, stdout: Int32, stderr: Int32, log: CRILogWriter, lineBufferBytes: Int) {
        self.loop = loop
        self.log = log
        capacity = lineBufferBytes
        pipes = [Pipe(stream: .stdout, fd: stdout, held: 0), Pipe(stream: .stderr, fd: stderr, held: 0)]
    }

    deinit {
        closePipes()
        log.close()
        storage?.deallocate()
    }

    /// The two halves, allocated on first use.
    private var buffer: UnsafeMutableRawPointer {
        if let storage { return storage }
        let made = UnsafeMutableRawPointer.allocate(byteCount: 2 * capacity, alignment: 8)
        storage = made
        return made
    }

    /// The last failure writing the log (a full disk), if any.
    var logError: SystemError? { log.lastError }

    func startWatching() throws(LoopError) {
        for index in pipes.indices {
            try loop.watch(pipes[index].fd, interest: .readable) { _ in
                self.read(index, maxReads: ContainerOutput.readsPerWakeUp)
            }
        }
    }

    /// Reads what is left in both pipes now, writes any incomplete line as a final record,
    /// and closes them. Called when the container's main process has exited: anything a
    /// leftover process writes later is not the container's any more.
    func drain() {
        onClosed = nil
        for index in pipes.indices where pipes[index].fd >= 0 {
            // Bounded by what the pipe holds (64 KiB by default) plus what leftovers add
            // meanwhile; the cap keeps a writer that outlives the container from holding
            // the loop.
            read(index, maxReads: 1024)
            finish(index)
        }
        log.close()
    }

    func closePipes() {
        for index in pipes.indices { closePipe(index) }
    }

    private func read(_ index: Int, maxReads: Int) {
        for _ in 0..<maxReads {
            let fd = pipes[index].fd
            if fd < 0 { return }
            let held = pipes[index].held
            let half = buffer + index * capacity
            let count = CKingletSystem.read(fd, half + held, capacity - held)
            if count > 0 {
                pipes[index].held = held + count
                writeLines(index, newFrom: held)
                continue
            }
            if count < 0 {
                let error = kinglet_errno()
                if error == EINTR { continue }
                if error == EAGAIN || error == EWOULDBLOCK {
                    if writesIncompleteLines && pipes[index].held > 0 {
                        log.write(pipes[index].stream, partial: true,
                                  text: UnsafeRawBufferPointer(start: half, count: pipes[index].held), at: kinglet_realtime_ns())
                        pipes[index].held = 0
                    }
                    return
                }
            }
            // End of file, or a read error that will not go away.
            finish(index)
            if pipes.allSatisfy({ $0.fd < 0 }) { onClosed?() }
            return
        }
    }

    /// Writes every complete line held for stream `index`; bytes before `newFrom` are known
    /// to hold no newline.
    private func writeLines(_ index: Int, newFrom: Int) {
        let half = buffer + index * capacity
        let bytes = half.assumingMemoryBound(to: UInt8.self)
        let held = pipes[index].held
        let now = kinglet_realtime_ns()
        var lineStart = 0
        var position = newFrom
        while position < held {
            if bytes[position] == UInt8(ascii: "\n") {
                log.write(pipes[index].stream, partial: false,
                          text: UnsafeRawBufferPointer(start: half + lineStart, count: position - lineStart), at: now)
                lineStart = position + 1
            }
            position += 1
        }
        var rest = held - lineStart
        if rest == capacity {
            // A line longer than the buffer: write this piece as partial, keep reading.
            log.write(pipes[index].stream, partial: true, text: UnsafeRawBufferPointer(start: half, count: rest), at: now)
            rest = 0
        } else if rest > 0 && lineStart > 0 {
            memmove(half, half + lineStart, rest)
        }
        pipes[index].held = rest
    }

    /// Writes a held incomplete line as a full record (the stream ended without its
    /// newline, as the kubelet's runtimes do) and closes the pipe.
    private func finish(_ index: Int) {
        if pipes[index].held > 0 {
            log.write(pipes[index].stream, partial: false,
                      text: UnsafeRawBufferPointer(start: buffer + index * capacity, count: pipes[index].held),
                      at: kinglet_realtime_ns())
            pipes[index].held = 0
        }
        closePipe(index)
    }

    private func closePipe(_ index: Int) {
        let fd = pipes[index].fd
        if fd < 0 { return }
        loop.unwatch(fd)
        _ = CKingletSystem.close(fd)
        pipes[index].fd = -1
    }
}
