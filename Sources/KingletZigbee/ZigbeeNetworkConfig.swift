import KingletCore

/// Why a network configuration was refused.
public enum ZigbeeConfigError: Error, Equatable, Sendable {
    /// 0xFFFF means "pick one" to Z-Stack and 0xFFFE is reserved (Zigbee spec §3.6.1.1):
    /// neither gives a network that can be recognised at the next start.
    case invalidPANID(UInt16)
    case invalidExtendedPANID
    case invalidChannel(UInt8)
    case invalidNetworkKeyLength(Int)

    public var description: String {
        switch self {
        case .invalidPANID(let id): return "PAN id " + ZigbeeHex.format(id) + " is reserved; use 0x0001...0xFFFD"
        case .invalidExtendedPANID: return "extended PAN id must not be all zeros or all ones"
        case .invalidChannel(let channel): return "channel " + String(channel) + " is outside 11...26"
        case .invalidNetworkKeyLength(let count): return "network key has " + String(count) + " bytes, needs 16"
        }
    }
}

/// The network the coordinator forms (or finds already formed) at start-up.
public struct ZigbeeNetworkConfig: Equatable, Sendable {
    public let panID: UInt16
    /// Written little-endian, as Z-Stack stores it; `0xDDDD_DDDD_DDDD_DDDD` and an IEEE
    /// address are common choices.
    public let extendedPANID: UInt64
    public let channel: UInt8
    /// The 128-bit network key, in the byte order given to Z-Stack's PRECFGKEY.
    public let networkKey: [UInt8]

    public init(panID: UInt16, extendedPANID: UInt64, channel: UInt8, networkKey: [UInt8]) throws(ZigbeeConfigError) {
        guard panID != 0xFFFF, panID != 0xFFFE else { throw .invalidPANID(panID) }
        guard extendedPANID != 0, extendedPANID != UInt64.max else { throw .invalidExtendedPANID }
        guard (11...26).contains(channel) else { throw .invalidChannel(channel) }
        guard networkKey.count == 16 else { throw .invalidNetworkKeyLength(networkKey.count) }
        self.panID = panID
        self.extendedPANID = extendedPANID
        self.channel = channel
        self.networkKey = networkKey
    }

    public var channelMask: ZigbeeChannelMask {
        ZigbeeChannelMask(rawValue: UInt32(1) << UInt32(channel))
    }
}

/// An application endpoint the coordinator registers with AF_REGISTER (a simple
/// descriptor, Zigbee spec §2.3.2.5). Replies and reports are delivered to these.
public struct ZNPEndpointDescriptor: Equatable, Sendable {
    public var endpoint: UInt8
    public var profileID: UInt16
    public var deviceID: UInt16
    public var deviceVersion: UInt8
    public var inputClusters: [UInt16]
    public var outputClusters: [UInt16]

    public init(endpoint: UInt8, profileID: UInt16, deviceID: UInt16, deviceVersion: UInt8 = 0,
                inputClusters: [UInt16] = [], outputClusters: [UInt16] = []) {
        self.endpoint = endpoint
        self.profileID = profileID
        self.deviceID = deviceID
        self.deviceVersion = deviceVersion
        self.inputClusters = inputClusters
        self.outputClusters = outputClusters
    }

    /// Endpoint 1 on the Home Automation profile (0x0104) as a configuration tool
    /// (device 0x0005), as zigbee-herdsman registers it. Z-Stack delivers a unicast to a
    /// registered endpoint whatever its cluster lists say, so they can stay empty.
    public static let homeAutomation = ZNPEndpointDescriptor(endpoint: 1, profileID: 0x0104, deviceID: 0x0005)
}

/// Timeouts and limits of the coordinator. The defaults come from zigpy-znp (SREQ 15 s is
/// its `sync_request_timeout`; 60 s for formation is its NETWORK_COMMISSIONING_TIMEOUT and
/// zigbee-herdsman's wait for ZDO_STATE_CHANGE_IND) and were shortened where the stick
/// answers at once (ping, NV) to notice a dead port sooner.
public struct ZNPCoordinatorSettings: Sendable {
    /// How long to wait for each SRSP.
    public var requestTimeout = Duration.seconds(6)
    /// How long to wait for SYS_RESET_IND after SYS_RESET_REQ (longer after a clear:
    /// Z-Stack rewrites its NV pages before it answers).
    public var resetTimeout = Duration.seconds(10)
    /// Resets tried before start-up fails.
    public var resetAttempts = 3
    /// Whole start-ups tried (after a timeout or a refusal mid-way) before giving up.
    public var startAttempts = 3
    /// Wait for ZDO_STATE_CHANGE_IND "started as coordinator" after forming or resuming.
    public var networkStartTimeout = Duration.seconds(60)
    /// How long after a failed start-up to try again by itself; nil stays failed.
    public var retryAfterFailure: Duration? = Duration.seconds(60)
    /// Wait for AF_DATA_CONFIRM. With APS acknowledgement the stick confirms after the
    /// device acknowledged, which for a sleepy end device can take a poll period.
    public var confirmTimeout = Duration.seconds(20)
    /// Wait for a ZDO response callback (ZDO_BIND_RSP, ZDO_ACTIVE_EP_RSP).
    public var zdoResponseTimeout = Duration.seconds(20)
    /// A frame whose rest has not come this long after its start is abandoned, so the
    /// reader resynchronises on the next 0xFE instead of waiting for the next burst.
    public var partialFrameTimeout = Duration.milliseconds(500)
    /// SREQ timeouts in a row, once ready, after which the stick is reset.
    public var unansweredLimit = 3
    /// Requests waiting for their turn at the serial line.
    public var queueCapacity = 16
    /// Requests sent and waiting for a confirmation or a ZDO response.
    public var awaitingCapacity = 16
    /// Devices the table keeps.
    public var deviceCapacity = 128
    /// AF_DATA_REQUEST options: 0x10 asks for an APS acknowledgement, so the confirm
    /// reports delivery to the device rather than to the next hop (SWRA198 AF_DATA_REQUEST, Options).
    public var afOptions: UInt8 = 0x10
    /// AF radius (hops), the value zigbee-herdsman uses.
    public var afRadius: UInt8 = 30
    /// Send 0xEF before the first reset: the CC253x serial bootloader waits for it to jump
    /// to Z-Stack (zigpy-znp uart/api `_skip_bootloader`); running firmware ignores a byte
    /// that is not 0xFE.
    public var sendsBootloaderSkipByte = true
    /// Ask a device for its endpoints (ZDO_ACTIVE_EP_REQ) when it announces itself.
    public var discoversEndpointsOnJoin = true

    public init() {}
}
