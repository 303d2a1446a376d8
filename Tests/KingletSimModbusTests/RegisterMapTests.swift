import Foundation
import Testing
@testable import KingletSimModbus

struct RegisterMapTests {
    private func parse(_ text: String) throws(SimulatorError) -> RegisterMap {
        try RegisterMap.parse(Data(text.utf8), file: "map.json")
    }

    private func error(_ text: String) -> SimulatorError? {
        do {
            _ = try parse(text)
            return nil
        } catch {
            return error
        }
    }

    @Test("a map gives each table its start and values, padded with zeros up to count")
    func tablesArePaddedToCount() throws {
        let map = try parse(SimulatorProcess.example)
        #expect(map.slave == 1)
        #expect(map.coils == RegisterTable(start: 0, values: [true, false, true, false, false, false, false, false]))
        #expect(map.discreteInputs == RegisterTable(start: 10, values: [true, false, true, true]))
        #expect(map.holdingRegisters.start == 100)
        #expect(map.holdingRegisters.values == [500, 1200, 7, 0, 0, 0, 0, 0, 0, 0])
        #expect(map.inputRegisters.values == [215, 480, 0, 0])
        #expect(map.dynamic == [DynamicRegister(table: .input, address: 3, wave: .ramp, period: 0.5, minimum: 0, maximum: 60000)])
    }

