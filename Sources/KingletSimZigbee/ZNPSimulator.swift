/// KingletSimZigbee: a simulated TI Z-Stack ZNP coordinator (a CC2652 or CC2531 stick running
/// Z-Stack 3.x) and the Zigbee devices behind it, as a byte-level state machine.
///
/// `received(_:now:)` takes bytes from the host and returns the bytes the stick sends back;
/// `tick(now:)` returns what the stick sends on its own when time passes (callbacks, attribute
/// reports, device announcements); `nextDeadline` says when `tick` has work. The caller owns
/// the clock, so tests run without sleeping. `PTYServer` drives it over a pseudo-terminal.
///
/// Protocol facts: TI "Z-Stack Monitor and Test API" (SWRA198) and zigpy-znp 1.1.1's command
/// definitions (zigpy_znp/commands/*.py), cited at each handler; ZCL facts in ZCL.swift.

/// One line for stderr; `verbose` lines are the per-frame trace shown with --verbose.
public struct SimLogLine: Equatable, Sendable {
    public var verbose: Bool
    public var text: String
}

/// Counts of what the stick did, for tests and the exit summary.
public struct SimCounters: Equatable, Sendable {
    public var framesReceived = 0
    public var framesSent = 0
    public var badChecksumsReceived = 0
    public var garbageBytesSkipped = 0
    public var faultBadChecksums = 0
    public var faultGarbageBursts = 0
    public var framesIgnoredWhileSilent = 0
    public var reportsSent = 0
}

public struct ZNPSimulator {
    public let configuration: ZNPConfiguration
    public private(set) var counters = SimCounters()
    public private(set) var deviceState: DeviceState = .initializedNotStarted
    /// The network while it runs (nil before formation or restore).
    public private(set) var network: NetworkParameters?
    public private(set) var isSilenced = false

    var nv: NVStore
    var devices: [LiveDevice]
    private var decoder = MTFrameDecoder()
    private var random: SimRandom
    private var now = SimInstant.zero
    private var queue: [(due: SimInstant, order: Int, action: ScheduledAction)] = []
    private var queueOrder = 0
    private var bootingUntil: SimInstant?
    private var registeredEndpoints: [UInt8: RegisteredEndpoint] = [:]
    private var permitJoinUntil: SimInstant?
    private var permitJoinForever = false
    private var bdbPrimaryChannels: UInt32 = 0
    private var bdbSecondaryChannels: UInt32 = 0
    /// The formed network as NV remembers it (the NIB and key items hold the same).
    private var storedNetwork: NetworkParameters?
    private var logLines: [SimLogLine] = []

    struct RegisteredEndpoint {
        var id: UInt8
        var profileID: UInt16
        var deviceID: UInt16
        var deviceVersion: UInt8
        var inputClusters: [UInt16]
        var outputClusters: [UInt16]
    }

    enum ScheduledAction {
        case frame(MTFrame)
        case resetIndication(reason: UInt8)
        case networkUp(NetworkParameters, newlyFormed: Bool, notifications: [MTFrame])
        case join(device: Int)
        case deviceFrame(device: Int, endpoint: UInt8, cluster: UInt16, destinationEndpoint: UInt8, frame: ZCLFrame)
        case reports(device: Int, paths: [AttributePath])
    }

    public init(configuration: ZNPConfiguration = ZNPConfiguration(), devices: [SimulatedDevice], now: SimInstant = .zero) {
        self.configuration = configuration
        self.now = now
        random = SimRandom(seed: configuration.seed)
        nv = NVStore(ieee: configuration.coordinatorIEEE, alignedStructs: configuration.firmware.alignedStructs)
        self.devices = devices.map { LiveDevice(model: $0) }
        for index in self.devices.indices {
            for endpoint in self.devices[index].model.endpoints {
                self.devices[index].applyPowerCoupling(endpoint: endpoint.id)
            }
        }
        if let formed = configuration.formedNetwork {
            nv.setOSAL(NVItemID.panID, le16(formed.panID))
            nv.setOSAL(NVItemID.channelList, le32(formed.channelMask))
            nv.setOSAL(NVItemID.preconfiguredKey, formed.networkKey)
            storeFormedNetwork(formed)
        }
    }

    // MARK: - The byte interface

    /// Handles bytes from the host; returns the bytes the stick sends in reply (and whatever
    /// timed output fell due up to `now`).
    public mutating func received(_ bytes: [UInt8], now: SimInstant) -> [UInt8] {
        var out = tick(now: now)
        guard !isSilenced else {
            if !bytes.isEmpty { counters.framesIgnoredWhileSilent += 1 }
            return out
        }
        for event in decoder.feed(bytes) {
            switch event {
            case .skipped(let count):
                counters.garbageBytesSkipped += count
                log(verbose: true, "skipped \(count) byte(s) outside a frame")
            case .badChecksum(let frame, let fcs):
                counters.badChecksumsReceived += 1
                log("dropped a frame with a bad FCS (got \(hex2(fcs)), want \(hex2(frame.checksum))): \(frame)")
            case .frame(let frame):
                guard !isSilenced else {
                    counters.framesIgnoredWhileSilent += 1
                    continue
                }
                counters.framesReceived += 1
                if let booting = bootingUntil, now < booting {
                    log("dropped while rebooting: \(frame)")
                    continue
                }
                log(verbose: true, "<- \(frame)")
                if let reply = handle(frame) { out += encode([reply]) }
                if let limit = configuration.faults.silenceAfter, counters.framesReceived >= limit, !isSilenced {
                    isSilenced = true
                    log("fault: silent after \(limit) request frame(s); answering nothing from now on")
                }
            }
        }
        return out
    }

    /// Runs everything due up to `now` and returns the bytes it produced.
    public mutating func tick(now: SimInstant) -> [UInt8] {
        if now > self.now { self.now = now }
        var frames: [MTFrame] = []
        // Each pass removes one due entry; actions only add entries due strictly later, or
        // due now but ordered after, so the loop ends after the queue's length plus additions.
        var budget = queue.count * 4 + 64
        while budget > 0, let index = nextDueIndex() {
            budget -= 1
            let entry = queue.remove(at: index)
            frames += perform(entry.action)
        }
        if let until = permitJoinUntil, !permitJoinForever, until <= self.now {
            permitJoinUntil = nil
            log("permit join closed")
        }
        frames += periodicReports()
        if isSilenced { return [] }
        return encode(frames)
    }

    /// When `tick` next has something to do; nil when nothing is pending.
    public var nextDeadline: SimInstant? {
        var deadline = queue.map(\.due).min()
        func consider(_ instant: SimInstant?) {
            guard let instant else { return }
            deadline = deadline.map { min($0, instant) } ?? instant
        }
        if !permitJoinForever { consider(permitJoinUntil) }
        if network != nil {
            for device in devices where device.joined {
                for state in device.reporting.values { consider(state.nextDue) }
            }
        }
        return deadline
    }

    /// Lines for stderr since the last call.
    public mutating func takeLog() -> [SimLogLine] {
        defer { logLines.removeAll() }
        return logLines
    }

    /// The stick lost power (unplugged) and came back: RAM state is gone, NV stays.
    public mutating func powerCycle(now: SimInstant) {
        self.now = max(self.now, now)
        rebootRAM()
        isSilenced = false
        counters.framesReceived = 0
        log("power cycle: network stopped, NV kept")
    }

