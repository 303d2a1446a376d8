import KingletCore

/// A desired value to write to a GATT characteristic.
struct BLEGATTWrite {
    let driver: BLEDeviceDriver
    let property: Int
    let peer: BLEAddress
    let addressType: BLEAddressType
    let characteristic: BLEUUID
    let value: [UInt8]
}

/// The controller's GATT work, one exchange at a time:
///
/// - **Writes** of BLE actuators' desired values: one short session each (LE Create
///   Connection, Read By Type to find the characteristic's value handle by its UUID, Write
///   Request, Read Request of the value back, Disconnect), or, for a device whose connection
///   is held for notifications, the same requests over that connection, which stays open.
///   The value read back is the reading that confirms the desired value.
/// - **Notifications** of BLE sensors: a device with `notify` properties gets one connection
///   held open (`BLEHeldConnection`). Its setup is an exchange like a write: connect, then for
///   each characteristic Read By Type (its value handle, and its value as a first reading),
///   Find Information after the value handle (its Client Characteristic Configuration
///   descriptor, 0x2902), Write Request of 0x0001 to that descriptor. Then every Handle Value
///   Notification of a value handle is a reading, while other exchanges go on.
///
/// Only one exchange (connection attempt included) runs at a time, whatever the device, with
/// a deadline over the whole of it: the controller takes one LE Create Connection at a time,
/// and the peripherals of cheap sensors answer one client slowly.
final class BLEGATTSessions {
    enum Job {
        case write(BLEGATTWrite)
        case subscribe(BLEHeldConnection)

        var driver: BLEDeviceDriver {
            switch self {
            case .write(let write): return write.driver
            case .subscribe(let held): return held.driver
            }
        }

        var peer: BLEAddress {
            switch self {
            case .write(let write): return write.peer
            case .subscribe(let held): return held.peer
            }
        }

        var addressType: BLEAddressType {
            switch self {
            case .write(let write): return write.addressType
            case .subscribe(let held): return held.addressType
            }
        }
    }

    enum Phase {
        case connecting
        /// The connection attempt failed: nothing pending to cancel, nothing to close.
        case unconnected
        // A write.
        case finding(GATTRequestID)
        case writing(GATTRequestID)
        case readingBack(GATTRequestID)
        // A held connection's setup, for its subscription at the index.
        case findingValue(Int, GATTRequestID)
        case findingConfiguration(Int, GATTRequestID, requests: Int)
        case enabling(Int, GATTRequestID)
        case closing
    }

    /// The longest one exchange may take, connection included.
    static let deadline = Duration.seconds(15)
    /// Find Information requests spent looking for one characteristic's configuration
    /// descriptor (a response holds at least one descriptor; few characteristics have more
    /// than three).
    static let maximumDescriptorRequests = 16

    private var queue: [Job] = []
    private var active: Job?
    private var phase = Phase.connecting
    /// The active write's own connection and client (a short session).
    private var connection: UInt16?
    private var client: GATTClient?
    private var clientBadPDUs = 0
    /// The held connection the active job runs over: its own setup, or a write to a device
    /// whose connection is held.
    private var via: BLEHeldConnection?
    private var held: [BLEHeldConnection] = []
    private var startedAt = Instant(nanoseconds: 0)
    private var valueHandle: UInt16 = 0
    private var outcome: String?? = nil
    /// An LE Create Connection Cancel was sent: the LE Connection Complete it ends with
    /// (Unknown Connection Identifier, Core Vol 4 Part E §7.8.13) belongs to no exchange,
    /// even when the next one connects to the same device.
    private var cancelSent = false

    var isIdle: Bool { active == nil }
    /// The devices whose connections are held (or wanted) for notifications.
    var heldConnections: [BLEHeldConnection] { held }

    var nextDeadline: Instant? {
        var next: Instant? = active.map { _ in startedAt.advanced(by: BLEGATTSessions.deadline) }
        for connection in held {
            var due: Instant? = connection.client?.nextDeadline
            if case .waiting(let at) = connection.state, due.map({ at < $0 }) ?? true { due = at }
            if let due, next.map({ due < $0 }) ?? true { next = due }
        }
        return next
    }