    @Test("a table left out has no addresses and the slave defaults to 1")
    func missingTablesAreEmpty() throws {
        let map = try parse(#"{"holdingRegisters": {"values": [1]}}"#)
        #expect(map.slave == 1)
        #expect(map.coils.count == 0 && map.discreteInputs.count == 0 && map.inputRegisters.count == 0)
        #expect(map.holdingRegisters == RegisterTable(start: 0, values: [1]))
    }

    @Test("a misspelt key is rejected with its path, not ignored")
    func unknownKeysAreErrors() {
        guard case .map(_, let position, let message)? = error(#"{"holdingRegister": {"values": [1]}}"#) else {
            Issue.record("accepted")
            return
        }
        #expect(position == "holdingRegister")
        #expect(message.contains("unknown key"))
        guard case .map(_, let inner, _)? = error(#"{"coils": {"start": 0, "vals": [1]}}"#) else {
            Issue.record("accepted")
            return
        }
        #expect(inner == "coils.vals")
    }

    @Test("a word above 65535 or a bit other than 0/1/false/true is rejected naming its index")
    func outOfRangeValuesAreErrors() {
        guard case .map(_, let word, _)? = error(#"{"inputRegisters": {"values": [1, 70000]}}"#) else {
            Issue.record("accepted 70000")
            return
        }
        #expect(word == "inputRegisters.values[1]")
        guard case .map(_, let bit, let message)? = error(#"{"coils": {"values": [0, 1, 2]}}"#) else {
            Issue.record("accepted bit 2")
            return
        }
        #expect(bit == "coils.values[2]")
        #expect(message.contains("0, 1, false or true"))
    }

    @Test("count below the values, a table past 65535, a bad slave and a dynamic address outside its table are rejected")
    func inconsistentMapsAreErrors() {
        let cases: [(String, String)] = [
            (#"{"coils": {"count": 1, "values": [1, 0]}}"#, "coils.count"),
            (#"{"holdingRegisters": {"start": 65530, "count": 10}}"#, "holdingRegisters.count"),
            (#"{"slave": 248}"#, "slave"),
            (#"{"inputRegisters": {"count": 2}, "dynamic": [{"table": "input", "address": 2, "wave": "sine", "period": 1, "max": 9}]}"#,
             "dynamic[0].address"),
            (#"{"holdingRegisters": {"count": 2}, "dynamic": [{"table": "holding", "address": 0, "wave": "saw", "period": 1, "max": 9}]}"#,
             "dynamic[0].wave"),
            (#"{"holdingRegisters": {"count": 2}, "dynamic": [{"table": "holding", "address": 0, "wave": "sine", "period": 0, "max": 9}]}"#,
             "dynamic[0].period"),
        ]
        for (text, expected) in cases {
            guard case .map(let file, let position, _)? = error(text) else {
                Issue.record("accepted \(text)")
                continue
            }
            #expect(file == "map.json")
            #expect(position == expected, "for \(text)")
        }
    }

    @Test("invalid JSON is reported with the file name")
    func syntaxErrorsNameTheFile() {
        let failure = error(#"{"coils": "#)
        #expect(failure?.description.hasPrefix("map.json: ") == true)
    }

    @Test("waves: sine starts mid-way and peaks at a quarter period, ramp climbs, triangle turns, square flips at half")
    func wavesFollowTheirShape() {
        func register(_ wave: DynamicRegister.Wave) -> DynamicRegister {
            DynamicRegister(table: .input, address: 0, wave: wave, period: 10, minimum: 100, maximum: 300)
        }
        #expect(register(.sine).value(atSeconds: 0) == 200)
        #expect(register(.sine).value(atSeconds: 2.5) == 300)
        #expect(register(.sine).value(atSeconds: 7.5) == 100)
        #expect(register(.ramp).value(atSeconds: 0) == 100)
        #expect(register(.ramp).value(atSeconds: 5) == 200)
        #expect(register(.ramp).value(atSeconds: 12.5) == 150)
        #expect(register(.triangle).value(atSeconds: 5) == 300)
        #expect(register(.triangle).value(atSeconds: 7.5) == 200)
        #expect(register(.square).value(atSeconds: 4.9) == 100)
        #expect(register(.square).value(atSeconds: 5.1) == 300)
    }

    @Test("the built-in map is a valid map")
    func builtInMapIsValid() {
        let map = RegisterMap.builtIn
        #expect(map.dynamic.allSatisfy { ($0.table == .input ? map.inputRegisters : map.holdingRegisters).contains(address: $0.address) })
    }
}

struct FramingTests {
    @Test("response lengths: exception 5, reads 5 + byte count, single and multiple writes 8, mask write 10")
    func responseLengthsFollowTheFunction() {
        #expect(ResponseFrame.measure([0x01, 0x83, 0x02, 0xC0, 0xF1][...]) == .length(5))
        #expect(ResponseFrame.measure([0x01, 0x03, 0x04][...]) == .length(9))
        #expect(ResponseFrame.measure([0x01, 0x01, 0x01][...]) == .length(6))
        #expect(ResponseFrame.measure([0x01, 0x06][...]) == .length(8))
        #expect(ResponseFrame.measure([0x01, 0x0F][...]) == .length(8))
        #expect(ResponseFrame.measure([0x01, 0x10][...]) == .length(8))
        #expect(ResponseFrame.measure([0x01, 0x16][...]) == .length(10))
        #expect(ResponseFrame.measure([0x01, 0x17, 0x02][...]) == .length(7))
    }

    @Test("a response too short to measure waits, and an unknown function falls back to the idle gap")
    func shortAndUnknownResponses() {
        #expect(ResponseFrame.measure([0x01][...]) == .needMore)
        #expect(ResponseFrame.measure([0x01, 0x03][...]) == .needMore)
        #expect(ResponseFrame.measure([0x01, 0x2B, 0x0E][...]) == .unknown)
    }

    @Test("every Nth fires on N, 2N, 3N and never without N")
    func everyNthCounts() {
        var third = EveryNth(3)
        #expect((1...7).map { _ in third.next() } == [false, false, true, false, false, true, false])
        var never = EveryNth(nil)
        #expect((1...5).allSatisfy { _ in !never.next() })
    }

    @Test("t3.5 is 3.5 characters of start, data, parity and stop bits, and 1.75 ms above 19200 baud")
    func frameGapFollowsTheSerialLine() {
        #expect(abs(SerialSettings(baud: 9600).frameGap - 3.5 * 10 / 9600) < 1e-9)
        #expect(abs(SerialSettings(baud: 9600, parity: .even, stopBits: 1).frameGap - 3.5 * 11 / 9600) < 1e-9)
        #expect(SerialSettings(baud: 115_200).frameGap == 0.00175)
        #expect(SerialSettings(baud: 19200, parity: .odd, dataBits: 7, stopBits: 2).summary == "19200 7O2")
    }

    @Test("a verbose request line names the function, address and quantity")
    func requestsAreDescribed() {
        #expect(describeRequest([0x01, 0x03, 0x00, 0x64, 0x00, 0x02, 0x85, 0xD4][...])
            == "slave 1 read holding registers addr 100 qty 2 [01 03 00 64 00 02 85 D4]")
        #expect(describeRequest([0x01, 0x05, 0x00, 0x02, 0xFF, 0x00, 0x2D, 0xFA][...]).contains("write single coil addr 2 on"))
    }
}
