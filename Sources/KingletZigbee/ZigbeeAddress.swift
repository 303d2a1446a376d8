/// A device's 64-bit IEEE (EUI-64) address. On the air and in MT it travels
/// little-endian; people write it most significant byte first, `00:12:4B:00:01:02:03:04`.
public struct ZigbeeIEEEAddress: Hashable, Comparable, Sendable {
    public let rawValue: UInt64
    public init(_ rawValue: UInt64) { self.rawValue = rawValue }

    public static func < (a: ZigbeeIEEEAddress, b: ZigbeeIEEEAddress) -> Bool { a.rawValue < b.rawValue }

    /// Colon-separated, most significant byte first.
    public var description: String {
        var text = ""
        var shift = 56
        while shift >= 0 {
            if !text.isEmpty { text += ":" }
            text += ZigbeeHex.digitsOnly((rawValue >> UInt64(shift)) & 0xFF, width: 2)
            shift -= 8
        }
        return text
    }
}

/// A device as the network knows it now: its permanent IEEE address and its current
/// 16-bit network address (which changes when it rejoins).
public struct ZigbeeDeviceAddress: Hashable, Sendable {
    public var ieee: ZigbeeIEEEAddress
    public var nwk: UInt16

    public init(ieee: ZigbeeIEEEAddress, nwk: UInt16) {
        self.ieee = ieee
        self.nwk = nwk
    }
}

/// The 2.4 GHz channels 11–26 as a bit mask, bit n for channel n (the `CHANLIST` NV item
/// and APP_CNF_BDB_SET_CHANNEL format).
public struct ZigbeeChannelMask: Hashable, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// The mask of one channel, or nil outside 11...26.
    public init?(channel: UInt8) {
        guard (11...26).contains(channel) else { return nil }
        rawValue = UInt32(1) << UInt32(channel)
    }

    /// All channels Zigbee uses on 2.4 GHz.
    public static let all = ZigbeeChannelMask(rawValue: 0x07FF_F800)
    public static let none = ZigbeeChannelMask(rawValue: 0)

    public func contains(channel: UInt8) -> Bool {
        channel < 32 && rawValue & (UInt32(1) << UInt32(channel)) != 0
    }
}
