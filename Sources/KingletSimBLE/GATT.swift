/// The peripheral's GATT server: an attribute table (Core Vol 3 Part G §3) served over the
/// Attribute Protocol (Core Vol 3 Part F §3.4).

/// GATT attribute types (Assigned Numbers §3.5, §3.7, §3.8).
enum GATTType {
    static let primaryService = BLEUUID(0x2800)
    static let secondaryService = BLEUUID(0x2801)
    static let characteristic = BLEUUID(0x2803)
    static let userDescription = BLEUUID(0x2901)
    static let clientCharacteristicConfiguration = BLEUUID(0x2902)
    static let gapService = BLEUUID(0x1800)
    static let deviceName = BLEUUID(0x2A00)
    static let appearance = BLEUUID(0x2A01)
}

/// ATT opcodes (Core Vol 3 Part F §3.4.8). Bit 6 marks a command, which gets no response.
public enum ATTOpcode: UInt8, Sendable {
    case errorResponse = 0x01
    case exchangeMTURequest = 0x02
    case exchangeMTUResponse = 0x03
    case findInformationRequest = 0x04
    case findInformationResponse = 0x05
    case findByTypeValueRequest = 0x06
    case findByTypeValueResponse = 0x07
    case readByTypeRequest = 0x08
    case readByTypeResponse = 0x09
    case readRequest = 0x0A
    case readResponse = 0x0B
    case readBlobRequest = 0x0C
    case readBlobResponse = 0x0D
    case readMultipleRequest = 0x0E
    case readByGroupTypeRequest = 0x10
    case readByGroupTypeResponse = 0x11
    case writeRequest = 0x12
    case writeResponse = 0x13
    case prepareWriteRequest = 0x16
    case executeWriteRequest = 0x18
    case handleValueNotification = 0x1B
    case handleValueIndication = 0x1D
    case handleValueConfirmation = 0x1E
    case readMultipleVariableRequest = 0x20
    case writeCommand = 0x52
    case signedWriteCommand = 0xD2
}

/// ATT error codes (Core Vol 3 Part F §3.4.1.1) and the common profile one we use
/// (Core Specification Supplement Part B §1.2).
public enum ATTError: UInt8, Sendable {
    case invalidHandle = 0x01
    case readNotPermitted = 0x02
    case writeNotPermitted = 0x03
    case invalidPDU = 0x04
    case requestNotSupported = 0x06
    case invalidOffset = 0x07
    case attributeNotFound = 0x0A
    case invalidAttributeValueLength = 0x0D
    case unsupportedGroupType = 0x10
    case valueNotAllowed = 0x13
    case cccdImproperlyConfigured = 0xFD
}

/// The default and minimum ATT_MTU on LE (Core Vol 3 Part F §3.2.8).
let defaultATTMTU: UInt16 = 23

struct Attribute: Sendable {
    enum Role: Sendable {
        case serviceDeclaration(end: UInt16)
        case characteristicDeclaration
        case value(characteristic: Int?)
        case clientConfiguration(characteristic: Int)
        case userDescription
    }

    let handle: UInt16
    let type: BLEUUID
    var value: [UInt8]
    let readable: Bool
    let writable: Bool
    let role: Role
}

/// The table: GAP service (Device Name, Appearance), then the configured service.
struct AttributeDatabase: Sendable {
    struct Characteristic: Sendable {
        let config: CharacteristicConfig
        let valueHandle: UInt16
        let clientConfigurationHandle: UInt16?
        var drifter: Drifter?
    }

    private(set) var attributes: [Attribute] = []
    private(set) var characteristics: [Characteristic] = []
    let serverMTU: UInt16

