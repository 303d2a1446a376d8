import Foundation
import Testing
@testable import KingletSimBLE

@Suite struct DevicesFileTests {
    @Test func theExampleFileIsTheBuiltInExampleAndLoads() throws {
        let here = URL(fileURLWithPath: #filePath)
        let file = here.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("boards/sim/devices/ble-devices.json")
        let text = try String(contentsOf: file, encoding: .utf8)
        #expect(text.trimmingCharacters(in: .whitespacesAndNewlines) == exampleDevicesJSON.trimmingCharacters(in: .whitespacesAndNewlines))
        let config = try SimulationConfig.parse(exampleDevicesJSON)
        #expect(config.devices.count == 6)
    }

    func failure(_ json: String) -> DevicesFileError? {
        do {
            _ = try SimulationConfig.parse(json)
            return nil
        } catch {
            return error
        }
    }

    @Test func anUnknownKeyIsRefusedWithItsPath() {
        let e = failure(#"{"devices": [{"address": "A4:C1:38:00:00:01", "intervalMS": 100}]}"#)
        #expect(e?.path == "devices[0].intervalMS")
    }

    @Test func aBindKeyOfTheWrongLengthIsRefused() {
        let e = failure(#"{"devices": [{"address": "A4:C1:38:00:00:01", "bthome": {"bindKey": "0011", "measurements": [{"type": "battery", "value": 5}]}}]}"#)
        #expect(e?.path == "devices[0].bthome.bindKey")
    }

    @Test func anAdvertisementOverThirtyOneOctetsIsRefused() {
        let many = ["temperature", "humidity", "pressure", "illuminance", "voltage", "co2", "tvoc", "pm25", "pm10"]
            .map { #"{"type": "\#($0)", "value": 1, "drift": 0}"# }.joined(separator: ",")
        let e = failure(#"{"devices": [{"address": "A4:C1:38:00:00:01", "bthome": {"measurements": [\#(many)]}}]}"#)
        #expect(e?.message.contains("31") == true)
    }

    @Test func aValueOutsideItsFieldIsRefused() {
        let e = failure(#"{"devices": [{"address": "A4:C1:38:00:00:01", "bthome": {"measurements": [{"type": "battery", "value": 300}]}}]}"#)
        #expect(e?.path == "devices[0].bthome.measurements[0].value")
    }

    @Test func aRandomAddressMustBeStatic() {
        let e = failure(#"{"devices": [{"address": "12:00:00:00:00:01", "addressType": "random", "ibeacon": {"uuid": "e2c56db5-dffb-48d2-b060-d0f5a71096e0"}}]}"#)
        #expect(e?.path == "devices[0].address")
    }

    @Test func twoDevicesCannotShareAnAddress() {
        let d = #"{"address": "A4:C1:38:00:00:01"}"#
        #expect(failure(#"{"devices": [\#(d), \#(d)]}"#)?.path == "devices[1]")
    }

    @Test func invalidJSONSaysSo() {
        #expect(failure("{\"devices\": [")?.message.hasPrefix("not valid JSON") == true)
    }
}
