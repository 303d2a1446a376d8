/// ATT opcodes (Core Vol 3 Part F §3.4.8).
public enum ATTOpcode {
    public static let errorResponse: UInt8 = 0x01
    public static let exchangeMTURequest: UInt8 = 0x02
    public static let exchangeMTUResponse: UInt8 = 0x03
    public static let findInformationRequest: UInt8 = 0x04
    public static let findInformationResponse: UInt8 = 0x05
    public static let findByTypeValueRequest: UInt8 = 0x06
    public static let readByTypeRequest: UInt8 = 0x08
    public static let readByTypeResponse: UInt8 = 0x09
    public static let readRequest: UInt8 = 0x0A
    public static let readResponse: UInt8 = 0x0B
    public static let readBlobRequest: UInt8 = 0x0C
    public static let readBlobResponse: UInt8 = 0x0D
    public static let readByGroupTypeRequest: UInt8 = 0x10
    public static let writeRequest: UInt8 = 0x12
    public static let writeResponse: UInt8 = 0x13
    public static let handleValueNotification: UInt8 = 0x1B
    public static let handleValueIndication: UInt8 = 0x1D
    public static let handleValueConfirmation: UInt8 = 0x1E
    public static let writeCommand: UInt8 = 0x52

    /// Bit 6 marks a command, which gets no response (§3.3.1).
    static func isCommand(_ opcode: UInt8) -> Bool { opcode & 0x40 != 0 }

    /// Opcodes a client sends and a server answers (§3.4.8): requests, not responses,
    /// notifications, indications or confirmations.
    static func isRequest(_ opcode: UInt8) -> Bool {
        switch opcode {
        case 0x02, 0x04, 0x06, 0x08, 0x0A, 0x0C, 0x0E, 0x10, 0x12, 0x16, 0x18, 0x20: return true
        default: return false
        }
    }
}

/// An ATT error code from an Error Response (Core Vol 3 Part F §3.4.1.1; Core Supplement
/// Part B for 0xE0–0xFF).
public struct ATTErrorCode: Equatable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let invalidHandle = ATTErrorCode(rawValue: 0x01)
    public static let readNotPermitted = ATTErrorCode(rawValue: 0x02)
    public static let writeNotPermitted = ATTErrorCode(rawValue: 0x03)
    public static let invalidPDU = ATTErrorCode(rawValue: 0x04)
    public static let insufficientAuthentication = ATTErrorCode(rawValue: 0x05)
    public static let requestNotSupported = ATTErrorCode(rawValue: 0x06)
    public static let invalidOffset = ATTErrorCode(rawValue: 0x07)
    public static let insufficientAuthorization = ATTErrorCode(rawValue: 0x08)
    public static let attributeNotFound = ATTErrorCode(rawValue: 0x0A)
    public static let attributeNotLong = ATTErrorCode(rawValue: 0x0B)
    public static let insufficientEncryption = ATTErrorCode(rawValue: 0x0F)

    public var description: String {
        let name: String
        switch rawValue {
        case 0x01: name = "invalid handle"
        case 0x02: name = "read not permitted"
        case 0x03: name = "write not permitted"
        case 0x04: name = "invalid PDU"
        case 0x05: name = "insufficient authentication"
        case 0x06: name = "request not supported"
        case 0x07: name = "invalid offset"
        case 0x08: name = "insufficient authorization"
        case 0x09: name = "prepare queue full"
        case 0x0A: name = "attribute not found"
        case 0x0B: name = "attribute not long"
        case 0x0C: name = "insufficient encryption key size"
        case 0x0D: name = "invalid attribute value length"
        case 0x0E: name = "unlikely error"
        case 0x0F: name = "insufficient encryption"
        case 0x10: name = "unsupported group type"
        case 0x11: name = "insufficient resources"
        case 0x12: name = "database out of sync"
        case 0x13: name = "value not allowed"
        case 0x80...0x9F: name = "application error"
        case 0xFC: name = "write request rejected"
        case 0xFD: name = "client characteristic configuration descriptor improperly configured"
        case 0xFE: name = "procedure already in progress"
        case 0xFF: name = "out of range"
        default: name = "reserved error"
        }
        return name + " (0x" + BLEHex.byte(rawValue) + ")"
    }
}

/// A Bluetooth UUID, 16-bit or 128-bit. A 16-bit UUID is `0000xxxx-0000-1000-8000-00805F9B34FB`
/// (Core Vol 3 Part B §2.5.1).
public enum BLEUUID: Equatable, Hashable, Sendable, CustomStringConvertible {
    case uuid16(UInt16)
    /// The 16 bytes as written (most significant first).
    case uuid128([UInt8])

    public static let clientCharacteristicConfiguration = BLEUUID.uuid16(0x2902)
    /// GATT declarations (Core Vol 3 Part G §3.1, §3.2, §3.3.1): an attribute of one of
    /// these types starts the next service, include or characteristic, so it ends the
    /// descriptors of the characteristic before it.
    public static let primaryService = BLEUUID.uuid16(0x2800)
    public static let secondaryService = BLEUUID.uuid16(0x2801)
    public static let include = BLEUUID.uuid16(0x2802)
    public static let characteristicDeclaration = BLEUUID.uuid16(0x2803)

