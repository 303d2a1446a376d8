import KingletCore

/// One step of the coordinator's start-up.
///
/// The sequence is the one Z-Stack 3.x hosts use (zigbee-herdsman adapter/manager.ts
/// `start`/`beginCommissioning`/`beginStartup`; zigpy-znp api.py `write_network_info`/
/// `start_network`), cut to what a coordinator with a fixed configuration needs:
///
/// 1. SYS_RESET_REQ (soft) → SYS_RESET_IND; SYS_PING (APP_CNF capability = Z-Stack 3.x);
///    SYS_VERSION; UTIL_GET_DEVICE_INFO (our IEEE, and whether the network already runs).
/// 2. Read NV: the 0x55 "configured" flag (0x0060), PANID, EXTENDED_PAN_ID, CHANLIST,
///    PRECFGKEY. If the flag is set and all match the configuration, resume.
/// 3. Resume: ZDO_STARTUP_FROM_APP (unless already started) → ZDO_STATE_CHANGE_IND 9.
/// 4. Otherwise form: clear the flag; STARTUP_OPTION = clear config and state, reset;
///    STARTUP_OPTION = 0; write LOGICAL_TYPE coordinator, ZDO_DIRECT_CB, CHANLIST, PANID,
///    EXTENDED_PAN_ID, APS_USE_EXT_PANID, PRECFGKEYS_ENABLE = 0, PRECFGKEY;
///    APP_CNF_BDB_SET_CHANNEL primary = the channel, secondary = none (Z-Stack 3 ignores
///    CHANLIST for formation); APP_CNF_BDB_START_COMMISSIONING formation (0x04) →
///    ZDO_STATE_CHANGE_IND 9; set the flag.
/// 5. AF_REGISTER each endpoint.
enum ZNPStartupStep {
    case reset
    case ping
    case version
    case deviceInfo
    case read(UInt16)
    /// Chooses resume or formation from what the reads found; appends the rest.
    case decide
    case initItem(UInt16, [UInt8])
    case write(UInt16, [UInt8])
    case setChannels(primary: Bool, ZigbeeChannelMask)
    case formNetwork
    case resumeNetwork
    case waitForNetwork
    case register(Int)
}

/// An indication start-up waits for, with no SREQ on the line.
enum ZNPStartupWait {
    case resetIndication
    case networkStart
}

struct ZNPStartupProgress {
    var steps: [ZNPStartupStep] = []
    var index = 0
    /// Whole start-ups that failed since the last success.
    var failedAttempts = 0
    var resetAttempts = 0
    var waitingFor: ZNPStartupWait?
    var waitDeadline: Instant?
    /// ZDO_STATE_CHANGE_IND 9 seen (or the device info said so) since the last reset.
    var networkStarted = false
    /// NV items read: id and value, nil when the read failed.
    var observed: [(id: UInt16, value: [UInt8]?)] = []
    var outcome = ZNPStateReason.networkResumed

    var current: ZNPStartupStep? { index < steps.count ? steps[index] : nil }

    mutating func wait(for what: ZNPStartupWait, until deadline: Instant) {
        waitingFor = what
        waitDeadline = deadline
    }

    mutating func clearWait() {
        waitingFor = nil
        waitDeadline = nil
    }

    func value(of id: UInt16) -> [UInt8]? {
        for entry in observed where entry.id == id { return entry.value }
        return nil
    }
}

extension ZNPCoordinator {
    static let initialSteps: [ZNPStartupStep] = [
        .reset, .ping, .version, .deviceInfo,
        .read(ZNPNVItem.hasConfiguredZStack3), .read(ZNPNVItem.panID), .read(ZNPNVItem.extendedPANID),
        .read(ZNPNVItem.channelList), .read(ZNPNVItem.precfgKey), .decide,
    ]

    /// BDB commissioning mode "network formation" (zigpy-znp `BDBCommissioningMode`).
    static let bdbModeFormation: UInt8 = 0x04
    /// Z-Stack's ZCD_STARTOPT_DEFAULT_CONFIG_STATE | ZCD_STARTOPT_DEFAULT_NETWORK_STATE.
    static let startupOptionClearAll: UInt8 = 0x03

    func restart(reason: ZNPStateReason) {
        cancelRequests()
        inFlight = nil
        retryAt = nil
        startup = ZNPStartupProgress()
        startup.steps = ZNPCoordinator.initialSteps
        setState(.starting, reason)
        if settings.sendsBootloaderSkipByte { output.append(0xEF) }
        advanceStartup()
    }

