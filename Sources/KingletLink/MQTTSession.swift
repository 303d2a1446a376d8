import CMosquitto
import KingletCore

/// Where a session stands.
public enum SessionState: String, Equatable {
    /// Not started.
    case idle
    /// TCP (and TLS) connect or CONNECT sent, no CONNACK yet.
    case connecting
    /// CONNACK accepted.
    case connected
    /// Lost or refused; the next attempt is scheduled.
    case waiting
    /// A clean stop is under way (DISCONNECT queued).
    case stopping
    case stopped
}

/// One MQTT client session driven from the agent's loop, never libmosquitto's thread:
/// the socket is watched on the loop (again after every reconnect, since the descriptor
/// changes), `mosquitto_loop_read/write` run when it is ready, `mosquitto_loop_misc`
/// (keepalive, and the connect timeout that follows from it) once a second. Lost
/// connections are retried with `ReconnectBackoff`.
///
/// libmosquitto's callbacks only note what happened; the notes are handled once the
/// library call returns, so our handlers may publish, subscribe or disconnect freely.
public final class MQTTSession {
    public let settings: LinkSettings
    /// The MQTT client id: `settings.clientID` unless the owner named another.
    public let clientID: String
    /// A clean session (the broker forgets subscriptions and queued messages at each
    /// disconnect) instead of the link's persistent one.
    public let cleanSession: Bool
    private let loop: any EventLoop
    private var handle: OpaquePointer? = nil
    private var watchedFD: Int32 = -1
    private var watchedInterest: IOInterest = []
    private var backoff: ReconnectBackoff
    private var retryTimer: TimerHandle? = nil
    private var miscTimer: TimerHandle? = nil
    fileprivate var notes: [SessionNote] = []
    /// Messages noted during one library call, in buffers reused from call to call.
    fileprivate var inbox: [MQTTInboxSlot] = []
    fileprivate var inboxFilled = 0

    public private(set) var state: SessionState = .idle
    /// When the current connection was accepted (loop clock).
    public private(set) var connectedAt: Instant? = nil
    /// When the state last changed between connected and not (loop clock).
    public private(set) var stateSince: Instant
    public private(set) var lastError: String = ""
    /// Connections accepted so far.
    public private(set) var connections = 0

    /// The broker accepted the connection.
    public var onConnected: () -> Void = {}
    /// The connection ended or an attempt failed (with why); a retry is scheduled.
    public var onDisconnected: (String) -> Void = { _ in }
    /// A message. Its buffers are lent: copy what must outlive the call.
    public var onMessage: (MQTTMessage) -> Void = { _ in }
    /// Payloads above this are not copied out of libmosquitto.
    public var maxPayload = 256 * 1024

    public init(loop: any EventLoop, settings: LinkSettings, seed: UInt64, clientID: String? = nil, cleanSession: Bool = false) {
        self.loop = loop
        self.settings = settings
        self.clientID = clientID ?? settings.clientID
        self.cleanSession = cleanSession
        backoff = ReconnectBackoff(seed: seed)
        stateSince = loop.now
    }