    // MARK: The link's calls

    func enqueue(_ write: BLEGATTWrite, scanner: BLEScanner, now: Instant) {
        // A newer desired value for the same property replaces a queued one.
        queue.removeAll {
            guard case .write(let queued) = $0 else { return false }
            return queued.driver === write.driver && queued.property == write.property
        }
        queue.append(.write(write))
        startNext(scanner: scanner, now: now)
    }

    /// Holds a connection to `driver`'s device for its notify properties, from now on
    /// (`ready`) or once the controller is.
    func hold(_ driver: BLEDeviceDriver, subscriptions: [BLEHeldConnection.Subscription], ready: Bool,
              scanner: BLEScanner, now: Instant) {
        guard !subscriptions.isEmpty, !held.contains(where: { $0.driver === driver }) else { return }
        let connection = BLEHeldConnection(driver: driver, peer: driver.address, addressType: driver.addressType,
                                           subscriptions: subscriptions)
        held.append(connection)
        if ready { due(connection, scanner: scanner, now: now) }
    }

    /// A stopped driver: its queued work is dropped, its held connection closed. A short
    /// write session of it under way finishes, reported to the stopped device (ignored).
    func forget(_ driver: BLEDeviceDriver, scanner: BLEScanner, now: Instant) {
        queue.removeAll { $0.driver === driver }
        guard let index = held.firstIndex(where: { $0.driver === driver }) else { return }
        let connection = held.remove(at: index)
        let activeOnIt = via === connection
        var connecting = false
        if activeOnIt, case .connecting = phase { connecting = true }
        if let handle = connection.connection {
            try? scanner.disconnect(handle: handle, now: now)
        } else if connecting {
            // Only a create-connection still pending is cancelled (cancelling none is a
            // Command Disallowed, which the scanner would take for a failing controller).
            cancelConnect(scanner: scanner, now: now)
        }
        connection.dropConnection()
        connection.state = .idle
        guard activeOnIt else { return }
        if case .write? = active {
            if outcome == nil { outcome = .some("the device was stopped") }
            report()
        } else {
            endJob()
        }
        startNext(scanner: scanner, now: now)
    }

    /// The controller scans again after a Reset: every connection is gone; the held ones
    /// are set up again at once.
    func controllerReady(scanner: BLEScanner, now: Instant) {
        dropEverything(reason: "the BLE controller was reset")
        for connection in held { due(connection, scanner: scanner, now: now) }
    }

    /// The controller is gone or restarting: every exchange fails, held connections wait
    /// for it to be ready again.
    func controllerLost(_ reason: String) {
        dropEverything(reason: reason)
    }

    func handle(_ event: BLEScannerEvent, scanner: BLEScanner, now: Instant) {
        switch event {
        case .connected(let complete):
            if let job = active, case .connecting = phase, job.peer == complete.peer {
                connected(complete.handle, job: job, scanner: scanner, now: now)
            } else if complete.status == .success {
                // A connection no exchange waits for (one that completed after its exchange
                // gave up, or its device stopped, before a cancel could take): close it
                // rather than leak it.
                cancelSent = false
                try? scanner.disconnect(handle: complete.handle, now: now)
            }
        case .connectionFailed(let peer, let status):
            if cancelSent && status == HCIStatus(code: 0x02) {
                cancelSent = false
                return
            }
            guard let job = active, case .connecting = phase, job.peer == peer else { return }
            phase = .unconnected
            finish("connection failed: \(status.description)", scanner: scanner, now: now)
        case .aclData(let packet):
            if let client, packet.handle == connection {
                client.receive(packet, now: now)
                countBadPDUs(client, driver: active?.driver, seen: &clientBadPDUs)
                drain(client, held: nil, scanner: scanner, now: now)
            } else if let owner = held.first(where: { $0.connection == packet.handle }), let heldClient = owner.client {
                heldClient.receive(packet, now: now)
                countBadPDUs(heldClient, driver: owner.driver, seen: &owner.badPDUsSeen)
                drain(heldClient, held: owner, scanner: scanner, now: now)
            }
        case .disconnected(let handle, let reason):
            if handle == connection {
                connection = nil
                client?.connectionClosed()
                if outcome == nil { outcome = .some("disconnected: \(reason.description)") }
                report()
                startNext(scanner: scanner, now: now)
            } else if let owner = held.first(where: { $0.connection == handle }) {
                heldDisconnected(owner, reason: "disconnected: \(reason.description)", scanner: scanner, now: now)
            }
        case .ready, .failed, .advertisement, .scanningStopped, .scanningResumed:
            break
        }
    }