    /// The current device list, for tests and logs.
    public var simulatedDevices: [SimulatedDevice] { devices.map(\.model) }

    public func isJoined(_ ieee: IEEEAddress) -> Bool { devices.first { $0.model.ieee == ieee }?.joined ?? false }

    public var isPermittingJoin: Bool { permitJoinForever || (permitJoinUntil.map { now < $0 } ?? false) }

    // MARK: - Output

    private mutating func encode(_ frames: [MTFrame]) -> [UInt8] {
        guard !isSilenced else { return [] }
        var bytes: [UInt8] = []
        for frame in frames {
            counters.framesSent += 1
            let number = counters.framesSent
            log(verbose: true, "-> \(frame)")
            if let every = configuration.faults.garbageEvery, every > 0, number % every == 0 {
                let count = Int(random.next(in: 1...8))
                let garbage = (0..<count).map { _ in
                    let byte = random.nextByte()
                    return byte == MTFrame.startOfFrame ? 0x00 : byte
                }
                counters.faultGarbageBursts += 1
                log("fault: \(count) garbage byte(s) before frame #\(number) (\(counters.faultGarbageBursts) so far)")
                bytes += garbage
            }
            var encoded = frame.encoded
            if let every = configuration.faults.badChecksumEvery, every > 0, number % every == 0 {
                encoded[encoded.count - 1] ^= 0xFF
                counters.faultBadChecksums += 1
                log("fault: bad FCS on frame #\(number) \(MTCommandNames.name(cmd0: frame.cmd0, cmd1: frame.cmd1)) (\(counters.faultBadChecksums) so far)")
            }
            bytes += encoded
        }
        return bytes
    }

    private mutating func log(verbose: Bool = false, _ text: String) {
        logLines.append(SimLogLine(verbose: verbose, text: text))
    }

    private mutating func schedule(after milliseconds: UInt64, _ action: ScheduledAction) {
        queueOrder += 1
        queue.append((now.adding(milliseconds: milliseconds), queueOrder, action))
    }

    private func nextDueIndex() -> Int? {
        var best: Int?
        for index in queue.indices where queue[index].due <= now {
            if let current = best {
                if (queue[index].due, queue[index].order) < (queue[current].due, queue[current].order) { best = index }
            } else {
                best = index
            }
        }
        return best
    }

    // MARK: - Dispatch

    /// Handles one well-formed frame; returns its SRSP when it is an SREQ.
    private mutating func handle(_ frame: MTFrame) -> MTFrame? {
        switch frame.type {
        case .sreq:
            return handleSynchronous(frame)
        case .areq:
            if frame.subsystem == .sys, frame.cmd1 == SYSCommand.resetReq.rawValue {
                resetRequested(frame.payload)
            } else {
                // MT answers only SREQs; an AREQ it does not know is dropped (MT.c MT_ProcessIncoming).
                log("ignored AREQ \(frame)")
            }
            return nil
        case .poll, .srsp, nil:
            log("ignored frame of type \(frame.typeBits): \(frame)")
            return nil
        }
    }

    private func supports(_ subsystem: MTSubsystem) -> Bool {
        switch subsystem {
        case .sys, .af, .zdo, .util, .appConfig: return true
        case .sapi: return configuration.sapiEnabled
        default: return false
        }
    }

    /// SYS_PING's capabilities: the subsystems built in (commands/sys.py `Ping`).
    var capabilities: MTCapabilities {
        var caps: MTCapabilities = [.sys, .af, .zdo, .util, .gp, .appConfig]
        if configuration.sapiEnabled { caps.insert(.sapi) }
        return caps
    }

    private mutating func handleSynchronous(_ frame: MTFrame) -> MTFrame? {
        guard let subsystem = frame.subsystem, supports(subsystem) else {
            return rpcError(.invalidSubsystem, frame)
        }
        let reply: Reply
        switch subsystem {
        case .sys: reply = handleSYS(frame)
        case .af: reply = handleAF(frame)
        case .zdo: reply = handleZDO(frame)
        case .util: reply = handleUTIL(frame)
        case .appConfig: reply = handleAppConfig(frame)
        case .sapi: reply = handleSAPI(frame)
        default: reply = .unknown
        }
        switch reply {
        case .payload(let payload):
            return MTFrame(cmd0: frame.cmd0 + 0x40, cmd1: frame.cmd1, payload: payload)
        case .status(let status):
            return MTFrame(cmd0: frame.cmd0 + 0x40, cmd1: frame.cmd1, payload: [status.rawValue])
        case .unknown:
            return rpcError(.invalidCommandID, frame)
        case .truncated:
            return rpcError(.invalidLength, frame)
        case .none:
            log("no SRSP (as the real firmware): \(frame)")
            return nil
        }
    }

    enum Reply {
        case payload([UInt8])
        case status(ZStatus)
        /// Not a command of this subsystem: RPC error InvalidCommandId.
        case unknown
        /// Too few bytes for the command's fields: RPC error InvalidLength.
        case truncated
        /// The firmware sends no SRSP at all.
        case none
    }

    /// The RPC error SRSP: subsystem 0, command 0, the error code and the offending CMD0/CMD1
    /// (commands/rpc_error.py `CommandNotRecognized`; MT.c sends it for SREQs only).
    private mutating func rpcError(_ code: RPCErrorCode, _ frame: MTFrame) -> MTFrame {
        log("RPC error \(code) for \(frame)")
        return MTFrame(type: .srsp, subsystem: .rpcError, command: 0x00, payload: [code.rawValue, frame.cmd0, frame.cmd1])
    }

    // MARK: - SYS (commands/sys.py)

