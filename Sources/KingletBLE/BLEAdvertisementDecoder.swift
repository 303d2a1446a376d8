/// One recognised format found in an advertisement.
public enum BLEAdvertisementPayload: Equatable, Sendable {
    case bthome(BTHomePacket)
    case iBeacon(BLEIBeacon)
    case eddystone(BLEEddystone)
    case ruuvi(BLERuuviRAWv2)

    public var readings: [BLEReading] {
        switch self {
        case .bthome(let packet): return packet.readings
        case .iBeacon(let beacon): return beacon.readings
        case .eddystone(let frame): return frame.readings
        case .ruuvi(let ruuvi): return ruuvi.readings
        }
    }

    public var formatName: String {
        switch self {
        case .bthome: return "bthome"
        case .iBeacon: return "ibeacon"
        case .eddystone: return "eddystone"
        case .ruuvi: return "ruuvi"
        }
    }
}

/// What one advertising report decoded to.
public struct BLEDecodedAdvertisement: Equatable, Sendable {
    public let address: BLEAddress
    public let rssi: Int8?
    public let localName: String?
    public let payloads: [BLEAdvertisementPayload]

    /// Every reading of every payload, plus `rssi` in dBm when the controller gave it.
    public var readings: [BLEReading] {
        var out: [BLEReading] = []
        for payload in payloads { out.append(contentsOf: payload.readings) }
        if let rssi { out.append(BLEReading(name: "rssi", unit: "dBm", value: Double(rssi))) }
        return out
    }
}

public struct BLEDecoderCounters: Equatable, Sendable {
    public var reports = 0
    public var decoded = 0
    /// Reports with no format this decoder knows (most of the radio's chatter).
    public var unrecognized = 0
    public var malformedADStructures = 0
    public var bthomeUnknownObjects = 0
    public var bthomeTruncated = 0
    public var bthomeDecryptionFailures = 0
    public var bthomeMissingKeys = 0
    public var bthomeOtherErrors = 0
    public var iBeaconErrors = 0
    public var eddystoneErrors = 0
    public var ruuviErrors = 0

    public init() {}
}

/// Turns advertising reports into readings, holding the BTHome bind keys per device and
/// counting every kind of bad data it meets. A report that fails one format may still
/// yield another; nothing here throws to the owner.
public final class BLEAdvertisementDecoder {
    public private(set) var counters = BLEDecoderCounters()
    /// The last problem met, for the owner's log line.
    public private(set) var lastProblem: String? = nil
    private var bindKeys: [BLEAddress: [UInt8]] = [:]

    public init() {}

    public func setBindKey(_ key: [UInt8], for address: BLEAddress) throws(BTHomeError) {
        guard key.count == 16 else { throw .invalidBindKey }
        bindKeys[address] = key
    }

    /// Accepts the 32 hex digits BTHome devices show.
    public func setBindKey(hex: String, for address: BLEAddress) throws(BTHomeError) {
        guard let key = BLEHex.bytes(hex) else { throw .invalidBindKey }
        try setBindKey(key, for: address)
    }

    public func removeBindKey(for address: BLEAddress) { bindKeys[address] = nil }

    public func decode(_ report: HCIAdvertisingReport) -> BLEDecodedAdvertisement? {
        decode(data: report.data, address: report.address, rssi: report.rssi)
    }

    public func decode(data: [UInt8], address: BLEAddress, rssi: Int8?) -> BLEDecodedAdvertisement? {
        counters.reports += 1
        let ad = BLEAdvertisingData(data)
        if let problem = ad.problem {
            counters.malformedADStructures += 1
            lastProblem = problem.description
        }
        var payloads: [BLEAdvertisementPayload] = []
        if let service = ad.serviceData(uuid16: BTHome.serviceUUID) {
            do throws(BTHomeError) {
                let packet = try BTHome.decode(serviceData: service, address: address, bindKey: bindKeys[address])
                if let problem = packet.problem { count(problem) }
                payloads.append(.bthome(packet))
            } catch {
                count(error)
            }
        }
        if let service = ad.serviceData(uuid16: BLEEddystone.serviceUUID) {
            do throws(BLEBeaconError) {
                payloads.append(.eddystone(try BLEEddystone(serviceData: service)))
            } catch {
                counters.eddystoneErrors += 1
                lastProblem = error.description
            }
        }
        if let data = ad.manufacturerData(company: BLEIBeacon.company), data.first == 0x02 {
            // Apple sends other manufacturer data too; only type 0x02 is iBeacon.
            do throws(BLEBeaconError) {
                payloads.append(.iBeacon(try BLEIBeacon(manufacturerData: data)))
            } catch {
                counters.iBeaconErrors += 1
                lastProblem = error.description
            }
        }
        if let data = ad.manufacturerData(company: BLERuuviRAWv2.company) {
            do throws(BLEBeaconError) {
                payloads.append(.ruuvi(try BLERuuviRAWv2(manufacturerData: data)))
            } catch {
                counters.ruuviErrors += 1
                lastProblem = error.description
            }
        }
        guard !payloads.isEmpty else {
            counters.unrecognized += 1
            return nil
        }
        counters.decoded += 1
        return BLEDecodedAdvertisement(address: address, rssi: rssi, localName: ad.localName, payloads: payloads)
    }

    private func count(_ error: BTHomeError) {
        lastProblem = error.description
        switch error {
        case .unknownObject: counters.bthomeUnknownObjects += 1
        case .truncatedObject, .truncatedEncryption: counters.bthomeTruncated += 1
        case .decryptionFailed: counters.bthomeDecryptionFailures += 1
        case .missingBindKey: counters.bthomeMissingKeys += 1
        case .empty, .unsupportedVersion, .invalidBindKey: counters.bthomeOtherErrors += 1
        }
    }
}
