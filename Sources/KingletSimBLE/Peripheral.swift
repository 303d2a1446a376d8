/// A simulated peripheral: its drifting measurements and the advertising PDUs it sends.

/// A measurement that wanders within ± drift of its configured value, a bounded random walk.
/// It starts exactly at the configured value.
struct Drifter: Sendable {
    let spec: DriftSpec
    private(set) var current: Double

    init(_ spec: DriftSpec) {
        self.spec = spec
        current = spec.value
    }

    mutating func step(_ rng: inout SimRandom) {
        guard spec.drift > 0 else { return }
        current += rng.unit() * spec.drift / 4
        current = min(max(current, spec.value - spec.drift), spec.value + spec.drift)
    }
}

/// The current readings of one peripheral, renewed every measurement interval.
struct PeripheralSample: Sendable {
    var bthome: [(BTHomeObject, Drifter)] = []
    var ruuvi: [Drifter] = []
    var tlmTemperature: Drifter?
    /// BTHome packet id: a receiver drops a packet whose id it has just seen.
    var packetId: UInt8 = 0
    /// BTHome encryption counter, renewed with every new measurement so no nonce repeats.
    var encryptionCounter: UInt32 = 0
    var ruuviSequence: UInt16 = 0
    var movementCounter: UInt8 = 0

    init(_ config: PeripheralConfig) {
        switch config.payload {
        case let .bthome(b)?:
            bthome = b.measurements.map { ($0.0, Drifter($0.1)) }
        case let .ruuvi(r)?:
            ruuvi = ([r.temperature, r.humidity, r.pressure] + r.acceleration + [r.batteryVolts]).map(Drifter.init)
            movementCounter = r.movementCounter
        case let .eddystone(e)?:
            tlmTemperature = e.tlm?.temperature.map(Drifter.init)
        default:
            break
        }
    }

    mutating func measure(_ rng: inout SimRandom) {
        for i in bthome.indices { bthome[i].1.step(&rng) }
        for i in ruuvi.indices { ruuvi[i].step(&rng) }
        tlmTemperature?.step(&rng)
        packetId &+= 1
        encryptionCounter &+= 1
        // 0xFFFF means "not available" in RAWv2, so the sequence wraps before it.
        ruuviSequence = ruuviSequence >= 0xFFFE ? 0 : ruuviSequence + 1
        // Now and then the tag is nudged.
        if ruuvi.contains(where: { $0.spec.drift > 0 }), rng.next() % 8 == 0 { movementCounter = movementCounter >= 254 ? 0 : movementCounter + 1 }
    }

    var ruuviSample: RuuviRAWv2.Sample {
        RuuviRAWv2.Sample(temperature: ruuvi[0].current, humidity: ruuvi[1].current,
                          pressure: ruuvi[2].current * 100,
                          acceleration: [ruuvi[3].current, ruuvi[4].current, ruuvi[5].current],
                          batteryVolts: ruuvi[6].current, txPower: 0, movementCounter: movementCounter,
                          sequence: ruuviSequence)
    }
}

/// One advertising event's content.
struct Advertisement: Equatable, Sendable {
    var type: AdvertisingEventType
    var data: [UInt8]
    /// Sent to an active scanner's SCAN_REQ; nil when the PDU is not scannable.
    var scanResponse: [UInt8]?
}

enum AdvertisingBuilder {
    /// How many different frames a peripheral rotates through (Eddystone interleaves its frames).
    static func frameCount(_ config: PeripheralConfig) -> Int {
        guard case let .eddystone(e)? = config.payload else { return 1 }
        return (e.uid == nil ? 0 : 1) + (e.url == nil ? 0 : 1) + (e.tlm == nil ? 0 : 1)
    }