    private mutating func handleSYS(_ frame: MTFrame) -> Reply {
        var reader = ByteReader(frame.payload)
        let firmware = configuration.firmware
        switch SYSCommand(rawValue: frame.cmd1) {
        case .ping:
            return .payload(le16(capabilities.rawValue))
        case .version:
            var writer = ByteWriter()
            for byte: UInt8 in [2, firmware.productID, 2, 7, firmware.maintenanceRelease] { writer.u8(byte) }
            writer.u32(firmware.codeRevision)
            writer.u8(firmware.bootloaderBuildType)
            writer.u32(firmware.bootloaderRevision)
            return .payload(writer.bytes)
        case .getExtAddr:
            return .payload(nv.osal(NVItemID.extAddr) ?? configuration.coordinatorIEEE.littleEndianBytes)
        case .random:
            return .payload(le16(UInt16(truncatingIfNeeded: random.nextUInt64())))
        case .setTxPower:
            guard let requested = reader.u8() else { return .truncated }
            // 3.x.0 answers a status; 3.0.x the power it applied (sys.py `SetTxPower` note).
            if firmware == .cc2652 { return .status(.success) }
            return .payload([UInt8(bitPattern: min(Int8(bitPattern: requested), 4))])
        case .osalNVItemInit:
            guard let id = reader.u16(), let length = reader.u16(), let data = reader.shortBytes() else { return .truncated }
            return .status(nv.initialize(.osal(id), length: Int(length), initialData: data))
        case .osalNVRead, .osalNVReadExt:
            let wide = frame.cmd1 == SYSCommand.osalNVReadExt.rawValue
            guard let id = reader.u16(), let offset = wide ? reader.u16() : reader.u8().map(UInt16.init) else { return .truncated }
            return .payload(nvRead(.osal(id), offset: Int(offset), length: 248))
        case .osalNVWrite, .osalNVWriteExt:
            let wide = frame.cmd1 == SYSCommand.osalNVWriteExt.rawValue
            guard let id = reader.u16(), let offset = wide ? reader.u16() : reader.u8().map(UInt16.init) else { return .truncated }
            // OSAL_NV_WRITE_EXT's value has a u16 length (sys.py `OSALNVWriteExt`, LongBytes).
            let value: [UInt8]?
            if wide {
                value = reader.u16().flatMap { reader.take(Int($0)) }
            } else {
                value = reader.shortBytes()
            }
            guard let data = value else { return .truncated }
            let status = nv.write(.osal(id), offset: Int(offset), data: data)
            log("NV write \(hex4(id)) at \(offset): \(hexDump(data)) -> \(status)")
            return .status(status)
        case .osalNVDelete:
            guard let id = reader.u16(), let length = reader.u16() else { return .truncated }
            // osal_nv_delete: NV_ITEM_UNINIT when missing, NV_BAD_ITEM_LEN when the length differs.
            guard let value = nv.osal(id) else { return .status(.nvItemUninitialized) }
            guard value.count == Int(length) else { return .status(.nvBadItemLength) }
            nv.remove(.osal(id))
            return .status(.success)
        case .osalNVLength:
            guard let id = reader.u16() else { return .truncated }
            return .payload(le16(UInt16(nv.osal(id)?.count ?? 0)))
        case .nvCreate, .nvDelete, .nvLength, .nvRead, .nvWrite:
            guard firmware.hasExtendedNV else { return .unknown }
            return handleExtendedNV(frame, reader: &reader)
        case .resetReq, .resetInd, nil:
            return .unknown
        }
    }

    /// Status and up to `length` bytes from `offset`; a missing item is INVALID_PARAMETER with
    /// no bytes (as zigpy-znp recorded for OSAL_NV_READ).
    private func nvRead(_ key: NVKey, offset: Int, length: Int) -> [UInt8] {
        guard let value = nv.value(key), offset <= value.count else {
            return [ZStatus.invalidParameter.rawValue, 0]
        }
        var writer = ByteWriter()
        writer.u8(ZStatus.success.rawValue)
        writer.shortBytes(Array(value[offset...].prefix(min(length, 248))))
        return writer.bytes
    }

    /// Z-Stack 3.x.0's NV driver (SYS_NV_*): items addressed by (system, item, sub-item).
    /// Only the Z-Stack system (1) holds items; OSAL ids are item 0 (LEGACY), sub-item = id.
    private mutating func handleExtendedNV(_ frame: MTFrame, reader: inout ByteReader) -> Reply {
        guard let system = reader.u8(), let item = reader.u16(), let sub = reader.u16() else { return .truncated }
        let key = NVKey(item: item, sub: sub)
        let known = system == 1
        switch SYSCommand(rawValue: frame.cmd1) {
        case .nvLength:
            return .payload(le32(UInt32(known ? nv.value(key)?.count ?? 0 : 0)))
        case .nvRead:
            guard let offset = reader.u16(), let length = reader.u8() else { return .truncated }
            guard known, nv.value(key) != nil else { return .payload([ZStatus.failure.rawValue, 0]) }
            return .payload(nvRead(key, offset: Int(offset), length: Int(length)))
        case .nvWrite:
            guard let offset = reader.u16(), let data = reader.shortBytes() else { return .truncated }
            guard known, nv.value(key) != nil else { return .status(.failure) }
            return .status(nv.write(key, offset: Int(offset), data: data))
        case .nvCreate:
            guard let length = reader.u32() else { return .truncated }
            guard known else { return .status(.failure) }
            return .status(nv.initialize(key, length: Int(length), initialData: []))
        case .nvDelete:
            guard known, nv.value(key) != nil else { return .status(.nvOperationFailed) }
            nv.remove(key)
            return .status(.success)
        default:
            return .unknown
        }
    }

    /// SYS_RESET_REQ (AREQ): the stick reboots. RAM state is lost, NV is kept; STARTUP_OPTION
    /// bits are applied and cleared (ZGlobals zgInit); SYS_RESET_IND follows once it is up.
    private mutating func resetRequested(_ payload: [UInt8]) {
        let type = payload.first ?? 1
        rebootRAM()
        let options = StartupOptions(rawValue: nv.osal(NVItemID.startupOption)?.first ?? 0)
        if options.contains(.clearConfig) {
            nv.restoreConfigDefaults(ieee: configuration.coordinatorIEEE, alignedStructs: configuration.firmware.alignedStructs)
            log("reset: STARTUP_OPTION cleared the configuration")
        }
        if options.contains(.clearState) {
            forgetNetwork()
            log("reset: STARTUP_OPTION cleared the network state")
        }
        if !options.isEmpty { nv.setOSAL(NVItemID.startupOption, [0x00]) }
        bootingUntil = now.adding(milliseconds: configuration.timing.resetMilliseconds)
        // Reason: PowerUp after a soft reset (zigpy-znp's recordings), Watchdog after a hard one.
        schedule(after: configuration.timing.resetMilliseconds, .resetIndication(reason: type == 0 ? 0x02 : 0x00))
        log("reset requested (\(type == 0 ? "hard" : "soft")); SYS_RESET_IND in \(configuration.timing.resetMilliseconds) ms")
    }

    private mutating func rebootRAM() {
        queue.removeAll()
        registeredEndpoints.removeAll()
        permitJoinUntil = nil
        permitJoinForever = false
        bdbPrimaryChannels = 0
        bdbSecondaryChannels = 0
        network = nil
        deviceState = .initializedNotStarted
        decoder.reset()
        bootingUntil = nil
    }

    // MARK: - Network formation (APP_CNF BDB, ZDO_STARTUP_FROM_APP)

    private var logicalTypeIsCoordinator: Bool { (nv.osal(NVItemID.logicalType)?.first ?? 0) == 0 }

    private var isOnANetworkInNV: Bool {
        (nv.osal(NVItemID.bdbNodeIsOnANetwork)?.first ?? 0) == 1 && storedNetwork != nil
    }

    /// The network a formation creates from the configuration items.
    private mutating func networkToForm() -> NetworkParameters {
        let nvChannels = le32Value(nv.osal(NVItemID.channelList) ?? []) & ZNPLimits.channelMask
        var mask = bdbPrimaryChannels & ZNPLimits.channelMask
        if mask == 0 { mask = nvChannels }
        if mask == 0 { mask = bdbSecondaryChannels & ZNPLimits.channelMask }
        if mask == 0 { mask = 1 << 11 }
        let channel = UInt8((11...26).first { mask & (1 << UInt32($0)) != 0 } ?? 11)
        var panID = UInt16(truncatingIfNeeded: le32Value(nv.osal(NVItemID.panID) ?? [0xFF, 0xFF]))
        if panID >= 0xFFF8 { panID = UInt16(random.next(in: 0x0001...0xFFF7)) }
        let epidBytes = nv.osal(NVItemID.extendedPANID) ?? []
        var epid = IEEEAddress(littleEndianBytes: epidBytes)
        if epid.value == 0 || epid.value == UInt64.max { epid = configuration.coordinatorIEEE }
        let key = nv.osal(NVItemID.preconfiguredKey) ?? NetworkParameters.defaultNetworkKey
        return NetworkParameters(panID: panID, extendedPANID: epid, channel: channel, channelMask: mask, networkKey: key)
    }

