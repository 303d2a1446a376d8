import Foundation
import KingletKube
import Logging

/// API writes, bounded and coalesced: at most `concurrency` run at once (10,000 nodes'
/// lease renewals must not open 10,000 requests), and a write queued under a key that is
/// already waiting replaces it (only the latest node status or lease renewal matters).
/// Writes of one key run in submission order, never two at once. Transport errors, 429
/// and 5xx are retried with back-off; other errors are logged. `submit` is synchronous so
/// that callers' order is kept.
public final class WriteQueue: @unchecked Sendable {
    public typealias Operation = @Sendable () async throws -> Void

    private let concurrency: Int
    private let logger: Logger
    private let lock = NSLock()
    private var waiting: [String: Operation] = [:]
    private var order: [String] = []
    private var orderStart = 0
    private var running: Set<String> = []
    private var workers = 0
    private var completedCount = 0
    private var failedCount = 0

    public init(concurrency: Int = 32, logger: Logger) {
        self.concurrency = max(1, concurrency)
        self.logger = logger
    }

    /// Queues `operation` under `key`, replacing a write of that key that has not started.
    public func submit(_ key: String, _ operation: @escaping Operation) {
        lock.lock()
        if waiting.updateValue(operation, forKey: key) == nil { order.append(key) }
        let toStart = startableWorkers()
        lock.unlock()
        for _ in 0..<toStart { Task { await self.work() } }
    }

    public var pendingCount: Int { lock.withLock { waiting.count + running.count } }
    public var completed: Int { lock.withLock { completedCount } }
    public var failed: Int { lock.withLock { failedCount } }

    /// How many workers to start now (called with the lock held).
    private func startableWorkers() -> Int {
        var count = 0
        while workers < concurrency && workers < waiting.count {
            workers += 1
            count += 1
        }
        return count
    }

    private func takeNext() -> (String, Operation)? {
        lock.lock()
        defer { lock.unlock() }
        var skipped: [String] = []
        defer { order.append(contentsOf: skipped) }
        while orderStart < order.count {
            let key = order[orderStart]
            orderStart += 1
            guard let operation = waiting[key] else { continue }
            // Its previous write is still running: it waits for the next round.
            if running.contains(key) { skipped.append(key); continue }
            waiting.removeValue(forKey: key)
            running.insert(key)
            compact()
            return (key, operation)
        }
        compact()
        workers -= 1
        return nil
    }

    private func compact() {
        if orderStart > 1024 && orderStart * 2 > order.count {
            order.removeFirst(orderStart)
            orderStart = 0
        }
    }

    private func finish(_ key: String, succeeded: Bool) -> Int {
        lock.lock()
        defer { lock.unlock() }
        running.remove(key)
        if succeeded { completedCount += 1 } else { failedCount += 1 }
        // A write of this key that waited behind this one may need a worker.
        return startableWorkers()
    }

    private func work() async {
        while let (key, operation) = takeNext() {
            let succeeded = await run(key, operation)
            for _ in 0..<finish(key, succeeded: succeeded) { Task { await self.work() } }
        }
    }

    private func run(_ key: String, _ operation: Operation) async -> Bool {
        var backoff = Backoff(initial: 0.5, maximum: 8)
        for attempt in 1...5 {
            do {
                try await operation()
                return true
            } catch let error as KubeError {
                let retriable: Bool
                switch error {
                case .transport: retriable = true
                case .status(let code, _, _): retriable = code == 429 || code >= 500
                default: retriable = false
                }
                guard retriable, attempt < 5 else {
                    logger.warning("write \(key) failed: \(error)")
                    return false
                }
            } catch {
                logger.warning("write \(key) failed: \(error)")
                return false
            }
            try? await Task.sleep(for: .seconds(backoff.nextDelay()))
        }
        return false
    }
}
