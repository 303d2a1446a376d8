/// How SYS_RESET_REQ resets the stick.
public enum ZNPResetType: UInt8, Sendable {
    /// Watchdog reset; on USB sticks this re-enumerates the port.
    case hard = 0
    /// Jump to the reset vector: the port stays open, so this is the one a host uses.
    case soft = 1
}

/// The address mode byte of ZDO requests (Zigbee spec §2.4.3.1; zigpy-znp `AddrMode`).
public enum ZNPAddressMode: UInt8, Sendable {
    case group = 0x01
    case nwk = 0x02
    case ieee = 0x03
    case broadcast = 0x0F
}

/// Where a binding points: a device endpoint by IEEE address, or a group.
public enum ZigbeeBindDestination: Equatable, Sendable {
    case device(ZigbeeIEEEAddress, endpoint: UInt8)
    case group(UInt16)
}

/// One AF_DATA_REQUEST: an APS frame (here, ZCL) to an endpoint of a device.
public struct ZNPDataRequest: Equatable, Sendable {
    public var destination: UInt16
    public var destinationEndpoint: UInt8
    public var sourceEndpoint: UInt8
    public var cluster: UInt16
    /// AF transaction id, echoed by AF_DATA_CONFIRM.
    public var transactionID: UInt8
    public var options: UInt8
    public var radius: UInt8
    public var payload: [UInt8]

    public init(destination: UInt16, destinationEndpoint: UInt8, sourceEndpoint: UInt8, cluster: UInt16,
                transactionID: UInt8, options: UInt8, radius: UInt8, payload: [UInt8]) {
        self.destination = destination
        self.destinationEndpoint = destinationEndpoint
        self.sourceEndpoint = sourceEndpoint
        self.cluster = cluster
        self.transactionID = transactionID
        self.options = options
        self.radius = radius
        self.payload = payload
    }
}

/// The MT requests the coordinator sends, each encoding its own payload (field layouts
/// from zigpy-znp commands/*.py; test vectors in ZNPCommandTests were produced by it).
public enum ZNPRequest: Equatable, Sendable {
    case resetRequest(ZNPResetType)
    case ping
    case version
    /// Creates an NV item if missing (status 0x09 = created, 0x00 = existed).
    case nvItemInit(id: UInt16, length: UInt16, initialValue: [UInt8])
    case nvRead(id: UInt16, offset: UInt8)
    case nvWrite(id: UInt16, offset: UInt8, value: [UInt8])
    case getDeviceInfo
    /// Primary or secondary channel set of BDB formation/steering (Z-Stack 3.x).
    case bdbSetChannel(isPrimary: Bool, channels: ZigbeeChannelMask)
    /// BDB commissioning modes: 0x02 network steering, 0x04 network formation.
    case bdbStartCommissioning(mode: UInt8)
    case startupFromApp(startDelay: UInt16)
    case permitJoin(mode: ZNPAddressMode, destination: UInt16, seconds: UInt8, trustCenterSignificance: UInt8)
    case activeEndpoints(destination: UInt16, nwkOfInterest: UInt16)
    /// ZDO Bind_req sent to `destination` (the device holding the binding table).
    case bind(destination: UInt16, source: ZigbeeIEEEAddress, sourceEndpoint: UInt8, cluster: UInt16,
              target: ZigbeeBindDestination)
    case register(ZNPEndpointDescriptor)
    case dataRequest(ZNPDataRequest)

    public var command: ZNPCommandID {
        switch self {
        case .resetRequest: return .sysResetRequest
        case .ping: return .sysPing
        case .version: return .sysVersion
        case .nvItemInit: return .sysNVItemInit
        case .nvRead: return .sysNVRead
        case .nvWrite: return .sysNVWrite
        case .getDeviceInfo: return .utilGetDeviceInfo
        case .bdbSetChannel: return .appConfigBDBSetChannel
        case .bdbStartCommissioning: return .appConfigBDBStartCommissioning
        case .startupFromApp: return .zdoStartupFromApp
        case .permitJoin: return .zdoMgmtPermitJoinRequest
        case .activeEndpoints: return .zdoActiveEndpointsRequest
        case .bind: return .zdoBindRequest
        case .register: return .afRegister
        case .dataRequest: return .afDataRequest
        }
    }