    public var isDeclaration: Bool {
        self == .primaryService || self == .secondaryService || self == .include || self == .characteristicDeclaration
    }

    /// From text: 4 hex digits, or 32 hex digits with or without dashes.
    public init?(_ text: String) {
        var digits: [UInt8] = []
        for ascii in text.utf8 where ascii != UInt8(ascii: "-") {
            guard let nibble = BLEHex.nibble(ascii) else { return nil }
            digits.append(nibble)
        }
        if digits.count == 4 {
            self = .uuid16(digits.reduce(0) { $0 << 4 | UInt16($1) })
        } else if digits.count == 32 {
            self = .uuid128(stride(from: 0, to: 32, by: 2).map { digits[$0] << 4 | digits[$0 + 1] })
        } else {
            return nil
        }
    }

    /// From the ATT encoding (little-endian, 2 or 16 bytes). A 128-bit UUID on the Bluetooth
    /// base (`0000xxxx-0000-1000-8000-00805F9B34FB`) becomes its 16-bit form, so it compares
    /// equal to the short one.
    public init?(attBytes bytes: [UInt8]) {
        if bytes.count == 2 {
            self = .uuid16(UInt16(bytes[0]) | UInt16(bytes[1]) << 8)
        } else if bytes.count == 16 {
            let base: [UInt8] = [0xFB, 0x34, 0x9B, 0x5F, 0x80, 0x00, 0x00, 0x80, 0x00, 0x10, 0x00, 0x00]
            if Array(bytes[0..<12]) == base && bytes[14] == 0 && bytes[15] == 0 {
                self = .uuid16(UInt16(bytes[12]) | UInt16(bytes[13]) << 8)
            } else {
                self = .uuid128(bytes.reversed())
            }
        } else {
            return nil
        }
    }

    /// The ATT encoding: little-endian, 2 or 16 bytes.
    public var attBytes: [UInt8] {
        switch self {
        case .uuid16(let value):
            var out: [UInt8] = []
            out.bleAppendLE16(value)
            return out
        case .uuid128(let bytes):
            return bytes.count == 16 ? bytes.reversed() : []
        }
    }

    public var description: String {
        switch self {
        case .uuid16(let value): return BLEHex.byte(UInt8(value >> 8)) + BLEHex.byte(UInt8(value & 0xFF))
        case .uuid128(let bytes): return BLEUUIDText.format(bytes)
        }
    }
}

/// A handle and its attribute type, as Find Information returns them.
public struct GATTHandleType: Equatable, Sendable {
    public let handle: UInt16
    public let type: BLEUUID
}

/// A handle and its value, as Read By Type returns them.
public struct GATTHandleValue: Equatable, Sendable {
    public let handle: UInt16
    public let value: [UInt8]
}

/// Encoders for the PDUs the client sends (Core Vol 3 Part F §3.4).
public enum ATTPDU {
    public static func exchangeMTURequest(clientMTU: UInt16) -> [UInt8] {
        var out: [UInt8] = [ATTOpcode.exchangeMTURequest]
        out.bleAppendLE16(clientMTU)
        return out
    }

    public static func exchangeMTUResponse(serverMTU: UInt16) -> [UInt8] {
        var out: [UInt8] = [ATTOpcode.exchangeMTUResponse]
        out.bleAppendLE16(serverMTU)
        return out
    }

    public static func findInformationRequest(start: UInt16, end: UInt16) -> [UInt8] {
        var out: [UInt8] = [ATTOpcode.findInformationRequest]
        out.bleAppendLE16(start)
        out.bleAppendLE16(end)
        return out
    }

    public static func readRequest(handle: UInt16) -> [UInt8] {
        var out: [UInt8] = [ATTOpcode.readRequest]
        out.bleAppendLE16(handle)
        return out
    }

    public static func readBlobRequest(handle: UInt16, offset: UInt16) -> [UInt8] {
        var out: [UInt8] = [ATTOpcode.readBlobRequest]
        out.bleAppendLE16(handle)
        out.bleAppendLE16(offset)
        return out
    }

    public static func readByTypeRequest(start: UInt16, end: UInt16, type: BLEUUID) -> [UInt8] {
        var out: [UInt8] = [ATTOpcode.readByTypeRequest]
        out.bleAppendLE16(start)
        out.bleAppendLE16(end)
        out.append(contentsOf: type.attBytes)
        return out
    }

    public static func writeRequest(handle: UInt16, value: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [ATTOpcode.writeRequest]
        out.bleAppendLE16(handle)
        out.append(contentsOf: value)
        return out
    }

    public static func writeCommand(handle: UInt16, value: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [ATTOpcode.writeCommand]
        out.bleAppendLE16(handle)
        out.append(contentsOf: value)
        return out
    }

    public static func errorResponse(requestOpcode: UInt8, handle: UInt16, code: ATTErrorCode) -> [UInt8] {
        var out: [UInt8] = [ATTOpcode.errorResponse, requestOpcode]
        out.bleAppendLE16(handle)
        out.append(code.rawValue)
        return out
    }
}
