import CMosquitto
import Foundation
import Logging

/// Where the broker is: `mqtt://host[:1883]` (plain TCP) or `mqtts://host[:8883]` (mTLS).
public struct BrokerURL: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var usesTLS: Bool

    public init(host: String, port: Int, usesTLS: Bool) {
        self.host = host
        self.port = port
        self.usesTLS = usesTLS
    }

    public init(parsing text: String) throws(RelayConfigError) {
        let scheme: String
        let rest: Substring
        if text.hasPrefix("mqtts://") { scheme = "mqtts"; rest = text.dropFirst(8) }
        else if text.hasPrefix("mqtt://") { scheme = "mqtt"; rest = text.dropFirst(7) }
        else { throw RelayConfigError("broker URL \"\(text)\": expected mqtt://host:port or mqtts://host:port") }
        var hostPart = rest.hasSuffix("/") ? rest.dropLast() : rest
        var port = scheme == "mqtts" ? 8883 : 1883
        if hostPart.hasPrefix("[") {
            guard let close = hostPart.firstIndex(of: "]") else { throw RelayConfigError("broker URL \"\(text)\": unclosed [ in the host") }
            let after = hostPart[hostPart.index(after: close)...]
            if after.hasPrefix(":") {
                guard let number = Int(after.dropFirst()), (1...65535).contains(number) else {
                    throw RelayConfigError("broker URL \"\(text)\": the port is not a number from 1 to 65535")
                }
                port = number
            } else if !after.isEmpty {
                throw RelayConfigError("broker URL \"\(text)\": unexpected text after the host")
            }
            hostPart = hostPart[hostPart.index(after: hostPart.startIndex)..<close]
        } else if let colon = hostPart.lastIndex(of: ":") {
            guard let number = Int(hostPart[hostPart.index(after: colon)...]), (1...65535).contains(number) else {
                throw RelayConfigError("broker URL \"\(text)\": the port is not a number from 1 to 65535")
            }
            port = number
            hostPart = hostPart[..<colon]
        }
        guard !hostPart.isEmpty, !hostPart.contains("/") else { throw RelayConfigError("broker URL \"\(text)\": no host") }
        self.init(host: String(hostPart), port: port, usesTLS: scheme == "mqtts")
    }

    public var isLoopback: Bool { host == "localhost" || host == "::1" || host.hasPrefix("127.") }
    public var description: String { "\(usesTLS ? "mqtts" : "mqtt")://\(host.contains(":") ? "[\(host)]" : host):\(port)" }
}

/// The relay's TLS files for mqtts://.
public struct BrokerTLSFiles: Sendable, Equatable {
    public var caFile: String
    public var certFile: String?
    public var keyFile: String?

    public init(caFile: String, certFile: String?, keyFile: String?) {
        self.caFile = caFile
        self.certFile = certFile
        self.keyFile = keyFile
    }
}

/// A full-Swift wrapper over libmosquitto for the relay. One network thread of ours drives
/// `mosquitto_loop` and reconnects (see `runNetworkLoop`); libmosquitto's callbacks are bridged
/// into an `AsyncStream` of `MQTTEvent`s. Subscriptions are made again on every connect
/// (the session is clean: the broker re-sends what is retained, which resynchronises the
/// relay's view after an outage).
public final class MQTTClient: @unchecked Sendable {
    public enum Event: Sendable {
        case connected
        case disconnected(code: Int32)
        case message(topic: String, payload: [UInt8], retained: Bool)
    }

    public let events: AsyncStream<Event>
    private let continuation: AsyncStream<Event>.Continuation
    private let handle: OpaquePointer
    private let broker: BrokerURL
    private let logger: Logger
    private let lock = NSLock()
    private var subscriptions: [(pattern: String, qos: Int32)] = []
    private var started = false
    private var stopped = false
    private var accepted = false
    private var attempts = 0
    private let networkLoopDone = DispatchSemaphore(value: 0)

    private static let libraryInit: Void = { mosquitto_lib_init(); return () }()

    public init(broker: BrokerURL, clientID: String, tls: BrokerTLSFiles?, logger: Logger) throws(RelayConfigError) {
        _ = Self.libraryInit
        self.broker = broker
        self.logger = logger
        (events, continuation) = AsyncStream.makeStream(of: Event.self, bufferingPolicy: .unbounded)
        guard let handle = mosquitto_new(clientID, true, nil) else {
            throw RelayConfigError("mqtt: cannot create a client (out of memory?)")
        }
        self.handle = handle
        if broker.usesTLS {
            guard let tls else { throw RelayConfigError("broker \(broker): mqtts:// needs --ca-file (and --cert-file/--key-file for mTLS)") }
            for path in [tls.caFile, tls.certFile, tls.keyFile].compactMap({ $0 }) where !FileManager.default.isReadableFile(atPath: path) {
                mosquitto_destroy(handle)
                throw RelayConfigError("broker TLS: cannot read \(path)")
            }
            let result = mosquitto_tls_set(handle, tls.caFile, nil, tls.certFile, tls.keyFile, nil)
            guard result == MOSQ_ERR_SUCCESS.rawValue else {
                mosquitto_destroy(handle)
                throw RelayConfigError("broker TLS: \(String(cString: mosquitto_strerror(result)))")
            }
        }
        // Allow many QoS 1 messages in flight: a takeover publishes thousands at once.
        mosquitto_int_option(handle, MOSQ_OPT_SEND_MAXIMUM, 1000)
        mosquitto_reconnect_delay_set(handle, 1, 30, true)
        mosquitto_user_data_set(handle, Unmanaged.passUnretained(self).toOpaque())
        mosquitto_connect_callback_set(handle) { _, context, code in
            guard let context else { return }
            Unmanaged<MQTTClient>.fromOpaque(context).takeUnretainedValue().didConnect(code: code)
        }
        mosquitto_disconnect_callback_set(handle) { _, context, code in
            guard let context else { return }
            Unmanaged<MQTTClient>.fromOpaque(context).takeUnretainedValue().continuation.yield(.disconnected(code: code))
        }
        mosquitto_message_callback_set(handle) { _, context, message in
            guard let context, let message, let topic = message.pointee.topic else { return }
            let client = Unmanaged<MQTTClient>.fromOpaque(context).takeUnretainedValue()
            var payload: [UInt8] = []
            if let bytes = message.pointee.payload, message.pointee.payloadlen > 0 {
                payload = Array(UnsafeRawBufferPointer(start: bytes, count: Int(message.pointee.payloadlen)))
            }
            client.continuation.yield(.message(topic: String(cString: topic), payload: payload, retained: message.pointee.retain))
        }
    }