    /// Whether the stick answers with an SRSP (every SREQ) or not (SYS_RESET_REQ is an
    /// AREQ; its answer is the SYS_RESET_IND after the reboot).
    public var expectsSynchronousResponse: Bool { command.type == .sreq }

    /// The MT payload (DATA) of this request.
    public func payload() -> [UInt8] {
        var writer = ZigbeeByteWriter(capacity: 16)
        write(into: &writer)
        return writer.bytes
    }

    /// The whole frame, ready for the wire.
    public func frame() -> ZNPFrame { ZNPFrame(command, data: payload()) }

    func write(into w: inout ZigbeeByteWriter) {
        switch self {
        case .resetRequest(let type):
            w.u8(type.rawValue)
        case .ping, .version, .getDeviceInfo:
            break
        case .nvItemInit(let id, let length, let initialValue):
            w.u16(id)
            w.u16(length)
            w.u8(UInt8(truncatingIfNeeded: initialValue.count))
            w.append(initialValue)
        case .nvRead(let id, let offset):
            w.u16(id)
            w.u8(offset)
        case .nvWrite(let id, let offset, let value):
            w.u16(id)
            w.u8(offset)
            w.u8(UInt8(truncatingIfNeeded: value.count))
            w.append(value)
        case .bdbSetChannel(let isPrimary, let channels):
            w.bool(isPrimary)
            w.u32(channels.rawValue)
        case .bdbStartCommissioning(let mode):
            w.u8(mode)
        case .startupFromApp(let startDelay):
            w.u16(startDelay)
        case .permitJoin(let mode, let destination, let seconds, let significance):
            w.u8(mode.rawValue)
            w.u16(destination)
            w.u8(seconds)
            w.u8(significance)
        case .activeEndpoints(let destination, let nwkOfInterest):
            w.u16(destination)
            w.u16(nwkOfInterest)
        case .bind(let destination, let source, let sourceEndpoint, let cluster, let target):
            w.u16(destination)
            w.u64(source.rawValue)
            w.u8(sourceEndpoint)
            w.u16(cluster)
            switch target {
            case .device(let ieee, let endpoint):
                w.u8(ZNPAddressMode.ieee.rawValue)
                w.u64(ieee.rawValue)
                w.u8(endpoint)
            case .group(let group):
                // Group bindings carry no endpoint (Zigbee spec §2.4.3.2.2, DstEndp
                // present only for address mode 0x03).
                w.u8(ZNPAddressMode.group.rawValue)
                w.u16(group)
            }
        case .register(let descriptor):
            w.u8(descriptor.endpoint)
            w.u16(descriptor.profileID)
            w.u16(descriptor.deviceID)
            w.u8(descriptor.deviceVersion)
            w.u8(0)  // latency: none (only for the long-gone beacon modes)
            w.u8(UInt8(truncatingIfNeeded: descriptor.inputClusters.count))
            for cluster in descriptor.inputClusters { w.u16(cluster) }
            w.u8(UInt8(truncatingIfNeeded: descriptor.outputClusters.count))
            for cluster in descriptor.outputClusters { w.u16(cluster) }
        case .dataRequest(let request):
            w.u16(request.destination)
            w.u8(request.destinationEndpoint)
            w.u8(request.sourceEndpoint)
            w.u16(request.cluster)
            w.u8(request.transactionID)
            w.u8(request.options)
            w.u8(request.radius)
            w.u8(UInt8(truncatingIfNeeded: request.payload.count))
            w.append(request.payload)
        }
    }
}
