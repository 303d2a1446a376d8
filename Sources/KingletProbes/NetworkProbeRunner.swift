import CKingletSystem
import KingletCore

/// Runs a tcpSocket or httpGet probe, one attempt at a time, on the loop.
///
/// An attempt: a non-blocking connect; the socket watched for writable, then SO_ERROR read;
/// for httpGet the request sent and the response read until its status line ends. One timer
/// bounds the whole attempt, like the kubelet's client timeout. Every way out goes through
/// `finish`, which unwatches and closes the socket and cancels the timer before reporting.
///
/// The runner is made once per probe and reused: the request bytes and the response buffer
/// are allocated in `init`, so an attempt allocates nothing of ours on the way to success.
/// While an attempt runs, the loop's callbacks keep the runner alive.
public final class NetworkProbeRunner: ProbeRunning {
    public let probe: NetworkProbe
    private let loop: any EventLoop
    private let endpoint: ProbeEndpoint?
    private let request: HTTPProbeRequest?
    /// Set when no attempt can succeed (bad spec, HTTPS): every attempt fails with it.
    private let failureBeforeStart: String?

    private enum Phase {
        case idle
        case connecting
        case sending(sent: Int)
        case receiving(received: Int)
        /// Known before any I/O; reported from a timer so `run` never calls back itself.
        case reporting(ProbeOutcome)
    }
    private var phase = Phase.idle
    private var socket: Int32 = -1
    private var timer: TimerHandle? = nil
    private var completion: ((ProbeOutcome) -> Void)? = nil

    /// Holds the status line. The kubelet reads a bounded body too; we decide on the status
    /// line and read nothing more.
    private let response: UnsafeMutableBufferPointer<UInt8>
    static let responseCapacity = 1024

    public init(_ probe: NetworkProbe, loop: any EventLoop) {
        self.probe = probe
        self.loop = loop
        var endpoint: ProbeEndpoint? = nil
        var request: HTTPProbeRequest? = nil
        var failure: String? = nil
        do throws(ProbeConfigurationError) {
            try probe.validate()
            let checked = try ProbeEndpoint(host: probe.host, port: probe.port)
            endpoint = checked
            if case .httpGet(let spec) = probe {
                let built = HTTPProbeRequest(spec, endpoint: checked)
                request = built
                if spec.scheme == .https { failure = ProbeText.httpsUnsupported(built.url) }
            }
        } catch {
            failure = error.description
        }
        self.endpoint = endpoint
        self.request = request
        failureBeforeStart = failure
        response = .allocate(capacity: request == nil ? 0 : NetworkProbeRunner.responseCapacity)
    }

    deinit {
        // Idle by construction: a running attempt's callbacks would still hold the runner.
        if socket >= 0 { close(socket) }
        response.deallocate()
    }

    /// Whether an attempt is under way.
    public var isRunning: Bool {
        if case .idle = phase { return false }
        return true
    }

    /// The attempt's socket, -1 when idle; tests check it is unwatched and closed.
    var socketDescriptor: Int32 { socket }

    /// Starts an attempt. A second `run` while one is under way does not disturb it: the
    /// newcomer fails at once (reported on the loop) with "probe attempt already running".
    public func run(timeout: Duration, completion: @escaping (ProbeOutcome) -> Void) {
        guard case .idle = phase else {
            loop.schedule(at: loop.now) { completion(.failure("probe attempt already running")) }
            return
        }
        self.completion = completion
        guard let endpoint, failureBeforeStart == nil else {
            reportSoon(.failure(failureBeforeStart ?? "probe is not runnable"))
            return
        }
        var fd: Int32 = -1
        let started = endpoint.host.withCString { kinglet_tcp_connect_start($0, endpoint.port, &fd) }
        if started < 0 {
            reportSoon(failure(dial: ProbeText.dialFailed(endpoint, errno: -started)))
            return
        }
        socket = fd
        phase = .connecting
        // Watched for writable even when the connect completed at once: a connected socket
        // is writable straight away, so both cases take the same path.
        do {
            try loop.watch(fd, interest: .writable) { [self] _ in advance() }
        } catch {
            close(fd)
            socket = -1
            reportSoon(.failure(ProbeText.loopFailed(error)))
            return
        }
        timer = loop.schedule(after: timeout) { [self] in
            timer = nil
            timedOut()
        }
    }

    /// Abandons the running attempt: the socket is unwatched and closed, the timer cancelled,
    /// and its completion never runs.
    public func cancel() {
        release()
    }

    // MARK: the attempt's steps

