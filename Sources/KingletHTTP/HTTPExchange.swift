import CKingletSystem
import COpenSSL
import KingletCore

/// One request on its own connection: resolve, connect (each address in turn), TLS
/// handshake, write the request, read the response. Every step runs on readiness or a
/// timer; every way out goes through `finish` or `fail`, which release the socket, the
/// TLS session, the timers and any pending lookup before the handler hears the outcome.
final class HTTPExchange {
    private enum Phase {
        case starting, resolving, connecting, handshaking, sending, receiving, done
    }

    let id: UInt64
    /// Held while the exchange runs (no weak references in Embedded Swift); the client
    /// holds the exchange in its table until it ends, and `release` ends both holds.
    private var client: HTTPClient?
    private var handler: (any HTTPResponseHandler)?
    private let loop: any EventLoop
    private let settings: HTTPClientSettings
    private let url: HTTPURL
    private let server: String
    private var requestBytes: [UInt8] = []
    private var requestProblem: HTTPClientError? = nil

    private var phase = Phase.starting
    private var lookupPending = false
    private var addresses: [String] = []
    private var nextAddress = 0
    private var lastConnectError: HTTPClientError? = nil
    private var fd: Int32 = -1
    private var interest: IOInterest = []
    private var ssl: OpaquePointer? = nil
    private var deadlineTimer: TimerHandle? = nil
    private var resumeTimer: TimerHandle? = nil
    private var phaseStarted: Instant
    private var lastActivity: Instant
    private var sent = 0
    private var parser: HTTPResponseParser

    init(id: UInt64, client: HTTPClient, request: HTTPRequest, handler: any HTTPResponseHandler) {
        self.id = id
        self.client = client
        self.handler = handler
        loop = client.loop
        settings = client.settings
        url = request.url
        server = request.url.hostAndPort
        phaseStarted = client.loop.now
        lastActivity = phaseStarted
        parser = HTTPResponseParser(isHeadRequest: request.isHead, maxHeadBytes: client.settings.maxHeadBytes)
        do {
            requestBytes = try request.encoded(userAgent: client.settings.userAgent)
        } catch {
            requestProblem = error
        }
    }

    /// Starts on the next loop turn, so no outcome is ever reported from inside `send`.
    func begin() {
        deadlineTimer = loop.schedule(at: loop.now) { [self] in
            deadlineTimer = nil
            start()
        }
    }

    private func start() {
        guard case .starting = phase else { return }
        if let requestProblem {
            fail(requestProblem)
            return
        }
        if url.isTLS {
            // A CA file that cannot be loaded is reported before any network traffic.
            do {
                _ = try client?.tlsContext()
            } catch {
                fail(error)
                return
            }
        }
        if url.hostIsIPAddress {
            addresses = [url.host]
            connectNext()
            return
        }
        enter(.resolving)
        guard let client else { return }
        if let problem = client.lookUp(url.host, for: id) {
            fail(.resolveFailed(server: server, reason: problem))
            return
        }
        lookupPending = true
    }

    // MARK: resolving

    func resolved(_ found: [String]) {
        lookupPending = false
        guard case .resolving = phase else { return }
        addresses = found
        connectNext()
    }

    func resolveFailed(_ reason: String) {
        lookupPending = false
        guard case .resolving = phase else { return }
        fail(.resolveFailed(server: server, reason: reason))
    }

    // MARK: connecting

    /// Starts a connect to the next address; fails with the last address's error when
    /// none is left.
    private func connectNext() {
        while nextAddress < addresses.count {
            let address = addresses[nextAddress]
            nextAddress += 1
            var socket: Int32 = -1
            let started = address.withCString { kinglet_tcp_connect_start($0, url.port, &socket) }
            if started < 0 {
                lastConnectError = connectError(errno: -started, address: address)
                continue
            }
            fd = socket
            enter(.connecting)
            // Watched for writable even when the connect completed at once: a connected
            // socket is writable straight away, so both take the same path.
            do {
                try loop.watch(socket, interest: .writable) { [self] _ in ready() }
                interest = .writable
            } catch {
                fail(.loopFailed(server: server, reason: error.description))
            }
            return
        }
        fail(lastConnectError ?? .connectFailed(server: server, address: "", reason: "no address to connect to"))
    }

