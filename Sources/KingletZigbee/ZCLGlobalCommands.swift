/// Global (profile-wide) ZCL command ids, ZCL spec §2.5, Table 2-3.
public enum ZCLGlobalCommandID {
    public static let readAttributes: UInt8 = 0x00
    public static let readAttributesResponse: UInt8 = 0x01
    public static let writeAttributes: UInt8 = 0x02
    public static let writeAttributesResponse: UInt8 = 0x04
    public static let configureReporting: UInt8 = 0x06
    public static let configureReportingResponse: UInt8 = 0x07
    public static let reportAttributes: UInt8 = 0x0A
    public static let defaultResponse: UInt8 = 0x0B
}

/// One attribute and the value to write to it.
public struct ZCLAttributeWrite: Equatable, Sendable {
    public var attribute: UInt16
    public var value: ZCLValue
    public init(attribute: UInt16, value: ZCLValue) {
        self.attribute = attribute
        self.value = value
    }
}

/// One record of Configure Reporting in the "send reports" direction (ZCL spec §2.5.7.1):
/// the device reports `attribute` at least every `maximumInterval` seconds, at most every
/// `minimumInterval`, and in between when it changes by `reportableChange`.
public struct ZCLReportingConfiguration: Equatable, Sendable {
    public var attribute: UInt16
    public var type: ZCLDataType
    public var minimumInterval: UInt16
    public var maximumInterval: UInt16
    /// Required for analog types (sent in the attribute's own type), ignored for discrete
    /// ones; nil for an analog type sends zero, "report every change".
    public var reportableChange: ZCLValue?

    public init(attribute: UInt16, type: ZCLDataType, minimumInterval: UInt16, maximumInterval: UInt16,
                reportableChange: ZCLValue? = nil) {
        self.attribute = attribute
        self.type = type
        self.minimumInterval = minimumInterval
        self.maximumInterval = maximumInterval
        self.reportableChange = reportableChange
    }
}

/// A per-attribute status from Write Attributes Response or Configure Reporting Response.
public struct ZCLAttributeStatus: Equatable, Sendable {
    public var attribute: UInt16?
    public var status: ZCLStatus
}

/// A ZCL command we send (client to server). Encodes the whole ZCL frame.
public enum ZCLCommand: Equatable, Sendable {
    case readAttributes([UInt16])
    case writeAttributes([ZCLAttributeWrite])
    case configureReporting([ZCLReportingConfiguration])
    case onOff(ZCLOnOffCommand)
    case level(ZCLLevelCommand)
    /// Anything else: a cluster-specific command with a prepared payload.
    case clusterSpecific(command: UInt8, payload: [UInt8])

    public var frameType: ZCLHeader.FrameType {
        switch self {
        case .readAttributes, .writeAttributes, .configureReporting: return .global
        case .onOff, .level, .clusterSpecific: return .clusterSpecific
        }
    }

    public var commandID: UInt8 {
        switch self {
        case .readAttributes: return ZCLGlobalCommandID.readAttributes
        case .writeAttributes: return ZCLGlobalCommandID.writeAttributes
        case .configureReporting: return ZCLGlobalCommandID.configureReporting
        case .onOff(let command): return command.rawValue
        case .level(let command): return command.commandID
        case .clusterSpecific(let command, _): return command
        }
    }

    /// The ZCL frame: header, then the command's payload.
    public func encoded(sequence: UInt8, manufacturerCode: UInt16? = nil,
                        disablesDefaultResponse: Bool = false) -> [UInt8] {
        var w = ZigbeeByteWriter(capacity: 16)
        ZCLHeader(frameType: frameType, isServerToClient: false, disablesDefaultResponse: disablesDefaultResponse,
                  manufacturerCode: manufacturerCode, sequence: sequence, command: commandID).write(into: &w)
        writePayload(into: &w)
        return w.bytes
    }

    func writePayload(into w: inout ZigbeeByteWriter) {
        switch self {
        case .readAttributes(let attributes):
            for attribute in attributes { w.u16(attribute) }
        case .writeAttributes(let writes):
            for write in writes {
                w.u16(write.attribute)
                w.u8(write.value.dataType.rawValue)
                write.value.write(into: &w)
            }
        case .configureReporting(let records):
            for record in records {
                w.u8(0)  // direction: the device sends reports
                w.u16(record.attribute)
                w.u8(record.type.rawValue)
                w.u16(record.minimumInterval)
                w.u16(record.maximumInterval)
                if record.type.isAnalog {
                    let size = min(record.type.fixedSize ?? 0, 8)
                    let change = record.reportableChange.flatMap { ZCLCommand.rawBits(of: $0) } ?? 0
                    w.unsigned(change, count: size)
                }
            }
        case .onOff:
            break
        case .level(let command):
            command.writePayload(into: &w)
        case .clusterSpecific(_, let payload):
            w.append(payload)
        }
    }