    /// NV after a formation: the NIB, the active key, and "on a network".
    private mutating func storeFormedNetwork(_ formed: NetworkParameters) {
        storedNetwork = formed
        let aligned = configuration.firmware.alignedStructs
        nv.setOSAL(NVItemID.nib, NetworkInformationBase.encode(formed, aligned: aligned))
        nv.setOSAL(NVItemID.bdbNodeIsOnANetwork, [0x01])
        nv.setOSAL(NVItemID.extendedPANID, formed.extendedPANID.littleEndianBytes)
        let descriptor = [0x00] + formed.networkKey
        nv.setOSAL(NVItemID.nwkActiveKeyInfo, descriptor)
        nv.setOSAL(NVItemID.nwkAlternKeyInfo, descriptor)
        nv.setOSAL(NVItemID.networkKey, NVStore.networkKeyItem(key: descriptor, frameCounter: 0, aligned: aligned))
        // Security material (`nwkSecMaterialDesc_t`: frame counter u32, extended PAN id): this
        // network's entry, and the global entry (all-0xFF PAN id) that ends the table.
        let ours = le32(0) + formed.extendedPANID.littleEndianBytes
        let global = le32(0xFFFF_FFFF) + [UInt8](repeating: 0xFF, count: 8)
        let keys = securityMaterialKeys()
        nv.set(keys[0], ours)
        nv.set(keys[1], global)
    }

    /// Where the two security material entries live for this firmware.
    private func securityMaterialKeys() -> [NVKey] {
        if configuration.firmware.hasExtendedNV {
            return [NVKey(item: NVItemID.securityMaterialTable, sub: 0), NVKey(item: NVItemID.securityMaterialTable, sub: 1)]
        }
        return [.osal(NVItemID.legacySecurityMaterialStart), .osal(NVItemID.legacySecurityMaterialEnd)]
    }

    private mutating func forgetNetwork() {
        storedNetwork = nil
        nv.remove(.osal(NVItemID.nib))
        for key in securityMaterialKeys() { nv.remove(key) }
        nv.setOSAL(NVItemID.bdbNodeIsOnANetwork, [0x00])
        for index in devices.indices where devices[index].model.joinsOnPermit {
            devices[index].joined = false
        }
    }

    private func stateChange(_ state: DeviceState) -> MTFrame {
        MTFrame(type: .areq, subsystem: .zdo, command: ZDOCommand.stateChangeInd.rawValue, payload: [state.rawValue])
    }

    private func commissioningNotification(_ status: BDBCommissioningStatus, mode: BDBCommissioningMode,
                                           remaining: BDBCommissioningMode) -> MTFrame {
        MTFrame(type: .areq, subsystem: .appConfig, command: AppConfigCommand.bdbCommissioningNotification.rawValue,
                payload: [status.rawValue, mode.rawValue, remaining.rawValue])
    }

    /// Starts the network: restores the one in NV, or forms a new one (coordinator only).
    /// Restoring reports 0x09 at once; forming reports 0x08 then 0x09 a few steps later.
    /// Returns false when nothing can start (not a coordinator, or already running).
    private mutating func startNetwork(formationNotifications: Bool) -> Bool {
        guard network == nil, deviceState != .startingAsCoordinator else { return false }
        let step = configuration.timing.formationStepMilliseconds
        if isOnANetworkInNV, let stored = storedNetwork {
            var notifications: [MTFrame] = []
            if formationNotifications {
                // zigpy-znp's recording of a restore: NetworkRestored, then Success (conftest.py).
                notifications = [
                    commissioningNotification(.networkRestored, mode: [], remaining: .networkFormation),
                    commissioningNotification(.success, mode: .networkFormation, remaining: []),
                ]
            }
            deviceState = .startingAsCoordinator
            schedule(after: step / 2, .networkUp(stored, newlyFormed: false, notifications: notifications))
            log("restoring network pan \(hex4(stored.panID)) channel \(stored.channel)")
            return true
        }
        guard logicalTypeIsCoordinator else { return false }
        deviceState = .startingAsCoordinator
        let formed = networkToForm()
        if formationNotifications {
            schedule(after: 1, .frame(commissioningNotification(.inProgress, mode: .networkFormation, remaining: .networkFormation)))
        }
        schedule(after: step, .frame(stateChange(.startingAsCoordinator)))
        schedule(after: 2 * step, .frame(stateChange(.startingAsCoordinator)))
        let done = formationNotifications ? [commissioningNotification(.success, mode: .networkFormation, remaining: [])] : []
        schedule(after: 3 * step, .networkUp(formed, newlyFormed: true, notifications: done))
        log("forming network pan \(hex4(formed.panID)) channel \(formed.channel) epid \(formed.extendedPANID)")
        return true
    }

    private mutating func networkCameUp(_ formed: NetworkParameters, newlyFormed: Bool) -> [MTFrame] {
        if newlyFormed { storeFormedNetwork(formed) }
        network = formed
        deviceState = .startedAsCoordinator
        for index in devices.indices where devices[index].joined {
            startReporting(device: index)
        }
        log("network up: pan \(hex4(formed.panID)) epid \(formed.extendedPANID) channel \(formed.channel)")
        return [stateChange(.startedAsCoordinator)]
    }

    private mutating func startReporting(device index: Int) {
        let stagger = Double(index) * 0.05
        if devices[index].reporting.isEmpty {
            let interval = devices[index].model.reportInterval ?? configuration.defaultReportInterval
            devices[index].startReporting(now: now, defaultInterval: configuration.defaultReportInterval,
                                          offset: interval + stagger)
        } else {
            for path in devices[index].reporting.keys {
                if let interval = devices[index].reporting[path]?.interval {
                    devices[index].reporting[path]?.nextDue = now.adding(seconds: interval + stagger)
                }
            }
        }
    }

    // MARK: - APP_CNF (commands/app_config.py)

    private mutating func handleAppConfig(_ frame: MTFrame) -> Reply {
        var reader = ByteReader(frame.payload)
        switch AppConfigCommand(rawValue: frame.cmd1) {
        case .bdbSetChannel:
            guard let primary = reader.u8(), let mask = reader.u32() else { return .truncated }
            if primary != 0 { bdbPrimaryChannels = mask } else { bdbSecondaryChannels = mask }
            log("BDB \(primary != 0 ? "primary" : "secondary") channels \(String(mask, radix: 16))")
            return .status(.success)
        case .bdbStartCommissioning:
            guard let modeByte = reader.u8() else { return .truncated }
            bdbStartCommissioning(BDBCommissioningMode(rawValue: modeByte))
            return .status(.success)
        case .setAllowRejoinTCPolicy, .bdbSetTCRequireKeyExchange:
            guard reader.u8() != nil else { return .truncated }
            return .status(.success)
        case .bdbCommissioningNotification, nil:
            return .unknown
        }
    }