    static func build(_ config: PeripheralConfig, sample: PeripheralSample, advertisingCount: UInt32, tenths: UInt32,
                      eddystoneFrame: Int) throws -> Advertisement {
        var data = generalDiscoverableFlags
        switch config.payload {
        case nil:
            break
        case let .bthome(b)?:
            var values = sample.bthome.map { ($0.0, $0.1.current) }
            if b.packetId { values.append((.packetId, Double(sample.packetId))) }
            guard let objects = BTHome.objects(values) else {
                throw DevicesFileError(path: "bthome", message: "a measurement does not fit its BTHome field")
            }
            data += adStructure(.serviceData16, try BTHome.serviceData(objects: objects, address: config.address,
                                                                      bindKey: b.bindKey, counter: sample.encryptionCounter,
                                                                      trigger: b.trigger))
        case let .ibeacon(i)?:
            data += adStructure(.manufacturerSpecificData,
                                IBeacon.manufacturerData(uuid: i.uuid, major: i.major, minor: i.minor, measuredPower: i.measuredPower))
        case let .eddystone(e)?:
            var frames: [[UInt8]] = []
            if let uid = e.uid { frames.append(Eddystone.uidFrame(txPower: e.txPower, namespace: uid.namespace, instance: uid.instance)) }
            if let url = e.url, let encoded = Eddystone.encodeURL(url) { frames.append(Eddystone.urlFrame(txPower: e.txPower, encodedURL: encoded)) }
            if let tlm = e.tlm {
                frames.append(Eddystone.tlmFrame(batteryMillivolts: tlm.batteryMillivolts, temperature: sample.tlmTemperature?.current,
                                                 advertisingCount: advertisingCount, tenthsOfSecondsSincePowerUp: tenths))
            }
            let uuid: [UInt8] = [UInt8(Eddystone.uuid & 0xFF), UInt8(Eddystone.uuid >> 8)]
            data += adStructure(.completeList16BitUUIDs, uuid)
            data += adStructure(.serviceData16, uuid + frames[eddystoneFrame % frames.count])
        case let .ruuvi(r)?:
            var s = sample.ruuviSample
            s.txPower = r.txPower
            data += adStructure(.manufacturerSpecificData, RuuviRAWv2.manufacturerData(s, address: config.address))
        }
        guard data.count <= maxLegacyAdvertisingData else {
            throw DevicesFileError(path: "", message: "the advertising data takes \(data.count) octets; legacy advertising holds \(maxLegacyAdvertisingData)")
        }
        var scanResponse: [UInt8]?
        if let name = config.localName {
            let ad = adStructure(.completeLocalName, Array(name.utf8))
            if data.count + ad.count <= maxLegacyAdvertisingData { data += ad } else { scanResponse = ad }
        }
        let type: AdvertisingEventType
        if config.connectable {
            type = .advInd
            if scanResponse == nil { scanResponse = [] }
        } else {
            type = scanResponse == nil ? .advNonconnInd : .advScanInd
        }
        return Advertisement(type: type, data: data, scanResponse: scanResponse)
    }
}

/// A peripheral in the controller's radio range.
struct Peripheral: Sendable {
    let config: PeripheralConfig
    var sample: PeripheralSample
    let poweredUp: SimInstant
    var nextAdvertising: SimInstant
    var nextMeasurement: SimInstant
    var advertisingCount: UInt32 = 0
    var frame = 0
    /// The connection this peripheral is in; a connected peripheral stops advertising.
    var connection: UInt16?
    var gatt: AttributeDatabase?

    init(_ config: PeripheralConfig, start: SimInstant, rng: inout SimRandom) {
        self.config = config
        sample = PeripheralSample(config)
        poweredUp = start
        // Peripherals are not in step with each other: each starts somewhere in its interval.
        nextAdvertising = start.adding(microseconds: rng.next() % (config.intervalMs * 1000))
        nextMeasurement = start.adding(milliseconds: config.measurementIntervalMs)
        gatt = config.gatt.map { AttributeDatabase($0) }
    }

    /// Runs one advertising event at `at`: renews the measurement when due and returns the PDU.
    mutating func advertise(at: SimInstant, rng: inout SimRandom) -> Advertisement? {
        if at >= nextMeasurement {
            sample.measure(&rng)
            nextMeasurement = at.adding(milliseconds: config.measurementIntervalMs)
        }
        advertisingCount &+= 1
        let tenths = UInt32(truncatingIfNeeded: at.since(poweredUp) / 100_000_000)
        let ad = try? AdvertisingBuilder.build(config, sample: sample, advertisingCount: advertisingCount, tenths: tenths,
                                               eddystoneFrame: frame)
        frame += 1
        // advDelay, a pseudo-random 0–10 ms added to each advertising interval (Core Vol 6 Part B §4.4.2.2.1).
        nextAdvertising = at.adding(milliseconds: config.intervalMs).adding(microseconds: rng.next() % 10_001)
        return ad
    }

    /// RSSI as a scanner measures it: the configured level ± 3 dB.
    func rssi(_ rng: inout SimRandom) -> Int8 {
        Int8(clamping: config.rssi + Int(rng.next() % 7) - 3)
    }
}
