import KingletCore
@testable import KingletBLE

/// Bytes from hex text; spaces are ignored.
func hex(_ text: String) -> [UInt8] {
    let digits = Array(text.utf8.filter { $0 != UInt8(ascii: " ") })
    var out: [UInt8] = []
    var index = 0
    while index + 1 < digits.count {
        out.append(UInt8(BLEHex.nibble(digits[index])!) << 4 | BLEHex.nibble(digits[index + 1])!)
        index += 2
    }
    return out
}

/// The manual clock's instants, in milliseconds from an arbitrary origin.
func at(_ milliseconds: Int64) -> Instant { Instant(nanoseconds: 1_000_000_000 + milliseconds * 1_000_000) }

/// A Command Complete event on the wire: `04 0E len credits opcode(LE) return-parameters`.
func commandComplete(_ opcode: HCIOpcode, _ returnParameters: [UInt8] = [0x00], credits: UInt8 = 1) -> [UInt8] {
    [0x04, 0x0E, UInt8(3 + returnParameters.count), credits, UInt8(opcode.rawValue & 0xFF), UInt8(opcode.rawValue >> 8)]
        + returnParameters
}

/// Every event a scanner has queued.
func drain(_ scanner: BLEScanner) -> [BLEScannerEvent] {
    var out: [BLEScannerEvent] = []
    while let event = scanner.nextEvent() { out.append(event) }
    return out
}

func drain(_ client: GATTClient) -> [GATTClientEvent] {
    var out: [GATTClientEvent] = []
    while let event = client.nextEvent() { out.append(event) }
    return out
}

func outgoing(_ scanner: BLEScanner) -> [[UInt8]] {
    var out: [[UInt8]] = []
    while let bytes = scanner.takeOutgoing() { out.append(bytes) }
    return out
}

func outgoing(_ client: GATTClient) -> [[UInt8]] {
    var out: [[UInt8]] = []
    while let bytes = client.takeOutgoing() { out.append(bytes) }
    return out
}

/// Parses H4 bytes (as a controller would send them) into the ACL packets they hold.
func aclPackets(_ bytes: [UInt8]) -> [HCIACLPacket] {
    var reader = HCIH4Reader()
    reader.append(bytes)
    var out: [HCIACLPacket] = []
    while let packet = reader.nextPacket() {
        if case .acl(let acl) = packet { out.append(acl) }
    }
    return out
}

/// SplitMix64: a small seeded generator so the fuzz test is the same on every run.
struct BLETestRandom {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func below(_ n: Int) -> Int { n <= 0 ? 0 : Int(next() % UInt64(n)) }
    mutating func byte() -> UInt8 { UInt8(truncatingIfNeeded: next()) }
}

/// A scanner brought up to `.scanning` against scripted Command Complete events at time 0.
func scanningScanner(_ configuration: BLEScannerConfiguration = BLEScannerConfiguration()) throws -> BLEScanner {
    let scanner = try BLEScanner(configuration: configuration)
    scanner.start(now: at(0))
    let replies: [[UInt8]] = [
        commandComplete(.reset),
        commandComplete(.setEventMask),
        commandComplete(.leSetEventMask),
        commandComplete(.readBDAddr, hex("00 66 55 44 33 22 11")),
        commandComplete(.readLocalVersion, hex("00 0C 0000 0C 0F00 0000")),
        commandComplete(.leReadBufferSize, hex("00 FB00 04")),
        commandComplete(.leSetScanParameters),
        commandComplete(.leSetScanEnable),
    ]
    for reply in replies {
        _ = outgoing(scanner)
        scanner.receive(reply, now: at(0))
    }
    _ = drain(scanner)
    return scanner
}