    private func connected() {
        let error = kinglet_socket_error(fd)
        if error != 0 {
            lastConnectError = connectError(errno: error < 0 ? -error : error, address: addresses[nextAddress - 1])
            closeSocket()
            connectNext()
            return
        }
        if url.isTLS {
            startTLS()
        } else {
            startSending()
        }
    }

    private func connectError(errno error: Int32, address: String) -> HTTPClientError {
        let shown = shownAddress(address)
        if error == ECONNREFUSED { return .connectionRefused(server: server, address: shown) }
        return .connectFailed(server: server, address: shown, reason: String(cString: kinglet_strerror(error)))
    }

    /// The address a connect went to, as host:port, for errors; "" when the URL's host
    /// is that address already.
    private func shownAddress(_ address: String) -> String {
        if url.hostIsIPAddress { return "" }
        for byte in address.utf8 where byte == HTTPASCII.colon {
            return "[" + address + "]:" + url.port.description
        }
        return address + ":" + url.port.description
    }

    // MARK: TLS

    private func startTLS() {
        guard let client else { return }
        let context: TLSContext
        do {
            context = try client.tlsContext()
        } catch {
            fail(error)
            return
        }
        guard let session = context.session(fd: fd, host: url.host, hostIsIPAddress: url.hostIsIPAddress,
                                            verify: settings.verifyCertificates) else {
            fail(.tlsHandshakeFailed(server: server, reason: "cannot set up the TLS session: " + TLSContext.takeErrorReason()))
            return
        }
        ssl = session
        enter(.handshaking)
        handshake()
    }

    private func handshake() {
        guard let ssl else { return }
        ERR_clear_error()
        let result = SSL_connect(ssl)
        if result == 1 {
            startSending()
            return
        }
        let code = SSL_get_error(ssl, result)
        switch code {
        case SSL_ERROR_WANT_READ:
            setInterest(.readable)
        case SSL_ERROR_WANT_WRITE:
            setInterest(.writable)
        default:
            fail(handshakeError(code))
        }
    }

    private func handshakeError(_ code: Int32) -> HTTPClientError {
        guard let ssl else { return .tlsHandshakeFailed(server: server, reason: "no session") }
        let verification = SSL_get_verify_result(ssl)
        if verification != Int(X509_V_OK) {
            ERR_clear_error()
            var reason = String(cString: X509_verify_cert_error_string(verification))
            if verification == Int(X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY) || verification == Int(X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN)
                || verification == Int(X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT) {
                reason += " (the server's certificate is not issued by a CA this client trusts)"
            } else if verification == Int(X509_V_ERR_HOSTNAME_MISMATCH) || verification == Int(X509_V_ERR_IP_ADDRESS_MISMATCH) {
                reason += " (the certificate is not for " + url.host + ")"
            }
            return .certificateVerificationFailed(server: server, reason: reason)
        }
        if code == SSL_ERROR_SYSCALL || code == SSL_ERROR_ZERO_RETURN {
            let error = kinglet_errno()
            let queued = ERR_peek_error() != 0
            if queued { return .tlsHandshakeFailed(server: server, reason: TLSContext.takeErrorReason()) }
            if code == SSL_ERROR_ZERO_RETURN || error == 0 {
                return .tlsHandshakeFailed(server: server, reason: "the server closed the connection during the handshake")
            }
            return .tlsHandshakeFailed(server: server, reason: String(cString: kinglet_strerror(error)))
        }
        return .tlsHandshakeFailed(server: server, reason: TLSContext.takeErrorReason())
    }

    // MARK: sending

    private func startSending() {
        enter(.sending)
        write()
    }

