/// How a simulated device answers ZCL frames (ZCL rev. 8 §2.5 general commands, §3.8 On/Off,
/// §3.10 Level Control) and builds its Report Attributes frames.

/// ZCL On/Off cluster command ids (zigpy general.py `OnOff.ServerCommandDefs`).
enum OnOffCommand: UInt8 {
    case off = 0x00
    case on = 0x01
    case toggle = 0x02
}

/// ZCL Level Control cluster command ids (zigpy general.py `LevelControl.ServerCommandDefs`).
enum LevelCommand: UInt8 {
    case moveToLevel = 0x00
    case move = 0x01
    case step = 0x02
    case stop = 0x03
    case moveToLevelWithOnOff = 0x04
    case moveWithOnOff = 0x05
    case stepWithOnOff = 0x06
    case stopWithOnOff = 0x07
}

extension LiveDevice {
    /// Answers one ZCL frame addressed to `endpoint`/`cluster`. A device never answers a
    /// broadcast with a Default Response (ZCL §2.5.12.2), and answers nothing sent to an
    /// endpoint it does not have (the APS layer drops it).
    mutating func handle(_ frame: ZCLFrame, endpoint: UInt8, cluster: UInt16, wasBroadcast: Bool,
                         now: SimInstant) -> ZCLOutcome {
        guard let e = model.endpointIndex(endpoint) else {
            return ZCLOutcome(response: nil, log: "no endpoint \(endpoint): dropped")
        }
        if frame.serverToClient {
            return ZCLOutcome(response: nil, log: "server-to-client frame ignored")
        }
        guard let c = model.endpoints[e].clusterIndex(cluster) else {
            return defaultResponse(to: frame, status: .unsupportedCluster, broadcast: wasBroadcast,
                                   log: "cluster \(hex4(cluster)) not on endpoint \(endpoint)")
        }
        if frame.manufacturerCode != nil {
            let status: ZCLStatus = frame.isClusterSpecific
                ? .unsupportedManufacturerClusterCommand : .unsupportedManufacturerGeneralCommand
            return defaultResponse(to: frame, status: status, broadcast: wasBroadcast, log: "manufacturer-specific")
        }
        if frame.isClusterSpecific {
            return handleClusterCommand(frame, endpointIndex: e, clusterIndex: c, broadcast: wasBroadcast)
        }
        switch ZCLGeneralCommand(rawValue: frame.command) {
        case .readAttributes:
            return readAttributes(frame, endpointIndex: e, clusterIndex: c)
        case .writeAttributes, .writeAttributesUndivided, .writeAttributesNoResponse:
            return writeAttributes(frame, endpointIndex: e, clusterIndex: c, broadcast: wasBroadcast)
        case .configureReporting:
            return configureReporting(frame, endpointIndex: e, clusterIndex: c, broadcast: wasBroadcast, now: now)
        case .discoverAttributes:
            return discoverAttributes(frame, endpointIndex: e, clusterIndex: c, broadcast: wasBroadcast)
        case .defaultResponse, .readAttributesResponse, .writeAttributesResponse,
             .configureReportingResponse, .reportAttributes, .discoverAttributesResponse:
            return ZCLOutcome(response: nil, log: "response frame ignored")
        case nil:
            return defaultResponse(to: frame, status: .unsupportedGeneralCommand, broadcast: wasBroadcast,
                                   log: "general command \(hex2(frame.command)) unsupported")
        }
    }

    /// A reply frame: server to client, default response disabled, the request's sequence.
    private func reply(to frame: ZCLFrame, command: ZCLGeneralCommand, payload: [UInt8]) -> ZCLFrame {
        ZCLFrame(serverToClient: true, disableDefaultResponse: true, sequence: frame.sequence,
                 command: command.rawValue, payload: payload)
    }

    /// Default Response (ZCL §2.5.12): the command id being answered and a status. On success it
    /// is sent only when the request did not disable it; an error is always reported.
    private func defaultResponse(to frame: ZCLFrame, status: ZCLStatus, broadcast: Bool, log: String,
                                 changed: [AttributePath] = []) -> ZCLOutcome {
        let suppressed = broadcast || (status == .success && frame.disableDefaultResponse)
        let response = suppressed ? nil : reply(to: frame, command: .defaultResponse, payload: [frame.command, status.rawValue])
        return ZCLOutcome(response: response, changed: changed, log: "\(log) -> default response \(hex2(status.rawValue))")
    }

    private func cluster(_ e: Int, _ c: Int) -> SimulatedCluster { model.endpoints[e].inputClusters[c] }

