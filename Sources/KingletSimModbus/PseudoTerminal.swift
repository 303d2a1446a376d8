import CKingletSimSystem
import Glibc

/// A pty pair in raw mode. We keep the slave side open ourselves for the pair's life: with
/// no slave open the master polls as hung up (a busy loop), and the kernel resets the
/// slave's termios at its last close, so a master that reopens the port would otherwise
/// find it cooked again (echo would send responses back in as requests).
struct PseudoTerminal {
    /// Non-blocking; the shuttle reads and writes it.
    let master: Int32
    /// Held open only to keep the pair alive; nobody reads it.
    let heldSlave: Int32
    let slavePath: String

    static func open() throws(SimulatorError) -> PseudoTerminal {
        var name = [CChar](repeating: 0, count: 128)
        let master = ksim_open_pty(&name, name.count)
        guard master >= 0 else { throw .system(operation: "open a pseudo-terminal", errno: errno) }
        var keep = false
        defer { if !keep { Glibc.close(master) } }
        let path = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let slave = Glibc.open(path, O_RDWR | O_NOCTTY | O_CLOEXEC)
        guard slave >= 0 else { throw .system(operation: "open \(path)", errno: errno) }
        defer { if !keep { Glibc.close(slave) } }
        try makeRaw(slave, path)
        try makeRaw(master, "pty master of \(path)")
        guard fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK) == 0 else {
            throw .system(operation: "fcntl O_NONBLOCK", errno: errno)
        }
        keep = true
        return PseudoTerminal(master: master, heldSlave: slave, slavePath: path)
    }

    private static func makeRaw(_ fd: Int32, _ what: String) throws(SimulatorError) {
        var settings = termios()
        guard tcgetattr(fd, &settings) == 0 else { throw .system(operation: "tcgetattr \(what)", errno: errno) }
        cfmakeraw(&settings)
        guard tcsetattr(fd, TCSANOW, &settings) == 0 else { throw .system(operation: "tcsetattr \(what)", errno: errno) }
    }

    /// Closing the master hangs up every open slave descriptor: the master's next read
    /// gets EOF or EIO and its writes EIO, as when a USB adapter is pulled.
    func close() {
        Glibc.close(master)
        Glibc.close(heldSlave)
    }
}

/// The `--link` path: a symbolic link to the agent-side pty's slave.
struct SymbolicLink {
    let path: String

    /// Points `path` at `target`, replacing a symbolic link left by a killed run, atomically
    /// (symlink to a temporary name, then rename) so a master never sees the path missing.
    func point(at target: String) throws(SimulatorError) {
        var status = stat()
        if lstat(path, &status) == 0, status.st_mode & S_IFMT != S_IFLNK {
            throw .link(path: path, message: "exists and is not a symbolic link")
        }
        let temporary = "\(path).\(getpid()).tmp"
        unlink(temporary)
        guard symlink(target, temporary) == 0 else {
            throw .link(path: path, message: "cannot create a symbolic link: \(String(cString: strerror(errno)))")
        }
        guard rename(temporary, path) == 0 else {
            let code = errno
            unlink(temporary)
            throw .link(path: path, message: "cannot rename a symbolic link into place: \(String(cString: strerror(code)))")
        }
    }

    /// Removes the link if it still points at `target` (another process may own it by now).
    func remove(ifPointingAt target: String) {
        var buffer = [CChar](repeating: 0, count: 4096)
        let length = readlink(path, &buffer, buffer.count - 1)
        guard length > 0 else { return }
        let text = String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        if text == target { unlink(path) }
    }
}

/// A non-blocking, close-on-exec pipe that carries single bytes between threads.
struct SignalPipe {
    let readEnd: Int32
    let writeEnd: Int32

    init() throws(SimulatorError) {
        var ends: [Int32] = [0, 0]
        guard pipe(&ends) == 0 else { throw .system(operation: "pipe", errno: errno) }
        for end in ends {
            _ = fcntl(end, F_SETFD, FD_CLOEXEC)
            _ = fcntl(end, F_SETFL, fcntl(end, F_GETFL) | O_NONBLOCK)
        }
        readEnd = ends[0]
        writeEnd = ends[1]
    }

    func send(_ byte: UInt8) {
        var value = byte
        _ = write(writeEnd, &value, 1)
    }

    /// Everything sent so far (up to 512 bytes per call).
    func receive() -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: 512)
        let count = read(readEnd, &buffer, buffer.count)
        return count > 0 ? Array(buffer[0..<count]) : []
    }

    func close() {
        Glibc.close(readEnd)
        Glibc.close(writeEnd)
    }
}

/// Nanoseconds on the monotonic clock.
func monotonicNanoseconds() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
}

/// Lines on standard error, each with one write(2) so lines of the two threads do not mix.
struct Log: Sendable {
    let verbose: Bool

    func say(_ line: String) {
        let text = "kinglet-sim modbus: \(line)\n"
        var bytes = Array(text.utf8)
        _ = bytes.withUnsafeMutableBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
    }

    func trace(_ line: @autoclosure () -> String) {
        if verbose { say(line()) }
    }
}

/// A joinable POSIX thread (Foundation's Thread cannot be joined, and stop() must know
/// both threads are gone before it frees what they use).
final class JoinableThread {
    private final class Body {
        let run: () -> Void
        init(_ run: @escaping () -> Void) { self.run = run }
    }

    private var thread = pthread_t()
    private var joined = false

    init(_ body: @escaping @Sendable () -> Void) throws(SimulatorError) {
        let box = Unmanaged.passRetained(Body(body)).toOpaque()
        let result = pthread_create(&thread, nil, { raw in
            let body = Unmanaged<Body>.fromOpaque(raw!).takeRetainedValue()
            body.run()
            return nil
        }, box)
        guard result == 0 else {
            Unmanaged<Body>.fromOpaque(box).release()
            throw .system(operation: "pthread_create", errno: result)
        }
    }

    func join() {
        guard !joined else { return }
        joined = true
        pthread_join(thread, nil)
    }
}
