import KingletDevices
import KingletDocument
@testable import KingletModbus
import KingletPod
import Testing

/// Where values sit in registers: data types, scale and offset, byte and word order.
@Suite struct ModbusVisitorTests {
    func visitor(_ yaml: String, type: DevicePropertyType = .float, writable: Bool = false) throws -> ModbusVisitor {
        let node = try YAMLReader().parseDocument(yaml, file: "visitor.yaml")
        let data = DeviceConfigData(try FieldReader(node, file: "visitor.yaml").object(), path: "configData", file: "visitor.yaml")
        let property = DevicePropertySpec(name: "p", type: type, writable: writable, unit: "", desired: nil,
                                          collectCycleMilliseconds: 1000, reportCycleMilliseconds: 1000, visitor: data)
        return try ModbusVisitor.decode(data, property: property)
    }

    func decode(_ visitor: ModbusVisitor, _ words: [UInt16], as type: DevicePropertyType = .float) -> DeviceValue? {
        words.withUnsafeBufferPointer { visitor.decode(registers: $0, as: type) }
    }

    @Test func aScaledInt16ReadsAsADecimal() throws {
        let v = try visitor("{register: InputRegister, offset: 0, limit: 1, scale: 0.1}")
        #expect(v.dataType == .int16)
        #expect(decode(v, [215]) == .double(21.5))
        #expect(decode(v, [UInt16(bitPattern: -35)]) == .double(-3.5))
    }

    @Test func float32WithWordSwapMatchesTheLowWordFirstLayout() throws {
        let v = try visitor("{register: HoldingRegister, offset: 4, limit: 2, dataType: float32, isRegisterSwap: true}")
        // 21.5 as IEEE 754 single is 0x41AC0000; low word first on the wire.
        #expect(decode(v, [0x0000, 0x41AC]) == .double(21.5))
        let words = try #require(v.encode(.double(21.5)))
        #expect(words.0 == 0x0000 && words.1 == 0x41AC)
    }

    @Test func uint32AndByteSwap() throws {
        let v = try visitor("{register: HoldingRegister, offset: 0, limit: 2, dataType: uint32, isSwap: true}", type: .int)
        #expect(decode(v, [0x0100, 0x0200], as: .int) == .integer(0x0001_0002))
    }

    @Test func valueOffsetAndScaleInvertOnWrite() throws {
        let v = try visitor("{register: HoldingRegister, offset: 2, limit: 1, scale: 0.5, valueOffset: -40}", writable: true)
        #expect(decode(v, [130]) == .double(25))
        let words = try #require(v.encode(.double(25)))
        #expect(words.0 == 130)
        #expect(v.encode(.double(1_000_000)) == nil, "does not fit an int16")
    }

    @Test func coilsAreBits() throws {
        let v = try visitor("{register: CoilRegister, offset: 3}", type: .boolean, writable: true)
        #expect(v.dataType == .bool)
        #expect(v.encode(.bool(true))?.0 == 1)
    }

    @Test func aWritablePropertyOnAnInputRegisterIsRefused() throws {
        #expect {
            _ = try visitor("{register: InputRegister, offset: 0}", writable: true)
        } throws: { error in
            ((error as? DocumentError)?.description ?? "").contains("read-only")
        }
    }

    @Test func badVisitorsNameTheField() throws {
        for (yaml, words) in [("{register: Holding, offset: 0}", "unknown register table"),
                              ("{register: HoldingRegister}", "offset"),
                              ("{register: HoldingRegister, offset: 70000}", "0 to 65535"),
                              ("{register: HoldingRegister, offset: 0, limit: 3, dataType: int32}", "takes 2 register"),
                              ("{register: HoldingRegister, offset: 0, scale: 0}", "non-zero"),
                              ("{register: HoldingRegister, offset: 0, colour: red}", "unknown field 'colour'")] {
            #expect {
                _ = try visitor(yaml)
            } throws: { error in
                let message = (error as? DocumentError)?.description ?? ""
                return message.contains(words) && message.contains("visitor.yaml:1:")
            }
        }
    }

    @Test func responsesAreCheckedAgainstTheRequest() throws {
        let v = try visitor("{register: HoldingRegister, offset: 2, limit: 1}")
        func check(_ bytes: [UInt8], function: UInt8 = 3) -> ModbusResponse.Outcome {
            bytes.withUnsafeBufferPointer { ModbusResponse.check($0, slave: 1, request: function, visitor: v) }
        }
        #expect(check([1, 3, 2, 0x00, 0xD7, 0, 0]) == .registers(0xD7, 0))
        #expect(check([1, 0x83, 2, 0, 0]) == .exception(code: 2))
        #expect(check([2, 3, 2, 0, 1, 0, 0]) == .malformed("a response from slave 2, not 1"))
        if case .malformed = check([1, 3, 4, 0, 1, 0, 2, 0, 0]) {} else { Issue.record("a wrong byte count must be refused") }
        if case .malformed = check([1, 3]) {} else { Issue.record("a short frame must be refused") }
    }
}