    /// Bytes the GATT clients want on the wire: the short session's, then the held ones'.
    func takeOutgoing() -> [UInt8]? {
        if let bytes = client?.takeOutgoing() { return bytes }
        for connection in held {
            if let bytes = connection.client?.takeOutgoing() { return bytes }
        }
        return nil
    }

    func tick(scanner: BLEScanner, now: Instant) {
        if let client {
            client.tick(now: now)
            drain(client, held: nil, scanner: scanner, now: now)
        }
        for connection in held {
            guard let heldClient = connection.client else { continue }
            heldClient.tick(now: now)
            drain(heldClient, held: connection, scanner: scanner, now: now)
        }
        if active != nil && now >= startedAt.advanced(by: BLEGATTSessions.deadline) {
            finish("no answer within \(BLEGATTSessions.deadline.milliseconds / 1000) s", scanner: scanner, now: now)
        }
        for connection in held {
            if case .waiting(let at) = connection.state, at <= now { due(connection, scanner: scanner, now: now) }
        }
    }

    // MARK: Internals

    private func due(_ connection: BLEHeldConnection, scanner: BLEScanner, now: Instant) {
        connection.state = .queued
        queue.append(.subscribe(connection))
        startNext(scanner: scanner, now: now)
    }

    private func startNext(scanner: BLEScanner, now: Instant) {
        // Bounded: each turn takes one job off the queue.
        while active == nil, !queue.isEmpty {
            let job = queue.removeFirst()
            active = job
            phase = .connecting
            connection = nil
            client = nil
            clientBadPDUs = 0
            via = nil
            outcome = nil
            startedAt = now
            switch job {
            case .write(let write):
                if let subscribed = held.first(where: { $0.driver === write.driver }), case .subscribed = subscribed.state,
                   let heldClient = subscribed.client, !heldClient.isClosed {
                    // The device's connection is held: the write goes over it.
                    via = subscribed
                    do throws(GATTError) {
                        phase = .finding(try heldClient.readByType(write.characteristic, now: now))
                    } catch {
                        finish(error.description, scanner: scanner, now: now)
                    }
                    continue
                }
            case .subscribe(let connection):
                via = connection
                connection.state = .settingUp
            }
            do throws(BLEScannerError) {
                try scanner.connect(HCIConnectionParameters(peer: job.peer, peerAddressType: job.addressType), now: now)
            } catch {
                phase = .unconnected
                finish(error.description, scanner: scanner, now: now)
            }
        }
    }

    private func connected(_ handle: UInt16, job: Job, scanner: BLEScanner, now: Instant) {
        let newClient = GATTClient(connectionHandle: handle, credits: scanner.aclCredits)
        do throws(GATTError) {
            switch job {
            case .write(let write):
                connection = handle
                client = newClient
                phase = .finding(try newClient.readByType(write.characteristic, now: now))
            case .subscribe(let held):
                held.connection = handle
                held.client = newClient
                held.badPDUsSeen = 0
                try findValue(held, 0, client: newClient, now: now)
            }
        } catch {
            finish(error.description, scanner: scanner, now: now)
        }
    }

    private func findValue(_ held: BLEHeldConnection, _ index: Int, client: GATTClient, now: Instant) throws(GATTError) {
        phase = .findingValue(index, try client.readByType(held.subscriptions[index].characteristic, now: now))
    }

