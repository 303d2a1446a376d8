/// ZDO device states from ZDO_STATE_CHANGE_IND and UTIL_GET_DEVICE_INFO (Z-Stack
/// `devStates_t`; zigpy-znp `DeviceState`). Only "started as coordinator" matters here.
public enum ZNPDeviceState {
    public static let startingAsCoordinator: UInt8 = 0x08
    public static let startedAsCoordinator: UInt8 = 0x09
}

/// MT capability bits from SYS_PING (zigpy-znp `MTCapabilities`).
public struct ZNPCapabilities: Hashable, Sendable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    /// The APP_CNF subsystem: present from Z-Stack 3.0 on, absent on Z-Stack Home 1.2.
    public static let appConfig = ZNPCapabilities(rawValue: 1 << 10)
    public func contains(_ other: ZNPCapabilities) -> Bool { rawValue & other.rawValue == other.rawValue }
}

/// The firmware identity from SYS_VERSION or SYS_RESET_IND.
public struct ZNPVersionInfo: Equatable, Sendable {
    public var transportRevision: UInt8
    /// 0 Z-Stack 1.2, 1 Z-Stack 3.x.0, 2 Z-Stack 3.0.x (zigbee-herdsman `ZnpVersion`).
    public var product: UInt8
    public var major: UInt8
    public var minor: UInt8
    public var maintenance: UInt8
    /// The firmware build date as YYYYMMDD on Koenkk's builds; nil when the stick omits it.
    public var codeRevision: UInt32?
}

/// UTIL_GET_DEVICE_INFO's answer: who the stick is and whether it runs a network.
public struct ZNPDeviceInfo: Equatable, Sendable {
    public var status: ZNPStatus
    public var ieee: ZigbeeIEEEAddress
    public var nwk: UInt16
    public var deviceState: UInt8
}

/// An AF_INCOMING_MSG: an APS frame from a device to one of our endpoints. `payload` is a
/// slice of the received frame's buffer.
public struct ZNPIncomingMessage: Equatable, Sendable {
    public var group: UInt16
    public var cluster: UInt16
    public var source: UInt16
    public var sourceEndpoint: UInt8
    public var destinationEndpoint: UInt8
    public var wasBroadcast: Bool
    public var linkQuality: UInt8
    public var securityUsed: Bool
    public var timestamp: UInt32
    public var transactionSequence: UInt8
    public var payload: ArraySlice<UInt8>
}

/// A frame from the stick, decoded. SREQ answers that are just a status byte share
/// `.status`, tagged with the request they answer.
public enum ZNPIncoming: Equatable, Sendable {
    /// The stick could not handle the SREQ `request`: 1 bad subsystem, 2 bad command id,
    /// 3 bad parameter, 4 bad length.
    case rpcError(code: UInt8, request: ZNPCommandID)
    case status(request: ZNPCommandID, ZNPStatus)
    case ping(ZNPCapabilities)
    case version(ZNPVersionInfo)
    case nvRead(ZNPStatus, value: ArraySlice<UInt8>)
    case deviceInfo(ZNPDeviceInfo)
    /// ZDO_STARTUP_FROM_APP: 0 restored the network, 1 new network, 2 not started.
    case startupFromApp(state: UInt8)
    case resetIndication(reason: UInt8, ZNPVersionInfo)
    case stateChanged(UInt8)
    case commissioningNotification(status: UInt8, mode: UInt8, remainingModes: UInt8)
    case deviceAnnounce(source: UInt16, device: ZigbeeDeviceAddress, capabilities: UInt8)
    case trustCenterDevice(device: ZigbeeDeviceAddress, parent: UInt16)
    case leave(device: ZigbeeDeviceAddress, isRequest: Bool, removeChildren: Bool, rejoin: Bool)
    case permitJoinResponse(source: UInt16, ZNPStatus)
    case bindResponse(source: UInt16, ZNPStatus)
    case activeEndpoints(source: UInt16, ZNPStatus, nwk: UInt16, endpoints: ArraySlice<UInt8>)
    case dataConfirm(ZNPStatus, endpoint: UInt8, transactionID: UInt8)
    case incomingMessage(ZNPIncomingMessage)

    /// SREQs whose SRSP is a single status byte.
    private static let statusAnswered: [ZNPCommandID] = [
        .sysNVItemInit, .sysNVWrite, .appConfigBDBSetChannel, .appConfigBDBStartCommissioning,
        .zdoMgmtPermitJoinRequest, .zdoActiveEndpointsRequest, .zdoBindRequest, .afRegister, .afDataRequest,
    ]