    /// Creates the client (persistent or clean session, MQTT 3.1.1, the will when
    /// `willTopic` is given, TLS) and connects.
    public func start(willTopic: String?, willPayload: [UInt8]) -> LinkSetupError? {
        guard handle == nil else { return nil }
        _ = mosquitto_lib_init() // idempotent
        let userdata = Unmanaged.passUnretained(self).toOpaque()
        guard let created = mosquitto_new(clientID, cleanSession, userdata) else {
            return LinkSetupError(message: "cannot create the MQTT client")
        }
        handle = created
        _ = mosquitto_int_option(created, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311)
        mosquitto_connect_callback_set(created) { _, userdata, code in
            MQTTSession.from(userdata)?.notes.append(.connack(code))
        }
        mosquitto_disconnect_callback_set(created) { _, userdata, code in
            MQTTSession.from(userdata)?.notes.append(.disconnected(code))
        }
        mosquitto_message_callback_set(created) { _, userdata, message in
            guard let session = MQTTSession.from(userdata), let message else { return }
            if session.inboxFilled == session.inbox.count { session.inbox.append(MQTTInboxSlot()) }
            let slot = session.inbox[session.inboxFilled]
            session.inboxFilled += 1
            slot.fill(message.pointee, maxPayload: session.maxPayload)
            session.notes.append(.message(slot))
        }
        var rc = MOSQ_ERR_SUCCESS.rawValue32
        if let willTopic {
            rc = willPayload.withUnsafeBytes { bytes in
                mosquitto_will_set(created, willTopic, Int32(bytes.count), bytes.baseAddress, 1, true)
            }
            if rc != MOSQ_ERR_SUCCESS.rawValue32 { return LinkSetupError(message: "cannot set the last will: " + MQTTSession.describe(rc)) }
        }
        if settings.useTLS {
            rc = mosquitto_tls_set(created, settings.caFile, nil, settings.certFile, settings.keyFile, nil)
            if rc != MOSQ_ERR_SUCCESS.rawValue32 {
                return LinkSetupError(message: "cannot use the TLS files (\(settings.caFile), \(settings.certFile), \(settings.keyFile)): "
                                      + MQTTSession.describe(rc))
            }
        }
        attempt()
        return nil
    }

    /// Publishes when connected; false (nothing queued) otherwise, so nothing piles up in
    /// libmosquitto while offline: the caller keeps what it still has to say.
    @discardableResult
    public func publish(_ topic: String, _ payload: [UInt8], qos: Int32, retain: Bool) -> Bool {
        guard state == .connected, let handle else { return false }
        // withCString lends a native string's own bytes; passing the String straight to the C
        // parameter would copy it into a new array on every publish.
        let rc = topic.withCString { topicBytes in
            payload.withUnsafeBytes { bytes in
                mosquitto_publish(handle, nil, topicBytes, Int32(bytes.count), bytes.baseAddress, qos, retain)
            }
        }
        afterCall(rc)
        return rc == MOSQ_ERR_SUCCESS.rawValue32
    }

    @discardableResult
    public func subscribe(_ filter: String, qos: Int32) -> Bool {
        guard state == .connected, let handle else { return false }
        let rc = mosquitto_subscribe(handle, nil, filter, qos)
        afterCall(rc)
        return rc == MOSQ_ERR_SUCCESS.rawValue32
    }

    @discardableResult
    public func unsubscribe(_ filter: String) -> Bool {
        guard state == .connected, let handle else { return false }
        let rc = mosquitto_unsubscribe(handle, nil, filter)
        afterCall(rc)
        return rc == MOSQ_ERR_SUCCESS.rawValue32
    }

    /// Clean stop: queue DISCONNECT (publish the offline message first) and stop retrying.
    /// The loop flushes it; `close()` finishes the job.
    public func stop() {
        cancelTimers()
        let wasConnected = state == .connected
        state = .stopping
        if wasConnected, let handle {
            let rc = mosquitto_disconnect(handle)
            afterCall(rc)
        } else {
            state = .stopped
            unwatch()
        }
    }

    /// Writes what is still queued (without waiting long), then frees everything.
    public func close() {
        cancelTimers()
        if let handle {
            var rounds = 0
            while rounds < 100, mosquitto_socket(handle) >= 0, mosquitto_want_write(handle) {
                if mosquitto_loop_write(handle, 1) != MOSQ_ERR_SUCCESS.rawValue32 { break }
                rounds += 1
            }
            unwatch()
            notes = []
            mosquitto_destroy(handle)
            self.handle = nil
        }
        state = .stopped
        // Closures the owner set may refer back to it: let them go.
        onConnected = {}
        onDisconnected = { _ in }
        onMessage = { _ in }
    }

    // MARK: connecting