    /// APP_CNF_BDB_START_COMMISSIONING: formation, then steering, as the mode asks; each ends
    /// with a notification whose RemainingModes is empty (zigpy-znp api.py `start_network`).
    private mutating func bdbStartCommissioning(_ mode: BDBCommissioningMode) {
        log("BDB commissioning mode \(hex2(mode.rawValue))")
        if mode.contains(.networkFormation) {
            if !startNetwork(formationNotifications: true) {
                // Formation when already on a network, or as a non-coordinator, fails
                // (zigpy-znp accepts FormationFailure for an existing network).
                schedule(after: 1, .frame(commissioningNotification(.formationFailure, mode: .networkFormation, remaining: [])))
            }
        }
        if mode.contains(.networkSteering) {
            let delay = mode.contains(.networkFormation) ? 4 * configuration.timing.formationStepMilliseconds : 1
            if network != nil || mode.contains(.networkFormation) {
                schedule(after: delay, .frame(commissioningNotification(.inProgress, mode: .networkSteering, remaining: .networkSteering)))
                schedule(after: delay + 1, .frame(commissioningNotification(.success, mode: .networkSteering, remaining: [])))
                openPermitJoin(seconds: ZNPLimits.steeringSeconds, after: delay)
            } else {
                schedule(after: delay, .frame(commissioningNotification(.noNetwork, mode: .networkSteering, remaining: [])))
            }
        }
        let others = BDBCommissioningMode(rawValue: mode.rawValue & ~(BDBCommissioningMode.networkFormation.rawValue
                                                                      | BDBCommissioningMode.networkSteering.rawValue))
        if !others.isEmpty {
            schedule(after: 2, .frame(commissioningNotification(.failure, mode: others, remaining: [])))
        }
    }

    // MARK: - ZDO (commands/zdo.py)

    private mutating func handleZDO(_ frame: MTFrame) -> Reply {
        var reader = ByteReader(frame.payload)
        switch ZDOCommand(rawValue: frame.cmd1) {
        case .startupFromApp:
            guard reader.u16() != nil else { return .truncated }
            // Z-Stack 3 runs bdb_StartCommissioning and answers ZSuccess (0), which reads as
            // RestoredNetworkState (zdo.py `StartupFromApp` note).
            if !startNetwork(formationNotifications: false) {
                log("startup from app: \(network != nil ? "already running" : "cannot form (not a coordinator)")")
            }
            return .payload([0x00])
        case .mgmtPermitJoinReq:
            guard let mode = reader.u8(), let destination = reader.u16(), let duration = reader.u8(),
                  reader.u8() != nil else { return .truncated }
            return permitJoinRequest(mode: mode, destination: destination, duration: duration)
        case .bindReq, .unbindReq:
            return bindRequest(frame.cmd1 == ZDOCommand.bindReq.rawValue, reader: &reader)
        case .activeEpReq, .nodeDescReq:
            guard let destination = reader.u16(), let interest = reader.u16() else { return .truncated }
            guard network != nil else { return .status(.nwkInvalidRequest) }
            if frame.cmd1 == ZDOCommand.activeEpReq.rawValue {
                descriptorResponse(destination: destination, interest: interest, endpoint: nil, activeEndpoints: true)
            } else {
                nodeDescriptorResponse(destination: destination, interest: interest)
            }
            return .status(.success)
        case .simpleDescReq:
            guard let destination = reader.u16(), let interest = reader.u16(), let endpoint = reader.u8() else { return .truncated }
            guard network != nil else { return .status(.nwkInvalidRequest) }
            descriptorResponse(destination: destination, interest: interest, endpoint: endpoint, activeEndpoints: false)
            return .status(.success)
        case .msgCallbackRegister:
            guard reader.u16() != nil else { return .truncated }
            return .status(.success)
        default:
            return .unknown
        }
    }

    /// ZDO_MGMT_PERMIT_JOIN_REQ → SRSP, then ZDO_MGMT_PERMIT_JOIN_RSP from the addressed node.
    /// Duration 0 closes, 0xFF opens with no end (pre-R21 meaning), else seconds.
    private mutating func permitJoinRequest(mode: UInt8, destination: UInt16, duration: UInt8) -> Reply {
        guard network != nil else { return .status(.nwkInvalidRequest) }
        let toEveryone = ZNPLimits.broadcastAddresses.contains(destination) || destination == 0x0000
        let router = devices.firstIndex { $0.joined && $0.model.nwk == destination && $0.model.logicalType == .router }
        guard toEveryone || router != nil else {
            log("permit join to unknown node \(hex4(destination)): no response will come")
            return .status(.success)
        }
        if duration == 0 {
            permitJoinUntil = nil
            permitJoinForever = false
            log("permit join closed by the host")
        } else if duration == 0xFF {
            openPermitJoin(seconds: nil, after: 0)
        } else {
            openPermitJoin(seconds: Double(duration), after: 0)
        }
        let source = toEveryone ? 0x0000 : destination
        schedule(after: configuration.timing.confirmMilliseconds,
                 .frame(MTFrame(type: .areq, subsystem: .zdo, command: ZDOCommand.mgmtPermitJoinRsp.rawValue,
                                payload: le16(source) + [ZDOStatus.success.rawValue])))
        return .status(.success)
    }

    private mutating func openPermitJoin(seconds: Double?, after delay: UInt64) {
        let opensAt = now.adding(milliseconds: delay)
        if let seconds {
            permitJoinForever = false
            permitJoinUntil = opensAt.adding(seconds: seconds)
            log("permit join open for \(Int(seconds)) s")
        } else {
            permitJoinForever = true
            permitJoinUntil = opensAt
            log("permit join open with no end")
        }
        for index in devices.indices where devices[index].model.joinsOnPermit && !devices[index].joined {
            let wait = delay + UInt64(max(0, devices[index].model.joinDelay) * 1000)
            if !queue.contains(where: { if case .join(index) = $0.action { return true } else { return false } }) {
                schedule(after: wait, .join(device: index))
            }
        }
    }

    /// A device joins: ZDO_TC_DEV_IND (the trust centre saw it), then its announce,
    /// ZDO_END_DEVICE_ANNCE_IND.
    private mutating func join(device index: Int) -> [MTFrame] {
        guard network != nil, isPermittingJoin, !devices[index].joined else { return [] }
        devices[index].joined = true
        let model = devices[index].model
        startReporting(device: index)
        log("device \(model.name) \(model.ieee) joined as \(hex4(model.nwk))")
        var tc = ByteWriter()
        tc.u16(model.nwk)
        tc.ieee(model.ieee)
        tc.u16(0x0000)
        var announce = ByteWriter()
        announce.u16(model.nwk)
        announce.u16(model.nwk)
        announce.ieee(model.ieee)
        announce.u8(model.logicalType.macCapabilities)
        return [
            MTFrame(type: .areq, subsystem: .zdo, command: ZDOCommand.tcDevInd.rawValue, payload: tc.bytes),
            MTFrame(type: .areq, subsystem: .zdo, command: ZDOCommand.endDeviceAnnceInd.rawValue, payload: announce.bytes),
        ]
    }

