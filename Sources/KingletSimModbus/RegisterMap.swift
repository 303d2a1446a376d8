import Foundation

/// The device's register map, read from `--map FILE` (JSON). The map holds raw 16-bit
/// words and bits only; typed values (floats, scaled integers, swapped words) are the
/// agent's business, so a test writes the words it expects the agent to decode.
///
///     {
///       "slave": 1,
///       "coils":            { "start": 0,   "count": 8,  "values": [1, 0, 1] },
///       "discreteInputs":   { "start": 0,   "values": [true, false, true] },
///       "holdingRegisters": { "start": 100, "count": 10, "values": [500, 1200] },
///       "inputRegisters":   { "start": 0,   "count": 4,  "values": [215, 480] },
///       "dynamic": [
///         { "table": "input",   "address": 2,   "wave": "sine", "period": 60, "min": 0, "max": 1000 },
///         { "table": "holding", "address": 105, "wave": "ramp", "period": 10, "max": 100 }
///       ]
///     }
///
/// - `slave`: 1–247, default 1 (`--slave` overrides it).
/// - Each table: `start` (default 0), `count` (default: the number of values), `values`
///   (default none; missing values are 0). Bits are 0/1 or false/true, words 0–65535.
///   A table left out has no addresses. Every address outside a table is answered by
///   libmodbus itself with ILLEGAL DATA ADDRESS.
/// - `dynamic`: input or holding registers recomputed at every request from the time since
///   start: `wave` sine | ramp | triangle | square, `period` in seconds, between `min`
///   (default 0) and `max`. The address must lie in its table; a master's write to a
///   dynamic holding register is overwritten at the next request.
/// Unknown keys are errors, so that a misspelt table is not silently empty.
public struct RegisterMap: Sendable, Equatable {
    public var slave: Int
    public var coils: RegisterTable<Bool>
    public var discreteInputs: RegisterTable<Bool>
    public var holdingRegisters: RegisterTable<UInt16>
    public var inputRegisters: RegisterTable<UInt16>
    public var dynamic: [DynamicRegister]

    public init(slave: Int = 1, coils: RegisterTable<Bool> = .empty, discreteInputs: RegisterTable<Bool> = .empty,
                holdingRegisters: RegisterTable<UInt16> = .empty, inputRegisters: RegisterTable<UInt16> = .empty,
                dynamic: [DynamicRegister] = []) {
        self.slave = slave
        self.coils = coils
        self.discreteInputs = discreteInputs
        self.holdingRegisters = holdingRegisters
        self.inputRegisters = inputRegisters
        self.dynamic = dynamic
    }

    /// The map used without `--map`: ten of everything from address 0, input register 0 a
    /// slow sine, so a demo shows moving readings with no file at all.
    public static let builtIn = RegisterMap(
        slave: 1,
        coils: RegisterTable(start: 0, values: [true, false, false, false, false, false, false, false, false, false]),
        discreteInputs: RegisterTable(start: 0, values: [true, false, true, false, false, false, false, false, false, false]),
        holdingRegisters: RegisterTable(start: 0, values: [500, 1200, 0, 0, 0, 0, 0, 0, 0, 0]),
        inputRegisters: RegisterTable(start: 0, values: [0, 215, 480, 0, 0, 0, 0, 0, 0, 0]),
        dynamic: [DynamicRegister(table: .input, address: 0, wave: .sine, period: 60, minimum: 0, maximum: 1000)]
    )