    /// Read Attributes (§2.5.1) → Read Attributes Response (§2.5.2): per id, status and, on
    /// success, type and value. Records that would overflow an unfragmented APS payload are left out.
    private func readAttributes(_ frame: ZCLFrame, endpointIndex e: Int, clusterIndex c: Int) -> ZCLOutcome {
        var reader = ByteReader(frame.payload)
        var records = ByteWriter()
        var ids: [String] = []
        while let id = reader.u16() {
            var record = ByteWriter()
            record.u16(id)
            if let a = cluster(e, c).index(of: id) {
                let attribute = cluster(e, c).attributes[a]
                record.u8(ZCLStatus.success.rawValue)
                record.u8(attribute.type.rawValue)
                record.append(attribute.value.encoded(as: attribute.type))
            } else {
                record.u8(ZCLStatus.unsupportedAttribute.rawValue)
            }
            guard records.bytes.count + record.bytes.count <= ZNPLimits.maxZCLPayload - 3 else { break }
            records.append(record.bytes)
            ids.append(hex4(id))
        }
        return ZCLOutcome(response: reply(to: frame, command: .readAttributesResponse, payload: records.bytes),
                          log: "read \(cluster(e, c).id.hexString) [\(ids.joined(separator: ","))]")
    }

    /// Write Attributes (§2.5.3), Undivided (§2.5.4: all or nothing), No Response (§2.5.6).
    private mutating func writeAttributes(_ frame: ZCLFrame, endpointIndex e: Int, clusterIndex c: Int,
                                          broadcast: Bool) -> ZCLOutcome {
        let command = ZCLGeneralCommand(rawValue: frame.command)
        var reader = ByteReader(frame.payload)
        var failures: [(UInt16, ZCLStatus)] = []
        var writes: [(Int, ZCLValue)] = []
        while !reader.isAtEnd {
            guard let id = reader.u16(), let typeByte = reader.u8() else {
                return defaultResponse(to: frame, status: .malformedCommand, broadcast: broadcast, log: "write: truncated")
            }
            guard let type = ZCLDataType(rawValue: typeByte), let value = ZCLValue.decode(type, from: &reader) else {
                return defaultResponse(to: frame, status: .malformedCommand, broadcast: broadcast,
                                       log: "write: undecodable type \(hex2(typeByte))")
            }
            guard let a = cluster(e, c).index(of: id) else {
                failures.append((id, .unsupportedAttribute))
                continue
            }
            let attribute = cluster(e, c).attributes[a]
            if attribute.type != type {
                failures.append((id, .invalidDataType))
            } else if !attribute.writable {
                failures.append((id, .readOnly))
            } else if let number = value.integer, !type.range.contains(number) {
                failures.append((id, .invalidValue))
            } else {
                writes.append((a, value))
            }
        }
        if command != .writeAttributesUndivided || failures.isEmpty {
            for (a, value) in writes { model.endpoints[e].inputClusters[c].attributes[a].value = value }
        }
        let written = writes.map { hex4(cluster(e, c).attributes[$0.0].id) }.joined(separator: ",")
        let log = "write \(cluster(e, c).id.hexString) ok [\(written)] failed \(failures.map { "\(hex4($0.0))=\(hex2($0.1.rawValue))" })"
        if command == .writeAttributesNoResponse || broadcast { return ZCLOutcome(response: nil, log: log) }
        var payload = ByteWriter()
        if failures.isEmpty {
            payload.u8(ZCLStatus.success.rawValue)
        } else {
            for (id, status) in failures {
                payload.u8(status.rawValue)
                payload.u16(id)
            }
        }
        return ZCLOutcome(response: reply(to: frame, command: .writeAttributesResponse, payload: payload.bytes), log: log)
    }

