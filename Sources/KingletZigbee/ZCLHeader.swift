/// Why a ZCL payload could not be read. Counted and skipped, like bad MT frames.
public enum ZCLError: Error, Equatable, Sendable {
    /// Shorter than the header or than a record's fields.
    case truncated(command: UInt8, length: Int)
    /// A record of a type whose size is unknown (array, structure): the rest is unreadable.
    case unsupportedType(ZCLDataType)
    /// A value to send that does not fit an AF frame.
    case payloadTooLong(Int)

    public var description: String {
        switch self {
        case .truncated(let command, let length):
            return "ZCL command " + ZigbeeHex.format(command) + ": " + String(length) + " bytes is too short"
        case .unsupportedType(let type):
            return "ZCL record of unsupported " + type.description
        case .payloadTooLong(let length):
            return "ZCL payload of " + String(length) + " bytes does not fit one frame"
        }
    }
}

/// A ZCL status byte (ZCL spec §2.6.3, Table 2-12).
public struct ZCLStatus: Hashable, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let success = ZCLStatus(rawValue: 0x00)
    public static let failure = ZCLStatus(rawValue: 0x01)
    public static let unsupportedAttribute = ZCLStatus(rawValue: 0x86)

    public var isSuccess: Bool { rawValue == 0 }

    public var description: String {
        switch rawValue {
        case 0x00: return "success"
        case 0x01: return "failure"
        case 0x7E: return "not authorized"
        case 0x80: return "malformed command"
        case 0x81: return "unsupported cluster command"
        case 0x82: return "unsupported general command"
        case 0x85: return "invalid field"
        case 0x86: return "unsupported attribute"
        case 0x87: return "invalid value"
        case 0x88: return "read only"
        case 0x89: return "insufficient space"
        case 0x8C: return "unreportable attribute"
        case 0x8D: return "invalid data type"
        case 0xC3: return "unsupported cluster"
        default: return "ZCL status " + ZigbeeHex.format(rawValue)
        }
    }
}

/// The ZCL frame header (ZCL spec §2.4.1): frame control, an optional manufacturer code,
/// the transaction sequence number and the command id.
public struct ZCLHeader: Equatable, Sendable {
    /// Frame control bits 0–1.
    public enum FrameType: UInt8, Sendable {
        /// A profile-wide command (read, write, report, ...), ZCL spec §2.5.
        case global = 0
        /// A command of the cluster itself (On/Off's On, Level's Move to Level, ...).
        case clusterSpecific = 1
    }

    public var frameType: FrameType
    /// Frame control bit 3: set on frames from a cluster's server (the device) to its
    /// client (us).
    public var isServerToClient: Bool
    /// Frame control bit 4: the receiver sends no Default Response on success.
    public var disablesDefaultResponse: Bool
    /// Present when frame control bit 2 is set.
    public var manufacturerCode: UInt16?
    public var sequence: UInt8
    public var command: UInt8

    public init(frameType: FrameType, isServerToClient: Bool = false, disablesDefaultResponse: Bool = false,
                manufacturerCode: UInt16? = nil, sequence: UInt8, command: UInt8) {
        self.frameType = frameType
        self.isServerToClient = isServerToClient
        self.disablesDefaultResponse = disablesDefaultResponse
        self.manufacturerCode = manufacturerCode
        self.sequence = sequence
        self.command = command
    }

    public var frameControl: UInt8 {
        var bits = frameType.rawValue
        if manufacturerCode != nil { bits |= 0x04 }
        if isServerToClient { bits |= 0x08 }
        if disablesDefaultResponse { bits |= 0x10 }
        return bits
    }

    func write(into w: inout ZigbeeByteWriter) {
        w.u8(frameControl)
        if let code = manufacturerCode { w.u16(code) }
        w.u8(sequence)
        w.u8(command)
    }

    public func encoded() -> [UInt8] {
        var w = ZigbeeByteWriter(capacity: 5)
        write(into: &w)
        return w.bytes
    }

    /// Reads a header; nil when the bytes are too short or the frame type is reserved.
    static func read(from r: inout ZigbeeByteReader) -> ZCLHeader? {
        let control = r.u8()
        guard let type = FrameType(rawValue: control & 0x03) else { return nil }
        let code: UInt16? = control & 0x04 != 0 ? r.u16() : nil
        let sequence = r.u8()
        let command = r.u8()
        if r.isTruncated { return nil }
        return ZCLHeader(frameType: type, isServerToClient: control & 0x08 != 0,
                         disablesDefaultResponse: control & 0x10 != 0, manufacturerCode: code,
                         sequence: sequence, command: command)
    }

    /// Splits a ZCL frame into its header and the payload after it (a slice, no copy).
    public static func decode(_ bytes: ArraySlice<UInt8>) -> (header: ZCLHeader, payload: ArraySlice<UInt8>)? {
        var r = ZigbeeByteReader(bytes)
        guard let header = read(from: &r) else { return nil }
        return (header, r.rest())
    }
}