    /// Adds a subscription, made now (if connected) and after every reconnect.
    public func subscribe(_ pattern: String, qos: Int32 = 1) {
        lock.lock()
        subscriptions.append((pattern, qos))
        let isStarted = started
        lock.unlock()
        if isStarted { mosquitto_subscribe(handle, nil, pattern, qos) }
    }

    /// Connects in the background on the relay's own network thread, which retries until it
    /// gets through and after every loss.
    public func start(keepalive: Int32 = 30) throws(RelayConfigError) {
        lock.lock()
        started = true
        attempts += 1
        lock.unlock()
        mosquitto_threaded_set(handle, true)
        let result = mosquitto_connect_async(handle, broker.host, Int32(broker.port), keepalive)
        if result != MOSQ_ERR_SUCCESS.rawValue {
            // Not fatal: the broker may be down or the name not resolvable yet; the loop retries.
            logger.warning("mqtt: first connection to \(broker) failed (\(String(cString: mosquitto_strerror(result)))); retrying")
        }
        let thread = Thread { [self] in self.runNetworkLoop() }
        thread.name = "kinglet-relay-mqtt"
        thread.start()
    }

    /// libmosquitto's own thread (`mosquitto_loop_start`) gives up for good after a TLS
    /// error, and OpenSSL 3 reports a broker that vanished mid-connection ("unexpected eof")
    /// as one: after a broker crash the relay would never reconnect. So the relay drives
    /// `mosquitto_loop` itself and treats every error as a lost connection, reconnecting
    /// with exponential back-off (1 s to 30 s, with jitter).
    private func runNetworkLoop() {
        var delay = 1.0
        while !isStopped {
            let result = mosquitto_loop(handle, 1000, 1)
            if result == MOSQ_ERR_SUCCESS.rawValue { continue }
            if isStopped { break }
            // Back to 1 s only after the broker accepted a connection: one that takes the
            // TCP connection and then refuses CONNECT must not be hammered every second.
            if takeAccepted() { delay = 1 }
            let pause = delay * Double.random(in: 0.8...1.2)
            var slept = 0.0
            while slept < pause && !isStopped {
                usleep(100_000)
                slept += 0.1
            }
            delay = min(delay * 2, 30)
            if isStopped { break }
            lock.lock()
            attempts += 1
            lock.unlock()
            let again = mosquitto_reconnect(handle)
            if again != MOSQ_ERR_SUCCESS.rawValue {
                logger.debug("mqtt: reconnect to \(broker) failed: \(String(cString: mosquitto_strerror(again)))")
            }
        }
        networkLoopDone.signal()
    }

    /// Whether a connection was accepted since the last call.
    private func takeAccepted() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        let was = accepted
        accepted = false
        return was
    }

    /// Connection attempts made so far (the first and every reconnect).
    public var connectionAttempts: Int { lock.withLock { attempts } }

    private var isStopped: Bool {
        lock.lock()
        defer { lock.unlock() }
        return stopped
    }

    /// Publishes; returns false when libmosquitto refused (not connected: it then is lost,
    /// and the relay's resync after reconnect sends it again).
    @discardableResult
    public func publish(_ topic: String, _ payload: [UInt8], qos: Int32 = 1, retain: Bool = true) -> Bool {
        let result = payload.withUnsafeBytes { bytes in
            mosquitto_publish(handle, nil, topic, Int32(bytes.count), bytes.baseAddress, qos, retain)
        }
        if result != MOSQ_ERR_SUCCESS.rawValue {
            logger.debug("mqtt: publish to \(topic) failed: \(String(cString: mosquitto_strerror(result)))")
            return false
        }
        return true
    }

    /// Disconnects cleanly and stops the network thread. The object is unusable after.
    public func stop() {
        lock.lock()
        let first = !stopped
        stopped = true
        lock.unlock()
        guard first else { return }
        mosquitto_disconnect(handle)
        lock.lock()
        let running = started
        lock.unlock()
        // The loop notices within its 1 s select timeout (or its back-off pause).
        if running { _ = networkLoopDone.wait(timeout: .now() + 5) }
        continuation.finish()
    }

    deinit {
        stop()
        mosquitto_destroy(handle)
    }

    private func didConnect(code: Int32) {
        guard code == 0 else {
            logger.warning("mqtt: \(broker) refused the connection: \(String(cString: mosquitto_connack_string(code)))")
            return
        }
        lock.lock()
        let current = subscriptions
        accepted = true
        lock.unlock()
        // Subscribed from the callback, before anything else is sent on this connection,
        // so the broker's retained messages come before any marker the relay publishes.
        for subscription in current { mosquitto_subscribe(handle, nil, subscription.pattern, subscription.qos) }
        continuation.yield(.connected)
    }
}

/// A relay setting that cannot be used (bad flag, unreadable file).
public struct RelayConfigError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