    /// Configure Reporting (§2.5.7) → Configure Reporting Response (§2.5.8). The maximum
    /// interval becomes the attribute's periodic report interval (0xFFFF stops reporting,
    /// 0x0000 leaves only reports on change).
    private mutating func configureReporting(_ frame: ZCLFrame, endpointIndex e: Int, clusterIndex c: Int,
                                             broadcast: Bool, now: SimInstant) -> ZCLOutcome {
        var reader = ByteReader(frame.payload)
        var failures: [(UInt8, UInt16, ZCLStatus)] = []
        var configured: [String] = []
        let endpointID = model.endpoints[e].id
        let clusterID = cluster(e, c).id
        while !reader.isAtEnd {
            guard let direction = reader.u8(), let id = reader.u16() else {
                return defaultResponse(to: frame, status: .malformedCommand, broadcast: broadcast, log: "configure: truncated")
            }
            if direction == 0x01 {
                // Timeout period for reports this device would receive: accepted, unused.
                guard reader.u16() != nil else {
                    return defaultResponse(to: frame, status: .malformedCommand, broadcast: broadcast, log: "configure: truncated")
                }
                continue
            }
            guard direction == 0x00, let typeByte = reader.u8(), let minimum = reader.u16(), let maximum = reader.u16(),
                  let type = ZCLDataType(rawValue: typeByte) else {
                return defaultResponse(to: frame, status: .malformedCommand, broadcast: broadcast, log: "configure: malformed record")
            }
            if type.isAnalog {
                guard reader.take(type.size ?? 0) != nil else {
                    return defaultResponse(to: frame, status: .malformedCommand, broadcast: broadcast, log: "configure: truncated change")
                }
            }
            guard let a = cluster(e, c).index(of: id) else {
                failures.append((direction, id, .unsupportedAttribute))
                continue
            }
            let attribute = cluster(e, c).attributes[a]
            if attribute.type != type {
                failures.append((direction, id, .invalidDataType))
                continue
            }
            if attribute.type == .characterString || attribute.type == .octetString {
                failures.append((direction, id, .unreportableAttribute))
                continue
            }
            let path = AttributePath(endpoint: endpointID, cluster: clusterID, attribute: id)
            if maximum == 0xFFFF {
                reporting[path] = nil
            } else if maximum == 0 {
                reporting[path] = ReportingState(interval: nil, nextDue: nil)
            } else {
                let interval = Double(max(maximum, minimum))
                reporting[path] = ReportingState(interval: interval, nextDue: now.adding(seconds: interval))
            }
            configured.append("\(hex4(id)) min \(minimum)s max \(maximum)s")
        }
        let log = "configure reporting \(clusterID.hexString) \(configured) failed \(failures.map { hex4($0.1) })"
        if broadcast { return ZCLOutcome(response: nil, log: log) }
        var payload = ByteWriter()
        if failures.isEmpty {
            payload.u8(ZCLStatus.success.rawValue)
        } else {
            for (direction, id, status) in failures {
                payload.u8(status.rawValue)
                payload.u8(direction)
                payload.u16(id)
            }
        }
        return ZCLOutcome(response: reply(to: frame, command: .configureReportingResponse, payload: payload.bytes), log: log)
    }

    /// Discover Attributes (§2.5.13) → Discover Attributes Response (§2.5.14).
    private func discoverAttributes(_ frame: ZCLFrame, endpointIndex e: Int, clusterIndex c: Int,
                                    broadcast: Bool) -> ZCLOutcome {
        var reader = ByteReader(frame.payload)
        guard let start = reader.u16(), let count = reader.u8() else {
            return defaultResponse(to: frame, status: .malformedCommand, broadcast: broadcast, log: "discover: truncated")
        }
        let matching = cluster(e, c).attributes.filter { $0.id >= start }
        let listed = matching.prefix(Int(count))
        var payload = ByteWriter()
        payload.u8(listed.count == matching.count ? 1 : 0)
        for attribute in listed {
            payload.u16(attribute.id)
            payload.u8(attribute.type.rawValue)
        }
        return ZCLOutcome(response: reply(to: frame, command: .discoverAttributesResponse, payload: payload.bytes),
                          log: "discover attributes from \(hex4(start)): \(listed.count)")
    }

    private mutating func handleClusterCommand(_ frame: ZCLFrame, endpointIndex e: Int, clusterIndex c: Int,
                                               broadcast: Bool) -> ZCLOutcome {
        let endpointID = model.endpoints[e].id
        let onOffPath = AttributePath(endpoint: endpointID, cluster: ZCLCluster.onOff, attribute: 0x0000)
        let levelPath = AttributePath(endpoint: endpointID, cluster: ZCLCluster.levelControl, attribute: 0x0000)
        switch cluster(e, c).id {
        case ZCLCluster.onOff:
            guard let command = OnOffCommand(rawValue: frame.command), let current = attribute(onOffPath)?.value.integer else {
                return defaultResponse(to: frame, status: .unsupportedClusterCommand, broadcast: broadcast,
                                       log: "on/off command \(hex2(frame.command)) unsupported")
            }
            let next: Int64 = switch command {
            case .off: 0
            case .on: 1
            case .toggle: current == 0 ? 1 : 0
            }
            update(onOffPath) { $0.value = .integer(next) }
            applyPowerCoupling(endpoint: endpointID)
            return defaultResponse(to: frame, status: .success, broadcast: broadcast,
                                   log: "on/off \(command) -> \(next == 1 ? "on" : "off")",
                                   changed: changedPaths(onOffPath, endpoint: endpointID))
        case ZCLCluster.levelControl:
            return levelCommand(frame, levelPath: levelPath, onOffPath: onOffPath, broadcast: broadcast)
        default:
            return defaultResponse(to: frame, status: .unsupportedClusterCommand, broadcast: broadcast,
                                   log: "cluster \(cluster(e, c).id.hexString) has no commands here")
        }
    }

