/// KingletKube: the relay's Kubernetes client, written for the relay on AsyncHTTPClient.
/// It reads kubeconfig and in-cluster configuration, keeps objects as `JSONValue` (so
/// unknown fields survive a PATCH or PUT), maps error statuses to typed `KubeError`s, and
/// runs list+watch informers (`Informer`) with bookmarks, relist on 410 and back-off.
import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOSSL

/// The three PATCH flavours the API server takes.
public enum PatchType: String, Sendable {
    /// RFC 7386: objects merge, lists are replaced.
    case merge = "application/merge-patch+json"
    /// Kubernetes' own: lists with a merge key (conditions by type...) merge by that key.
    case strategicMerge = "application/strategic-merge-patch+json"
    /// RFC 6902 operations.
    case json = "application/json-patch+json"
}

/// One object collection page: the objects and the list's resourceVersion.
public struct ObjectList: Sendable {
    public var items: [JSONValue]
    public var resourceVersion: String
}

/// A connection to one API server. Safe to share between tasks.
public final class KubeClient: Sendable {
    public let config: KubeConfig
    let http: HTTPClient
    let logger: Logger
    let token: TokenSource
    /// How long a plain request may wait for its answer's head.
    let requestTimeout: TimeAmount

    public init(config: KubeConfig, logger: Logger = Logger(label: "kinglet.kube"),
                requestTimeout: TimeAmount = .seconds(30)) throws(KubeConfigError) {
        self.config = config
        // AsyncHTTPClient logs every request at debug: too much for a relay's debug log.
        var httpLogger = logger
        httpLogger.logLevel = max(logger.logLevel, .info)
        self.logger = httpLogger
        self.requestTimeout = requestTimeout
        self.token = TokenSource(token: config.token, file: config.tokenFile)
        var tls: TLSConfiguration? = nil
        if config.server.hasPrefix("https://") {
            var settings = TLSConfiguration.makeClientConfiguration()
            do {
                if let ca = config.certificateAuthority {
                    settings.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(ca))
                }
            } catch {
                throw KubeConfigError("\(config.source): the certificate authority is not a PEM certificate (\(error))")
            }
            if let certificate = config.clientCertificate, let key = config.clientKey {
                do {
                    settings.certificateChain = try NIOSSLCertificate.fromPEMBytes(certificate).map { .certificate($0) }
                } catch {
                    throw KubeConfigError("\(config.source): the client certificate is not a PEM certificate (\(error))")
                }
                do {
                    settings.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: key, format: .pem))
                } catch {
                    throw KubeConfigError("\(config.source): the client key is not a PEM private key (\(error))")
                }
            }
            if config.insecureSkipTLSVerify { settings.certificateVerification = .none }
            tls = settings
        }
        var configuration = HTTPClient.Configuration(
            tlsConfiguration: tls,
            // No read timeout: watch streams are quiet for minutes. Plain requests have a
            // deadline; watches a watchdog (see watch()).
            timeout: .init(connect: .seconds(10), read: nil),
            // Watches hold an HTTP/1.1 connection each; writes need room beside them.
            connectionPool: .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 64))
        configuration.httpVersion = .automatic
        self.http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// Closes every connection. Call once, when done.
    public func shutdown() async {
        try? await http.shutdown()
    }

    // MARK: Verbs

    public func get(_ resource: Resource, namespace: String? = nil, name: String, subresource: String? = nil) async throws -> JSONValue {
        try await send(.GET, resource.objectPath(namespace: namespace, name: name, subresource: subresource))
    }

    /// Every object of a collection (paged, 500 a page), with the list's resourceVersion.
    public func list(_ resource: Resource, namespace: String? = nil, labelSelector: String? = nil,
                     fieldSelector: String? = nil, pageSize: Int = 500) async throws -> ObjectList {
        var items: [JSONValue] = []
        var continueToken: String? = nil
        var resourceVersion = ""
        repeat {
            var query: [(String, String)] = [("limit", String(pageSize))]
            if let labelSelector { query.append(("labelSelector", labelSelector)) }
            if let fieldSelector { query.append(("fieldSelector", fieldSelector)) }
            if let continueToken { query.append(("continue", continueToken)) }
            let page = try await send(.GET, resource.collectionPath(namespace: namespace), query: query)
            guard let pageItems = page["items"]?.arrayValue ?? (page["items"]?.isNull == true ? [] : nil) else {
                throw KubeError.decoding("a \(resource.plural) list without items")
            }
            let kind = kindName(resource)
            for var item in pageItems {
                // Items in a list carry no kind/apiVersion; add them so objects are whole.
                if item["kind"] == nil { item["kind"] = .string(kind) }
                if item["apiVersion"] == nil { item["apiVersion"] = .string(resource.apiVersion) }
                items.append(item)
            }
            resourceVersion = page[path: "metadata", "resourceVersion"]?.stringValue ?? resourceVersion
            continueToken = page[path: "metadata", "continue"]?.stringValue
            if continueToken?.isEmpty == true { continueToken = nil }
        } while continueToken != nil
        return ObjectList(items: items, resourceVersion: resourceVersion)
    }

    /// One page of at most `limit` objects (a cheap "is the API there and may I list?").
    public func listPage(_ resource: Resource, namespace: String? = nil, labelSelector: String? = nil, limit: Int) async throws -> ObjectList {
        var query: [(String, String)] = [("limit", String(limit))]
        if let labelSelector { query.append(("labelSelector", labelSelector)) }
        let page = try await send(.GET, resource.collectionPath(namespace: namespace), query: query)
        return ObjectList(items: page["items"]?.arrayValue ?? [], resourceVersion: page[path: "metadata", "resourceVersion"]?.stringValue ?? "")
    }

    public func create(_ resource: Resource, namespace: String? = nil, _ object: JSONValue) async throws -> JSONValue {
        try await send(.POST, resource.collectionPath(namespace: namespace), body: object.compactBytes)
    }

    /// PUT: the object must carry its current resourceVersion, else 409.
    public func replace(_ resource: Resource, namespace: String? = nil, name: String, subresource: String? = nil,
                        _ object: JSONValue) async throws -> JSONValue {
        try await send(.PUT, resource.objectPath(namespace: namespace, name: name, subresource: subresource), body: object.compactBytes)
    }

    public func patch(_ resource: Resource, namespace: String? = nil, name: String, subresource: String? = nil,
                      type: PatchType, _ patch: JSONValue) async throws -> JSONValue {
        try await send(.PATCH, resource.objectPath(namespace: namespace, name: name, subresource: subresource),
                       body: patch.compactBytes, contentType: type.rawValue)
    }

    /// DELETE, optionally with a grace period and a uid precondition (409 if the object
    /// by that name is another incarnation).
    @discardableResult
    public func delete(_ resource: Resource, namespace: String? = nil, name: String, gracePeriodSeconds: Int? = nil,
                       preconditionUID: String? = nil) async throws -> JSONValue {
        var options: JSONValue = ["kind": "DeleteOptions", "apiVersion": "v1"]
        if let gracePeriodSeconds { options["gracePeriodSeconds"] = .int(Int64(gracePeriodSeconds)) }
        if let preconditionUID { options["preconditions"] = ["uid": .string(preconditionUID)] }
        return try await send(.DELETE, resource.objectPath(namespace: namespace, name: name), body: options.compactBytes)
    }

    // MARK: Watch

    /// Streams watch events from `resourceVersion` until the server ends the stream (after
    /// about `timeoutSeconds`), calling `onEvent` for each. Throws `KubeError.gone` on 410
    /// (HTTP or ERROR event).
    public func watch(_ resource: Resource, namespace: String? = nil, labelSelector: String? = nil,
                      fieldSelector: String? = nil, resourceVersion: String, timeoutSeconds: Int = 300,
                      onEvent: @escaping @Sendable (WatchEvent) async throws -> Void) async throws {
        var query: [(String, String)] = [("watch", "1"), ("allowWatchBookmarks", "true"),
                                         ("timeoutSeconds", String(timeoutSeconds))]
        if !resourceVersion.isEmpty { query.append(("resourceVersion", resourceVersion)) }
        if let labelSelector { query.append(("labelSelector", labelSelector)) }
        if let fieldSelector { query.append(("fieldSelector", fieldSelector)) }
        let request = try await makeRequest(.GET, resource.collectionPath(namespace: namespace), query: query, body: nil, contentType: nil)
        let response: HTTPClientResponse
        do {
            response = try await http.execute(request, timeout: requestTimeout, logger: logger)
        } catch {
            throw KubeError.transport(String(describing: error))
        }
        guard response.status.code < 300 else {
            let body = (try? await response.body.collect(upTo: 1 << 20)).map { Array($0.readableBytesView) } ?? []
            throw KubeError.from(code: Int(response.status.code), body: body)
        }
        // A watchdog: a stream that goes silent past the server's own timeout (a dead
        // connection no one closed) is abandoned, and the informer watches again.
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                var decoder = WatchEventDecoder()
                do {
                    for try await chunk in response.body {
                        for result in decoder.feed(Array(chunk.readableBytesView)) {
                            try await onEvent(try result.get())
                        }
                    }
                } catch let error as KubeError {
                    throw error
                } catch is CancellationError {
                    throw CancellationError()
                } catch {
                    throw KubeError.transport("watch stream: \(error)")
                }
            }
            group.addTask {
                try await Task.sleep(for: .seconds(timeoutSeconds + 30))
            }
            try await group.next()
            group.cancelAll()
        }
    }

    // MARK: Requests

    func send(_ method: HTTPMethod, _ path: String, query: [(String, String)] = [], body: [UInt8]? = nil,
              contentType: String = "application/json") async throws -> JSONValue {
        let request = try await makeRequest(method, path, query: query, body: body, contentType: contentType)
        let response: HTTPClientResponse
        let bytes: [UInt8]
        do {
            response = try await http.execute(request, timeout: requestTimeout, logger: logger)
            bytes = Array(try await response.body.collect(upTo: 256 << 20).readableBytesView)
        } catch let error as CancellationError {
            throw error
        } catch {
            throw KubeError.transport("\(method) \(path): \(error)")
        }
        let code = Int(response.status.code)
        guard code < 300 else { throw KubeError.from(code: code, body: bytes) }
        if bytes.isEmpty { return .null }
        do {
            return try JSONValue.parse(bytes)
        } catch {
            throw KubeError.decoding("\(method) \(path): \(error.description)")
        }
    }

    func makeRequest(_ method: HTTPMethod, _ path: String, query: [(String, String)], body: [UInt8]?,
                     contentType: String?) async throws -> HTTPClientRequest {
        var url = config.server + path
        if !query.isEmpty { url += "?" + PathEscaping.query(query) }
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.headers.add(name: "Accept", value: "application/json")
        request.headers.add(name: "User-Agent", value: "kinglet-relay")
        if let bearer = token.current() { request.headers.add(name: "Authorization", value: "Bearer " + bearer) }
        if let body {
            request.headers.add(name: "Content-Type", value: contentType ?? "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        return request
    }

    func kindName(_ resource: Resource) -> String {
        switch resource.plural {
        case "pods": return "Pod"
        case "nodes": return "Node"
        case "configmaps": return "ConfigMap"
        case "secrets": return "Secret"
        case "leases": return "Lease"
        case "events": return "Event"
        case "namespaces": return "Namespace"
        default: return ""
        }
    }
}

/// The bearer token: fixed, or read from a file that rotates (re-read once a minute).
final class TokenSource: @unchecked Sendable {
    private let fixed: String?
    private let file: String?
    private let lock = NSLock()
    private var cached: String?
    private var readAt = Date.distantPast

    init(token: String?, file: String?) {
        self.fixed = token
        self.file = file
    }

    func current() -> String? {
        if let fixed { return fixed }
        guard let file else { return nil }
        lock.lock()
        defer { lock.unlock() }
        if Date().timeIntervalSince(readAt) > 60 {
            if let data = FileManager.default.contents(atPath: file) {
                cached = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            }
            readAt = Date()
        }
        return cached
    }
}