    /// Reads and checks a map file; every problem names the file and the key path.
    public static func load(path: String) throws(SimulatorError) -> RegisterMap {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .map(file: path, position: "(file)", message: "cannot read the file")
        }
        return try parse(data, file: path)
    }

    public static func parse(_ data: Data, file: String) throws(SimulatorError) -> RegisterMap {
        do {
            return try JSONDecoder().decode(RegisterMap.self, from: data)
        } catch let error as DecodingError {
            if case .dataCorrupted(let context) = error, context.codingPath.isEmpty, let syntax = Self.syntaxError(data) {
                throw .map(file: file, position: syntax.position, message: syntax.message)
            }
            let (path, message) = Self.describe(error)
            throw .map(file: file, position: path, message: message)
        } catch {
            throw .map(file: file, position: "(file)", message: "\(error)")
        }
    }

    /// JSONDecoder says only "not valid JSON"; JSONSerialization names the character offset,
    /// which becomes a line and column here.
    private static func syntaxError(_ data: Data) -> (position: String, message: String)? {
        do {
            _ = try JSONSerialization.jsonObject(with: data)
            return nil
        } catch let error as NSError {
            let detail = error.userInfo[NSDebugDescriptionErrorKey] as? String ?? "not valid JSON"
            guard let range = detail.range(of: #"character (\d+)"#, options: .regularExpression),
                  let offset = Int(detail[range].dropFirst("character ".count)) else {
                return ("(file)", detail)
            }
            let before = data.prefix(offset)
            let line = before.filter { $0 == UInt8(ascii: "\n") }.count + 1
            let column = offset - (before.lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? 0) + 1
            return ("line \(line), column \(column)", "not valid JSON (\(detail.replacingOccurrences(of: #" around character \d+\."#, with: "", options: .regularExpression)))")
        }
    }

    private static func describe(_ error: DecodingError) -> (String, String) {
        let context: DecodingError.Context
        var message: String
        switch error {
        case .typeMismatch(let type, let c):
            context = c
            message = "expected \(Self.jsonName(type))"
        case .valueNotFound(let type, let c):
            context = c
            message = "expected \(Self.jsonName(type)), found null"
        case .keyNotFound(let key, let c):
            return (Self.render(c.codingPath), "missing key '\(key.stringValue)'")
        case .dataCorrupted(let c):
            context = c
            message = c.debugDescription
        @unknown default:
            return ("(file)", "\(error)")
        }
        return (Self.render(context.codingPath), message)
    }

    private static func jsonName(_ type: Any.Type) -> String {
        switch type {
        case is UInt16.Type: return "a whole number 0-65535"
        case is Int.Type: return "a whole number"
        case is Double.Type: return "a number"
        case is String.Type: return "a string"
        case is Bool.Type: return "a bit"
        default:
            let name = "\(type)"
            if name.hasPrefix("Array") { return "an array" }
            if name.hasPrefix("Dictionary") { return "an object" }
            return "an object"
        }
    }

    /// `dynamic[1].period`, or `(top level)`.
    static func render(_ path: [any CodingKey]) -> String {
        var text = ""
        for key in path {
            if let index = key.intValue { text += "[\(index)]" } else { text += (text.isEmpty ? "" : ".") + key.stringValue }
        }
        return text.isEmpty ? "(top level)" : text
    }
}

/// One table: `values[i]` is the value at address `start + i`.
public struct RegisterTable<Value: Sendable & Equatable>: Sendable, Equatable {
    public var start: Int
    public var values: [Value]
    public var count: Int { values.count }

    public init(start: Int, values: [Value]) {
        self.start = start
        self.values = values
    }

    public static var empty: RegisterTable { RegisterTable(start: 0, values: []) }

    public func contains(address: Int) -> Bool { address >= start && address < start + count }
}

/// An input or holding register that follows a periodic wave, so readings move.
public struct DynamicRegister: Sendable, Equatable {
    public enum Table: String, Sendable, Decodable, CaseIterable { case input, holding }
    public enum Wave: String, Sendable, Decodable, CaseIterable { case sine, ramp, triangle, square }

    public var table: Table
    public var address: Int
    public var wave: Wave
    /// Seconds.
    public var period: Double
    public var minimum: UInt16
    public var maximum: UInt16

    public init(table: Table, address: Int, wave: Wave, period: Double, minimum: UInt16, maximum: UInt16) {
        self.table = table
        self.address = address
        self.wave = wave
        self.period = period
        self.minimum = minimum
        self.maximum = maximum
    }