    init(_ config: GATTConfig) {
        serverMTU = config.mtu
        var list: [Attribute] = []
        var chars: [Characteristic] = []
        func next() -> UInt16 { UInt16(list.count + 1) }
        func declare(_ properties: CharacteristicProperties, _ uuid: BLEUUID) {
            let h = next()
            var w = ByteWriter()
            w.u8(properties.rawValue)
            w.u16(h + 1)
            w.append(uuid.wire)
            list.append(Attribute(handle: h, type: GATTType.characteristic, value: w.bytes, readable: true,
                                  writable: false, role: .characteristicDeclaration))
        }

        // GAP service, mandatory on an LE GATT server (Core Vol 3 Part C §12).
        let gapStart = next()
        list.append(Attribute(handle: gapStart, type: GATTType.primaryService, value: GATTType.gapService.wire,
                              readable: true, writable: false, role: .serviceDeclaration(end: gapStart + 4)))
        declare([.read], GATTType.deviceName)
        list.append(Attribute(handle: next(), type: GATTType.deviceName, value: Array(config.deviceName.utf8),
                              readable: true, writable: false, role: .value(characteristic: nil)))
        declare([.read], GATTType.appearance)
        var a = ByteWriter()
        a.u16(config.appearance)
        list.append(Attribute(handle: next(), type: GATTType.appearance, value: a.bytes, readable: true,
                              writable: false, role: .value(characteristic: nil)))

        let serviceIndex = list.count
        list.append(Attribute(handle: next(), type: GATTType.primaryService, value: config.service.wire, readable: true,
                              writable: false, role: .serviceDeclaration(end: 0)))
        for c in config.characteristics {
            declare(c.properties, c.uuid)
            let index = chars.count
            let valueHandle = next()
            var drifter: Drifter?
            var value = c.initialValue
            if let d = c.drift {
                drifter = Drifter(d)
                value = AttributeDatabase.temperatureValue(d.value)
            }
            list.append(Attribute(handle: valueHandle, type: c.uuid, value: value, readable: c.properties.contains(.read),
                                  writable: !c.properties.isDisjoint(with: [.write, .writeWithoutResponse]),
                                  role: .value(characteristic: index)))
            var cccd: UInt16?
            if !c.properties.isDisjoint(with: [.notify, .indicate]) {
                cccd = next()
                list.append(Attribute(handle: cccd!, type: GATTType.clientCharacteristicConfiguration, value: [0, 0],
                                      readable: true, writable: true, role: .clientConfiguration(characteristic: index)))
            }
            if let text = c.description {
                list.append(Attribute(handle: next(), type: GATTType.userDescription, value: Array(text.utf8),
                                      readable: true, writable: false, role: .userDescription))
            }
            chars.append(Characteristic(config: c, valueHandle: valueHandle, clientConfigurationHandle: cccd, drifter: drifter))
        }
        let s = list[serviceIndex]
        list[serviceIndex] = Attribute(handle: s.handle, type: s.type, value: s.value, readable: true, writable: false,
                                       role: .serviceDeclaration(end: UInt16(list.count)))
        attributes = list
        characteristics = chars
    }

    /// sint16 in 0.01 °C, little-endian, as the Temperature characteristic (0x2A6E) carries it.
    static func temperatureValue(_ celsius: Double) -> [UInt8] {
        let v = Int16(clamping: Int((celsius * 100).rounded()))
        return [UInt8(truncatingIfNeeded: v), UInt8(truncatingIfNeeded: v >> 8)]
    }

    var lastHandle: UInt16 { UInt16(attributes.count) }

    func attribute(_ handle: UInt16) -> Attribute? {
        guard handle >= 1, Int(handle) <= attributes.count else { return nil }
        return attributes[Int(handle) - 1]
    }

    mutating func setValue(_ handle: UInt16, _ value: [UInt8]) {
        attributes[Int(handle) - 1].value = value
    }

    /// A notifying characteristic's next reading.
    mutating func sampleNotifyingValue(_ index: Int, rng: inout SimRandom) -> [UInt8] {
        let h = characteristics[index].valueHandle
        if var d = characteristics[index].drifter {
            d.step(&rng)
            characteristics[index].drifter = d
            setValue(h, AttributeDatabase.temperatureValue(d.current))
        }
        return attributes[Int(h) - 1].value
    }
}

/// What one connection's ATT bearer remembers.
struct ATTSession: Sendable {
    var mtu: UInt16 = defaultATTMTU
    /// Client Characteristic Configuration values are per client (Core Vol 3 Part G §3.3.3.3).
    var clientConfiguration: [UInt16: UInt16] = [:]
    var nextNotification: [Int: SimInstant] = [:]
}

/// The ATT server: one request PDU in, at most one PDU out.
enum ATTServer {
    static func error(_ request: UInt8, _ handle: UInt16, _ code: ATTError) -> [UInt8] {
        var w = ByteWriter()
        w.u8(ATTOpcode.errorResponse.rawValue)
        w.u8(request)
        w.u16(handle)
        w.u8(code.rawValue)
        return w.bytes
    }

