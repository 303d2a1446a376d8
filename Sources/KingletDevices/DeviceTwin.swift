/// The twin of one property: what the device reported, what is desired, and which desired
/// value the device was seen to hold (KubeEdge's `reported` and `observedDesired`).
public struct DevicePropertyTwin {
    public var reported: DeviceValue?
    /// Unix milliseconds of the reading.
    public var reportedAt: Int64 = 0
    public var desired: String?
    public var desiredAt: Int64 = 0
    /// The desired value once a read after the write confirmed it.
    public var observedDesired: String?
    public var observedDesiredAt: Int64 = 0
    /// A write of `desired` is owed (not yet done, or failed and to be retried).
    public var writePending = false
    /// A write went out; the next reading tells whether it took.
    public var awaitingConfirmation = false

    public init() {}
}

/// Every property's twin of one device, and its state.
public struct DeviceTwin {
    public var properties: [DevicePropertyTwin]
    public var state: DeviceState = .unknown
    public var stateReason = ""
    /// Unix milliseconds of the last reading (KubeEdge's `lastOnlineTime`).
    public var lastOnlineAt: Int64 = 0

    public init(propertyCount: Int) {
        properties = [DevicePropertyTwin](repeating: DevicePropertyTwin(), count: propertyCount)
    }
}
