import Foundation
import Testing
@testable import KingletSimZigbee

@Suite("The devices file")
struct DeviceFileTests {
    func parse(_ json: String) throws(DeviceFileError) -> DeviceFile {
        try DeviceFile.parse(Data(json.utf8))
    }

    func error(_ json: String) -> DeviceFileError? {
        do {
            _ = try parse(json)
            return nil
        } catch {
            return error
        }
    }

    @Test func demoDevicesParseWithKnownTypes() throws {
        let file = DemoDevices.file
        #expect(file.devices.map(\.name) == ["kitchen-plug", "hall-sensor"])
        let sensor = file.devices[1]
        #expect(sensor.joinsOnPermit && sensor.logicalType == .endDevice && sensor.reportInterval == 60)
        let temperature = sensor.endpoints[0].inputClusters.first { $0.id == 0x0402 }?.attributes.first { $0.id == 0 }
        #expect(temperature?.type == .int16 && temperature?.value == .integer(2150) && temperature?.reported == true)
        #expect(sensor.value(endpoint: 1, cluster: 0x0000, attribute: 0x0005) == .string("SIM-THO"))
    }

    @Test func theFidelityCheckDevicesFileParses() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../tools/fidelity/znp-devices.json").standardized.path
        let file = try DeviceFile.load(path: path)
        #expect(file.devices.count == 3)
    }

    @Test func theREADMEExampleParses() throws {
        let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../docs/sim-znp.md").standardized
        let text = try String(contentsOf: readme, encoding: .utf8)
        let start = try #require(text.range(of: "```json\n"))
        let end = try #require(text.range(of: "```", range: start.upperBound..<text.endIndex))
        let file = try parse(String(text[start.upperBound..<end.lowerBound]))
        #expect(file.devices.count == 2 && file.formedNetwork?.channel == 15 && file.coordinatorIEEE != nil)
    }

    @Test func customAttributesNeedATypeAndTakeOverrides() throws {
        let file = try parse("""
            {"network": {"panId": "0x1a62", "extendedPanId": "dd:dd:dd:dd:dd:dd:dd:dd", "channel": 15},
             "devices": [{"ieee": "00:12:4b:00:00:00:00:09", "nwk": 4660, "endpoints": [{"id": 2, "clusters": {
               "0xfc00": {"0x0001": {"type": "uint16", "value": "0x0102", "writable": true, "drift": 3, "min": 250, "max": 260}},
               "temperature": {"measuredValue": {"value": -550, "report": false}}}}]}]}
            """)
        #expect(file.formedNetwork?.panID == 0x1A62 && file.formedNetwork?.channel == 15)
        let device = file.devices[0]
        #expect(device.name == "device-0x1234")
        let custom = device.endpoints[0].inputClusters.first { $0.id == 0xFC00 }?.attributes.first
        #expect(custom?.type == .uint16 && custom?.value == .integer(0x0102) && custom?.writable == true)
        #expect(custom?.bounds == 250...260)
        let temperature = device.endpoints[0].inputClusters.first { $0.id == 0x0402 }?.attributes.first
        #expect(temperature?.value == .integer(-550) && temperature?.reported == false)
    }

    @Test func errorsNameWhereInTheFileTheyAre() {
        let base = #"{"devices": [{"ieee": "00:12:4b:00:00:00:00:01", "nwk": "0x0001", "endpoints": [{"id": 1, "clusters": %@}]}]}"#
        #expect(error(base.replacingOccurrences(of: "%@", with: #"{"onOff": {"brightness": 1}}"#))?.path
                == "devices[0].endpoints[0].clusters.onOff.brightness")
        #expect(error(base.replacingOccurrences(of: "%@", with: #"{"0xfc00": {"0x0001": 5}}"#))?.path
                == "devices[0].endpoints[0].clusters.0xfc00.0x0001")
        #expect(error(base.replacingOccurrences(of: "%@", with: #"{"temperature": {"measuredValue": 40000}}"#))?.message
                == "40000 is outside -32768...32767")
        #expect(error(base.replacingOccurrences(of: "%@", with: #"{"onOff": {"onOff": "yes"}}"#)) != nil)
    }

    @Test func duplicateAddressesAreRejected() {
        let json = """
            {"devices": [
              {"ieee": "00:12:4b:00:00:00:00:01", "nwk": "0x0001", "endpoints": [{"id": 1, "clusters": {}}]},
              {"ieee": "00:12:4b:00:00:00:00:02", "nwk": "0x0001", "endpoints": [{"id": 1, "clusters": {}}]}]}
            """
        #expect(error(json)?.path == "devices[1].nwk")
    }

    @Test func unknownFieldsAndBrokenJSONAreErrorsNotCrashes() {
        #expect(error(#"{"devices": [], "extra": 1}"#)?.path == "extra")
        #expect(error(#"{"devices": [}"#)?.message.hasPrefix("not valid JSON") == true)
        #expect(error(#"{"devices": {}}"#)?.path == "devices")
    }
}