    /// Find Information after the value handle (Core Vol 3 Part G §4.7.1: the descriptors
    /// follow the value, up to the next declaration).
    private func findConfiguration(_ held: BLEHeldConnection, _ index: Int, after handle: UInt16, requests: Int,
                                   client: GATTClient, scanner: BLEScanner, now: Instant) throws(GATTError) {
        guard handle < 0xFFFF, requests < BLEGATTSessions.maximumDescriptorRequests else {
            return finish(noConfiguration(held, index), scanner: scanner, now: now)
        }
        phase = .findingConfiguration(index, try client.findInformation(start: handle + 1, now: now), requests: requests + 1)
    }

    private func noConfiguration(_ held: BLEHeldConnection, _ index: Int) -> String {
        "characteristic \(held.subscriptions[index].characteristic.description) has no Client Characteristic Configuration descriptor"
    }

    /// A GATT client's events: notifications of a held connection become readings; the
    /// rest moves the exchange under way on, if it runs on this client.
    private func drain(_ source: GATTClient, held owner: BLEHeldConnection?, scanner: BLEScanner, now: Instant) {
        while let event = source.nextEvent() {
            // A client given up on meanwhile (its connection closed) has nothing more to say.
            if let owner, owner.client !== source { break }
            if owner == nil && client !== source { break }
            switch event {
            case .notification(let handle, let value), .indication(let handle, let value):
                guard let owner else { continue }  // a short write session subscribed to nothing
                owner.notified(handle: handle, value: value, now: now)
            case .bearerTimedOut:
                if activeClient === source {
                    finish("the ATT bearer timed out", scanner: scanner, now: now)
                } else if let owner {
                    close(owner, reason: "the ATT bearer timed out", scanner: scanner, now: now)
                }
            default:
                if activeClient === source { advance(event, client: source, scanner: scanner, now: now) }
            }
        }
    }

    private var activeClient: GATTClient? {
        guard active != nil else { return nil }
        return via?.client ?? client
    }