    private func write() {
        while sent < requestBytes.count {
            let remaining = requestBytes.count - sent
            if let ssl {
                ERR_clear_error()
                let count = requestBytes.withUnsafeBytes { bytes in
                    SSL_write(ssl, bytes.baseAddress! + sent, Int32(min(remaining, 1 << 30)))
                }
                if count > 0 {
                    sent += Int(count)
                    lastActivity = loop.now
                    continue
                }
                let code = SSL_get_error(ssl, count)
                if code == SSL_ERROR_WANT_WRITE {
                    setInterest(.writable)
                    return
                }
                if code == SSL_ERROR_WANT_READ {
                    setInterest(.readable)
                    return
                }
                fail(.transferFailed(server: server, operation: "sending the request", reason: tlsIOReason(code)))
                return
            }
            let count = requestBytes.withUnsafeBytes { bytes in kinglet_send(fd, bytes.baseAddress! + sent, remaining) }
            if count > 0 {
                sent += count
                lastActivity = loop.now
                continue
            }
            let error = kinglet_errno()
            if error == EINTR { continue }
            if error == EAGAIN || error == EWOULDBLOCK {
                setInterest(.writable)
                return
            }
            fail(.transferFailed(server: server, operation: "sending the request", reason: String(cString: kinglet_strerror(error))))
            return
        }
        requestBytes = []
        phase = .receiving
        setInterest(.readable)
    }

    // MARK: receiving

