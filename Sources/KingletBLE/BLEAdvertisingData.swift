/// AD types this host reads (Bluetooth Assigned Numbers §2.3; Core Supplement Part A).
public enum BLEADType {
    public static let flags: UInt8 = 0x01
    public static let incompleteUUID16: UInt8 = 0x02
    public static let completeUUID16: UInt8 = 0x03
    public static let shortenedLocalName: UInt8 = 0x08
    public static let completeLocalName: UInt8 = 0x09
    public static let txPowerLevel: UInt8 = 0x0A
    public static let serviceData16: UInt8 = 0x16
    public static let manufacturerData: UInt8 = 0xFF
}

/// One AD structure: `[length][type][length − 1 bytes]` (Core Vol 3 Part C §11).
public struct BLEADStructure: Equatable, Sendable {
    public let type: UInt8
    public let data: ArraySlice<UInt8>
}

public enum BLEAdvertisingDataError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A structure's length runs past the end of the data.
    case truncatedStructure(offset: Int)

    public var description: String {
        switch self {
        case .truncatedStructure(let offset): return "AD structure at byte " + String(offset) + " runs past the end of the advertising data"
        }
    }
}

/// Advertising or scan response data split into AD structures. Parsing never fails: a
/// structure that runs past the end stops the walk, keeps what came before, and is noted
/// in `problem` for the owner to count.
public struct BLEAdvertisingData: Sendable {
    public let structures: [BLEADStructure]
    public let problem: BLEAdvertisingDataError?

    public init(_ bytes: [UInt8]) {
        var found: [BLEADStructure] = []
        var problem: BLEAdvertisingDataError? = nil
        var index = 0
        while index < bytes.count {
            let length = Int(bytes[index])
            // A zero length ends the significant part; the rest is padding (Core Vol 3 Part C §11).
            if length == 0 { break }
            guard index + 1 + length <= bytes.count else {
                problem = .truncatedStructure(offset: index)
                break
            }
            found.append(BLEADStructure(type: bytes[index + 1], data: bytes[(index + 2)..<(index + 1 + length)]))
            index += 1 + length
        }
        structures = found
        self.problem = problem
    }

    public func first(_ type: UInt8) -> ArraySlice<UInt8>? {
        structures.first { $0.type == type }?.data
    }

    public var flags: UInt8? { first(BLEADType.flags)?.first }

    public var localName: String? {
        guard let raw = first(BLEADType.completeLocalName) ?? first(BLEADType.shortenedLocalName) else { return nil }
        return String(decoding: raw, as: UTF8.self)
    }

    public var txPower: Int8? { first(BLEADType.txPowerLevel)?.first.map { Int8(bitPattern: $0) } }

    /// 16-bit service UUIDs from the complete and incomplete lists.
    public var serviceUUIDs16: [UInt16] {
        var out: [UInt16] = []
        for s in structures where s.type == BLEADType.completeUUID16 || s.type == BLEADType.incompleteUUID16 {
            var c = BLEByteCursor(s.data)
            while let uuid = c.u16le() { out.append(uuid) }
        }
        return out
    }

    /// The data after the UUID of the first Service Data structure for `uuid`.
    public func serviceData(uuid16 uuid: UInt16) -> ArraySlice<UInt8>? {
        for s in structures where s.type == BLEADType.serviceData16 && s.data.count >= 2 {
            let start = s.data.startIndex
            if UInt16(s.data[start]) | UInt16(s.data[start + 1]) << 8 == uuid { return s.data[(start + 2)...] }
        }
        return nil
    }

    /// The data after the company identifier of the first Manufacturer Specific Data
    /// structure for `company`.
    public func manufacturerData(company: UInt16) -> ArraySlice<UInt8>? {
        for s in structures where s.type == BLEADType.manufacturerData && s.data.count >= 2 {
            let start = s.data.startIndex
            if UInt16(s.data[start]) | UInt16(s.data[start + 1]) << 8 == company { return s.data[(start + 2)...] }
        }
        return nil
    }
}

/// One measured value from an advertisement, ready to map to a device property: a stable
/// `name` ("temperature"), a `unit` ("°C"; empty for counts, states and events), the value.
public struct BLEReading: Equatable, Sendable, CustomStringConvertible {
    public let name: String
    public let unit: String
    public let value: Double

    public init(name: String, unit: String, value: Double) {
        self.name = name
        self.unit = unit
        self.value = value
    }

    public var description: String {
        unit.isEmpty ? name + "=" + String(value) : name + "=" + String(value) + " " + unit
    }
}