    /// The exchange under way, one response further.
    private func advance(_ event: GATTClientEvent, client: GATTClient, scanner: BLEScanner, now: Instant) {
        guard let job = active else { return }
        do throws(GATTError) {
            switch (job, event, phase) {
            case (.write(let write), .readByTypeCompleted(let id, let values), .finding(let expected)) where id == expected:
                guard let handle = values.first?.handle else {
                    return finish("the device has no characteristic \(write.characteristic.description)", scanner: scanner, now: now)
                }
                valueHandle = handle
                phase = .writing(try client.write(handle: handle, value: write.value, now: now))
            case (.write, .writeCompleted(let id), .writing(let expected)) where id == expected:
                do throws(GATTError) {
                    phase = .readingBack(try client.read(handle: valueHandle, now: now))
                } catch {
                    // Written; only the read-back could not be asked for.
                    finish(nil, scanner: scanner, now: now)
                }
            case (.write(let write), .readCompleted(let id, let value), .readingBack(let expected)) where id == expected:
                write.driver.readBack(write.property, value: value)
                finish(nil, scanner: scanner, now: now)

            case (.subscribe(let held), .readByTypeCompleted(let id, let values), .findingValue(let index, let expected))
                where id == expected:
                guard let found = values.first, found.handle != 0 else {
                    let uuid = held.subscriptions[index].characteristic.description
                    return finish("the device has no characteristic \(uuid)", scanner: scanner, now: now)
                }
                held.subscriptions[index].valueHandle = found.handle
                // The value as read is a first reading, unless it may have been cut to fit
                // the response (Read By Type carries at most ATT_MTU - 4 bytes of it).
                if found.value.count < Int(client.mtu) - 4 { held.deliver(handle: found.handle, value: found.value, now: now) }
                try findConfiguration(held, index, after: found.handle, requests: 0, client: client, scanner: scanner, now: now)
            case (.subscribe(let held), .requestFailed(let id, .attError(_, let handle, let code)), .findingValue(let index, let expected))
                where id == expected && code == .readNotPermitted && handle != 0:
                // A notify-only value: the error names its handle (Core Vol 3 Part F §3.4.4.1).
                held.subscriptions[index].valueHandle = handle
                try findConfiguration(held, index, after: handle, requests: 0, client: client, scanner: scanner, now: now)
            case (.subscribe(let held), .findInformationCompleted(let id, let entries), .findingConfiguration(let index, let expected, let requests))
                where id == expected:
                var last = held.subscriptions[index].valueHandle
                for entry in entries {
                    // Ascending handles (§3.4.3.2); anything else would loop.
                    guard entry.handle > last else {
                        return finish("malformed Find Information response (handles not ascending)", scanner: scanner, now: now)
                    }
                    last = entry.handle
                    if entry.type == .clientCharacteristicConfiguration {
                        held.subscriptions[index].configurationHandle = entry.handle
                        phase = .enabling(index, try client.enableNotifications(cccdHandle: entry.handle, now: now))
                        return
                    }
                    if entry.type.isDeclaration { return finish(noConfiguration(held, index), scanner: scanner, now: now) }
                }
                try findConfiguration(held, index, after: last, requests: requests, client: client, scanner: scanner, now: now)
            case (.subscribe(let held), .requestFailed(let id, .attError(_, _, let code)), .findingConfiguration(let index, let expected, _))
                where id == expected && code == .attributeNotFound:
                finish(noConfiguration(held, index), scanner: scanner, now: now)
            case (.subscribe(let held), .writeCompleted(let id), .enabling(let index, let expected)) where id == expected:
                if index + 1 < held.subscriptions.count {
                    try findValue(held, index + 1, client: client, now: now)
                } else {
                    finish(nil, scanner: scanner, now: now)
                }

            case (.write, .requestFailed(_, let error), _):
                finish(error.description, scanner: scanner, now: now)
            case (.subscribe(let held), .requestFailed(_, let error), _):
                finish(step(held) + ": " + error.description, scanner: scanner, now: now)
            default:
                break
            }
        } catch {
            finish(error.description, scanner: scanner, now: now)
        }
    }

    /// What a held connection's setup was doing, for its failure's message.
    private func step(_ held: BLEHeldConnection) -> String {
        switch phase {
        case .findingValue(let index, _): return "finding characteristic " + held.subscriptions[index].characteristic.description
        case .findingConfiguration(let index, _, _):
            return "finding the configuration descriptor of " + held.subscriptions[index].characteristic.description
        case .enabling(let index, _): return "enabling notifications of " + held.subscriptions[index].characteristic.description
        default: return "setting up notifications"
        }
    }

    /// Records the outcome and ends the exchange: a short session disconnects (reported on
    /// Disconnection Complete); a held connection's failed setup disconnects and waits for
    /// its next try; a write over a held connection leaves it open.
    private func finish(_ failure: String?, scanner: BLEScanner, now: Instant) {
        guard let job = active else { return }
        var connecting = false
        if case .connecting = phase { connecting = true }
        var closing = false
        if case .closing = phase { closing = true }
        phase = .closing
        switch job {
        case .write:
            if outcome == nil { outcome = .some(failure) }
            if let over = via {
                // A request that timed out leaves the bearer unusable (Core Vol 3 Part F §3.3.3):
                // the held connection starts over. Otherwise it stays open.
                if failure != nil && now >= startedAt.advanced(by: BLEGATTSessions.deadline) || over.client?.isClosed == true {
                    close(over, reason: failure ?? "the ATT bearer closed", scanner: scanner, now: now)
                }
                report()
                startNext(scanner: scanner, now: now)
                return
            }
            if let connection {
                try? scanner.disconnect(handle: connection, now: now)
                // Reported on Disconnection Complete; the deadline covers a lost one.
                if now < startedAt.advanced(by: BLEGATTSessions.deadline) { return }
                self.connection = nil
            } else if connecting {
                // Only a create-connection still pending is cancelled: cancelling none is a
                // Command Disallowed, which the scanner would take for a failing controller.
                cancelConnect(scanner: scanner, now: now)
            }
            report()
        case .subscribe(let held):
            guard let failure else {
                held.state = .subscribed
                held.driver.notificationsStarted(held.subscriptions, now: now)
                endJob()
                break
            }
            if !closing { held.driver.notificationsFailed(failure) }
            if let handle = held.connection {
                try? scanner.disconnect(handle: handle, now: now)
                // The next try waits for Disconnection Complete; the deadline covers a lost one.
                if now < startedAt.advanced(by: BLEGATTSessions.deadline) { return }
            } else if connecting {
                cancelConnect(scanner: scanner, now: now)
            }
            held.dropConnection()
            retryLater(held, now: now)
            endJob()
        }
        startNext(scanner: scanner, now: now)
    }