    private func attempt() {
        retryTimer = nil
        guard let handle, state != .stopping, state != .stopped else { return }
        unwatch()
        let rc = mosquitto_connect_async(handle, settings.host, settings.port, settings.keepAliveSeconds)
        _ = kinglet_mosquitto_socket_cloexec(handle) // before any container can be spawned
        guard rc == MOSQ_ERR_SUCCESS.rawValue32 else {
            state = .connecting
            lost(MQTTSession.describe(rc))
            return
        }
        state = .connecting
        scheduleMisc()
        afterCall(MOSQ_ERR_SUCCESS.rawValue32)
    }

    private func scheduleMisc() {
        if let miscTimer { loop.cancel(miscTimer) }
        miscTimer = loop.schedule(after: .seconds(1)) { [self] in
            self.miscTimer = nil
            guard let handle = self.handle, self.state == .connecting || self.state == .connected || self.state == .stopping else { return }
            let rc = mosquitto_loop_misc(handle)
            self.afterCall(rc == MOSQ_ERR_NO_CONN.rawValue32 ? MOSQ_ERR_SUCCESS.rawValue32 : rc)
            if self.state == .connecting || self.state == .connected || self.state == .stopping { self.scheduleMisc() }
        }
    }

    private func ready(_ readiness: IOReadiness) {
        guard let handle else { return }
        // Reading also drives a TLS handshake, whichever way it waits.
        var rc = mosquitto_loop_read(handle, 1)
        if rc == MOSQ_ERR_SUCCESS.rawValue32 && readiness.contains(.writable) && mosquitto_socket(handle) >= 0 {
            rc = mosquitto_loop_write(handle, 1)
        }
        if rc == MOSQ_ERR_SUCCESS.rawValue32 && !readiness.intersection([.hangup, .error]).isEmpty && mosquitto_socket(handle) >= 0
            && state == .connecting {
            // A refused TLS handshake reads as "try again" to libmosquitto: do not spin on it.
            rc = MOSQ_ERR_CONN_LOST.rawValue32
        }
        afterCall(rc)
    }

    /// Handles the callbacks' notes and a failed call, then watches the right socket.
    private func afterCall(_ rc: Int32) {
        // A socket libmosquitto closed leaves the loop before anything else can run and
        // reuse its number.
        if let handle, mosquitto_socket(handle) != watchedFD { unwatch() }
        while !notes.isEmpty {
            let note = notes.removeFirst()
            switch note {
            case .connack(let code):
                if code == 0 {
                    guard state == .connecting else { continue }
                    state = .connected
                    connectedAt = loop.now
                    stateSince = loop.now
                    connections += 1
                    lastError = ""
                    onConnected()
                } else {
                    lastError = "connection refused: " + String(cString: mosquitto_connack_string(code))
                }
            case .disconnected(let code):
                lost(code == 0 ? "connection closed" : MQTTSession.describe(code))
            case .message(let slot):
                onMessage(MQTTMessage(topic: slot.topic, payload: slot.payload, size: slot.size))
            }
        }
        inboxFilled = 0
        if rc != MOSQ_ERR_SUCCESS.rawValue32 { lost(MQTTSession.describe(rc)) }
        syncSocket()
    }

    private func lost(_ reason: String) {
        switch state {
        case .stopping:
            state = .stopped
            cancelTimers()
            unwatch()
            return
        case .connecting, .connected:
            break
        default:
            return
        }
        let wasConnected = state == .connected
        if wasConnected, let connectedAt { backoff.connectionEnded(lasted: loop.now.since(connectedAt)) }
        if !(lastError.hasPrefix("connection refused") && !wasConnected) { lastError = reason }
        state = .waiting
        connectedAt = nil
        if wasConnected { stateSince = loop.now }
        cancelTimers()
        // The broken socket stays open inside libmosquitto until the next attempt closes
        // it; unwatched, it cannot wake the loop meanwhile.
        unwatch()
        let delay = backoff.nextDelay()
        retryTimer = loop.schedule(after: delay) { [self] in self.attempt() }
        onDisconnected(lastError)
    }

