import AsyncHTTPClient
import Foundation
import NIOCore

/// One key-value pair as etcd returns it.
public struct EtcdKeyValue: Sendable {
    public let key: String
    public let value: [UInt8]
    public let createRevision: Int
    public let modRevision: Int
    public let version: Int
}

public enum EtcdError: Error, CustomStringConvertible, Sendable {
    /// The requested revision was compacted away (kube-apiserver answers 410 Expired).
    case compacted(requested: Int, compactRevision: Int)
    case failed(String)

    public var description: String {
        switch self {
        case .compacted(let requested, let compact):
            "etcd: revision \(requested) has been compacted (compact revision \(compact))"
        case .failed(let message): "etcd: \(message)"
        }
    }
}

/// The outcome of a compare-and-swap write.
public enum EtcdWrite: Sendable {
    case written(revision: Int)
    /// The comparison failed; `current` is the key's value now (nil when absent).
    case conflict(current: EtcdKeyValue?)
}

/// etcd v3 through its grpc-gateway JSON API (`/v3/...`, base64 keys and values), over
/// pooled HTTP/1.1 connections. Writes use transactions on mod_revision/create_revision,
/// which is how kube-apiserver keeps optimistic concurrency.
public final class EtcdClient: Sendable {
    public let endpoint: String
    private let http: HTTPClient
    /// Watches hold a connection each for their whole life, so they get their own pool.
    private let watchHTTP: HTTPClient