    /// Decodes a frame. Trailing bytes beyond the known fields are ignored (newer
    /// firmware appends fields, e.g. AF_INCOMING_MSG's MAC source and radius).
    public static func decode(_ frame: ZNPFrame) throws(ZNPError) -> ZNPIncoming {
        let command = frame.command
        var r = ZigbeeByteReader(frame.data[...])
        let decoded: ZNPIncoming
        switch command {
        case .rpcError:
            let code = r.u8()
            decoded = .rpcError(code: code, request: ZNPCommandID(cmd0: r.u8(), cmd1: r.u8()))
        case .sysPing.response:
            decoded = .ping(ZNPCapabilities(rawValue: r.u16()))
        case .sysVersion.response:
            var info = readVersion(&r)
            // Optional trailer on newer builds: code revision u32, bootloader fields.
            if r.remaining >= 4 { info.codeRevision = r.u32() }
            decoded = .version(info)
        case .sysNVRead.response:
            let status = ZNPStatus(rawValue: r.u8())
            let length = Int(r.u8())
            decoded = .nvRead(status, value: r.take(length))
        case .utilGetDeviceInfo.response:
            let status = ZNPStatus(rawValue: r.u8())
            let ieee = ZigbeeIEEEAddress(r.u64())
            let nwk = r.u16()
            _ = r.u8()  // device type capabilities
            decoded = .deviceInfo(ZNPDeviceInfo(status: status, ieee: ieee, nwk: nwk, deviceState: r.u8()))
        case .zdoStartupFromApp.response:
            decoded = .startupFromApp(state: r.u8())
        case .sysResetIndication:
            let reason = r.u8()
            decoded = .resetIndication(reason: reason, readVersion(&r))
        case .zdoStateChangeIndication:
            decoded = .stateChanged(r.u8())
        case .appConfigBDBCommissioningNotification:
            decoded = .commissioningNotification(status: r.u8(), mode: r.u8(), remainingModes: r.u8())
        case .zdoEndDeviceAnnounceIndication:
            let source = r.u16()
            let nwk = r.u16()
            let ieee = ZigbeeIEEEAddress(r.u64())
            let device = ZigbeeDeviceAddress(ieee: ieee, nwk: nwk)
            decoded = .deviceAnnounce(source: source, device: device, capabilities: r.u8())
        case .zdoTrustCenterDeviceIndication:
            let nwk = r.u16()
            let ieee = ZigbeeIEEEAddress(r.u64())
            decoded = .trustCenterDevice(device: ZigbeeDeviceAddress(ieee: ieee, nwk: nwk), parent: r.u16())
        case .zdoLeaveIndication:
            let nwk = r.u16()
            let ieee = ZigbeeIEEEAddress(r.u64())
            decoded = .leave(device: ZigbeeDeviceAddress(ieee: ieee, nwk: nwk), isRequest: r.bool(),
                             removeChildren: r.bool(), rejoin: r.bool())
        case .zdoMgmtPermitJoinResponse:
            decoded = .permitJoinResponse(source: r.u16(), ZNPStatus(rawValue: r.u8()))
        case .zdoBindResponse:
            decoded = .bindResponse(source: r.u16(), ZNPStatus(rawValue: r.u8()))
        case .zdoActiveEndpointsResponse:
            let source = r.u16()
            let status = ZNPStatus(rawValue: r.u8())
            let nwk = r.u16()
            let count = Int(r.u8())
            decoded = .activeEndpoints(source: source, status, nwk: nwk, endpoints: r.take(count))
        case .afDataConfirm:
            decoded = .dataConfirm(ZNPStatus(rawValue: r.u8()), endpoint: r.u8(), transactionID: r.u8())
        case .afIncomingMessage:
            let group = r.u16()
            let cluster = r.u16()
            let source = r.u16()
            let sourceEndpoint = r.u8()
            let destinationEndpoint = r.u8()
            let wasBroadcast = r.bool()
            let linkQuality = r.u8()
            let securityUsed = r.bool()
            let timestamp = r.u32()
            let sequence = r.u8()
            let length = Int(r.u8())
            decoded = .incomingMessage(ZNPIncomingMessage(
                group: group, cluster: cluster, source: source, sourceEndpoint: sourceEndpoint,
                destinationEndpoint: destinationEndpoint, wasBroadcast: wasBroadcast, linkQuality: linkQuality,
                securityUsed: securityUsed, timestamp: timestamp, transactionSequence: sequence,
                payload: r.take(length)))
        default:
            guard command.type == .srsp, let request = statusRequest(answeredBy: command) else {
                throw .unknownCommand(command)
            }
            decoded = .status(request: request, ZNPStatus(rawValue: r.u8()))
        }
        if r.isTruncated { throw .truncated(command: command, length: frame.data.count) }
        return decoded
    }

    private static func statusRequest(answeredBy response: ZNPCommandID) -> ZNPCommandID? {
        for request in statusAnswered where request.response == response { return request }
        return nil
    }

    private static func readVersion(_ r: inout ZigbeeByteReader) -> ZNPVersionInfo {
        ZNPVersionInfo(transportRevision: r.u8(), product: r.u8(), major: r.u8(), minor: r.u8(),
                       maintenance: r.u8(), codeRevision: nil)
    }
}
