import KingletCore

/// Owns the board's devices: one driver each, collects on every property's cycle, writes
/// desired values, keeps the twins. Runs on the agent's loop; a reading allocates nothing.
public final class DeviceManager {
    public final class ManagedDevice {
        public private(set) var spec: DeviceSpec
        public internal(set) var twin: DeviceTwin
        public let driver: any DeviceDriver
        let events: DeviceDriverEvents
        /// Per property: when it is next read.
        var nextCollect: [Instant]
        var timer: TimerHandle?
        /// Made once: rescheduling the same closure allocates nothing.
        var tick: () -> Void = {}
        /// For the owner: the twin changed since the owner last kept it (a flag, where a
        /// set of uids would hash one per reading).
        public var twinUnsaved = false

        init(spec: DeviceSpec, driver: any DeviceDriver, events: DeviceDriverEvents, now: Instant) {
            self.spec = spec
            self.driver = driver
            self.events = events
            twin = DeviceTwin(propertyCount: spec.properties.count)
            nextCollect = [Instant](repeating: now, count: spec.properties.count)
        }

        func replaceSpec(_ spec: DeviceSpec) { self.spec = spec }
    }

    private let loop: any EventLoop
    private let wallClockMilliseconds: () -> Int64
    private let makeDriver: (DeviceSpec, DeviceDriverEvents) -> (any DeviceDriver)?
    public private(set) var devices: [String: ManagedDevice] = [:]
    /// Called when a device's twin or state changed (for status reports and the local bus).
    public var twinChanged: (ManagedDevice) -> Void = { _ in }
    public var log: (String) -> Void = { _ in }

    /// - Parameter makeDriver: the driver for a spec's protocol, or nil when the board
    ///   cannot drive it (the device is reported offline with the reason).
    public init(loop: any EventLoop, wallClockMilliseconds: @escaping () -> Int64,
                makeDriver: @escaping (DeviceSpec, DeviceDriverEvents) -> (any DeviceDriver)?) {
        self.loop = loop
        self.wallClockMilliseconds = wallClockMilliseconds
        self.makeDriver = makeDriver
    }

    /// Makes the running set equal to `specs`: unchanged devices are untouched; a device
    /// whose desired values alone changed keeps its driver and gets the writes; any other
    /// change restarts its driver; devices not listed are closed.
    public func apply(_ specs: [DeviceSpec]) {
        var listed = Set<String>()
        for spec in specs {
            listed.insert(spec.uid)
            if let current = devices[spec.uid] {
                if current.spec.specHash == spec.specHash && current.spec.connectionHash == spec.connectionHash { continue }
                if current.spec.connectionHash == spec.connectionHash {
                    updateDesired(current, to: spec)
                    continue
                }
                close(current)
                log("device \(spec.fullName): its spec changed, reopening it")
            }
            open(spec)
        }
        for (uid, device) in devices where !listed.contains(uid) {
            close(device)
            log("device \(device.spec.fullName) removed")
        }
    }

    /// Restores twins kept in the cache (after `apply`): readings and desired state survive
    /// a restart of the agent.
    public func restore(uid: String, twin: DeviceTwin) {
        guard let device = devices[uid], twin.properties.count == device.twin.properties.count else { return }
        for index in twin.properties.indices {
            var property = twin.properties[index]
            property.desired = device.twin.properties[index].desired
            property.desiredAt = device.twin.properties[index].desiredAt
            property.writePending = device.twin.properties[index].writePending
            property.awaitingConfirmation = device.twin.properties[index].awaitingConfirmation
            if property.observedDesired != nil && property.observedDesired == property.desired {
                property.writePending = false
                property.awaitingConfirmation = false
            }
            device.twin.properties[index] = property
        }
        device.twin.lastOnlineAt = twin.lastOnlineAt
    }

    public func stopAll() {
        for device in devices.values { close(device) }
    }

    private func open(_ spec: DeviceSpec) {
        let events = DeviceDriverEvents()
        // Set before the driver exists: its constructor reports bad settings through it.
        var problem = ""
        events.log = { [self] message in
            problem = message
            self.log("device \(spec.fullName): " + message)
        }
        var driver: any DeviceDriver
        var undriven = false
        if let made = makeDriver(spec, events) {
            driver = made
        } else {
            undriven = true
            // Kept, offline with the reason, so that its status says so and a later apply
            // of the same spec does not try (and log) again.
            log("device \(spec.fullName) is not driven; fix its spec and apply it again")
            driver = UndrivenDevice()
        }
        let device = ManagedDevice(spec: spec, driver: driver, events: events, now: loop.now)
        let now = wallClockMilliseconds()
        for index in spec.properties.indices {
            device.twin.properties[index].desired = spec.properties[index].desired
            device.twin.properties[index].desiredAt = now
            device.twin.properties[index].writePending = spec.properties[index].desired != nil
        }
        events.reported = { [self, device] index, value in
            self.reported(device, index, value)
        }
        events.written = { [self, device] index, failure in
            self.written(device, index, failure)
        }
        events.stateChanged = { [self, device] state, reason in
            self.stateChanged(device, state, reason)
        }
        device.tick = { [self, device] in
            self.collectDue(device)
        }
        devices[spec.uid] = device
        if undriven {
            device.twin.state = .offline
            device.twin.stateReason = problem.isEmpty ? "no driver for protocol \(spec.kind.rawValue)" : problem
            twinChanged(device)
            return
        }
        driver.start()
        log("device \(spec.fullName) (\(spec.kind.rawValue), \(spec.properties.count) properties) opened")
        scheduleNext(device)
        writePending(device)
        twinChanged(device)
    }