    /// Runs steps until one needs an answer from the stick.
    func advanceStartup() {
        while state == .starting, inFlight == nil, startup.waitingFor == nil {
            guard let step = startup.current else {
                startupCompleted()
                return
            }
            switch step {
            case .reset:
                startup.networkStarted = false
                _ = send(.resetRequest(.soft), purpose: .startup)
                startup.wait(for: .resetIndication, until: now.advanced(by: settings.resetTimeout))
                return
            case .decide:
                startup.index += 1
                decideNetwork()
            case .waitForNetwork:
                if startup.networkStarted {
                    startup.index += 1
                } else {
                    startup.wait(for: .networkStart, until: now.advanced(by: settings.networkStartTimeout))
                    return
                }
            case .resumeNetwork where startup.networkStarted:
                // Some builds start the network by themselves after a reset.
                startup.index += 1
            default:
                guard send(startupRequest(step), purpose: .startup) else {
                    startupFailed(.stepRefused(startupRequest(step).command, .invalidParameter))
                    return
                }
                return
            }
        }
    }

    private func startupRequest(_ step: ZNPStartupStep) -> ZNPRequest {
        switch step {
        case .ping: return .ping
        case .version: return .version
        case .deviceInfo: return .getDeviceInfo
        case .read(let id): return .nvRead(id: id, offset: 0)
        case .initItem(let id, let value):
            return .nvItemInit(id: id, length: UInt16(value.count), initialValue: value)
        case .write(let id, let value): return .nvWrite(id: id, offset: 0, value: value)
        case .setChannels(let primary, let mask): return .bdbSetChannel(isPrimary: primary, channels: mask)
        case .formNetwork: return .bdbStartCommissioning(mode: ZNPCoordinator.bdbModeFormation)
        // The 100 ms delay is what zigpy-znp and zigbee-herdsman pass.
        case .resumeNetwork: return .startupFromApp(startDelay: 100)
        case .register(let index): return .register(endpoints[index])
        case .reset: return .resetRequest(.soft)
        case .decide, .waitForNetwork: return .ping  // never sent: handled in advanceStartup
        }
    }

    /// The SRSP to the start-up step in flight.
    func startupResponse(_ incoming: ZNPIncoming) {
        guard let step = startup.current else { return }
        var accepted = false
        var status = ZNPStatus.failure
        switch (step, incoming) {
        case (.ping, .ping(let capabilities)):
            guard capabilities.contains(.appConfig) else {
                enterFailed(.unsupportedFirmware)
                return
            }
            accepted = true
        case (.version, .version(let info)):
            firmware = info
            accepted = true
        case (.deviceInfo, .deviceInfo(let info)):
            status = info.status
            accepted = info.status.isSuccess
            if accepted {
                coordinatorIEEE = info.ieee
                if info.deviceState == ZNPDeviceState.startedAsCoordinator { startup.networkStarted = true }
            }
        case (.read(let id), .nvRead(let readStatus, let value)):
            // A failed read (item missing, or a key the build will not disclose) is an
            // answer too: the decision treats it as "not configured" or "unknown".
            startup.observed.append((id, readStatus.isSuccess ? Array(value) : nil))
            accepted = true
        case (.initItem, .status(_, let answer)):
            status = answer
            accepted = answer.isSuccess || answer == .nvItemUninitialized
        case (.write, .status(_, let answer)), (.setChannels, .status(_, let answer)),
             (.formNetwork, .status(_, let answer)):
            status = answer
            accepted = answer.isSuccess
        case (.register, .status(_, let answer)):
            status = answer
            accepted = answer.isSuccess || answer == .apsDuplicateEntry
        case (.resumeNetwork, .startupFromApp(let startupState)):
            // 0 restored, 1 new network; 2 means it did not start.
            status = ZNPStatus(rawValue: startupState)
            accepted = startupState <= 1
        default:
            break
        }
        if accepted {
            startup.index += 1
            advanceStartup()
        } else {
            startupFailed(.stepRefused(startupRequest(step).command, status))
        }
    }

    func resetIndication(_ version: ZNPVersionInfo) {
        if startup.waitingFor == .resetIndication {
            startup.clearWait()
            startup.resetAttempts = 0
            startup.index += 1
            advanceStartup()
        } else if state == .ready {
            restart(reason: .coordinatorReset)
        }
        // While starting and not waiting for it (a second indication after one reset),
        // it changes nothing: a step cut short by a real reboot times out and retries.
    }

    func networkStarted() {
        startup.networkStarted = true
        if state == .starting, startup.waitingFor == .networkStart {
            startup.clearWait()
            startup.index += 1
            advanceStartup()
        }
    }

