import KingletCore

/// Desired values of BLE actuators: a write goes as one short GATT session (LE Create
/// Connection, Read By Type to find the characteristic's value handle by its UUID, Write
/// Request, Read Request of the value back, Disconnect), one session at a time, with a
/// deadline over the whole exchange. The value read back is the reading that confirms the
/// desired value.
struct BLEGATTWrite {
    let driver: BLEDeviceDriver
    let property: Int
    let peer: BLEAddress
    let addressType: BLEAddressType
    let characteristic: BLEUUID
    let value: [UInt8]
}

final class BLEGATTSessions {
    enum Phase {
        case connecting
        case finding(GATTRequestID)
        case writing(GATTRequestID)
        case readingBack(GATTRequestID)
        case closing
    }

    /// The longest one write may take, connection included.
    static let deadline = Duration.seconds(15)

    private var queue: [BLEGATTWrite] = []
    private var active: BLEGATTWrite?
    private var phase = Phase.connecting
    private var connection: UInt16?
    private var client: GATTClient?
    private var startedAt = Instant(nanoseconds: 0)
    private var valueHandle: UInt16 = 0
    private var outcome: String?? = nil

    var isIdle: Bool { active == nil }
    /// The peer of the session under way, if any.
    var activePeer: BLEAddress? { active?.peer }
    var nextDeadline: Instant? { active.map { _ in startedAt.advanced(by: BLEGATTSessions.deadline) } }

    func enqueue(_ write: BLEGATTWrite, scanner: BLEScanner, now: Instant) {
        // A newer desired value for the same property replaces a queued one.
        queue.removeAll { $0.driver === write.driver && $0.property == write.property }
        queue.append(write)
        startNext(scanner: scanner, now: now)
    }

    /// Drops the writes of a stopped driver (the active one finishes unreported).
    func forget(_ driver: BLEDeviceDriver) { queue.removeAll { $0.driver === driver } }

    func startNext(scanner: BLEScanner, now: Instant) {
        guard active == nil, !queue.isEmpty else { return }
        let write = queue.removeFirst()
        active = write
        phase = .connecting
        connection = nil
        client = nil
        outcome = nil
        startedAt = now
        do throws(BLEScannerError) {
            try scanner.connect(HCIConnectionParameters(peer: write.peer, peerAddressType: write.addressType), now: now)
        } catch {
            finish(error.description, scanner: scanner, now: now)
        }
    }

    /// The controller's events that belong to a write session.
    func handle(_ event: BLEScannerEvent, scanner: BLEScanner, now: Instant) {
        guard let write = active else { return }
        switch event {
        case .connected(let complete) where complete.peer == write.peer:
            guard complete.status == .success else {
                finish("connection refused: \(complete.status.description)", scanner: scanner, now: now)
                return
            }
            connection = complete.handle
            let client = GATTClient(connectionHandle: complete.handle, credits: scanner.aclCredits)
            self.client = client
            do throws(GATTError) {
                phase = .finding(try client.readByType(write.characteristic, now: now))
            } catch {
                finish(error.description, scanner: scanner, now: now)
            }
        case .connectionFailed(let peer, let status) where peer == write.peer:
            connection = nil
            phase = .closing  // nothing pending to cancel any more
            finish("connection failed: \(status.description)", scanner: scanner, now: now)
        case .aclData(let packet) where packet.handle == connection:
            client?.receive(packet, now: now)
            drainClient(scanner: scanner, now: now)
        case .disconnected(let handle, let reason) where handle == connection:
            connection = nil
            client?.connectionClosed()
            if outcome == nil { outcome = .some("disconnected: \(reason.description)") }
            report()
            startNext(scanner: scanner, now: now)
        default:
            break
        }
    }

    /// Bytes the GATT client wants on the wire.
    func takeOutgoing() -> [UInt8]? { client?.takeOutgoing() }

    func tick(scanner: BLEScanner, now: Instant) {
        client?.tick(now: now)
        drainClient(scanner: scanner, now: now)
        if active != nil && now >= startedAt.advanced(by: BLEGATTSessions.deadline) {
            finish("no answer within \(BLEGATTSessions.deadline.milliseconds / 1000) s", scanner: scanner, now: now)
        }
    }

    private func drainClient(scanner: BLEScanner, now: Instant) {
        guard let client, let write = active else { return }
        while let event = client.nextEvent() {
            switch (event, phase) {
            case (.readByTypeCompleted(let id, let values), .finding(let expected)) where id == expected:
                guard let handle = values.first?.handle else {
                    finish("the device has no characteristic \(write.characteristic.description)", scanner: scanner, now: now)
                    return
                }
                valueHandle = handle
                do throws(GATTError) {
                    phase = .writing(try client.write(handle: handle, value: write.value, now: now))
                } catch {
                    finish(error.description, scanner: scanner, now: now)
                }
            case (.writeCompleted(let id), .writing(let expected)) where id == expected:
                do throws(GATTError) {
                    phase = .readingBack(try client.read(handle: valueHandle, now: now))
                } catch {
                    finish(nil, scanner: scanner, now: now)
                }
            case (.readCompleted(let id, let value), .readingBack(let expected)) where id == expected:
                write.driver.readBack(write.property, value: value)
                finish(nil, scanner: scanner, now: now)
            case (.requestFailed(_, let error), _):
                finish(error.description, scanner: scanner, now: now)
            case (.bearerTimedOut, _):
                finish("the ATT bearer timed out", scanner: scanner, now: now)
            default:
                break
            }
        }
    }

    /// Records the outcome and ends the session: disconnect if connected, else report now.
    private func finish(_ failure: String?, scanner: BLEScanner, now: Instant) {
        if outcome == nil { outcome = .some(failure) }
        var connecting = false
        if case .connecting = phase { connecting = true }
        phase = .closing
        if let connection {
            try? scanner.disconnect(handle: connection, now: now)
            // Reported on Disconnection Complete; the deadline covers a lost one.
            if now < startedAt.advanced(by: BLEGATTSessions.deadline) { return }
            self.connection = nil
        } else if connecting {
            // Only a create-connection still pending is cancelled: cancelling none is a
            // Command Disallowed, which the scanner would take for a failing controller.
            try? scanner.cancelConnect(now: now)
        }
        report()
        startNext(scanner: scanner, now: now)
    }

    private func report() {
        guard let write = active else { return }
        active = nil
        client = nil
        let failure: String? = outcome ?? nil
        write.driver.written(write.property, failure: failure)
    }
}