    private func receive() {
        guard let client else { return }
        let buffer = client.readBuffer
        var budget = settings.readBudget
        while budget > 0 {
            guard case .receiving = phase else { return }
            let capacity = min(buffer.count, budget)
            var count = 0
            if let ssl {
                ERR_clear_error()
                let result = SSL_read(ssl, buffer.baseAddress, Int32(capacity))
                if result <= 0 {
                    let code = SSL_get_error(ssl, result)
                    switch code {
                    case SSL_ERROR_WANT_READ:
                        setInterest(.readable)
                    case SSL_ERROR_WANT_WRITE:
                        setInterest(.writable)
                    case SSL_ERROR_ZERO_RETURN:
                        endOfInput()
                    case SSL_ERROR_SYSCALL where kinglet_errno() == 0 && ERR_peek_error() == 0:
                        endOfInput()
                    default:
                        fail(.transferFailed(server: server, operation: "reading the response", reason: tlsIOReason(code)))
                    }
                    return
                }
                count = Int(result)
            } else {
                let result = read(fd, buffer.baseAddress, capacity)
                if result == 0 {
                    endOfInput()
                    return
                }
                if result < 0 {
                    let error = kinglet_errno()
                    if error == EINTR { continue }
                    if error == EAGAIN || error == EWOULDBLOCK { return }
                    fail(.transferFailed(server: server, operation: "reading the response", reason: String(cString: kinglet_strerror(error))))
                    return
                }
                count = result
            }
            budget -= count
            lastActivity = loop.now
            if interest != .readable { setInterest(.readable) }
            consume(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
        }
        // The budget is spent. A plain socket's leftover bytes make it readable again next
        // turn; OpenSSL may hold decrypted bytes the socket no longer shows.
        if case .receiving = phase, let ssl, SSL_pending(ssl) > 0, resumeTimer == nil {
            resumeTimer = loop.schedule(at: loop.now) { [self] in
                resumeTimer = nil
                if case .receiving = phase { receive() }
            }
        }
    }

    private func consume(_ bytes: UnsafeRawBufferPointer) {
        var offset = 0
        while true {
            guard case .receiving = phase else { return }
            let event: HTTPResponseParser.Event
            do {
                event = try parser.next(bytes, &offset)
            } catch {
                fail(parseError(error))
                return
            }
            switch event {
            case .needMore:
                return
            case .head(let head):
                guard let handler else { return }
                if !handler.response(head) {
                    if case .receiving = phase { finish() }
                    return
                }
            case .body(let range):
                handler?.body(UnsafeRawBufferPointer(rebasing: bytes[range]))
            case .end:
                finish()
                return
            }
        }
    }

    private func endOfInput() {
        do {
            _ = try parser.endOfInput()
            finish()
        } catch {
            fail(parseError(error))
        }
    }

    private func parseError(_ error: HTTPResponseParser.Failure) -> HTTPClientError {
        switch error {
        case .malformed(let reason): return .malformedResponse(server: server, reason: reason)
        case .headTooLarge(let limit): return .responseHeadTooLarge(server: server, limit: limit)
        case .closedBeforeResponse(let bytes): return .closedBeforeResponse(server: server, bytesReceived: bytes)
        case .closedEarly(let received, let expected):
            return .peerClosedEarly(server: server, bodyBytesReceived: received, expectedBodyBytes: expected)
        }
    }

    private func tlsIOReason(_ code: Int32) -> String {
        if code == SSL_ERROR_SYSCALL && ERR_peek_error() == 0 {
            let error = kinglet_errno()
            return error == 0 ? "the connection ended" : String(cString: kinglet_strerror(error))
        }
        if code == SSL_ERROR_ZERO_RETURN { return "the server closed the TLS session" }
        return "TLS: " + TLSContext.takeErrorReason()
    }

    // MARK: readiness, deadlines

    private func ready() {
        switch phase {
        case .connecting: connected()
        case .handshaking: handshake()
        case .sending: write()
        case .receiving: receive()
        case .starting, .resolving, .done: return
        }
    }

    private func setInterest(_ wanted: IOInterest) {
        if wanted == interest || fd < 0 { return }
        do {
            try loop.changeInterest(of: fd, to: wanted)
            interest = wanted
        } catch {
            fail(.loopFailed(server: server, reason: error.description))
        }
    }

    /// Enters a step before the request is written, each with `connectTimeout` of its own.
    private func enter(_ next: Phase) {
        phase = next
        phaseStarted = loop.now
        lastActivity = phaseStarted
        armDeadline()
    }

    private func armDeadline() {
        if let deadlineTimer { loop.cancel(deadlineTimer) }
        let deadline: Instant
        switch phase {
        case .resolving, .connecting, .handshaking:
            deadline = phaseStarted.advanced(by: settings.connectTimeout)
        case .sending, .receiving:
            deadline = lastActivity.advanced(by: settings.idleTimeout)
        case .starting, .done:
            deadlineTimer = nil
            return
        }
        deadlineTimer = loop.schedule(at: deadline) { [self] in
            deadlineTimer = nil
            deadlinePassed()
        }
    }

    private func deadlinePassed() {
        switch phase {
        case .resolving:
            fail(.timedOut(server: server, phase: "the name to resolve", after: settings.connectTimeout))
        case .connecting:
            let shown = shownAddress(addresses[nextAddress - 1])
            let what = shown.isEmpty ? "the connection" : "the connection (at " + shown + ")"
            lastConnectError = .timedOut(server: server, phase: what, after: settings.connectTimeout)
            closeSocket()
            connectNext()
        case .handshaking:
            fail(.timedOut(server: server, phase: "the TLS handshake", after: settings.connectTimeout))
        case .sending, .receiving:
            // Activity moves the deadline without touching the timer; re-armed from here.
            if loop.now < lastActivity.advanced(by: settings.idleTimeout) {
                armDeadline()
                return
            }
            let what: String
            if case .sending = phase {
                what = "the server to take the request"
            } else {
                what = parser.sawHead ? "the rest of the body (" + parser.bodyBytesReceived.description + " bytes received)" : "the response"
            }
            fail(.timedOut(server: server, phase: what, after: settings.idleTimeout))
        case .starting, .done:
            return
        }
    }

    // MARK: ending

    private func finish() {
        let handler = self.handler
        let client = self.client
        release()
        client?.remove(id)
        handler?.finished()
    }

    private func fail(_ error: HTTPClientError) {
        let handler = self.handler
        let client = self.client
        release()
        client?.remove(id)
        handler?.failed(error)
    }

    /// Lets go of everything: socket, TLS session, timers, lookup, handler, client.
    func release() {
        phase = .done
        if let deadlineTimer {
            loop.cancel(deadlineTimer)
            self.deadlineTimer = nil
        }
        if let resumeTimer {
            loop.cancel(resumeTimer)
            self.resumeTimer = nil
        }
        if lookupPending {
            lookupPending = false
            client?.cancelLookUp(for: id)
        }
        closeSocket()
        handler = nil
        client = nil
    }

    private func closeSocket() {
        if let ssl {
            SSL_free(ssl)
            self.ssl = nil
        }
        if fd >= 0 {
            loop.unwatch(fd)
            close(fd)
            fd = -1
            interest = []
        }
    }
}