    /// Answers one PDU. Commands (and PDUs a server does not take) get nil.
    static func handle(_ pdu: [UInt8], session: inout ATTSession, db: inout AttributeDatabase, now: SimInstant,
                       log: (String) -> Void) -> [UInt8]? {
        guard let raw = pdu.first else { return nil }
        var r = ByteReader(pdu.dropFirst())
        let mtu = Int(session.mtu)
        guard let op = ATTOpcode(rawValue: raw) else {
            // Commands the server does not support are discarded; unsupported requests get
            // Request Not Supported with handle 0x0000 (Core Vol 3 Part F §3.4.1.1, §3.3).
            return raw & 0x40 != 0 ? nil : error(raw, 0, .requestNotSupported)
        }
        switch op {
        case .exchangeMTURequest:
            guard pdu.count == 3, let client = r.u16() else { return error(raw, 0, .invalidPDU) }
            session.mtu = max(defaultATTMTU, min(client, db.serverMTU))
            var w = ByteWriter()
            w.u8(ATTOpcode.exchangeMTUResponse.rawValue)
            w.u16(db.serverMTU)
            return w.bytes

        case .findInformationRequest:
            guard pdu.count == 5, let start = r.u16(), let end = r.u16() else { return error(raw, 0, .invalidPDU) }
            guard start != 0, start <= end else { return error(raw, start, .invalidHandle) }
            let found = db.attributes.filter { $0.handle >= start && $0.handle <= end }
            guard let first = found.first else { return error(raw, start, .attributeNotFound) }
            let short = first.type.short != nil
            var w = ByteWriter()
            w.u8(ATTOpcode.findInformationResponse.rawValue)
            w.u8(short ? 0x01 : 0x02)
            // One format per response, in ascending handle order with none left out
            // (Core Vol 3 Part F §3.4.3.2): the list ends before the first attribute whose
            // type has the other length, which the client's next request (from the last
            // handle + 1) then finds.
            for a in found {
                let entry = 2 + (short ? 2 : 16)
                guard (a.type.short != nil) == short, w.bytes.count + entry <= mtu else { break }
                w.u16(a.handle)
                w.append(a.type.wire)
            }
            return w.bytes

        case .findByTypeValueRequest:
            guard pdu.count >= 7, let start = r.u16(), let end = r.u16(), let type = r.u16() else {
                return error(raw, 0, .invalidPDU)
            }
            let value = r.rest()
            guard start != 0, start <= end else { return error(raw, start, .invalidHandle) }
            var w = ByteWriter()
            w.u8(ATTOpcode.findByTypeValueResponse.rawValue)
            for a in db.attributes where a.handle >= start && a.handle <= end && a.type == BLEUUID(type) {
                guard a.value == value || (a.type == GATTType.primaryService && BLEUUID(wire: value) == BLEUUID(wire: a.value)) else { continue }
                guard w.bytes.count + 4 <= mtu else { break }
                var groupEnd = a.handle
                if case let .serviceDeclaration(end) = a.role { groupEnd = end }
                w.u16(a.handle)
                w.u16(groupEnd)
            }
            return w.bytes.count > 1 ? w.bytes : error(raw, start, .attributeNotFound)

        case .readByTypeRequest:
            guard pdu.count == 7 || pdu.count == 21, let start = r.u16(), let end = r.u16(),
                  let type = BLEUUID(wire: r.rest()) else { return error(raw, 0, .invalidPDU) }
            guard start != 0, start <= end else { return error(raw, start, .invalidHandle) }
            let found = db.attributes.filter { $0.handle >= start && $0.handle <= end && $0.type == type }
            guard let first = found.first else { return error(raw, start, .attributeNotFound) }
            guard first.readable else { return error(raw, first.handle, .readNotPermitted) }
            let limit = min(mtu - 4, 253)
            let length = min(value(of: first, session).count, limit)
            var w = ByteWriter()
            w.u8(ATTOpcode.readByTypeResponse.rawValue)
            w.u8(UInt8(2 + length))
            for a in found {
                // The list stops at the first attribute that cannot be read or differs in length.
                guard a.readable else { break }
                let v = value(of: a, session)
                guard min(v.count, limit) == length, w.bytes.count + 2 + length <= mtu else { break }
                w.u16(a.handle)
                w.append(v.prefix(length))
            }
            return w.bytes

        case .readRequest:
            guard pdu.count == 3, let handle = r.u16() else { return error(raw, 0, .invalidPDU) }
            guard let a = db.attribute(handle) else { return error(raw, handle, .invalidHandle) }
            guard a.readable else { return error(raw, handle, .readNotPermitted) }
            return [ATTOpcode.readResponse.rawValue] + value(of: a, session).prefix(mtu - 1)

        case .readBlobRequest:
            guard pdu.count == 5, let handle = r.u16(), let offset = r.u16() else { return error(raw, 0, .invalidPDU) }
            guard let a = db.attribute(handle) else { return error(raw, handle, .invalidHandle) }
            guard a.readable else { return error(raw, handle, .readNotPermitted) }
            let v = value(of: a, session)
            guard Int(offset) <= v.count else { return error(raw, handle, .invalidOffset) }
            return [ATTOpcode.readBlobResponse.rawValue] + v[Int(offset)...].prefix(mtu - 1)

        case .readByGroupTypeRequest:
            guard pdu.count == 7 || pdu.count == 21, let start = r.u16(), let end = r.u16(),
                  let type = BLEUUID(wire: r.rest()) else { return error(raw, 0, .invalidPDU) }
            guard start != 0, start <= end else { return error(raw, start, .invalidHandle) }
            // Only service declarations group attributes (Core Vol 3 Part G §2.5.3).
            guard type == GATTType.primaryService || type == GATTType.secondaryService else {
                return error(raw, start, .unsupportedGroupType)
            }
            let found = db.attributes.filter { $0.handle >= start && $0.handle <= end && $0.type == type }
            guard let first = found.first else { return error(raw, start, .attributeNotFound) }
            let limit = min(mtu - 6, 251)
            let length = min(first.value.count, limit)
            var w = ByteWriter()
            w.u8(ATTOpcode.readByGroupTypeResponse.rawValue)
            w.u8(UInt8(4 + length))
            for a in found {
                guard case let .serviceDeclaration(groupEnd) = a.role, min(a.value.count, limit) == length,
                      w.bytes.count + 4 + length <= mtu else { break }
                w.u16(a.handle)
                w.u16(groupEnd)
                w.append(a.value.prefix(length))
            }
            return w.bytes

        case .writeRequest, .writeCommand:
            let isCommand = op == .writeCommand
            guard pdu.count >= 3, let handle = r.u16() else { return isCommand ? nil : error(raw, 0, .invalidPDU) }
            let value = r.rest()
            if let failure = write(handle, value, session: &session, db: &db, now: now) {
                log("ATT write to 0x\(hex4(handle)) refused: \(failure)")
                return isCommand ? nil : error(raw, handle, failure)
            }
            log("ATT \(isCommand ? "write command" : "write") 0x\(hex4(handle)) = \(hexDump(value))")
            return isCommand ? nil : [ATTOpcode.writeResponse.rawValue]

        case .readMultipleRequest, .readMultipleVariableRequest, .prepareWriteRequest, .executeWriteRequest:
            return error(raw, 0, .requestNotSupported)

        case .signedWriteCommand, .handleValueConfirmation:
            return nil

        case .errorResponse, .exchangeMTUResponse, .findInformationResponse, .findByTypeValueResponse,
             .readByTypeResponse, .readResponse, .readBlobResponse, .readByGroupTypeResponse, .writeResponse,
             .handleValueNotification, .handleValueIndication:
            // Responses and server-sent PDUs: this peripheral sent no request, so they answer nothing.
            return nil
        }
    }