    /// ZDO_BIND_REQ / ZDO_UNBIND_REQ: Dst, Src IEEE, SrcEndpoint, ClusterId, then the
    /// destination as MT_ZdoBindReq reads it: mode, an 8-byte address field, the endpoint.
    /// zigpy's MultiAddress sends a group as 2 bytes without an endpoint; both are accepted.
    private mutating func bindRequest(_ bind: Bool, reader: inout ByteReader) -> Reply {
        guard let destination = reader.u16(), let source = reader.ieee(), let sourceEndpoint = reader.u8(),
              let cluster = reader.u16(), let mode = reader.u8() else { return .truncated }
        var entry = Binding(sourceEndpoint: sourceEndpoint, cluster: cluster, destination: nil, group: nil, destinationEndpoint: 0)
        switch mode {
        case 0x03:
            guard let address = reader.ieee(), let endpoint = reader.u8() else { return .truncated }
            entry.destination = address
            entry.destinationEndpoint = endpoint
        case 0x01:
            guard let group = reader.u16() else { return .truncated }
            entry.group = group
        default:
            return .status(.invalidParameter)
        }
        guard network != nil else { return .status(.nwkInvalidRequest) }
        let callback: ZDOCommand = bind ? .bindRsp : .unbindRsp
        var status = ZDOStatus.success
        if destination == 0x0000 {
            if source != configuration.coordinatorIEEE { status = .notSupported }
        } else if let index = devices.firstIndex(where: { $0.joined && $0.model.nwk == destination }) {
            if source != devices[index].model.ieee {
                status = .notSupported
            } else if devices[index].model.endpointIndex(sourceEndpoint) == nil {
                status = .invalidEndpoint
            } else if bind {
                if !devices[index].bindings.contains(entry) { devices[index].bindings.append(entry) }
            } else if let existing = devices[index].bindings.firstIndex(of: entry) {
                devices[index].bindings.remove(at: existing)
            } else {
                status = .noEntry
            }
        } else {
            log("\(bind ? "bind" : "unbind") to unknown node \(hex4(destination)): no response will come")
            return .status(.success)
        }
        log("\(bind ? "bind" : "unbind") \(hex4(destination)) ep \(sourceEndpoint) cluster \(hex4(cluster)) -> \(status)")
        schedule(after: configuration.timing.responseMilliseconds,
                 .frame(MTFrame(type: .areq, subsystem: .zdo, command: callback.rawValue,
                                payload: le16(destination) + [status.rawValue])))
        return .status(.success)
    }

    /// ZDO_ACTIVE_EP_RSP / ZDO_SIMPLE_DESC_RSP for a joined device or the coordinator itself.
    private mutating func descriptorResponse(destination: UInt16, interest: UInt16, endpoint: UInt8?, activeEndpoints: Bool) {
        var endpoints: [(id: UInt8, profile: UInt16, device: UInt16, version: UInt8, inputs: [UInt16], outputs: [UInt16])]
        if destination == 0x0000 {
            endpoints = registeredEndpoints.values.sorted { $0.id < $1.id }.map {
                ($0.id, $0.profileID, $0.deviceID, $0.deviceVersion, $0.inputClusters, $0.outputClusters)
            }
        } else if let device = devices.first(where: { $0.joined && $0.model.nwk == destination }) {
            endpoints = device.model.endpoints.map {
                ($0.id, $0.profileID, $0.deviceID, $0.deviceVersion, $0.inputClusters.map(\.id), $0.outputClusters)
            }
        } else {
            log("descriptor request to unknown node \(hex4(destination)): no response will come")
            return
        }
        var payload = ByteWriter()
        payload.u16(destination)
        if activeEndpoints {
            payload.u8(ZDOStatus.success.rawValue)
            payload.u16(interest)
            payload.shortBytes(endpoints.map(\.id))
            schedule(after: configuration.timing.responseMilliseconds,
                     .frame(MTFrame(type: .areq, subsystem: .zdo, command: ZDOCommand.activeEpRsp.rawValue, payload: payload.bytes)))
            return
        }
        if let found = endpoints.first(where: { $0.id == endpoint }) {
            var descriptor = ByteWriter()
            descriptor.u8(found.id)
            descriptor.u16(found.profile)
            descriptor.u16(found.device)
            descriptor.u8(found.version)
            descriptor.u8(UInt8(found.inputs.count))
            for cluster in found.inputs { descriptor.u16(cluster) }
            descriptor.u8(UInt8(found.outputs.count))
            for cluster in found.outputs { descriptor.u16(cluster) }
            payload.u8(ZDOStatus.success.rawValue)
            payload.u16(interest)
            payload.shortBytes(descriptor.bytes)
        } else {
            payload.u8(ZDOStatus.notActive.rawValue)
            payload.u16(interest)
            payload.u8(0)
        }
        schedule(after: configuration.timing.responseMilliseconds,
                 .frame(MTFrame(type: .areq, subsystem: .zdo, command: ZDOCommand.simpleDescRsp.rawValue, payload: payload.bytes)))
    }

    /// ZDO_NODE_DESC_RSP (zigpy zdo/types.py `NodeDescriptor`, 13 bytes). The coordinator's
    /// values are those zigpy-znp recorded from a CC2652 (conftest.py `on_zdo_node_desc_req`).
    private mutating func nodeDescriptorResponse(destination: UInt16, interest: UInt16) {
        var descriptor = ByteWriter()
        if destination == 0x0000 {
            for byte: UInt8 in [0x00, 0x40, 0x8F] { descriptor.u8(byte) }
            descriptor.u16(0x0000)
            descriptor.u8(80)
            descriptor.u16(160)
            descriptor.u16(0x2C01)
            descriptor.u16(160)
            descriptor.u8(0)
        } else if let device = devices.first(where: { $0.joined && $0.model.nwk == destination })?.model {
            // Logical type in bits 0–2 (1 router, 2 end device); 0x40 is the 2.4 GHz band bit.
            descriptor.u8(device.logicalType == .router ? 0x01 : 0x02)
            descriptor.u8(0x40)
            descriptor.u8(device.logicalType.macCapabilities)
            descriptor.u16(device.manufacturerCode)
            descriptor.u8(82)
            descriptor.u16(82)
            descriptor.u16(0x2C00)
            descriptor.u16(82)
            descriptor.u8(0)
        } else {
            log("node descriptor request to unknown node \(hex4(destination)): no response will come")
            return
        }
        schedule(after: configuration.timing.responseMilliseconds,
                 .frame(MTFrame(type: .areq, subsystem: .zdo, command: ZDOCommand.nodeDescRsp.rawValue,
                                payload: le16(destination) + [ZDOStatus.success.rawValue] + le16(interest) + descriptor.bytes)))
    }

    // MARK: - UTIL (commands/util.py)

