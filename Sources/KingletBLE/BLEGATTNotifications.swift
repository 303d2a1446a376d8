import KingletCore

/// One BLE Device's connection held open for its `notify` properties, as `BLEGATTSessions`
/// sets it up and keeps it: its characteristics (one subscription per UUID, feeding every
/// property that names it), the handles found for them, its state and back-off.
final class BLEHeldConnection {
    struct Subscription: Equatable {
        let characteristic: BLEUUID
        /// The device's properties this characteristic's value feeds.
        var properties: [Int]
        /// Found by the setup; 0 until then.
        var valueHandle: UInt16 = 0
        var configurationHandle: UInt16 = 0

        init(characteristic: BLEUUID, properties: [Int]) {
            self.characteristic = characteristic
            self.properties = properties
        }
    }

    enum State {
        /// The controller is not ready: nothing happens until it is.
        case idle
        /// Waiting to try again at this instant (back-off).
        case waiting(Instant)
        /// Its setup waits for the exchange under way.
        case queued
        /// Its setup is the exchange under way.
        case settingUp
        /// Connected, notifications enabled: every notification is a reading.
        case subscribed
    }

    /// 1 s, doubled after each failed try up to 30 s; back to 1 s once a notification came.
    static let firstRetryDelay = Duration.seconds(1)
    static let longestRetryDelay = Duration.seconds(30)

    let driver: BLEDeviceDriver
    let peer: BLEAddress
    let addressType: BLEAddressType
    var subscriptions: [Subscription]
    var state = State.idle
    var connection: UInt16?
    var client: GATTClient?
    var retryDelay = BLEHeldConnection.firstRetryDelay
    /// The client's bad-PDU counters already counted on the device.
    var badPDUsSeen = 0

    init(driver: BLEDeviceDriver, peer: BLEAddress, addressType: BLEAddressType, subscriptions: [Subscription]) {
        self.driver = driver
        self.peer = peer
        self.addressType = addressType
        self.subscriptions = subscriptions
    }

    var isSubscribed: Bool {
        if case .subscribed = state { return true }
        return false
    }

    /// Forgets the connection (closed, lost, or never made); the handles are found again
    /// on the next one, since a server's handles may change between connections.
    func dropConnection() {
        connection = nil
        client = nil
        badPDUsSeen = 0
        for index in subscriptions.indices {
            subscriptions[index].valueHandle = 0
            subscriptions[index].configurationHandle = 0
        }
    }

    /// A Handle Value Notification (or Indication): the connection works.
    func notified(handle: UInt16, value: [UInt8], now: Instant) {
        retryDelay = BLEHeldConnection.firstRetryDelay
        deliver(handle: handle, value: value, now: now, notification: true)
    }

    /// A value of the attribute at `handle` (a notification, or the value read during the
    /// setup) to the properties it feeds; a handle no property subscribed to is counted.
    func deliver(handle: UInt16, value: [UInt8], now: Instant, notification: Bool = false) {
        var matched = false
        for subscription in subscriptions where handle != 0 && subscription.valueHandle == handle {
            matched = true
            driver.characteristicValue(subscription.properties, value: value, now: now, notification: notification)
        }
        if !matched { driver.countBadFrames(1) }
    }
}
