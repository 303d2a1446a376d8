import Foundation

/// Which objects a list or watch wants.
struct ObjectFilter: Sendable {
    let labels: LabelSelector
    let fields: FieldSelector
    func matches(_ object: JSON) -> Bool {
        labels.matches(object.at(["metadata", "labels"])?.stringMap ?? [:]) && fields.matches(object)
    }
}

/// One watch request: an etcd watch from `startRevision` translated into Kubernetes watch
/// events, with BOOKMARKs every `bookmarkInterval` when asked, ended by `timeout`.
struct WatchStream: Sendable {
    enum Item: Sendable {
        case message(EtcdClient.WatchMessage)
        case failed(any Error)
        case tick
        case timeout
    }

    let store: ObjectStore
    let resource: ResourceType
    let namespace: String?
    let filter: ObjectFilter
    let startRevision: Int
    let initial: [JSON]
    /// `sendInitialEvents=true`: the initial ADDED events end with a BOOKMARK annotated
    /// `k8s.io/initial-events-end`, as the watch-list protocol expects.
    let initialEventsEnd: Bool
    let bookmarks: Bool
    /// Server-side printing asked for (`kubectl get -w`): each object becomes a one-row
    /// Table; the value is the `includeObject` parameter.
    let table: String??
    let bookmarkInterval: Double
    let timeout: Double

    static func line(_ type: String, _ object: JSON) -> [UInt8] {
        var out: [UInt8] = []
        JSON.object(["type": .string(type), "object": object]).write(into: &out)
        out.append(0x0A)
        return out
    }

    func withKind(_ object: JSON) -> JSON {
        var object = object
        object["kind"] = .string(resource.kind)
        object["apiVersion"] = .string(resource.apiVersion)
        if let includeObject = table {
            return Tables.table(resource, objects: [object], listMetadata: ["resourceVersion": object.at(["metadata", "resourceVersion"]) ?? ""],
                                includeObject: includeObject)
        }
        return object
    }

    /// Runs until the timeout, a failure or cancellation; `send` writes one line.
    func run(send: ([UInt8]) async throws -> Void) async throws {
        for object in initial { try await send(Self.line("ADDED", withKind(object))) }
        if initialEventsEnd {
            try await send(Self.line("BOOKMARK", bookmark(revision: startRevision - 1, annotations: ["k8s.io/initial-events-end": "true"])))
        }
        let (items, continuation) = AsyncStream<Item>.makeStream()
        let etcd = store.etcd
        let prefix = resource.listPrefix(namespace: namespace)
        let start = startRevision
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                do {
                    try await etcd.watch(prefix: prefix, startRevision: start) { message in continuation.yield(.message(message)) }
                } catch {
                    continuation.yield(.failed(error))
                }
            }
            if bookmarks {
                let interval = bookmarkInterval
                group.addTask {
                    while !Task.isCancelled {
                        try await Task.sleep(for: .seconds(interval))
                        continuation.yield(.tick)
                    }
                }
            }
            let timeout = self.timeout
            group.addTask {
                try await Task.sleep(for: .seconds(timeout))
                continuation.yield(.timeout)
            }
            defer { group.cancelAll(); continuation.finish() }
            var revision = start - 1
            for await item in items {
                switch item {
                case .message(let message):
                    if let (type, object) = try translate(message) { try await send(Self.line(type, object)) }
                    switch message {
                    case .put(let kv, _): revision = max(revision, kv.modRevision)
                    case .delete(_, let at, _): revision = max(revision, at)
                    case .progress(let at): revision = max(revision, at)
                    }
                case .tick:
                    try await send(Self.line("BOOKMARK", bookmark(revision: revision)))
                case .timeout:
                    return
                case .failed(let error):
                    if Task.isCancelled { return }
                    let status: APIError
                    if case EtcdError.compacted(let requested, let compact) = error {
                        status = .expired("too old resource version: \(requested - 1) (\(compact))")
                    } else {
                        status = APIError(code: 500, reason: "InternalError", message: "watch failed: \(error)")
                    }
                    try await send(Self.line("ERROR", status.status))
                    return
                }
            }
        }
    }

    func bookmark(revision: Int, annotations: JSON? = nil) -> JSON {
        var metadata: JSON = ["resourceVersion": .string(String(revision))]
        if let annotations { metadata["annotations"] = annotations }
        return ["kind": .string(resource.kind), "apiVersion": .string(resource.apiVersion), "metadata": metadata]
    }

    /// The Kubernetes event for one etcd change, seen through the filter: an object that
    /// starts matching is ADDED, one that stops matching is DELETED.
    func translate(_ message: EtcdClient.WatchMessage) throws -> (String, JSON)? {
        switch message {
        case .put(let kv, let previous):
            let object = try store.decode(kv, resource: resource)
            let matches = filter.matches(object)
            guard let previous else { return matches ? ("ADDED", withKind(object)) : nil }
            var old = try store.decode(previous, resource: resource)
            let matched = filter.matches(old)
            switch (matched, matches) {
            case (true, true): return ("MODIFIED", withKind(object))
            case (false, true): return ("ADDED", withKind(object))
            case (true, false):
                old.set(["metadata", "resourceVersion"], .string(String(kv.modRevision)))
                return ("DELETED", withKind(old))
            case (false, false): return nil
            }
        case .delete(_, let revision, let previous):
            guard let previous else { return nil }
            var old = try store.decode(previous, resource: resource)
            guard filter.matches(old) else { return nil }
            old.set(["metadata", "resourceVersion"], .string(String(revision)))
            return ("DELETED", withKind(old))
        case .progress:
            return nil
        }
    }
}
