import CKingletSystem
import KingletCore

/// The image store's durable steps (fsync, syncfs, rename, tree removal), run in order, one
/// list at a time, on a flusher thread (`kinglet_flusher`, the cache's off-loop syncer)
/// whose eventfd the loop watches, so the loop never waits on storage: an fsync on an SD
/// card takes milliseconds (7 ms measured on a slow card) and a syncfs after a layer much
/// more. A list that fails stops at its failing step, and the completion gets the error.
///
/// Without `start(on:)` (tools, tests) a list runs at once on the caller's thread and the
/// completion is called before `run` returns.
public final class StoreSync {
    public enum Step: Equatable, Sendable {
        /// fsync(2) of a file or folder.
        case sync(String)
        /// syncfs(2): everything written on the file system holding the path.
        case syncFileSystem(String)
        case rename(String, String)
        /// The path and everything below it, never crossing into another file system.
        case remove(String)
    }

    private var flusher: OpaquePointer?
    private var loop: (any EventLoop)?
    private var queue: [(steps: [Step], completion: (ImageStoreError?) -> Void)] = []
    private var running: (steps: [Step], completion: (ImageStoreError?) -> Void)?
    /// Step lists run so far.
    public private(set) var listsRun: UInt64 = 0

    public init() {}

    /// Moves the work to a flusher thread watched on `loop`. `delayMicroseconds` > 0 sleeps
    /// that long before every list (fault injection: slow storage).
    public func start(on loop: any EventLoop, delayMicroseconds: UInt32 = 0) throws(ImageStoreError) {
        guard flusher == nil else { return }
        guard let started = kinglet_flusher_start(nil, delayMicroseconds) else {
            throw .system("start the image store's sync thread", kinglet_errno())
        }
        do {
            try loop.watch(kinglet_flusher_fd(started), interest: .readable) { [self] _ in self.collect() }
        } catch {
            kinglet_flusher_stop(started)
            throw .system("watch the image store's sync thread", EINVAL)
        }
        flusher = started
        self.loop = loop
    }

    /// Lists queued or running.
    public var pending: Int { queue.count + (running == nil ? 0 : 1) }

    /// Runs `steps` after every list queued before them; `completion` on the loop, with the
    /// failure if a step failed.
    public func run(_ steps: [Step], completion: @escaping (ImageStoreError?) -> Void) {
        guard flusher != nil else {
            let (bytes, count) = StoreSync.encode(steps)
            var failed = 0
            let error = bytes.withUnsafeBufferPointer { kinglet_sync_steps_run($0.baseAddress!, count, &failed) }
            listsRun += 1
            completion(error == 0 ? nil : StoreSync.failure(steps, failed, error))
            return
        }
        queue.append((steps, completion))
        submitNext()
    }

    /// Waits for what is queued, then stops the thread (a clean agent stop).
    public func stop() {
        guard let flusher else { return }
        while running != nil {
            var error: Int32 = 0
            if kinglet_flusher_wait(flusher, &error) == 1 { finish(error: error) } else { break }
        }
        loop?.unwatch(kinglet_flusher_fd(flusher))
        kinglet_flusher_stop(flusher)
        self.flusher = nil
        let left = queue
        queue = []
        // Nothing runs them any more: done here, on this thread.
        for list in left { run(list.steps, completion: list.completion) }
    }

    private func submitNext() {
        guard running == nil, let flusher, !queue.isEmpty else { return }
        let next = queue.removeFirst()
        let (bytes, count) = StoreSync.encode(next.steps)
        running = next
        if bytes.withUnsafeBufferPointer({ kinglet_flusher_submit_steps(flusher, $0.baseAddress!, count) }) != 0 {
            running = nil
            let error = kinglet_errno()
            next.completion(.system("queue an fsync", error))
        }
    }

    private func collect() {
        guard let flusher else { return }
        var error: Int32 = 0
        guard kinglet_flusher_collect(flusher, &error) == 1 else { return }
        finish(error: error)
    }

    private func finish(error: Int32) {
        guard let done = running, let flusher else { return }
        running = nil
        listsRun += 1
        let failure = error == 0 ? nil : StoreSync.failure(done.steps, Int(kinglet_flusher_failed_step(flusher)), error)
        done.completion(failure)
        submitNext()
    }

    static func failure(_ steps: [Step], _ index: Int, _ error: Int32) -> ImageStoreError {
        guard index < steps.count else { return .system("sync", error) }
        switch steps[index] {
        case .sync(let path): return .system("fsync \(path)", error)
        case .syncFileSystem(let path): return .system("syncfs \(path)", error)
        case .rename(let from, let to): return .system("rename \(from) to \(to)", error)
        case .remove(let path): return .system("remove \(path)", error)
        }
    }

    /// The C step list: each step's operation byte, then its NUL-terminated path(s).
    static func encode(_ steps: [Step]) -> ([CChar], Int) {
        var bytes: [CChar] = []
        func add<Operation: BinaryInteger>(_ operation: Operation, _ paths: String...) {
            bytes.append(CChar(truncatingIfNeeded: operation))
            for path in paths {
                for byte in path.utf8 { bytes.append(CChar(bitPattern: byte)) }
                bytes.append(0)
            }
        }
        for step in steps {
            switch step {
            case .sync(let path): add(KINGLET_SYNC_FSYNC, path)
            case .syncFileSystem(let path): add(KINGLET_SYNC_SYNCFS, path)
            case .rename(let from, let to): add(KINGLET_SYNC_RENAME, from, to)
            case .remove(let path): add(KINGLET_SYNC_REMOVE, path)
            }
        }
        let count = bytes.count
        if bytes.isEmpty { bytes.append(0) }
        return (bytes, count)
    }
}
