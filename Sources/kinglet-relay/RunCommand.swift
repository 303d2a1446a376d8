import ArgumentParser
import Foundation
import KingletKube
import KingletRelay
import Logging

/// `kinglet-relay run`: the controller, until SIGTERM or SIGINT.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the relay controller (the default).",
        discussion: """
            Exit status: 0 after a clean stop (SIGTERM/SIGINT; the membership Lease is released \
            so other replicas take the nodes over at once), 2 for a bad configuration \
            (kubeconfig, broker URL, TLS files, taint), 1 when the API server stays unreachable.
            """
    )

    @Option(help: ArgumentHelp("Path of the kubeconfig file (default: $KUBECONFIG, else in-cluster when KUBERNETES_SERVICE_HOST is set, else ~/.kube/config).", valueName: "file"))
    var kubeconfig: String?

    @Option(help: ArgumentHelp("The kubeconfig context to use (default: its current-context).", valueName: "name"))
    var context: String?

    @Flag(help: "Use the pod's service account (KUBERNETES_SERVICE_HOST/PORT and /var/run/secrets/kubernetes.io/serviceaccount).")
    var inCluster = false

    @Option(help: ArgumentHelp("The MQTT broker: mqtt://host:port (plain TCP) or mqtts://host:port (mTLS).", valueName: "url"))
    var broker = "mqtt://127.0.0.1:1883"

    @Option(help: ArgumentHelp("CA bundle that signed the broker's certificate (mqtts://).", valueName: "file"))
    var caFile: String?

    @Option(help: ArgumentHelp("The relay's client certificate for the broker (CN kinglet-relay).", valueName: "file"))
    var certFile: String?

    @Option(help: ArgumentHelp("The key of --cert-file.", valueName: "file"))
    var keyFile: String?

    @Option(help: ArgumentHelp("This replica's id; its membership Lease is kinglet-relay-<id> (default: host name and pid).", valueName: "id"))
    var replicaID: String?

    @Option(help: ArgumentHelp("Namespace of the replicas' membership Leases.", valueName: "namespace"))
    var namespace = "kinglet-system"

    @Option(help: ArgumentHelp("Taint for the Nodes the relay creates, key[=value]:Effect, e.g. node-role.kubernetes.io/edge:NoSchedule.", valueName: "taint"))
    var edgeTaint: String?

    @Option(help: ArgumentHelp("Log level: trace, debug, info, notice, warning, error, critical.", valueName: "level"))
    var logLevel = "info"

    @Option(help: ArgumentHelp("Lease duration in seconds (node and membership Leases; a board silent this long turns Unknown).", valueName: "seconds"))
    var leaseDuration: Double = 40

    @Option(help: ArgumentHelp("Lease renew interval in seconds (0.25 x the duration, as the kubelet).", valueName: "seconds"))
    var renewInterval: Double = 10

    @Option(help: ArgumentHelp("At most this many API writes at once.", valueName: "count"))
    var writeConcurrency = 32

    @Option(help: ArgumentHelp("Server-side timeout of each watch request, in seconds (the informers then watch again from the last resourceVersion).", valueName: "seconds"))
    var watchTimeout = 300

    @Option(help: ArgumentHelp("How long to retry reaching the API server at start before giving up (exit 1).", valueName: "seconds"))
    var startupTimeout: Double = 10

    func validate() throws {
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
        guard leaseDuration > 0, renewInterval > 0, renewInterval < leaseDuration else {
            throw ValidationError("--renew-interval must be positive and shorter than --lease-duration")
        }
        guard watchTimeout > 0 else { throw ValidationError("--watch-timeout must be positive") }
        guard writeConcurrency > 0 else { throw ValidationError("--write-concurrency must be positive") }
    }

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "kinglet-relay")

        let config: KubeConfig
        let options: RelayOptions
        let brokerURL: BrokerURL
        let client: KubeClient
        let mqtt: MQTTClient
        do {
            config = try loadKubeConfig()
            brokerURL = try BrokerURL(parsing: broker)
            var relayOptions = RelayOptions(replicaID: replicaID ?? RelayOptions.defaultReplicaID)
            relayOptions.namespace = namespace
            relayOptions.leaseDuration = leaseDuration
            relayOptions.renewInterval = renewInterval
            relayOptions.writeConcurrency = writeConcurrency
            relayOptions.watchTimeout = watchTimeout
            if let edgeTaint { relayOptions.edgeTaint = try Taint(parsing: edgeTaint) }
            options = relayOptions
            if !brokerURL.usesTLS && !brokerURL.isLoopback {
                logger.warning("broker \(brokerURL) is plain TCP on a non-loopback address: use mqtts:// outside tests")
            }
            let tls = caFile.map { BrokerTLSFiles(caFile: $0, certFile: certFile, keyFile: keyFile) }
            if (certFile == nil) != (keyFile == nil) {
                throw RelayConfigError("--cert-file and --key-file go together")
            }
            client = try KubeClient(config: config, logger: logger)
            mqtt = try MQTTClient(broker: brokerURL, clientID: "kinglet-relay-\(options.replicaID)", tls: tls, logger: logger)
        } catch {
            FileHandle.standardError.write(Data("kinglet-relay: \(error)\n".utf8))
            throw ExitCode(2)
        }

        do {
            try await probe(client, logger: logger)
        } catch {
            FileHandle.standardError.write(Data("kinglet-relay: cannot use the API server \(config.server) (\(config.source)): \(error)\n".utf8))
            await client.shutdown()
            throw ExitCode(1)
        }
        logger.info("kinglet-relay \(Relay.version) replica \(options.replicaID): API \(config.server), broker \(brokerURL)")

        let controller = RelayController(options: options, client: client, mqtt: mqtt, logger: logger)
        do {
            try await controller.start()
        } catch {
            FileHandle.standardError.write(Data("kinglet-relay: \(error)\n".utf8))
            throw ExitCode(2)
        }
        let signal = await Self.waitForTermination()
        logger.info("signal \(signal): stopping")
        await controller.stop()
        await client.shutdown()
    }

    func loadKubeConfig() throws -> KubeConfig {
        let environment = ProcessInfo.processInfo.environment
        if inCluster { return try KubeConfig.inCluster() }
        if let kubeconfig { return try KubeConfig.load(kubeconfig: kubeconfig, context: context) }
        if let paths = environment["KUBECONFIG"], let first = paths.split(separator: ":").first {
            return try KubeConfig.load(kubeconfig: String(first), context: context)
        }
        if environment["KUBERNETES_SERVICE_HOST"] != nil { return try KubeConfig.inCluster() }
        return try KubeConfig.load(kubeconfig: NSHomeDirectory() + "/.kube/config", context: context)
    }

    /// One cheap request, retried with back-off for `startupTimeout` seconds.
    func probe(_ client: KubeClient, logger: Logger) async throws {
        let deadline = Date().addingTimeInterval(startupTimeout)
        var backoff = Backoff(initial: 0.25, maximum: 2)
        while true {
            do {
                _ = try await client.listPage(.nodes, labelSelector: "node-role.kubernetes.io/edge", limit: 1)
                return
            } catch KubeError.transport(let message) {
                guard Date() < deadline else { throw KubeError.transport(message) }
                logger.debug("API not reachable yet: \(message)")
                try await Task.sleep(for: .seconds(backoff.nextDelay()))
            }
        }
    }

    static func waitForTermination() async -> Int32 {
        let (stream, continuation) = AsyncStream.makeStream(of: Int32.self)
        var sources: [DispatchSourceSignal] = []
        for number in [SIGTERM, SIGINT] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { continuation.yield(number) }
            source.resume()
            sources.append(source)
        }
        defer { sources.forEach { $0.cancel() } }
        for await number in stream { return number }
        return 0
    }
}