    public init(endpoint: String) {
        self.endpoint = endpoint.hasSuffix("/") ? String(endpoint.dropLast()) : endpoint
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 64)
        configuration.timeout = .init(connect: .seconds(5), read: .seconds(60))
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        var watchConfiguration = HTTPClient.Configuration()
        watchConfiguration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 4096)
        watchConfiguration.timeout = .init(connect: .seconds(5))
        watchHTTP = HTTPClient(eventLoopGroupProvider: .singleton, configuration: watchConfiguration)
    }

    public func shutdown() async {
        try? await http.shutdown()
        try? await watchHTTP.shutdown()
    }

    // MARK: Encoding

    static func base64(_ text: String) -> JSON { .string(Data(text.utf8).base64EncodedString()) }
    static func base64(_ bytes: [UInt8]) -> JSON { .string(Data(bytes).base64EncodedString()) }

    static func decodeBase64(_ value: JSON?) -> [UInt8] {
        guard let text = value?.stringValue, let data = Data(base64Encoded: text) else { return [] }
        return [UInt8](data)
    }

    /// The end of the range holding every key that starts with `prefix`.
    static func prefixEnd(_ prefix: String) -> [UInt8] {
        var bytes = Array(prefix.utf8)
        while let last = bytes.last {
            if last < 0xFF { bytes[bytes.count - 1] = last + 1; return bytes }
            bytes.removeLast()
        }
        return [0]
    }

    static func keyValue(_ json: JSON) -> EtcdKeyValue {
        EtcdKeyValue(
            key: String(decoding: decodeBase64(json["key"]), as: UTF8.self),
            value: decodeBase64(json["value"]),
            createRevision: json["create_revision"]?.intValue ?? 0,
            modRevision: json["mod_revision"]?.intValue ?? 0,
            version: json["version"]?.intValue ?? 0)
    }

    // MARK: Calls

    func call(_ path: String, _ body: JSON) async throws -> JSON {
        var request = HTTPClientRequest(url: endpoint + path)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(bytes: body.serialized))
        let response = try await http.execute(request, timeout: .seconds(60))
        let buffer = try await response.body.collect(upTo: 1 << 30)
        let json = try JSONParser.parse(Array(buffer.readableBytesView))
        guard response.status == .ok else { throw Self.error(from: json, requested: body["revision"]?.intValue ?? 0) }
        return json
    }

    static func error(from json: JSON, requested: Int) -> EtcdError {
        let message = json["error"]?.stringValue ?? json["message"]?.stringValue ?? json.text
        if message.contains("compacted") { return .compacted(requested: requested, compactRevision: 0) }
        return .failed(message)
    }

    /// Reads one key.
    public func get(_ key: String, serializable: Bool = false) async throws -> (revision: Int, value: EtcdKeyValue?) {
        var body: JSON = ["key": Self.base64(key)]
        if serializable { body["serializable"] = true }
        let response = try await call("/v3/kv/range", body)
        let kv = response["kvs"]?.arrayValue?.first.map(Self.keyValue)
        return (response.at(["header", "revision"])?.intValue ?? 0, kv)
    }

    /// Reads the keys under `prefix` from `startKey` on, at `revision` (0 = latest).
    public func list(prefix: String, startKey: String? = nil, revision: Int = 0, limit: Int = 0)
        async throws -> (revision: Int, values: [EtcdKeyValue], more: Bool)
    {
        var body: JSON = ["key": Self.base64(startKey ?? prefix), "range_end": Self.base64(Self.prefixEnd(prefix))]
        if revision > 0 { body["revision"] = .int(revision) }
        if limit > 0 { body["limit"] = .int(limit) }
        let response = try await call("/v3/kv/range", body)
        let values = (response["kvs"]?.arrayValue ?? []).map(Self.keyValue)
        return (response.at(["header", "revision"])?.intValue ?? 0, values, response["more"]?.boolValue ?? false)
    }

    /// Writes `value` only if `key` does not exist.
    public func create(_ key: String, value: [UInt8]) async throws -> EtcdWrite {
        try await transaction(compare: ["target": "CREATE", "key": Self.base64(key), "create_revision": 0, "result": "EQUAL"],
                              success: ["request_put": ["key": Self.base64(key), "value": Self.base64(value)]], key: key)
    }

    /// Writes `value` only if `key` is still at `modRevision`.
    public func update(_ key: String, value: [UInt8], modRevision: Int) async throws -> EtcdWrite {
        try await transaction(compare: ["target": "MOD", "key": Self.base64(key), "mod_revision": .int(modRevision), "result": "EQUAL"],
                              success: ["request_put": ["key": Self.base64(key), "value": Self.base64(value)]], key: key)
    }

    /// Deletes `key` only if it is still at `modRevision`.
    public func delete(_ key: String, modRevision: Int) async throws -> EtcdWrite {
        try await transaction(compare: ["target": "MOD", "key": Self.base64(key), "mod_revision": .int(modRevision), "result": "EQUAL"],
                              success: ["request_delete_range": ["key": Self.base64(key)]], key: key)
    }

    private func transaction(compare: JSON, success: JSON, key: String) async throws -> EtcdWrite {
        let response = try await call("/v3/kv/txn", [
            "compare": [compare], "success": [success], "failure": [["request_range": ["key": Self.base64(key)]]],
        ])
        let revision = response.at(["header", "revision"])?.intValue ?? 0
        if response["succeeded"]?.boolValue == true { return .written(revision: revision) }
        let current = response["responses"]?.arrayValue?.first?.at(["response_range", "kvs"])?.arrayValue?.first.map(Self.keyValue)
        return .conflict(current: current)
    }

    /// Deletes every key under `prefix` (test support: wiping a namespace).
    public func deletePrefix(_ prefix: String) async throws {
        _ = try await call("/v3/kv/deleterange", ["key": Self.base64(prefix), "range_end": Self.base64(Self.prefixEnd(prefix))])
    }

    /// Compacts the history up to `revision`: watches and lists from older revisions then fail
    /// with `EtcdError.compacted` (410 Expired at the API).
    public func compact(revision: Int) async throws {
        _ = try await call("/v3/kv/compaction", ["revision": .int(revision), "physical": true])
    }

    /// The store's current revision.
    public func currentRevision() async throws -> Int {
        try await get("/registry/health").revision
    }

    // MARK: Watch

    /// One message of a watch stream.
    public enum WatchMessage: Sendable {
        case put(EtcdKeyValue, previous: EtcdKeyValue?)
        case delete(key: String, revision: Int, previous: EtcdKeyValue?)
        /// A progress notification or an empty response: every change up to `revision` was sent.
        case progress(revision: Int)
    }

    /// Streams the changes under `prefix` from `startRevision` until the task is cancelled.
    /// Throws `EtcdError.compacted` when `startRevision` was compacted away.
    public func watch(prefix: String, startRevision: Int, onMessage: @Sendable (WatchMessage) async throws -> Void) async throws {
        var request = HTTPClientRequest(url: endpoint + "/v3/watch")
        request.method = .POST
        let body: JSON = ["create_request": [
            "key": Self.base64(prefix), "range_end": Self.base64(Self.prefixEnd(prefix)),
            "start_revision": .int(startRevision), "prev_kv": true, "progress_notify": true,
        ]]
        request.body = .bytes(ByteBuffer(bytes: body.serialized))
        let response = try await watchHTTP.execute(request, deadline: .now() + .hours(24 * 365))
        guard response.status == .ok else { throw EtcdError.failed("watch answered \(response.status)") }
        var pending: [UInt8] = []
        for try await chunk in response.body {
            pending.append(contentsOf: chunk.readableBytesView)
            while let newline = pending.firstIndex(of: 0x0A) {
                let line = Array(pending[..<newline])
                pending.removeSubrange(...newline)
                if line.allSatisfy({ $0 == 0x20 || $0 == 0x0D }) { continue }
                let message = try JSONParser.parse(line)
                if let error = message["error"] { throw Self.error(from: error, requested: startRevision) }
                guard let result = message["result"] else { continue }
                if result["canceled"]?.boolValue == true {
                    let compact = result["compact_revision"]?.intValue ?? 0
                    if compact > 0 { throw EtcdError.compacted(requested: startRevision, compactRevision: compact) }
                    throw EtcdError.failed("watch cancelled: \(result["cancel_reason"]?.stringValue ?? "no reason")")
                }
                let events = result["events"]?.arrayValue ?? []
                for event in events {
                    let kv = event["kv"].map(Self.keyValue)
                    let previous = event["prev_kv"].map(Self.keyValue)
                    if event["type"]?.stringValue == "DELETE" {
                        try await onMessage(.delete(key: kv?.key ?? "", revision: kv?.modRevision ?? 0, previous: previous))
                    } else if let kv {
                        try await onMessage(.put(kv, previous: previous))
                    }
                }
                if events.isEmpty, result["created"]?.boolValue != true, let revision = result.at(["header", "revision"])?.intValue {
                    try await onMessage(.progress(revision: revision))
                }
            }
        }
        throw EtcdError.failed("watch stream ended")
    }
}