    /// A reportable change's bits, so any numeric value can stand for the attribute's type.
    private static func rawBits(of value: ZCLValue) -> UInt64? {
        switch value {
        case .float(let v): return UInt64(v.bitPattern)
        case .characterString, .octetString: return nil
        default:
            guard let integer = value.integerValue else { return nil }
            return UInt64(bitPattern: integer)
        }
    }
}

/// Reading the global commands a device sends us (server to client).
public enum ZCLGlobalRecords {
    /// Calls `body` for each attribute of a Report Attributes (id, type, value) or a Read
    /// Attributes Response (id, status, [type, value]) payload; a failed read comes with
    /// its status and no value. Records before a bad one are delivered; then it throws.
    public static func forEachAttribute(
        command: UInt8, payload: ArraySlice<UInt8>,
        _ body: (_ attribute: UInt16, _ status: ZCLStatus, _ value: ZCLValue?) -> Void
    ) throws(ZCLError) {
        let hasStatus = command == ZCLGlobalCommandID.readAttributesResponse
        var r = ZigbeeByteReader(payload)
        while !r.isAtEnd {
            let attribute = r.u16()
            let status = hasStatus ? ZCLStatus(rawValue: r.u8()) : .success
            if r.isTruncated { throw .truncated(command: command, length: payload.count) }
            guard status.isSuccess else {
                body(attribute, status, nil)
                continue
            }
            let type = ZCLDataType(rawValue: r.u8())
            if r.isTruncated { throw .truncated(command: command, length: payload.count) }
            guard type.fixedSize != nil || type == .characterString || type == .octetString else {
                throw .unsupportedType(type)
            }
            guard let value = ZCLValue.read(type, from: &r) else {
                throw .truncated(command: command, length: payload.count)
            }
            body(attribute, .success, value)
        }
    }

    /// The statuses of a Write Attributes Response (status, id) or Configure Reporting
    /// Response (status, direction, id). A lone success byte means all succeeded
    /// (ZCL spec §2.5.5.1, §2.5.8.1).
    public static func statuses(command: UInt8, payload: ArraySlice<UInt8>) throws(ZCLError) -> [ZCLAttributeStatus] {
        var r = ZigbeeByteReader(payload)
        var result: [ZCLAttributeStatus] = []
        if payload.count == 1 {
            return [ZCLAttributeStatus(attribute: nil, status: ZCLStatus(rawValue: r.u8()))]
        }
        let hasDirection = command == ZCLGlobalCommandID.configureReportingResponse
        while !r.isAtEnd {
            let status = ZCLStatus(rawValue: r.u8())
            if hasDirection { _ = r.u8() }
            let attribute = r.u16()
            if r.isTruncated { throw .truncated(command: command, length: payload.count) }
            result.append(ZCLAttributeStatus(attribute: attribute, status: status))
        }
        return result
    }

    /// A Default Response: the command it answers and its status (ZCL spec §2.5.12).
    public static func defaultResponse(payload: ArraySlice<UInt8>) throws(ZCLError) -> (command: UInt8, status: ZCLStatus) {
        var r = ZigbeeByteReader(payload)
        let command = r.u8()
        let status = ZCLStatus(rawValue: r.u8())
        if r.isTruncated { throw .truncated(command: ZCLGlobalCommandID.defaultResponse, length: payload.count) }
        return (command, status)
    }

    /// A Report Attributes frame as a device sends it (for simulators and tests).
    public static func encodeReport(sequence: UInt8, _ attributes: [ZCLAttributeWrite],
                                    disablesDefaultResponse: Bool = true) -> [UInt8] {
        var w = ZigbeeByteWriter(capacity: 16)
        ZCLHeader(frameType: .global, isServerToClient: true, disablesDefaultResponse: disablesDefaultResponse,
                  sequence: sequence, command: ZCLGlobalCommandID.reportAttributes).write(into: &w)
        for attribute in attributes {
            w.u16(attribute.attribute)
            w.u8(attribute.value.dataType.rawValue)
            attribute.value.write(into: &w)
        }
        return w.bytes
    }
}