    /// A held connection's Disconnection Complete.
    private func heldDisconnected(_ held: BLEHeldConnection, reason: String, scanner: BLEScanner, now: Instant) {
        held.client?.connectionClosed()
        var subscribed = false
        if case .subscribed = held.state { subscribed = true }
        held.dropConnection()
        retryLater(held, now: now)
        var lostWrite = false
        if via === held {
            switch active {
            case .write?:
                if outcome == nil { outcome = .some(reason) }
                lostWrite = true
            case .subscribe?:
                // Closed after a failed setup (logged then), or lost during it.
                if case .closing = phase {} else { held.driver.notificationsFailed(reason) }
                endJob()
            case nil:
                break
            }
        }
        if subscribed { held.driver.notificationsStopped(reason, now: now) }
        if lostWrite { report() }
        startNext(scanner: scanner, now: now)
    }

    /// Closes a subscribed connection whose bearer is unusable; it is set up again later.
    private func close(_ held: BLEHeldConnection, reason: String, scanner: BLEScanner, now: Instant) {
        guard let handle = held.connection else { return }
        try? scanner.disconnect(handle: handle, now: now)
        held.dropConnection()
        held.driver.notificationsStopped(reason, now: now)
        retryLater(held, now: now)
    }

    private func retryLater(_ held: BLEHeldConnection, now: Instant) {
        held.state = .waiting(now.advanced(by: held.retryDelay))
        held.retryDelay = min(held.retryDelay * 2, BLEHeldConnection.longestRetryDelay)
    }

    private func countBadPDUs(_ source: GATTClient, driver: BLEDeviceDriver?, seen: inout Int) {
        let counters = source.counters
        let bad = counters.malformedPDUs + counters.unexpectedResponses + counters.droppedFragments
        if bad > seen, let driver { driver.countBadFrames(bad - seen) }
        seen = bad
    }

    /// Reports a write's outcome (once) and clears the exchange.
    private func report() {
        guard case .write(let write)? = active else { return }
        let failure: String? = outcome ?? nil
        endJob()
        write.driver.written(write.property, failure: failure)
    }

    private func endJob() {
        active = nil
        via = nil
        client = nil
        connection = nil
        phase = .closing
    }

    private func cancelConnect(scanner: BLEScanner, now: Instant) {
        do throws(BLEScannerError) {
            try scanner.cancelConnect(now: now)
            cancelSent = true
        } catch {}
    }

    /// Every exchange and connection ends without a word to the controller (it was reset or
    /// is gone): writes fail with `reason`, held connections wait for the controller.
    private func dropEverything(reason: String) {
        var failed: [(BLEGATTWrite, String?)] = []
        if case .write(let write)? = active { failed.append((write, outcome ?? .some(reason))) }
        endJob()
        for case .write(let write) in queue { failed.append((write, reason)) }
        queue.removeAll()
        cancelSent = false
        for connection in held {
            connection.dropConnection()
            connection.state = .idle
            connection.retryDelay = BLEHeldConnection.firstRetryDelay
            connection.driver.heldConnectionDropped()
        }
        // Last: a driver told of its failed write may ask for another at once.
        for (write, failure) in failed { write.driver.written(write.property, failure: failure) }
    }
}