    /// The attributes a command changed, plus the power readings that follow On/Off.
    private func changedPaths(_ path: AttributePath, endpoint: UInt8) -> [AttributePath] {
        var paths = [path]
        for id: UInt16 in [0x0508, 0x050B] {
            let power = AttributePath(endpoint: endpoint, cluster: ZCLCluster.electricalMeasurement, attribute: id)
            if attribute(power) != nil { paths.append(power) }
        }
        return paths
    }

    /// Level Control: levels change at once (the transition time is accepted but not simulated).
    private mutating func levelCommand(_ frame: ZCLFrame, levelPath: AttributePath, onOffPath: AttributePath,
                                       broadcast: Bool) -> ZCLOutcome {
        guard let command = LevelCommand(rawValue: frame.command), let current = attribute(levelPath)?.value.integer else {
            return defaultResponse(to: frame, status: .unsupportedClusterCommand, broadcast: broadcast,
                                   log: "level command \(hex2(frame.command)) unsupported")
        }
        var reader = ByteReader(frame.payload)
        var target = current
        switch command {
        case .moveToLevel, .moveToLevelWithOnOff:
            guard let level = reader.u8(), reader.u16() != nil else {
                return defaultResponse(to: frame, status: .malformedCommand, broadcast: broadcast, log: "move to level: truncated")
            }
            // 0xFF is not a level (ZCL §3.10.2.3); the highest level is 0xFE.
            target = Int64(min(level, 0xFE))
        case .move, .moveWithOnOff:
            guard let mode = reader.u8(), reader.u8() != nil else {
                return defaultResponse(to: frame, status: .malformedCommand, broadcast: broadcast, log: "move: truncated")
            }
            target = mode == 0 ? 0xFE : 0x01
        case .step, .stepWithOnOff:
            guard let mode = reader.u8(), let size = reader.u8(), reader.u16() != nil else {
                return defaultResponse(to: frame, status: .malformedCommand, broadcast: broadcast, log: "step: truncated")
            }
            target = min(max(mode == 0 ? current + Int64(size) : current - Int64(size), 0x01), 0xFE)
        case .stop, .stopWithOnOff:
            return defaultResponse(to: frame, status: .success, broadcast: broadcast, log: "level stop")
        }
        update(levelPath) { $0.value = .integer(target) }
        var changed = [levelPath]
        let withOnOff: Set<LevelCommand> = [.moveToLevelWithOnOff, .moveWithOnOff, .stepWithOnOff]
        if withOnOff.contains(command), attribute(onOffPath) != nil {
            // With On/Off: the lowest level means off, anything above it on (§3.10.2.1.1).
            update(onOffPath) { $0.value = .integer(target > 1 ? 1 : 0) }
            applyPowerCoupling(endpoint: levelPath.endpoint)
            changed += changedPaths(onOffPath, endpoint: levelPath.endpoint)
        }
        return defaultResponse(to: frame, status: .success, broadcast: broadcast,
                               log: "level \(command) -> \(target)", changed: changed)
    }

    /// One Report Attributes frame (§2.5.11) per cluster for the given attributes.
    mutating func reportFrames(for paths: [AttributePath]) -> [(endpoint: UInt8, cluster: UInt16, frame: ZCLFrame)] {
        var grouped: [(endpoint: UInt8, cluster: UInt16, records: ByteWriter)] = []
        for path in paths.sorted() {
            guard let attribute = attribute(path) else { continue }
            var record = ByteWriter()
            record.u16(attribute.id)
            record.u8(attribute.type.rawValue)
            record.append(attribute.value.encoded(as: attribute.type))
            if let last = grouped.indices.last, grouped[last].endpoint == path.endpoint,
               grouped[last].cluster == path.cluster,
               grouped[last].records.bytes.count + record.bytes.count <= ZNPLimits.maxZCLPayload - 3 {
                grouped[last].records.append(record.bytes)
            } else {
                grouped.append((path.endpoint, path.cluster, record))
            }
        }
        return grouped.map { group in
            let frame = ZCLFrame(serverToClient: true, disableDefaultResponse: true, sequence: nextZCLSequence(),
                                 command: ZCLGeneralCommand.reportAttributes.rawValue, payload: group.records.bytes)
            return (group.endpoint, group.cluster, frame)
        }
    }
}

extension UInt16 {
    var hexString: String { hex4(self) }
}