    /// The register's value `seconds` after the simulator started: sine starts at the
    /// middle going up, ramp climbs from min and drops back, triangle climbs then falls,
    /// square is min for the first half period and max for the second.
    public func value(atSeconds seconds: Double) -> UInt16 {
        let cycles = seconds / period
        let phase = cycles - cycles.rounded(.down)
        let fraction: Double
        switch wave {
        case .sine: fraction = (1 + sin(2 * Double.pi * phase)) / 2
        case .ramp: fraction = phase
        case .triangle: fraction = phase < 0.5 ? 2 * phase : 2 - 2 * phase
        case .square: fraction = phase < 0.5 ? 0 : 1
        }
        let low = Double(minimum), high = Double(maximum)
        return UInt16(min(high, max(low, (low + (high - low) * fraction).rounded())))
    }
}

// MARK: - Decoding

struct MapKey: CodingKey {
    var stringValue: String
    var intValue: Int?
    init(_ string: String) { stringValue = string }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) {
        stringValue = "\(intValue)"
        self.intValue = intValue
    }
}

extension Decoder {
    /// Rejects keys outside `known`, naming the key's path.
    func rejectUnknownKeys(_ known: [String]) throws {
        let container = try container(keyedBy: MapKey.self)
        for key in container.allKeys where !known.contains(key.stringValue) {
            throw DecodingError.dataCorrupted(DecodingError.Context(
                codingPath: codingPath + [key],
                debugDescription: "unknown key '\(key.stringValue)' (expected one of: \(known.joined(separator: ", ")))"))
        }
    }

    func invalid(_ key: String, _ message: String) -> DecodingError {
        DecodingError.dataCorrupted(DecodingError.Context(codingPath: codingPath + [MapKey(key)], debugDescription: message))
    }
}

extension RegisterMap: Decodable {
    static let keys = ["slave", "coils", "discreteInputs", "holdingRegisters", "inputRegisters", "dynamic"]

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(Self.keys)
        let container = try decoder.container(keyedBy: MapKey.self)
        slave = try container.decodeIfPresent(Int.self, forKey: MapKey("slave")) ?? 1
        guard (1...247).contains(slave) else { throw decoder.invalid("slave", "a slave id is 1-247, not \(slave)") }
        coils = try container.decodeIfPresent(MapTable<Bool>.self, forKey: MapKey("coils"))?.table ?? .empty
        discreteInputs = try container.decodeIfPresent(MapTable<Bool>.self, forKey: MapKey("discreteInputs"))?.table ?? .empty
        holdingRegisters = try container.decodeIfPresent(MapTable<UInt16>.self, forKey: MapKey("holdingRegisters"))?.table ?? .empty
        inputRegisters = try container.decodeIfPresent(MapTable<UInt16>.self, forKey: MapKey("inputRegisters"))?.table ?? .empty
        dynamic = try container.decodeIfPresent([DynamicRegister].self, forKey: MapKey("dynamic")) ?? []
        for (index, register) in dynamic.enumerated() {
            let table = register.table == .input ? inputRegisters : holdingRegisters
            guard table.contains(address: register.address) else {
                let range = table.count == 0 ? "an empty table" : "\(table.start)-\(table.start + table.count - 1)"
                throw DecodingError.dataCorrupted(DecodingError.Context(
                    codingPath: decoder.codingPath + [MapKey("dynamic"), MapKey(intValue: index)!, MapKey("address")],
                    debugDescription: "address \(register.address) is outside the \(register.table.rawValue) registers (\(range))"))
            }
        }
    }
}

/// A bit in a map file: 0, 1, false or true.
private struct MapBit: Decodable {
    let on: Bool
    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let flag = try? container.decode(Bool.self) {
            on = flag
        } else if let number = try? container.decode(Int.self), number == 0 || number == 1 {
            on = number == 1
        } else {
            throw DecodingError.dataCorrupted(DecodingError.Context(
                codingPath: decoder.codingPath, debugDescription: "a bit is 0, 1, false or true"))
        }
    }
}