    private func advance() {
        switch phase {
        case .connecting: connected()
        case .sending: send()
        case .receiving: receive()
        case .idle, .reporting: return
        }
    }

    private func connected() {
        guard let endpoint else { return }
        let error = kinglet_socket_error(socket)
        if error != 0 {
            finish(failure(dial: ProbeText.dialFailed(endpoint, errno: error < 0 ? -error : error)))
            return
        }
        if request == nil {
            finish(.success())
            return
        }
        phase = .sending(sent: 0)
        send()
    }

    private func send() {
        guard case .sending(var sent) = phase, let request, let endpoint else { return }
        while sent < request.bytes.count {
            let count = request.bytes.withUnsafeBytes { bytes in
                kinglet_send(socket, bytes.baseAddress! + sent, bytes.count - sent)
            }
            if count > 0 {
                sent += count
                continue
            }
            let error = kinglet_errno()
            if error == EINTR { continue }
            if error == EAGAIN {
                phase = .sending(sent: sent)
                return  // still watched for writable
            }
            finish(.failure(ProbeText.get(request.url, ProbeText.transferFailed("write", endpoint, errno: error))))
            return
        }
        phase = .receiving(received: 0)
        do {
            try loop.changeInterest(of: socket, to: .readable)
        } catch {
            finish(.failure(ProbeText.loopFailed(error)))
        }
    }

    private func receive() {
        guard case .receiving(var received) = phase, let request, let endpoint else { return }
        while true {
            let count = read(socket, response.baseAddress! + received, response.count - received)
            if count > 0 {
                let start = received
                received += count
                if let end = lineEnd(from: start, to: received) {
                    finish(statusOutcome(UnsafeBufferPointer(rebasing: response[0..<end]), url: request.url))
                    return
                }
                if received == response.count {
                    let line = UnsafeBufferPointer(rebasing: response[0..<received])
                    finish(.failure(ProbeText.get(request.url, ProbeText.malformedResponse(line))))
                    return
                }
                continue
            }
            if count == 0 {
                // Go says "EOF" when nothing came, "unexpected EOF" when the line was cut.
                finish(.failure(ProbeText.get(request.url, received == 0 ? "EOF" : "unexpected EOF")))
                return
            }
            let error = kinglet_errno()
            if error == EINTR { continue }
            if error == EAGAIN {
                phase = .receiving(received: received)
                return
            }
            finish(.failure(ProbeText.get(request.url, ProbeText.transferFailed("read", endpoint, errno: error))))
            return
        }
    }

    private func timedOut() {
        guard let endpoint else { return }
        switch phase {
        case .connecting:
            finish(failure(dial: ProbeText.dialTimedOut(endpoint)))
        case .sending, .receiving:
            finish(.failure(ProbeText.get(request?.url ?? "", ProbeText.httpTimedOut)))
        case .idle, .reporting:
            return
        }
    }

    // MARK: reporting

    /// A dial failure as the probe type words it: bare for tcpSocket, inside the GET
    /// message for httpGet (Go's http.Client wraps the dialer's error).
    private func failure(dial text: String) -> ProbeOutcome {
        if let request { return .failure(ProbeText.get(request.url, text)) }
        return .failure(text)
    }

    /// The index of the LF ending the status line, without a CR before it, if it arrived.
    private func lineEnd(from start: Int, to end: Int) -> Int? {
        for index in start..<end where response[index] == 0x0a {
            return index > 0 && response[index - 1] == 0x0d ? index - 1 : index
        }
        return nil
    }

    private func statusOutcome(_ line: UnsafeBufferPointer<UInt8>, url: String) -> ProbeOutcome {
        guard let status = HTTPStatusLine.statusCode(of: line) else {
            return .failure(ProbeText.get(url, ProbeText.malformedResponse(line)))
        }
        return HTTPStatusLine.outcome(forStatus: status)
    }

    private func reportSoon(_ outcome: ProbeOutcome) {
        phase = .reporting(outcome)
        timer = loop.schedule(at: loop.now) { [self] in
            timer = nil
            if case .reporting(let outcome) = phase { finish(outcome) }
        }
    }

    private func finish(_ outcome: ProbeOutcome) {
        let report = completion
        release()
        // Last, so the completion may start the next attempt on this runner.
        report?(outcome)
    }

    private func release() {
        if socket >= 0 {
            loop.unwatch(socket)
            close(socket)
            socket = -1
        }
        if let timer {
            loop.cancel(timer)
            self.timer = nil
        }
        phase = .idle
        completion = nil
    }
}
