import CKingletSystem
import KingletCore

/// Identifies a request sent on an `HTTPClient`, for `cancel(_:)`.
public struct HTTPRequestID: Hashable, Sendable, CustomStringConvertible {
    public let value: UInt64
    public init(value: UInt64) { self.value = value }
    public var description: String { "request " + value.description }
}

/// What the caller of `HTTPClient.send` hears about its request, always on the loop and
/// never from inside `send`. A request ends with exactly one `finished()` or `failed(_:)`,
/// unless it is cancelled, after which nothing more is heard.
public protocol HTTPResponseHandler: AnyObject {
    /// The response's head (interim 1xx responses are skipped). Return true to receive the
    /// body; false closes the connection at once and `finished()` follows.
    func response(_ head: HTTPResponseHead) -> Bool
    /// The next bytes of the body as they arrive (chunked framing removed), at most the
    /// settings' `readBudget` at a time. The bytes are valid only during the call.
    func body(_ bytes: UnsafeRawBufferPointer)
    /// The whole response arrived.
    func finished()
    /// The request failed; see `HTTPClientError`.
    func failed(_ error: HTTPClientError)
}

/// An HTTP/1.1 client on the agent's event loop.
///
/// One connection per request, with `Connection: close` (no keep-alive reuse: a registry
/// pull makes a handful of requests, each of them long); any number of requests at once.
/// Host names resolve on one helper thread (getaddrinfo; started on the first name),
/// whose answers come back through an eventfd; IP addresses skip it. Each address
/// getaddrinfo gave is tried in turn until one connects. https runs OpenSSL over the
/// non-blocking socket: TLS 1.2 or later, SNI, certificate and host-name verification.
///
/// The client reads at most `readBudget` bytes from a connection per loop turn into one
/// buffer shared by all its requests, and hands body bytes straight from it to the
/// handler. Redirects are not followed: `HTTPRequest.redirected(by:)` computes the next
/// request for a caller that wants to.
///
/// The client ignores SIGPIPE for the process (OpenSSL writes with write(2), so a server
/// that closed early would otherwise kill the agent); the agent does so at boot anyway.
///
/// Embedded Swift has no weak references: a request in flight holds the client and its
/// handler, and lets go of both when it ends or is cancelled.
public final class HTTPClient {
    public let loop: any EventLoop
    public let settings: HTTPClientSettings

    private var exchanges: [UInt64: HTTPExchange] = [:]
    private var nextID: UInt64 = 1
    let readBuffer: UnsafeMutableRawBufferPointer
    private var tls: TLSContext? = nil

    private var resolver: OpaquePointer? = nil
    private var resolverWatched = false
    private var pendingLookups = 0

    public init(loop: any EventLoop, settings: HTTPClientSettings = HTTPClientSettings()) {
        self.loop = loop
        var settings = settings
        settings.readBudget = max(settings.readBudget, 1024)
        settings.maxHeadBytes = max(settings.maxHeadBytes, 256)
        self.settings = settings
        readBuffer = .allocate(byteCount: settings.readBudget, alignment: 16)
        _ = kinglet_ignore_sigpipe()
    }

    deinit {
        // No request is in flight (each holds the client), so the resolver's eventfd is
        // not watched any more.
        if let resolver { kinglet_resolver_stop(resolver) }
        readBuffer.deallocate()
    }

    /// Starts `request`; its outcome reaches `handler` on the loop, never from inside
    /// this call (even a request that cannot be sent fails on the next loop turn).
    @discardableResult
    public func send(_ request: HTTPRequest, handler: any HTTPResponseHandler) -> HTTPRequestID {
        let id = nextID
        nextID += 1
        let exchange = HTTPExchange(id: id, client: self, request: request, handler: handler)
        exchanges[id] = exchange
        exchange.begin()
        return HTTPRequestID(value: id)
    }

    /// Abandons a request: its socket is closed and its handler hears nothing more.
    /// Cancelling a request that already ended does nothing.
    public func cancel(_ id: HTTPRequestID) {
        guard let exchange = exchanges.removeValue(forKey: id.value) else { return }
        exchange.release()
    }

    /// Cancels every request in flight.
    public func cancelAll() {
        let all = exchanges
        exchanges = [:]
        for (_, exchange) in all { exchange.release() }
    }

    /// Requests sent and not yet ended or cancelled.
    public var activeRequestCount: Int { exchanges.count }

    // MARK: for the exchanges

    /// Forgets an exchange that ended (before its handler hears the outcome).
    func remove(_ id: UInt64) {
        exchanges[id] = nil
    }

    func tlsContext() throws(HTTPClientError) -> TLSContext {
        if let tls { return tls }
        let made = try TLSContext(settings)
        tls = made
        return made
    }

    /// Hands `host` to the resolver thread; the answer comes to the exchange `id`.
    func lookUp(_ host: String, for id: UInt64) -> String? {
        if resolver == nil {
            guard let started = kinglet_resolver_start() else {
                return "cannot start the resolver thread: " + String(cString: kinglet_strerror(kinglet_errno()))
            }
            resolver = started
        }
        guard let resolver else { return "no resolver" }
        if host.withCString({ kinglet_resolver_submit(resolver, id, $0) }) != 0 {
            return String(cString: kinglet_strerror(kinglet_errno()))
        }
        pendingLookups += 1
        if !resolverWatched {
            do {
                try loop.watch(kinglet_resolver_fd(resolver), interest: .readable) { [self] _ in collectLookups() }
                resolverWatched = true
            } catch {
                kinglet_resolver_cancel(resolver, id)
                pendingLookups -= 1
                return "cannot watch the resolver: " + error.description
            }
        }
        return nil
    }

    /// Drops the lookup for `id` (its exchange ended while it ran).
    func cancelLookUp(for id: UInt64) {
        guard let resolver else { return }
        kinglet_resolver_cancel(resolver, id)
        pendingLookups -= 1
        unwatchResolverWhenIdle()
    }

    private func collectLookups() {
        guard let resolver else { return }
        var result = kinglet_resolved()
        while kinglet_resolver_collect(resolver, &result) == 1 {
            pendingLookups -= 1
            guard let exchange = exchanges[result.id] else { continue }
            if result.status == 0 {
                var addresses: [String] = []
                for index in 0..<Int(result.count) {
                    addresses.append(withUnsafePointer(to: &result) { String(cString: kinglet_resolved_address($0, Int32(index))) })
                }
                exchange.resolved(addresses)
            } else {
                let text = withUnsafePointer(to: &result) { String(cString: kinglet_resolved_error_text($0)) }
                let unknown = withUnsafePointer(to: &result) { kinglet_resolved_is_unknown_name($0) } != 0
                exchange.resolveFailed(unknown ? text + " (no such host)" : text)
            }
        }
        unwatchResolverWhenIdle()
    }

    /// The resolver's eventfd is watched only while lookups are pending, so an idle client
    /// is not held by the loop.
    private func unwatchResolverWhenIdle() {
        if pendingLookups == 0 && resolverWatched, let resolver {
            loop.unwatch(kinglet_resolver_fd(resolver))
            resolverWatched = false
        }
    }
}