    private mutating func handleUTIL(_ frame: MTFrame) -> Reply {
        var reader = ByteReader(frame.payload)
        switch UTILCommand(rawValue: frame.cmd1) {
        case .getDeviceInfo:
            var writer = ByteWriter()
            writer.u8(ZStatus.success.rawValue)
            writer.append(nv.osal(NVItemID.extAddr) ?? configuration.coordinatorIEEE.littleEndianBytes)
            writer.u16(network != nil ? 0x0000 : 0xFFFE)
            // DeviceType: the build can be coordinator, router or end device (0x07).
            writer.u8(0x07)
            writer.u8(deviceState.rawValue)
            let children = network == nil ? [] : devices.filter { $0.joined && $0.model.logicalType == .endDevice }.map(\.model.nwk)
            writer.u8(UInt8(children.count))
            for nwk in children { writer.u16(nwk) }
            return .payload(writer.bytes)
        case .assocFindDevice:
            guard reader.u8() != nil else { return .truncated }
            // The raw associated_devices_t; an empty slot reads as 0xFF bytes. zigpy-znp sizes it
            // to learn the struct layout: 28 bytes packed, 36 aligned (nvram.py determine_alignment).
            return .payload([UInt8](repeating: 0xFF, count: configuration.firmware.alignedStructs ? 36 : 28))
        case .ledControl:
            guard reader.u8() != nil, reader.u8() != nil else { return .truncated }
            // zigpy-znp recorded no SRSP at all from CC2652 firmware (conftest.py `led_responder`).
            return configuration.firmware == .cc2652 ? .none : .status(.success)
        case nil:
            return .unknown
        }
    }

    // MARK: - SAPI (commands/sapi.py)

    /// ZB_READ/WRITE_CONFIGURATION: configuration ids are the OSAL NV ids below 0x100.
    private mutating func handleSAPI(_ frame: MTFrame) -> Reply {
        var reader = ByteReader(frame.payload)
        switch SAPICommand(rawValue: frame.cmd1) {
        case .readConfiguration:
            guard let id = reader.u8() else { return .truncated }
            guard let value = nv.osal(UInt16(id)) else {
                return .payload([ZStatus.invalidParameter.rawValue, id, 0])
            }
            var writer = ByteWriter()
            writer.u8(ZStatus.success.rawValue)
            writer.u8(id)
            writer.shortBytes(value)
            return .payload(writer.bytes)
        case .writeConfiguration:
            guard let id = reader.u8(), let value = reader.shortBytes() else { return .truncated }
            guard !value.isEmpty else { return .status(.invalidParameter) }
            // zb_WriteConfiguration creates the item when needed, then writes it whole.
            let key = NVKey.osal(UInt16(id))
            if let existing = nv.value(key), existing.count != value.count {
                nv.remove(key)
            }
            _ = nv.initialize(key, length: value.count, initialData: [])
            let status = nv.write(key, offset: 0, data: value)
            log("ZB write configuration \(hex2(id)): \(hexDump(value)) -> \(status)")
            return .status(status == .success ? .success : .failure)
        case nil:
            return .unknown
        }
    }

    // MARK: - AF (commands/af.py)

    private mutating func handleAF(_ frame: MTFrame) -> Reply {
        var reader = ByteReader(frame.payload)
        switch AFCommand(rawValue: frame.cmd1) {
        case .register:
            guard let endpoint = reader.u8(), let profile = reader.u16(), let device = reader.u16(),
                  let version = reader.u8(), reader.u8() != nil,
                  let inputs = clusterList(&reader), let outputs = clusterList(&reader) else { return .truncated }
            // MT_AfRegister answers ZApsDuplicateEntry for an endpoint already registered.
            guard registeredEndpoints[endpoint] == nil else { return .status(.apsDuplicateEntry) }
            guard endpoint >= 1, endpoint <= 240 else { return .status(.invalidParameter) }
            registeredEndpoints[endpoint] = RegisteredEndpoint(id: endpoint, profileID: profile, deviceID: device,
                                                               deviceVersion: version, inputClusters: inputs, outputClusters: outputs)
            log("registered endpoint \(endpoint) profile \(hex4(profile))")
            return .status(.success)
        case .delete:
            guard let endpoint = reader.u8() else { return .truncated }
            guard registeredEndpoints.removeValue(forKey: endpoint) != nil else { return .status(.invalidParameter) }
            return .status(.success)
        case .dataRequest:
            guard let destination = reader.u16(), let destinationEndpoint = reader.u8(), let sourceEndpoint = reader.u8(),
                  let cluster = reader.u16(), let tsn = reader.u8(), let options = reader.u8(), reader.u8() != nil,
                  let data = reader.shortBytes() else { return .truncated }
            return dataRequest(.nwk(destination), destinationEndpoint: destinationEndpoint, sourceEndpoint: sourceEndpoint,
                               cluster: cluster, tsn: tsn, options: options, data: data)
        case .dataRequestExt:
            guard let mode = reader.u8(), let address = reader.take(8), let destinationEndpoint = reader.u8(),
                  reader.u16() != nil, let sourceEndpoint = reader.u8(), let cluster = reader.u16(), let tsn = reader.u8(),
                  let options = reader.u8(), reader.u8() != nil,
                  let data = reader.u16().flatMap({ reader.take(Int($0)) }) else { return .truncated }
            let target: AFTarget
            switch mode {
            case 0x03: target = .ieee(IEEEAddress(littleEndianBytes: address))
            case 0x01: target = .group(le16Value(address))
            case 0x02, 0x0F: target = .nwk(le16Value(address))
            default: return .status(.invalidParameter)
            }
            return dataRequest(target, destinationEndpoint: destinationEndpoint, sourceEndpoint: sourceEndpoint,
                               cluster: cluster, tsn: tsn, options: options, data: data)
        case .dataConfirm, .incomingMsg, nil:
            return .unknown
        }
    }

    private func clusterList(_ reader: inout ByteReader) -> [UInt16]? {
        guard let count = reader.u8() else { return nil }
        var clusters: [UInt16] = []
        for _ in 0..<count {
            guard let cluster = reader.u16() else { return nil }
            clusters.append(cluster)
        }
        return clusters
    }

    enum AFTarget {
        case nwk(UInt16)
        case ieee(IEEEAddress)
        case group(UInt16)
    }

    /// AF_DATA_REQUEST: SRSP at once, AF_DATA_CONFIRM (Status, Endpoint, TSN) when the
    /// frame is delivered or given up, and the device's answer as AF_INCOMING_MSG.
    private mutating func dataRequest(_ target: AFTarget, destinationEndpoint: UInt8, sourceEndpoint: UInt8,
                                      cluster: UInt16, tsn: UInt8, options: UInt8, data: [UInt8]) -> Reply {
        // MT_AfDataRequest: an unregistered source endpoint is afStatus_INVALID_PARAMETER.
        guard registeredEndpoints[sourceEndpoint] != nil else {
            log("data request from unregistered endpoint \(sourceEndpoint)")
            return .status(.invalidParameter)
        }
        guard network != nil else { return .status(.nwkInvalidRequest) }
        var recipients: [Int] = []
        var broadcast = false
        var status = ZStatus.success
        switch target {
        case .nwk(let address) where ZNPLimits.broadcastAddresses.contains(address):
            broadcast = true
            recipients = devices.indices.filter { devices[$0].joined }
        case .nwk(let address):
            if let index = devices.firstIndex(where: { $0.model.nwk == address }) {
                if devices[index].joined { recipients = [index] } else { status = .macNoAck }
            } else {
                status = .nwkNoRoute
            }
        case .ieee(let address):
            if let index = devices.firstIndex(where: { $0.model.ieee == address }), devices[index].joined {
                recipients = [index]
            } else {
                status = .nwkNoRoute
            }
        case .group:
            // Group membership is not simulated: the groupcast goes out and nobody answers.
            broadcast = true
        }
        // APS ack requested (options bit 4) and the device is gone: APS_NO_ACK instead of the MAC's.
        if status == .macNoAck, options & 0x10 != 0 { status = .apsNoAck }
        let delay = status == .success ? configuration.timing.confirmMilliseconds : configuration.timing.failedConfirmMilliseconds
        schedule(after: delay, .frame(MTFrame(type: .areq, subsystem: .af, command: AFCommand.dataConfirm.rawValue,
                                              payload: [status.rawValue, sourceEndpoint, tsn])))
        for index in recipients {
            deliver(data, to: index, endpoint: destinationEndpoint, cluster: cluster, sourceEndpoint: sourceEndpoint, broadcast: broadcast)
        }
        if status != .success { log("data request to \(target): confirm status \(hex2(status.rawValue))") }
        return .status(.success)
    }

