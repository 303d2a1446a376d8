/// Where the coordinator is in its life.
public enum ZNPCoordinatorState: Equatable, Sendable {
    /// Not started, or stopped by the owner.
    case stopped
    /// Resetting the stick, checking its network and starting it.
    case starting
    /// The network runs; requests are accepted.
    case ready
    /// Start-up gave up; it tries again after `retryAfterFailure` if set.
    case failed

    public var description: String {
        switch self {
        case .stopped: return "stopped"
        case .starting: return "starting"
        case .ready: return "ready"
        case .failed: return "failed"
        }
    }
}

/// Why the coordinator changed state.
public enum ZNPStateReason: Equatable, Sendable {
    case startRequested
    case stopRequested
    /// Ready on a network formed now from the configuration.
    case networkFormed
    /// Ready on the network the stick already had, matching the configuration.
    case networkResumed
    /// No SYS_RESET_IND after every reset attempt: wrong port, baud rate or a stick in
    /// its bootloader.
    case noResetIndication
    /// The stick has no APP_CNF subsystem: Z-Stack Home 1.2, whose start-up differs.
    case unsupportedFirmware
    /// A start-up step's SRSP did not come.
    case stepTimedOut(ZNPCommandID)
    /// A start-up step was answered with a failure status.
    case stepRefused(ZNPCommandID, ZNPStatus)
    /// The stick did not understand a start-up step (RPC error).
    case stepNotUnderstood(ZNPCommandID)
    /// No "started as coordinator" in time after forming or resuming the network.
    case networkStartTimedOut
    /// A SYS_RESET_IND came while the network ran: the stick rebooted by itself.
    case coordinatorReset
    /// Too many SREQs in a row went unanswered.
    case coordinatorUnresponsive
    /// Trying again after a failed start-up.
    case retrying

    public var description: String {
        switch self {
        case .startRequested: return "start requested"
        case .stopRequested: return "stop requested"
        case .networkFormed: return "network formed from the configuration"
        case .networkResumed: return "existing network resumed"
        case .noResetIndication: return "the stick never answered a reset"
        case .unsupportedFirmware: return "firmware lacks APP_CNF (Z-Stack 1.2 is not supported)"
        case .stepTimedOut(let command): return command.description + " was not answered"
        case .stepRefused(let command, let status): return command.description + " failed: " + status.description
        case .stepNotUnderstood(let command): return command.description + " not understood by the stick"
        case .networkStartTimedOut: return "the network did not start in time"
        case .coordinatorReset: return "the stick reset itself"
        case .coordinatorUnresponsive: return "the stick stopped answering"
        case .retrying: return "retrying start-up"
        }
    }
}

/// A handle for a request the owner made, echoed by its outcome event.
public struct ZigbeeRequestID: Hashable, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
}

/// Why a request did not complete.
public enum ZigbeeRequestFailure: Equatable, Sendable {
    /// The stick refused the SREQ (the SRSP status), or the device's ZDO answered with a
    /// failure status.
    case refused(ZNPStatus)
    /// The stick did not understand the SREQ (RPC error code).
    case notUnderstood(UInt8)
    /// No SRSP in time.
    case noResponse
    /// AF_DATA_CONFIRM reported a failed delivery (e.g. 0xE9 no MAC ack, 0xB7 no APS ack).
    case deliveryFailed(ZNPStatus)
    /// No AF_DATA_CONFIRM or ZDO response in time.
    case confirmationTimedOut
    /// The coordinator restarted or stopped before the request completed.
    case cancelled

    public var description: String {
        switch self {
        case .refused(let status): return "refused: " + status.description
        case .notUnderstood(let code): return "not understood by the stick (RPC error " + String(code) + ")"
        case .noResponse: return "the stick did not answer"
        case .deliveryFailed(let status): return "delivery failed: " + status.description
        case .confirmationTimedOut: return "no confirmation in time"
        case .cancelled: return "cancelled by a coordinator restart"
        }
    }
}

/// Why a request was not accepted.
public enum ZigbeeRequestError: Error, Equatable, Sendable {
    case notReady
    case queueFull
    case unknownDevice(ZigbeeIEEEAddress)
    /// The device's NWK address is unknown (it gave it up); it must announce again.
    case deviceAddressUnknown(ZigbeeIEEEAddress)
    case payloadTooLong(Int)

    public var description: String {
        switch self {
        case .notReady: return "the coordinator is not ready"
        case .queueFull: return "the request queue is full"
        case .unknownDevice(let ieee): return "device " + ieee.description + " is not in the table"
        case .deviceAddressUnknown(let ieee): return "device " + ieee.description + " has no known network address"
        case .payloadTooLong(let length): return "payload of " + String(length) + " bytes does not fit one frame"
        }
    }
}

/// An attribute value a device sent, in a report or a read response.
public struct ZigbeeAttributeReport: Equatable, Sendable {
    /// Nil when the source NWK is not in the device table (it never announced).
    public var ieee: ZigbeeIEEEAddress?
    public var nwk: UInt16
    public var endpoint: UInt8
    public var cluster: UInt16
    public var attribute: UInt16
    public var value: ZCLValue
    /// The AF link quality the stick measured.
    public var linkQuality: UInt8

    /// The value in its cluster's terms, when this target knows the attribute.
    public var reading: ZigbeeReading? {
        ZigbeeReading.interpret(cluster: cluster, attribute: attribute, value: value)
    }
}

/// A ZCL status a device answered one of our commands with: a Default Response, a Write
/// Attributes Response or a Configure Reporting Response record, or a failed read.
public struct ZigbeeCommandStatus: Equatable, Sendable {
    public var ieee: ZigbeeIEEEAddress?
    public var nwk: UInt16
    public var endpoint: UInt8
    public var cluster: UInt16
    /// The command answered (the Default Response's field, or 0x00/0x02/0x06).
    public var command: UInt8
    /// The attribute concerned, when the response names one.
    public var attribute: UInt16?
    public var status: ZCLStatus
}

/// What the coordinator tells its owner. Drained with `nextEvent()`.
public enum ZigbeeEvent: Equatable, Sendable {
    case stateChanged(ZNPCoordinatorState, ZNPStateReason)
    /// A device announced itself (joined or rejoined), with its current address.
    case deviceJoined(ZigbeeDeviceAddress)
    /// A device left the network (and was removed from the table unless rejoining).
    case deviceLeft(ZigbeeDeviceAddress, rejoining: Bool)
    /// A device's endpoints are known now (see the device table).
    case endpointsDiscovered(ZigbeeDeviceAddress)
    case attribute(ZigbeeAttributeReport)
    case commandStatus(ZigbeeCommandStatus)
    case requestCompleted(ZigbeeRequestID)
    case requestFailed(ZigbeeRequestID, ZigbeeRequestFailure)
}
