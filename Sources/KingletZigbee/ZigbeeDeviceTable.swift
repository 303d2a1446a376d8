/// A joined device as the coordinator remembers it.
public struct ZigbeeDevice: Equatable, Sendable {
    public var ieee: ZigbeeIEEEAddress
    /// Current network address; `ZigbeeDeviceTable.unknownNWK` when another device took it.
    public var nwk: UInt16
    /// Application endpoints seen (from ZDO Active_EP_rsp or as message sources), sorted.
    public var endpoints: [UInt8]

    public init(ieee: ZigbeeIEEEAddress, nwk: UInt16, endpoints: [UInt8] = []) {
        self.ieee = ieee
        self.nwk = nwk
        self.endpoints = endpoints
    }

    public var address: ZigbeeDeviceAddress { ZigbeeDeviceAddress(ieee: ieee, nwk: nwk) }
}

/// Why a stored device table could not be read. `offset` is the byte where it went wrong.
public enum ZigbeeDeviceTableError: Error, Equatable, Sendable {
    case badMagic
    case unsupportedVersion(UInt8)
    case truncated(offset: Int)
    case tooManyDevices(count: Int, capacity: Int)
    case duplicateDevice(offset: Int)

    public var description: String {
        switch self {
        case .badMagic: return "device table record does not start with \"ZB\""
        case .unsupportedVersion(let v): return "device table record version " + String(v) + " is not supported"
        case .truncated(let offset): return "device table record ends early at byte " + String(offset)
        case .tooManyDevices(let count, let capacity):
            return "device table record holds " + String(count) + " devices, capacity is " + String(capacity)
        case .duplicateDevice(let offset): return "device table record repeats a device at byte " + String(offset)
        }
    }
}

/// The devices on the network, IEEE ↔ NWK, with their endpoints. Exported as a compact
/// byte record for the owner's cache, so a restart knows the devices before they speak:
///
///     "ZB" | version 1 | count u16 | count × (ieee u64 | nwk u16 | n u8 | n endpoints)
///
/// all little-endian; 11 bytes plus the endpoints per device.
public struct ZigbeeDeviceTable: Equatable, Sendable {
    /// Z-Stack's "address unknown" (also what Zigbee uses for an unassigned NWK).
    public static let unknownNWK: UInt16 = 0xFFFE
    static let magic: [UInt8] = [0x5A, 0x42]
    static let version: UInt8 = 1

    public private(set) var devices: [ZigbeeDevice] = []
    public let capacity: Int

    public init(capacity: Int = 128) {
        self.capacity = max(capacity, 0)
    }

    public var count: Int { devices.count }

    public func device(ieee: ZigbeeIEEEAddress) -> ZigbeeDevice? {
        index(ieee: ieee).map { devices[$0] }
    }

    public func device(nwk: UInt16) -> ZigbeeDevice? {
        index(nwk: nwk).map { devices[$0] }
    }

    func index(ieee: ZigbeeIEEEAddress) -> Int? {
        for i in devices.indices where devices[i].ieee == ieee { return i }
        return nil
    }

    func index(nwk: UInt16) -> Int? {
        guard nwk != ZigbeeDeviceTable.unknownNWK else { return nil }
        for i in devices.indices where devices[i].nwk == nwk { return i }
        return nil
    }

    /// Records that `address.ieee` now has `address.nwk`. A device that held that NWK
    /// before has left it (addresses are reassigned after a leave), so its NWK becomes
    /// unknown. Returns false when the device is new and the table is full.
    @discardableResult
    public mutating func update(_ address: ZigbeeDeviceAddress) -> Bool {
        if let other = index(nwk: address.nwk), devices[other].ieee != address.ieee {
            devices[other].nwk = ZigbeeDeviceTable.unknownNWK
        }
        if let i = index(ieee: address.ieee) {
            devices[i].nwk = address.nwk
            return true
        }
        guard devices.count < capacity else { return false }
        devices.append(ZigbeeDevice(ieee: address.ieee, nwk: address.nwk))
        return true
    }

    /// Adds one endpoint to a known device; returns whether it was new.
    @discardableResult
    public mutating func addEndpoint(_ endpoint: UInt8, ieee: ZigbeeIEEEAddress) -> Bool {
        guard let i = index(ieee: ieee), !devices[i].endpoints.contains(endpoint) else { return false }
        devices[i].endpoints.append(endpoint)
        devices[i].endpoints.sort()
        return true
    }

    public mutating func setEndpoints<C: Collection>(_ endpoints: C, ieee: ZigbeeIEEEAddress) where C.Element == UInt8 {
        guard let i = index(ieee: ieee) else { return }
        var sorted: [UInt8] = []
        for endpoint in endpoints where !sorted.contains(endpoint) { sorted.append(endpoint) }
        sorted.sort()
        devices[i].endpoints = sorted
    }

    @discardableResult
    public mutating func remove(ieee: ZigbeeIEEEAddress) -> ZigbeeDevice? {
        guard let i = index(ieee: ieee) else { return nil }
        return devices.remove(at: i)
    }

    /// The table as its byte record.
    public func exportRecord() -> [UInt8] {
        var w = ZigbeeByteWriter(capacity: 5 + devices.count * 16)
        w.append(ZigbeeDeviceTable.magic)
        w.u8(ZigbeeDeviceTable.version)
        w.u16(UInt16(truncatingIfNeeded: min(devices.count, Int(UInt16.max))))
        for device in devices.prefix(Int(UInt16.max)) {
            w.u64(device.ieee.rawValue)
            w.u16(device.nwk)
            let endpoints = device.endpoints.prefix(255)
            w.u8(UInt8(endpoints.count))
            w.append(endpoints)
        }
        return w.bytes
    }

    /// A table read back from `exportRecord()`'s bytes.
    public static func importRecord(_ record: [UInt8], capacity: Int = 128)
        throws(ZigbeeDeviceTableError) -> ZigbeeDeviceTable {
        var r = ZigbeeByteReader(record[...])
        guard r.u8() == magic[0], r.u8() == magic[1], !r.isTruncated else { throw .badMagic }
        let version = r.u8()
        if r.isTruncated { throw .truncated(offset: r.position) }
        guard version == ZigbeeDeviceTable.version else { throw .unsupportedVersion(version) }
        let count = Int(r.u16())
        if r.isTruncated { throw .truncated(offset: record.count) }
        var table = ZigbeeDeviceTable(capacity: capacity)
        guard count <= table.capacity else { throw .tooManyDevices(count: count, capacity: table.capacity) }
        table.devices.reserveCapacity(count)
        for _ in 0..<count {
            let start = r.position
            let ieee = ZigbeeIEEEAddress(r.u64())
            let nwk = r.u16()
            let endpoints = r.take(Int(r.u8()))
            if r.isTruncated { throw .truncated(offset: record.count) }
            guard table.index(ieee: ieee) == nil else { throw .duplicateDevice(offset: start) }
            table.devices.append(ZigbeeDevice(ieee: ieee, nwk: nwk))
            table.setEndpoints(endpoints, ieee: ieee)
        }
        return table
    }
}
