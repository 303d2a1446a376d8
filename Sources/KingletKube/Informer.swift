import Foundation
import Logging

/// What an informer tells its handler.
public enum InformerEvent: Sendable {
    case added(JSONValue)
    case modified(old: JSONValue, new: JSONValue)
    case deleted(JSONValue)
    /// The first full list has been delivered: the store now holds the whole collection.
    case synced
}

/// The informer's in-memory copy of a collection, keyed "namespace/name".
public struct ObjectStore: Sendable {
    public private(set) var objects: [String: JSONValue] = [:]

    public init() {}

    public subscript(key: String) -> JSONValue? { objects[key] }
    public var count: Int { objects.count }

    /// Applies one watch event; returns the event the handler should see (nil when the
    /// object did not change, e.g. a repeated ADDED after a re-watch).
    public mutating func apply(_ event: WatchEvent) -> InformerEvent? {
        let key = event.object.storeKey
        switch event.kind {
        case .added, .modified:
            let old = objects.updateValue(event.object, forKey: key)
            guard let old else { return .added(event.object) }
            if old.resourceVersion == event.object.resourceVersion, old == event.object { return nil }
            return .modified(old: old, new: event.object)
        case .deleted:
            let old = objects.removeValue(forKey: key)
            return .deleted(old ?? event.object)
        case .bookmark, .error:
            return nil
        }
    }

    /// Replaces the whole store with a fresh list; returns the differences as events
    /// (deletions that the watch missed included).
    public mutating func replace(with items: [JSONValue]) -> [InformerEvent] {
        var events: [InformerEvent] = []
        var fresh: [String: JSONValue] = [:]
        fresh.reserveCapacity(items.count)
        for item in items {
            let key = item.storeKey
            fresh[key] = item
            if let old = objects[key] {
                if old.resourceVersion != item.resourceVersion || old != item { events.append(.modified(old: old, new: item)) }
            } else {
                events.append(.added(item))
            }
        }
        for (key, old) in objects where fresh[key] == nil { events.append(.deleted(old)) }
        objects = fresh
        return events
    }
}

/// LIST then WATCH one collection, forever: tracks the resourceVersion of every event
/// (bookmarks included) and watches again from it when a stream ends; relists on 410;
/// backs off exponentially, with jitter, on errors. Events go to `handler`, one at a time
/// and in order. Nothing polls: a quiet collection costs one open stream.
public actor Informer {
    public let resource: Resource
    public let namespace: String?
    public let labelSelector: String?
    public let fieldSelector: String?
    /// A collection the server does not serve (404 on list: a CRD not installed) counts as
    /// empty, so the informer syncs, and is listed again until it is served.
    public let emptyWhenNotServed: Bool
    private let client: KubeClient
    private let logger: Logger
    private let watchTimeout: Int
    public private(set) var store = ObjectStore()
    public private(set) var hasSynced = false
    /// The resourceVersion to watch from (the list's, then each event's).
    public private(set) var lastResourceVersion = ""
    /// How many times the informer listed (1 + relists), for tests and logs.
    public private(set) var listCount = 0

    public init(client: KubeClient, resource: Resource, namespace: String? = nil, labelSelector: String? = nil,
                fieldSelector: String? = nil, watchTimeout: Int = 300, emptyWhenNotServed: Bool = false, logger: Logger) {
        self.client = client
        self.emptyWhenNotServed = emptyWhenNotServed
        self.resource = resource
        self.namespace = namespace
        self.labelSelector = labelSelector
        self.fieldSelector = fieldSelector
        self.watchTimeout = watchTimeout
        self.logger = logger
    }

    public func object(_ key: String) -> JSONValue? { store[key] }
    public var objects: [String: JSONValue] { store.objects }

    /// Runs until the task is cancelled.
    public func run(handler: @escaping @Sendable (InformerEvent) async -> Void) async {
        var backoff = Backoff(initial: 0.5, maximum: 30)
        var needList = true
        while !Task.isCancelled {
            do {
                if needList {
                    let list = try await client.list(resource, namespace: namespace, labelSelector: labelSelector,
                                                     fieldSelector: fieldSelector)
                    listCount += 1
                    let events = store.replace(with: list.items)
                    lastResourceVersion = list.resourceVersion
                    needList = false
                    for event in events { await handler(event) }
                    if !hasSynced {
                        hasSynced = true
                        await handler(.synced)
                    }
                    logger.debug("listed \(resource.plural)", metadata: ["count": "\(list.items.count)", "rv": "\(list.resourceVersion)"])
                }
                let started = Date()
                // Jitter spreads the re-watches of many informers and replicas.
                let timeout = watchTimeout * Int.random(in: 100...120) / 100
                try await client.watch(resource, namespace: namespace, labelSelector: labelSelector,
                                       fieldSelector: fieldSelector, resourceVersion: lastResourceVersion,
                                       timeoutSeconds: timeout) { event in
                    await self.deliver(event, handler: handler)
                }
                let received = receivedSinceWatch
                receivedSinceWatch = 0
                // A stream that ends at once with nothing in it is a failure in disguise.
                if received == 0 && Date().timeIntervalSince(started) < 1 {
                    try await Task.sleep(for: .seconds(backoff.nextDelay()))
                } else {
                    backoff.reset()
                }
            } catch is CancellationError {
                return
            } catch KubeError.notFound(let message) where emptyWhenNotServed {
                // Not served (yet, or any more: its CRD was deleted): empty until it is.
                receivedSinceWatch = 0
                needList = true
                let events = store.replace(with: [])
                for event in events { await handler(event) }
                if !hasSynced {
                    hasSynced = true
                    await handler(.synced)
                }
                if !reportedNotServed {
                    reportedNotServed = true
                    logger.info("\(resource.plural).\(resource.group) is not served (\(message)); treated as empty, listing again until it is")
                }
                do { try await Task.sleep(for: .seconds(backoff.nextDelay())) } catch { return }
                continue
            } catch KubeError.gone(let message) {
                logger.info("\(resource.plural): resource version \(lastResourceVersion) expired, relisting", metadata: ["message": "\(message)"])
                receivedSinceWatch = 0
                needList = true
            } catch {
                receivedSinceWatch = 0
                if Task.isCancelled { return }
                let delay = backoff.nextDelay()
                logger.warning("\(resource.plural) \(needList ? "list" : "watch") failed, retrying in \(String(format: "%.1f", delay)) s: \(error)")
                do { try await Task.sleep(for: .seconds(delay)) } catch { return }
            }
        }
    }

    private var receivedSinceWatch = 0
    private var reportedNotServed = false

    private func deliver(_ event: WatchEvent, handler: @Sendable (InformerEvent) async -> Void) async {
        receivedSinceWatch += 1
        if let version = event.object.resourceVersion, !version.isEmpty { lastResourceVersion = version }
        if let informerEvent = store.apply(event) { await handler(informerEvent) }
    }
}
