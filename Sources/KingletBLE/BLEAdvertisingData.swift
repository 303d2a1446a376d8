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

/// Advertising or scan response data read as AD structures, in place: lookups walk the
/// bytes and hand out slices of them, so reading an advertisement allocates nothing.
/// Parsing never fails: a structure that runs past the end stops the walk, keeps what came
/// before, and is noted in `problem` for the owner to count.
public struct BLEAdvertisingData: Sendable {
    let bytes: ArraySlice<UInt8>
    public let problem: BLEAdvertisingDataError?

    public init(_ bytes: [UInt8]) { self.init(bytes[...]) }

    public init(_ bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
        var walk = BLEADStructureWalk(bytes)
        while walk.next() != nil {}
        problem = walk.truncatedOffset.map { .truncatedStructure(offset: $0) }
    }

    /// Every structure, in order (an array: for tools and tests; the lookups below walk).
    public var structures: [BLEADStructure] { Array(BLEADStructureWalk(bytes)) }

    public func first(_ type: UInt8) -> ArraySlice<UInt8>? {
        for s in BLEADStructureWalk(bytes) where s.type == type { return s.data }
        return nil
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
        for s in BLEADStructureWalk(bytes) where s.type == BLEADType.completeUUID16 || s.type == BLEADType.incompleteUUID16 {
            var c = BLEByteCursor(s.data)
            while let uuid = c.u16le() { out.append(uuid) }
        }
        return out
    }

    /// The data after the UUID of the first Service Data structure for `uuid`.
    public func serviceData(uuid16 uuid: UInt16) -> ArraySlice<UInt8>? {
        for s in BLEADStructureWalk(bytes) where s.type == BLEADType.serviceData16 && s.data.count >= 2 {
            let start = s.data.startIndex
            if UInt16(s.data[start]) | UInt16(s.data[start + 1]) << 8 == uuid { return s.data[(start + 2)...] }
        }
        return nil
    }

    /// The data after the company identifier of the first Manufacturer Specific Data
    /// structure for `company`.
    public func manufacturerData(company: UInt16) -> ArraySlice<UInt8>? {
        for s in BLEADStructureWalk(bytes) where s.type == BLEADType.manufacturerData && s.data.count >= 2 {
            let start = s.data.startIndex
            if UInt16(s.data[start]) | UInt16(s.data[start + 1]) << 8 == company { return s.data[(start + 2)...] }
        }
        return nil
    }
}

/// One pass over the AD structures: `[length][type][length − 1 bytes]` until the end, a
/// zero length (the rest is padding, Core Vol 3 Part C §11) or a structure that runs past
/// the end, whose offset is then `truncatedOffset`.
struct BLEADStructureWalk: Sequence, IteratorProtocol {
    private let bytes: ArraySlice<UInt8>
    private var index: Int
    private(set) var truncatedOffset: Int? = nil

    init(_ bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
        index = bytes.startIndex
    }

    mutating func next() -> BLEADStructure? {
        guard index < bytes.endIndex else { return nil }
        let length = Int(bytes[index])
        if length == 0 { return nil }
        guard index + 1 + length <= bytes.endIndex else {
            truncatedOffset = index - bytes.startIndex
            return nil
        }
        defer { index += 1 + length }
        return BLEADStructure(type: bytes[index + 1], data: bytes[(index + 2)..<(index + 1 + length)])
    }
}

/// One measured value from an advertisement, ready to map to a device property: a stable
/// name ("temperature"), a `unit` ("°C"; empty for counts, states and events), the value.
///
/// The name is kept as `baseName`, a string literal, plus `occurrence`: the second object of
/// one name in a BTHome packet is `temperature_2`, and spelling that out per reading would
/// be a heap allocation. `name` spells it when asked; `hasName` compares without it.
public struct BLEReading: Equatable, Sendable, CustomStringConvertible {
    public let baseName: String
    /// 1 for the first reading of `baseName` in its packet, 2 for the second, ...
    public let occurrence: Int
    public let unit: String
    public let value: Double

    public init(name: String, unit: String, value: Double) {
        self.init(baseName: name, occurrence: 1, unit: unit, value: value)
    }

    init(baseName: String, occurrence: Int, unit: String, value: Double) {
        self.baseName = baseName
        self.occurrence = occurrence
        self.unit = unit
        self.value = value
    }

    /// `temperature`, or `temperature_2` for a second one.
    public var name: String { occurrence == 1 ? baseName : baseName + "_" + String(occurrence) }

    /// Whether `wanted` (a device property's `reading`) is this reading's `name`, without
    /// building the name.
    public func hasName(_ wanted: String) -> Bool {
        if occurrence == 1 { return wanted == baseName }
        var rest = wanted.utf8[...]
        guard rest.starts(with: baseName.utf8) else { return false }
        rest = rest.dropFirst(baseName.utf8.count)
        guard rest.first == UInt8(ascii: "_"), let first = rest.dropFirst().first, first != UInt8(ascii: "0") else { return false }
        var number = 0
        for byte in rest.dropFirst() {
            guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"), number <= occurrence else { return false }
            number = number * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return number == occurrence
    }

    public static func == (a: BLEReading, b: BLEReading) -> Bool {
        a.name == b.name && a.unit == b.unit && a.value == b.value
    }

    public var description: String {
        unit.isEmpty ? name + "=" + String(value) : name + "=" + String(value) + " " + unit
    }
}
