import CKingletSystem
import KingletConfig
import KingletCore
import KingletLocalBus

/// The local bus in the agent: made when `devices.localBroker` is set, fed every twin
/// change by BoardDevices, shown by `kinglet status`.
extension Agent {
    static func makeLocalBus(_ config: AgentConfig, loop: any EventLoop, log: AgentLog) -> LocalBus? {
        guard let broker = config.devices.localBroker else { return nil }
        let bus = LocalBus(loop: loop, nodeName: config.nodeName, host: broker.host, port: broker.port,
                           wallClockNanoseconds: { kinglet_realtime_ns() },
                           seed: UInt64(bitPattern: kinglet_realtime_ns()) ^ 0x6c6f_6361_6c62_7573)
        bus.log = { message in log.info(message) }
        return bus
    }

    /// Connects once the devices exist (their lookups are ready); the connection itself
    /// completes on the loop.
    func startLocalBus() {
        guard let localBus else { return }
        // Let go by localBus.close() (Embedded Swift has no unowned).
        localBus.deviceLookup = { [devices] uid in devices.manager.devices[uid] }
        if let failure = localBus.start() { log.error("local bus: \(failure.description)") }
        // libmosquitto's wake-up socket pair must not leak into containers.
        _ = kinglet_cloexec_inherited_descriptors()
    }
}