    // MARK: the socket on the loop

    private func syncSocket() {
        guard let handle, state == .connecting || state == .connected || state == .stopping else {
            unwatch()
            return
        }
        let fd = mosquitto_socket(handle)
        if fd != watchedFD { unwatch() }
        guard fd >= 0 else { return }
        let interest: IOInterest = mosquitto_want_write(handle) ? [.readable, .writable] : [.readable]
        if fd == watchedFD {
            if interest != watchedInterest {
                do {
                    try loop.changeInterest(of: fd, to: interest)
                    watchedInterest = interest
                } catch {
                    lastError = "cannot watch the broker socket: " + error.description
                }
            }
            return
        }
        do {
            try loop.watch(fd, interest: interest) { [self] readiness in self.ready(readiness) }
            watchedFD = fd
            watchedInterest = interest
        } catch {
            lastError = "cannot watch the broker socket: " + error.description
        }
    }

    private func unwatch() {
        if watchedFD >= 0 { loop.unwatch(watchedFD) }
        watchedFD = -1
        watchedInterest = []
    }

    private func cancelTimers() {
        if let retryTimer { loop.cancel(retryTimer) }
        if let miscTimer { loop.cancel(miscTimer) }
        retryTimer = nil
        miscTimer = nil
    }

    // MARK: C glue

    fileprivate static func from(_ userdata: UnsafeMutableRawPointer?) -> MQTTSession? {
        guard let userdata else { return nil }
        return Unmanaged<MQTTSession>.fromOpaque(userdata).takeUnretainedValue()
    }

    /// libmosquitto's text for a code, without its trailing period.
    static func describe(_ rc: Int32) -> String {
        var text = String(cString: mosquitto_strerror(rc))
        if text.hasSuffix(".") { text.removeLast() }
        return text
    }
}

/// What a libmosquitto callback saw.
fileprivate enum SessionNote {
    case connack(Int32)
    case disconnected(Int32)
    case message(MQTTInboxSlot)
}

/// One received message, as handed to `onMessage`.
public struct MQTTMessage {
    /// The topic's bytes (UTF-8, no terminator).
    public let topic: [UInt8]
    /// The payload; empty when larger than the session's `maxPayload`.
    public let payload: [UInt8]
    /// The payload's size as sent.
    public let size: Int

    public init(topic: [UInt8], payload: [UInt8], size: Int) {
        self.topic = topic
        self.payload = payload
        self.size = size
    }

    public var topicText: String { String(decoding: topic, as: UTF8.self) }
}

/// Where a message waits between libmosquitto's callback and `onMessage`. Slots are reused:
/// refilling a buffer nobody holds any more keeps its capacity, so steady traffic allocates
/// nothing here (a handler that keeps a lent buffer only makes the next fill copy).
final class MQTTInboxSlot {
    var topic: [UInt8] = []
    var payload: [UInt8] = []
    var size = 0

    func fill(_ message: mosquitto_message, maxPayload: Int) {
        topic.removeAll(keepingCapacity: true)
        if let name = message.topic {
            var index = 0
            while name[index] != 0 {
                topic.append(UInt8(bitPattern: name[index]))
                index += 1
            }
        }
        size = Int(message.payloadlen)
        payload.removeAll(keepingCapacity: true)
        if size > 0 && size <= maxPayload, let bytes = message.payload {
            payload.append(contentsOf: UnsafeRawBufferPointer(start: bytes, count: size))
        }
    }
}

/// The link cannot be set up at all (bad TLS files): a config problem, not a network one.
public struct LinkSetupError: Error, Equatable {
    public let message: String
    public init(message: String) { self.message = message }
    public var description: String { message }
}

extension mosq_err_t {
    /// The code as libmosquitto's functions return it.
    var rawValue32: Int32 { Int32(truncatingIfNeeded: rawValue) }
}