    func startupTick() {
        guard state == .starting, let deadline = startup.waitDeadline, now >= deadline,
              let waitingFor = startup.waitingFor else { return }
        startup.clearWait()
        switch waitingFor {
        case .resetIndication:
            startup.resetAttempts += 1
            if startup.resetAttempts < settings.resetAttempts {
                advanceStartup()  // the step is still `.reset`: sends it again
            } else {
                enterFailed(.noResetIndication)
            }
        case .networkStart:
            startupFailed(.networkStartTimedOut)
        }
    }

    /// A start-up attempt failed: try again from the reset, or give up.
    func startupFailed(_ reason: ZNPStateReason) {
        startup.failedAttempts += 1
        guard startup.failedAttempts < settings.startAttempts else {
            enterFailed(reason)
            return
        }
        inFlight = nil
        let failed = startup.failedAttempts
        startup = ZNPStartupProgress()
        startup.failedAttempts = failed
        startup.steps = ZNPCoordinator.initialSteps
        emit(.stateChanged(.starting, reason))
        advanceStartup()
    }

    func enterFailed(_ reason: ZNPStateReason) {
        inFlight = nil
        startup.clearWait()
        setState(.failed, reason)
        if let delay = settings.retryAfterFailure { retryAt = now.advanced(by: delay) }
    }

    private func startupCompleted() {
        startup.failedAttempts = 0
        consecutiveTimeouts = 0
        setState(.ready, startup.outcome)
    }

    /// Resume when the stick holds this configuration's network, else form it anew.
    private func decideNetwork() {
        let configured = startup.value(of: ZNPNVItem.hasConfiguredZStack3) == [ZNPNVItem.configuredMarker]
        var pan = ZigbeeByteWriter(capacity: 2)
        pan.u16(network.panID)
        var extended = ZigbeeByteWriter(capacity: 8)
        extended.u64(network.extendedPANID)
        var channels = ZigbeeByteWriter(capacity: 4)
        channels.u32(network.channelMask.rawValue)
        // Builds without MT_SYS_KEY_MANAGEMENT refuse to read PRECFGKEY; an unreadable key
        // must not re-form (and orphan every device) at each start, so only a key read
        // back different counts as a mismatch.
        let storedKey = startup.value(of: ZNPNVItem.precfgKey)
        let matches = configured
            && startup.value(of: ZNPNVItem.panID) == pan.bytes
            && startup.value(of: ZNPNVItem.extendedPANID) == extended.bytes
            && startup.value(of: ZNPNVItem.channelList) == channels.bytes
            && (storedKey == nil || storedKey == network.networkKey)
        if matches {
            startup.outcome = .networkResumed
            startup.steps.append(contentsOf: [.resumeNetwork, .waitForNetwork])
        } else {
            startup.outcome = .networkFormed
            if configured {
                // Cleared first so an interrupted formation is not mistaken for a network.
                startup.steps.append(.write(ZNPNVItem.hasConfiguredZStack3, [0x00]))
            }
            startup.steps.append(contentsOf: [
                .write(ZNPNVItem.startupOption, [ZNPCoordinator.startupOptionClearAll]),
                .reset,
                // Written back explicitly, as zigbee-herdsman does, so that no later reset
                // can wipe the network again.
                .write(ZNPNVItem.startupOption, [0x00]),
                .write(ZNPNVItem.logicalType, [0x00]),  // coordinator
                .write(ZNPNVItem.zdoDirectCallback, [0x01]),
                .write(ZNPNVItem.channelList, channels.bytes),
                .write(ZNPNVItem.panID, pan.bytes),
                .write(ZNPNVItem.extendedPANID, extended.bytes),
                .write(ZNPNVItem.apsUseExtendedPANID, extended.bytes),
                // 0: the key goes to joining devices under the trust center link key, the
                // Zigbee 3.0 way (and the value zigpy-znp and Zigbee2MQTT require).
                .write(ZNPNVItem.precfgKeysEnable, [0x00]),
                .write(ZNPNVItem.precfgKey, network.networkKey),
                .setChannels(primary: true, network.channelMask),
                .setChannels(primary: false, .none),
                .formNetwork,
                .waitForNetwork,
                // The flag is not a Z-Stack item, so it may not exist yet.
                .initItem(ZNPNVItem.hasConfiguredZStack3, [ZNPNVItem.configuredMarker]),
                .write(ZNPNVItem.hasConfiguredZStack3, [ZNPNVItem.configuredMarker]),
            ])
        }
        for index in endpoints.indices { startup.steps.append(.register(index)) }
    }
}
