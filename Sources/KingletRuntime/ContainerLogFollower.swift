import CKingletSystem
import KingletCore

/// `kinglet logs -f`: follows a container's log file on the loop. A timer polls the file;
/// when the runtime rotates it (the path then names a new file), the follower finishes the
/// old file through its open descriptor, reads the files rotated after it (several
/// rotations may happen between two polls), then moves to the new one. Only lines whose
/// file was already deleted by rotation are missed.
public final class ContainerLogFollower {
    private let loop: any EventLoop
    private let logPath: String
    private let pollInterval: Duration
    private let onMessage: (LogMessage) -> Void
    private var fd: Int32 = -1
    private var inode: UInt64 = 0
    private var offset: Int64 = 0
    private var splitter = LogLineSplitter()
    private var assembler = LogMessageAssembler()
    private var timer: TimerHandle? = nil
    /// Allocated once, reused by every poll.
    private let buffer: UnsafeMutableRawPointer
    private static let bufferBytes = 16 * 1024
    /// Bytes read per poll at most, so a huge backlog does not hold the loop.
    private static let bytesPerPoll = 1024 * 1024

    /// `onMessage` hears every message, on the loop. With `fromStart` the follower first
    /// replays what the file already holds (use `ContainerLogReader` for the rotated files
    /// before it); without, it starts at the end.
    public init(loop: any EventLoop, logPath: String, fromStart: Bool = true,
                pollInterval: Duration = .milliseconds(250), onMessage: @escaping (LogMessage) -> Void) {
        self.loop = loop
        self.logPath = logPath
        self.pollInterval = pollInterval
        self.onMessage = onMessage
        buffer = UnsafeMutableRawPointer.allocate(byteCount: ContainerLogFollower.bufferBytes, alignment: 8)
        if openCurrent(), !fromStart {
            offset = max(kinglet_file_size(fd), 0)
            _ = lseek(fd, off_t(offset), SEEK_SET)
        }
    }

    deinit {
        if fd >= 0 { _ = close(fd) }
        buffer.deallocate()
    }

    /// Starts polling; the first poll runs on the next turn of the loop.
    public func start() {
        guard timer == nil else { return }
        timer = loop.schedule(after: .zero) { self.poll() }
    }

    /// Stops polling and closes the file.
    public func stop() {
        if let timer { loop.cancel(timer) }
        timer = nil
        if fd >= 0 { _ = close(fd) }
        fd = -1
    }

    private func poll() {
        timer = nil
        var budget = ContainerLogFollower.bytesPerPoll
        if fd < 0 { _ = openCurrent() }
        if fd >= 0 {
            budget = readToEnd(budget: budget)
            if budget > 0 { followRotation(budget: budget) }
        }
        // A backlog left over reads again right away, anything else after the interval.
        let delay = budget <= 0 ? Duration.zero : pollInterval
        timer = loop.schedule(after: delay) { self.poll() }
    }

    /// Reads what the open file holds beyond `offset`. Returns the budget left; 0 or less
    /// means the file may hold more.
    private func readToEnd(budget: Int) -> Int {
        var budget = budget
        // Truncated under us (a runtime that truncates instead of rotating): start over.
        let size = kinglet_file_size(fd)
        if size >= 0 && size < offset {
            offset = 0
            _ = lseek(fd, 0, SEEK_SET)
        }
        while budget > 0 {
            let count = read(fd, buffer, ContainerLogFollower.bufferBytes)
            if count < 0 && kinglet_errno() == EINTR { continue }
            if count <= 0 { return budget }
            offset += Int64(count)
            budget -= count
            let bytes = UnsafeRawBufferPointer(start: buffer, count: count)
            splitter.add(bytes) { line in
                if let record = CRILogRecord(line: line), let message = assembler.add(record) { onMessage(message) }
            }
        }
        return budget
    }

    /// When the path now names another file, the old one is complete (the writer renames
    /// it only after its last record). Files rotated after it come next, oldest first
    /// (`name.log.k-1` ... `name.log.1` when it is now `name.log.k`; all of them when it
    /// is deleted), then the new file.
    private func followRotation(budget: Int) {
        var current: UInt64 = 0
        guard kinglet_path_inode(logPath, &current) == 0, current != inode else { return }
        var newer: [String] = []
        var index = 1
        while index <= 1000 {
            let path = RotatingLogFile.rotatedPath(logPath, index)
            var identity: UInt64 = 0
            if kinglet_path_inode(path, &identity) != 0 || identity == inode { break }
            newer.append(path)
            index += 1
        }
        _ = close(fd)
        fd = -1
        for path in newer.reversed() {
            // The writer never splits a record across files: each file starts clean.
            splitter = LogLineSplitter()
            fd = kinglet_open(path, O_RDONLY, 0)
            if fd < 0 { continue }
            // A rotated file is capped in size by the writer: read it whole.
            _ = readToEnd(budget: Int.max)
            _ = close(fd)
            fd = -1
        }
        splitter = LogLineSplitter()
        if openCurrent() { _ = readToEnd(budget: budget) }
    }

    private func openCurrent() -> Bool {
        let opened = kinglet_open(logPath, O_RDONLY, 0)
        if opened < 0 { return false }
        var identity: UInt64 = 0
        _ = kinglet_fd_inode(opened, &identity)
        fd = opened
        inode = identity
        offset = 0
        return true
    }
}