    private mutating func deliver(_ data: [UInt8], to index: Int, endpoint: UInt8, cluster: UInt16,
                                  sourceEndpoint: UInt8, broadcast: Bool) {
        let name = devices[index].model.name
        guard endpoint != 0 else {
            log("\(name): ZDO requests over AF are not simulated (cluster \(hex4(cluster)))")
            return
        }
        guard let frame = ZCLFrame(parsing: data) else {
            log("\(name): not a ZCL frame: \(hexDump(data))")
            return
        }
        // Endpoint 0xFF is the broadcast endpoint: every endpoint with the cluster takes the frame.
        let targets = endpoint == 0xFF
            ? devices[index].model.endpoints.filter { $0.clusterIndex(cluster) != nil }.map(\.id) : [endpoint]
        for target in targets {
            let outcome = devices[index].handle(frame, endpoint: target, cluster: cluster,
                                                wasBroadcast: broadcast || endpoint == 0xFF, now: now)
            log("\(name) ep \(target): \(outcome.log)")
            if let response = outcome.response {
                schedule(after: configuration.timing.responseMilliseconds,
                         .deviceFrame(device: index, endpoint: target, cluster: cluster,
                                      destinationEndpoint: sourceEndpoint, frame: response))
            }
            let reported = outcome.changed.filter { devices[index].reporting[$0] != nil }
            if !reported.isEmpty {
                schedule(after: configuration.timing.responseMilliseconds + 10, .reports(device: index, paths: reported))
            }
        }
    }

    // MARK: - Timed actions

    private mutating func perform(_ action: ScheduledAction) -> [MTFrame] {
        switch action {
        case .frame(let frame):
            return [frame]
        case .resetIndication(let reason):
            bootingUntil = nil
            let firmware = configuration.firmware
            // SYS_RESET_IND: Reason, TransportRev, ProductId, MajorRel, MinorRel, MaintRel (sys.py `ResetInd`).
            return [MTFrame(type: .areq, subsystem: .sys, command: SYSCommand.resetInd.rawValue,
                            payload: [reason, 2, firmware.productID, 2, 7, firmware.maintenanceRelease])]
        case .networkUp(let formed, let newlyFormed, let notifications):
            return networkCameUp(formed, newlyFormed: newlyFormed) + notifications
        case .join(let index):
            return join(device: index)
        case .deviceFrame(let index, let endpoint, let cluster, let destinationEndpoint, let frame):
            return [incomingMessage(from: index, endpoint: endpoint, cluster: cluster,
                                    destinationEndpoint: destinationEndpoint, data: frame.encoded)]
        case .reports(let index, let paths):
            return reportMessages(device: index, paths: paths)
        }
    }

    /// AF_INCOMING_MSG (af.py `IncomingMsg`): GroupId, ClusterId, SrcAddr, SrcEndpoint,
    /// DstEndpoint, WasBroadcast, LQI, SecurityUse, TimeStamp, TSN, Data, MacSrcAddr,
    /// MsgResultRadius. Devices are direct neighbours, so the MAC source is the device.
    private mutating func incomingMessage(from index: Int, endpoint: UInt8, cluster: UInt16,
                                          destinationEndpoint: UInt8, data: [UInt8]) -> MTFrame {
        let model = devices[index].model
        let lqi = UInt8(clamping: Int64(model.linkQuality) + random.next(in: -6...6))
        var writer = ByteWriter()
        writer.u16(0x0000)
        writer.u16(cluster)
        writer.u16(model.nwk)
        writer.u8(endpoint)
        writer.u8(destinationEndpoint)
        writer.u8(0)
        writer.u8(lqi)
        writer.u8(0)
        writer.u32(UInt32(truncatingIfNeeded: now.milliseconds))
        writer.u8(devices[index].nextAPSCounter())
        writer.shortBytes(data)
        writer.u16(model.nwk)
        writer.u8(0x1D)
        return MTFrame(type: .areq, subsystem: .af, command: AFCommand.incomingMsg.rawValue, payload: writer.bytes)
    }

    /// Report Attributes frames go where the device is bound (the coordinator's endpoint for
    /// that cluster), else to the coordinator's first endpoint with the device's profile.
    private mutating func reportMessages(device index: Int, paths: [AttributePath]) -> [MTFrame] {
        guard network != nil, devices[index].joined else { return [] }
        var frames: [MTFrame] = []
        for report in devices[index].reportFrames(for: paths) {
            let bound = devices[index].bindings.first {
                $0.sourceEndpoint == report.endpoint && $0.cluster == report.cluster
                    && $0.destination == configuration.coordinatorIEEE
            }
            let profile = devices[index].model.endpoints.first { $0.id == report.endpoint }?.profileID ?? 0x0104
            let fallback = registeredEndpoints.values.sorted { $0.id < $1.id }.first { $0.profileID == profile }?.id
                ?? registeredEndpoints.keys.min()
            guard let destination = bound?.destinationEndpoint ?? fallback else {
                log(verbose: true, "\(devices[index].model.name): report dropped, no endpoint registered")
                continue
            }
            counters.reportsSent += 1
            frames.append(incomingMessage(from: index, endpoint: report.endpoint, cluster: report.cluster,
                                          destinationEndpoint: destination, data: report.frame.encoded))
        }
        return frames
    }

    /// Periodic reports that fell due: the readings drift one step, then are reported.
    private mutating func periodicReports() -> [MTFrame] {
        guard network != nil else { return [] }
        var frames: [MTFrame] = []
        for index in devices.indices where devices[index].joined {
            var due: [AttributePath] = []
            for (path, state) in devices[index].reporting {
                guard let next = state.nextDue, next <= now, let interval = state.interval else { continue }
                due.append(path)
                var following = next.adding(seconds: interval)
                if following <= now { following = now.adding(seconds: interval) }
                devices[index].reporting[path]?.nextDue = following
            }
            guard !due.isEmpty else { continue }
            for path in due.sorted() { devices[index].drift(path, random: &random) }
            frames += reportMessages(device: index, paths: due)
        }
        return frames
    }
}

func le16(_ value: UInt16) -> [UInt8] { [UInt8(value & 0xFF), UInt8(value >> 8)] }

func le32(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8((value >> UInt32(8 * $0)) & 0xFF) } }

func le16Value(_ bytes: [UInt8]) -> UInt16 {
    bytes.count >= 2 ? UInt16(bytes[0]) | UInt16(bytes[1]) << 8 : 0
}

func le32Value(_ bytes: [UInt8]) -> UInt32 {
    bytes.prefix(4).enumerated().reduce(0) { $0 | UInt32($1.element) << UInt32(8 * $1.offset) }
}
