/// The formats found in one advertisement.
public struct BLEAdvertisementFormats: OptionSet, Equatable, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let bthome = BLEAdvertisementFormats(rawValue: 1 << 0)
    public static let eddystone = BLEAdvertisementFormats(rawValue: 1 << 1)
    public static let iBeacon = BLEAdvertisementFormats(rawValue: 1 << 2)
    public static let ruuvi = BLEAdvertisementFormats(rawValue: 1 << 3)
}

/// What one advertising report decoded to.
///
/// `readings` (and, for a report, the data behind `localName`) are the decoder's reused
/// buffers, shared, not copied: drop this value before the decoder's next `decode`, or that
/// decode copies the buffers (copy-on-write) instead of refilling them.
public struct BLEDecodedAdvertisement: Equatable, Sendable {
    public let address: BLEAddress
    public let rssi: Int8?
    public let formats: BLEAdvertisementFormats
    /// Every reading of every format found (BTHome, Eddystone, iBeacon, Ruuvi, in that
    /// order), then `rssi` in dBm when the controller gave it.
    public let readings: [BLEReading]
    let data: ArraySlice<UInt8>

    /// Read from the data when asked: a name is text, and text is a heap allocation.
    public var localName: String? { BLEAdvertisingData(data).localName }
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
///
/// Decoding allocates nothing: the report's data is copied into a reused buffer and read
/// in place, readings go into another reused buffer (see `BLEDecodedAdvertisement`), and
/// encrypted BTHome is opened with one kept AES-CCM context. Text (the local name, the last
/// problem's description) is made only when asked.
public final class BLEAdvertisementDecoder {
    public private(set) var counters = BLEDecoderCounters()
    private var bindKeys: [BLEAddress: [UInt8]] = [:]
    private var data: [UInt8] = []
    private var readings: [BLEReading] = []
    private let decryptor = BLEAESCCMDecryptor()
    private var lastError: BLEDecoderError? = nil

    public init() {
        data.reserveCapacity(BLEInlineBytes.capacity)
    }

    /// The last problem met, for the owner's log line.
    public var lastProblem: String? { lastError?.description }

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
        data.removeAll(keepingCapacity: true)
        data.append(contentsOf: report.data)
        return decode(bytes: data[...], address: report.address, rssi: report.rssi)
    }

    public func decode(data: [UInt8], address: BLEAddress, rssi: Int8?) -> BLEDecodedAdvertisement? {
        decode(bytes: data[...], address: address, rssi: rssi)
    }

    private func decode(bytes: ArraySlice<UInt8>, address: BLEAddress, rssi: Int8?) -> BLEDecodedAdvertisement? {
        counters.reports += 1
        let ad = BLEAdvertisingData(bytes)
        if let problem = ad.problem {
            counters.malformedADStructures += 1
            lastError = .advertisingData(problem)
        }
        readings.removeAll(keepingCapacity: true)
        var formats: BLEAdvertisementFormats = []
        if let service = ad.serviceData(uuid16: BTHome.serviceUUID) {
            do throws(BTHomeError) {
                let packet = try BTHome.decode(serviceData: service, address: address, bindKey: bindKeys[address],
                                               decryptor: decryptor, appendingTo: &readings)
                if let problem = packet.problem { count(problem) }
                formats.insert(.bthome)
            } catch {
                count(error)
            }
        }
        if let service = ad.serviceData(uuid16: BLEEddystone.serviceUUID) {
            do throws(BLEBeaconError) {
                try BLEEddystoneFrame(serviceData: service).appendReadings(to: &readings)
                formats.insert(.eddystone)
            } catch {
                counters.eddystoneErrors += 1
                lastError = .beacon(error)
            }
        }
        if let data = ad.manufacturerData(company: BLEIBeacon.company), data.first == 0x02 {
            // Apple sends other manufacturer data too; only type 0x02 is iBeacon.
            do throws(BLEBeaconError) {
                try BLEIBeacon(manufacturerData: data).appendReadings(to: &readings)
                formats.insert(.iBeacon)
            } catch {
                counters.iBeaconErrors += 1
                lastError = .beacon(error)
            }
        }
        if let data = ad.manufacturerData(company: BLERuuviRAWv2.company) {
            do throws(BLEBeaconError) {
                try BLERuuviRAWv2(manufacturerData: data).appendReadings(to: &readings)
                formats.insert(.ruuvi)
            } catch {
                counters.ruuviErrors += 1
                lastError = .beacon(error)
            }
        }
        guard !formats.isEmpty else {
            counters.unrecognized += 1
            return nil
        }
        counters.decoded += 1
        if let rssi { readings.append(BLEReading(name: "rssi", unit: "dBm", value: Double(rssi))) }
        return BLEDecodedAdvertisement(address: address, rssi: rssi, formats: formats, readings: readings, data: bytes)
    }

    private func count(_ error: BTHomeError) {
        lastError = .bthome(error)
        switch error {
        case .unknownObject: counters.bthomeUnknownObjects += 1
        case .truncatedObject, .truncatedEncryption: counters.bthomeTruncated += 1
        case .decryptionFailed: counters.bthomeDecryptionFailures += 1
        case .missingBindKey: counters.bthomeMissingKeys += 1
        case .empty, .unsupportedVersion, .invalidBindKey: counters.bthomeOtherErrors += 1
        }
    }
}

/// A decoder's last problem, kept as a value: its text is made when the owner asks.
enum BLEDecoderError {
    case advertisingData(BLEAdvertisingDataError)
    case bthome(BTHomeError)
    case beacon(BLEBeaconError)

    var description: String {
        switch self {
        case .advertisingData(let error): return error.description
        case .bthome(let error): return error.description
        case .beacon(let error): return error.description
        }
    }
}