/// A word in a map file: a whole number 0-65535. Decoded as Int first so that an
/// out-of-range value is reported at its index (Foundation's UInt16 overflow error loses the path).
private struct MapWord: Decodable {
    let value: UInt16
    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        guard let number = try? container.decode(Int.self), let word = UInt16(exactly: number) else {
            throw DecodingError.dataCorrupted(DecodingError.Context(
                codingPath: decoder.codingPath, debugDescription: "a word is a whole number 0-65535"))
        }
        value = word
    }
}

/// How a table element is read from the map file and what a missing value is.
protocol MapValue: Sendable, Equatable {
    static var zero: Self { get }
    static func decodeValues(_ container: KeyedDecodingContainer<MapKey>, key: MapKey) throws -> [Self]
}

extension Bool: MapValue {
    static var zero: Bool { false }
    static func decodeValues(_ container: KeyedDecodingContainer<MapKey>, key: MapKey) throws -> [Bool] {
        try container.decode([MapBit].self, forKey: key).map(\.on)
    }
}

extension UInt16: MapValue {
    static var zero: UInt16 { 0 }
    static func decodeValues(_ container: KeyedDecodingContainer<MapKey>, key: MapKey) throws -> [UInt16] {
        try container.decode([MapWord].self, forKey: key).map(\.value)
    }
}

/// A table as written in the map file.
struct MapTable<Value: MapValue>: Decodable {
    let table: RegisterTable<Value>

    init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(["start", "count", "values"])
        let container = try decoder.container(keyedBy: MapKey.self)
        let start = try container.decodeIfPresent(Int.self, forKey: MapKey("start")) ?? 0
        guard (0...65535).contains(start) else { throw decoder.invalid("start", "an address is 0-65535, not \(start)") }
        var values = container.contains(MapKey("values")) ? try Value.decodeValues(container, key: MapKey("values")) : []
        let count = try container.decodeIfPresent(Int.self, forKey: MapKey("count")) ?? values.count
        guard count >= values.count else {
            throw decoder.invalid("count", "count \(count) is less than the \(values.count) values given")
        }
        guard start + count <= 65536 else {
            throw decoder.invalid("count", "start \(start) + count \(count) goes past address 65535")
        }
        values += Array(repeating: Value.zero, count: count - values.count)
        table = RegisterTable(start: start, values: values)
    }
}

extension DynamicRegister: Decodable {
    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(["table", "address", "wave", "period", "min", "max"])
        let container = try decoder.container(keyedBy: MapKey.self)
        let tableName = try container.decode(String.self, forKey: MapKey("table"))
        guard let table = Table(rawValue: tableName) else {
            throw decoder.invalid("table", "table is input or holding, not '\(tableName)'")
        }
        let waveName = try container.decode(String.self, forKey: MapKey("wave"))
        guard let wave = Wave(rawValue: waveName) else {
            throw decoder.invalid("wave", "wave is one of \(Wave.allCases.map(\.rawValue).joined(separator: ", ")), not '\(waveName)'")
        }
        let period = try container.decode(Double.self, forKey: MapKey("period"))
        guard period > 0, period.isFinite else { throw decoder.invalid("period", "period is a positive number of seconds") }
        let minimum = try container.decodeIfPresent(MapWord.self, forKey: MapKey("min"))?.value ?? 0
        let maximum = try container.decode(MapWord.self, forKey: MapKey("max")).value
        guard minimum <= maximum else { throw decoder.invalid("max", "max \(maximum) is below min \(minimum)") }
        self.init(table: table, address: try container.decode(Int.self, forKey: MapKey("address")),
                  wave: wave, period: period, minimum: minimum, maximum: maximum)
    }
}