    private func close(_ device: ManagedDevice) {
        if let timer = device.timer { loop.cancel(timer) }
        device.timer = nil
        device.driver.stop()
        // The callbacks hold the device and the manager (Embedded Swift has no weak
        // references): dropping them lets the device go.
        device.events.reported = { _, _ in }
        device.events.written = { _, _ in }
        device.events.stateChanged = { _, _ in }
        device.events.log = { _ in }
        device.tick = {}
        devices[device.spec.uid] = nil
    }

    private func updateDesired(_ device: ManagedDevice, to spec: DeviceSpec) {
        device.replaceSpec(spec)
        let now = wallClockMilliseconds()
        for index in spec.properties.indices where device.twin.properties[index].desired != spec.properties[index].desired {
            device.twin.properties[index].desired = spec.properties[index].desired
            device.twin.properties[index].desiredAt = now
            device.twin.properties[index].writePending = spec.properties[index].desired != nil
        }
        writePending(device)
        twinChanged(device)
    }

    private func writePending(_ device: ManagedDevice) {
        for index in device.spec.properties.indices where device.twin.properties[index].writePending {
            let property = device.spec.properties[index]
            guard let text = device.twin.properties[index].desired else { continue }
            guard let value = DeviceValue.parse(text, as: property.type) else {
                device.twin.properties[index].writePending = false
                log("device \(device.spec.fullName): desired value '\(text)' of \(property.name) is not a \(property.type.rawValue)")
                continue
            }
            device.twin.properties[index].writePending = false
            device.twin.properties[index].awaitingConfirmation = true
            device.driver.write(property: index, value: value)
        }
    }

    private func collectDue(_ device: ManagedDevice) {
        device.timer = nil
        let now = loop.now
        for index in device.nextCollect.indices where device.nextCollect[index] <= now {
            device.driver.collect(property: index)
            // Behind by more than a cycle (a stalled bus), the missed reads are skipped.
            let cycle = Duration.milliseconds(device.spec.properties[index].collectCycleMilliseconds)
            device.nextCollect[index] = DeviceManager.onGrid(after: now, cycle: cycle)
        }
        scheduleNext(device)
    }

    /// The first instant after `now` that is a whole number of cycles on the monotonic
    /// clock. Reads with the same cycle, on every device, come due at the same instants,
    /// so the loop wakes once per cycle for all of them rather than once per device.
    public static func onGrid(after now: Instant, cycle: Duration) -> Instant {
        let step = max(cycle.nanoseconds, 1)
        let (whole, overflow) = (now.nanoseconds / step + 1).multipliedReportingOverflow(by: step)
        return overflow ? now.advanced(by: cycle) : Instant(nanoseconds: whole)
    }

    private func scheduleNext(_ device: ManagedDevice) {
        guard var earliest = device.nextCollect.first else { return }
        for instant in device.nextCollect where instant < earliest { earliest = instant }
        device.timer = loop.schedule(at: earliest, device.tick)
    }

    private func reported(_ device: ManagedDevice, _ index: Int, _ value: DeviceValue) {
        guard index >= 0 && index < device.twin.properties.count else { return }
        let now = wallClockMilliseconds()
        device.twin.properties[index].reported = value
        device.twin.properties[index].reportedAt = now
        device.twin.lastOnlineAt = now
        if device.twin.properties[index].awaitingConfirmation, let text = device.twin.properties[index].desired,
           let desired = DeviceValue.parse(text, as: device.spec.properties[index].type) {
            if value.confirms(desired) {
                device.twin.properties[index].awaitingConfirmation = false
                device.twin.properties[index].observedDesired = text
                device.twin.properties[index].observedDesiredAt = now
            }
        }
        if device.twin.state != .online {
            // Through the state change: writes that failed while it was away go out now.
            stateChanged(device, .online, "")
            return
        }
        twinChanged(device)
    }

    private func written(_ device: ManagedDevice, _ index: Int, _ failure: String?) {
        guard index >= 0 && index < device.twin.properties.count else { return }
        if let failure {
            // Written again when the device comes (back) online or the desired value changes;
            // a failing write is not retried in a loop against a device that refuses it.
            device.twin.properties[index].awaitingConfirmation = false
            device.twin.properties[index].writePending = true
            log("device \(device.spec.fullName): writing \(device.spec.properties[index].name) failed: \(failure)")
            return
        }
        // Read it back at once: the next reading confirms it (observedDesired).
        device.driver.collect(property: index)
    }

    private func stateChanged(_ device: ManagedDevice, _ state: DeviceState, _ reason: String) {
        guard device.twin.state != state || device.twin.stateReason != reason else { return }
        let previous = device.twin.state
        device.twin.state = state
        device.twin.stateReason = reason
        if state == .offline {
            log("device \(device.spec.fullName) is offline: \(reason)")
        } else if state == .online && previous != .online {
            if previous == .offline { log("device \(device.spec.fullName) answers again") }
            // Writes that failed (or never went out) go now; ones in flight are left alone.
            writePending(device)
        }
        twinChanged(device)
    }
}

/// The stand-in driver of a device whose spec no driver accepts: it does nothing, and the
/// device stays offline with the reason.
final class UndrivenDevice: DeviceDriver {
    var counters = DeviceCounters()
    func start() {}
    func stop() {}
    func collect(property index: Int) {}
    func write(property index: Int, value: DeviceValue) {}
}