    static func value(of a: Attribute, _ session: ATTSession) -> [UInt8] {
        if case .clientConfiguration = a.role {
            let v = session.clientConfiguration[a.handle] ?? 0
            return [UInt8(v & 0xFF), UInt8(v >> 8)]
        }
        return a.value
    }

    static func write(_ handle: UInt16, _ value: [UInt8], session: inout ATTSession, db: inout AttributeDatabase,
                      now: SimInstant) -> ATTError? {
        guard let a = db.attribute(handle) else { return .invalidHandle }
        guard a.writable else { return .writeNotPermitted }
        switch a.role {
        case let .clientConfiguration(index):
            guard value.count == 2 else { return .invalidAttributeValueLength }
            let v = UInt16(value[0]) | UInt16(value[1]) << 8
            let props = db.characteristics[index].config.properties
            if v & 0x0001 != 0, !props.contains(.notify) { return .cccdImproperlyConfigured }
            if v & 0x0002 != 0, !props.contains(.indicate) { return .cccdImproperlyConfigured }
            session.clientConfiguration[handle] = v
            if v & 0x0001 != 0, session.nextNotification[index] == nil {
                session.nextNotification[index] = now.adding(milliseconds: db.characteristics[index].config.notifyIntervalMs)
            } else if v & 0x0001 == 0 {
                session.nextNotification[index] = nil
            }
            return nil
        case let .value(index?):
            let c = db.characteristics[index].config
            switch c.kind {
            case .switch:
                guard value.count == 1 else { return .invalidAttributeValueLength }
                guard value[0] <= 1 else { return .valueNotAllowed }
            case .temperature, .text, .bytes:
                guard value.count <= c.maxLength else { return .invalidAttributeValueLength }
            }
            db.setValue(handle, value)
            return nil
        default:
            return .writeNotPermitted
        }
    }
}
