import ArgumentParser

/// The serial line the device claims (`--baud`, `--parity`, `--data-bits`, `--stop-bits`).
/// A pty ignores them, but libmodbus's server is opened with them, and they fix the RTU
/// character time that the shuttle's idle gap is derived from.
public struct SerialSettings: Sendable, Equatable {
    public enum Parity: String, Sendable, CaseIterable, ExpressibleByArgument {
        case none, even, odd
        /// libmodbus's parity letter.
        var letter: CChar {
            switch self {
            case .none: return CChar(UInt8(ascii: "N"))
            case .even: return CChar(UInt8(ascii: "E"))
            case .odd: return CChar(UInt8(ascii: "O"))
            }
        }
        var short: String { String(rawValue.prefix(1)).uppercased() }
    }

    public var baud: Int
    public var parity: Parity
    public var dataBits: Int
    public var stopBits: Int

    public init(baud: Int = 9600, parity: Parity = .none, dataBits: Int = 8, stopBits: Int = 1) {
        self.baud = baud
        self.parity = parity
        self.dataBits = dataBits
        self.stopBits = stopBits
    }

    /// "9600 8N1".
    public var summary: String { "\(baud) \(dataBits)\(parity.short)\(stopBits)" }

    /// t3.5 in seconds: 3.5 character times (start + data + parity + stop bits), fixed at
    /// 1.75 ms above 19200 baud (Modbus over Serial Line V1.02 §2.5.1.1).
    public var frameGap: Double {
        if baud > 19200 { return 0.00175 }
        let bitsPerCharacter = 1 + dataBits + (parity == .none ? 0 : 1) + stopBits
        return 3.5 * Double(bitsPerCharacter) / Double(baud)
    }
}

/// Which responses or requests to spoil. Each counter counts on its own: `badCRCEvery: 3`
/// spoils responses 3, 6, 9, ... whatever the other faults do.
public struct FaultPlan: Sendable, Equatable {
    /// Invert the CRC of every Nth response.
    public var badCRCEvery: Int?
    /// Drop every Nth response (the master times out). Wins over a bad CRC on the same response.
    public var silenceEvery: Int?
    /// Answer every Nth request addressed to this slave with exception 0x04 SERVER DEVICE FAILURE.
    public var exceptionEvery: Int?
    /// Send 1-8 random bytes, one idle gap after every Nth response.
    public var garbageEvery: Int?

    public init(badCRCEvery: Int? = nil, silenceEvery: Int? = nil, exceptionEvery: Int? = nil, garbageEvery: Int? = nil) {
        self.badCRCEvery = badCRCEvery
        self.silenceEvery = silenceEvery
        self.exceptionEvery = exceptionEvery
        self.garbageEvery = garbageEvery
    }
}

/// Fires on the Nth, 2Nth, ... call of `next()`; never when N is nil.
struct EveryNth {
    let every: Int?
    private(set) var seen = 0

    init(_ every: Int?) { self.every = every }

    mutating func next() -> Bool {
        seen += 1
        guard let every, every > 0 else { return false }
        return seen % every == 0
    }
}
