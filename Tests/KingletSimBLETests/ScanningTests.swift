import Testing
@testable import KingletSimBLE

@Suite struct ScanningTests {
    static let two = """
        {"devices": [
          {"name": "a", "address": "A4:C1:38:00:00:01", "intervalMs": 100,
           "bthome": {"measurements": [{"type": "temperature", "value": 21.5, "drift": 0}]}},
          {"name": "b", "address": "C7:00:00:00:00:02", "addressType": "random", "intervalMs": 250, "localName": "Beta",
           "connectable": false, "ibeacon": {"uuid": "e2c56db5-dffb-48d2-b060-d0f5a71096e0", "major": 1, "minor": 2}},
          {"name": "c", "address": "24:0A:C4:00:00:06", "intervalMs": 200,
           "gatt": {"service": "180A", "characteristics": [{"uuid": "2A29", "kind": "text", "value": "K"}]}}
        ]}
        """

    @Test func defaultEventMaskHoldsBackAdvertisingReports() throws {
        var h = try Harness(ScanningTests.two)
        _ = h.command(.leSetScanEnable, [1, 0])
        #expect(h.advance(milliseconds: 1000).isEmpty)
    }

    @Test func leEventMaskWithoutAdvertisingReportHoldsThemBack() throws {
        var h = try Harness(ScanningTests.two)
        h.startScanning()
        _ = h.command(.leSetEventMask, [0x01, 0, 0, 0, 0, 0, 0, 0])
        #expect(h.advance(milliseconds: 1000).isEmpty)
    }

    @Test func passiveScanReportsEachDeviceAboutOncePerAdvertisingInterval() throws {
        var h = try Harness(ScanningTests.two)
        h.startScanning()
        let reports = h.advance(milliseconds: 5000).compactMap(\.advertisingReport)
        let a = reports.filter { $0.address == BDAddress("A4:C1:38:00:00:01") }
        let b = reports.filter { $0.address == BDAddress("C7:00:00:00:00:02") }
        // advInterval plus advDelay (0–10 ms) between events.
        #expect((45...50).contains(a.count))
        #expect((19...20).contains(b.count))
        #expect(a.allSatisfy { $0.type == 0x03 && $0.addressType == 0 && (-63 ... -57).contains($0.rssi) })
        // Random address, name only in the scan response: scannable, not connectable.
        #expect(b.allSatisfy { $0.type == 0x02 && $0.addressType == 1 })
        #expect(!reports.contains { $0.type == 0x04 })
    }

    @Test func activeScanAddsAScanResponseForScannableAdvertising() throws {
        var h = try Harness(ScanningTests.two)
        h.startScanning(active: true)
        let reports = h.advance(milliseconds: 1000).compactMap(\.advertisingReport)
        let b = reports.filter { $0.address == BDAddress("C7:00:00:00:00:02") }
        #expect(b.contains { $0.type == 0x04 && $0.data == [0x05, 0x09] + Array("Beta".utf8) })
        let c = reports.filter { $0.address == BDAddress("24:0A:C4:00:00:06") }
        #expect(Set(c.map(\.type)) == [0x00, 0x04])
        // ADV_NONCONN_IND is not scannable: no SCAN_RSP.
        #expect(!reports.contains { $0.address == BDAddress("A4:C1:38:00:00:01") && $0.type == 0x04 })
    }

    @Test func filterDuplicatesReportsEachDeviceOnceUntilScanningStops() throws {
        var h = try Harness(ScanningTests.two)
        h.startScanning(active: true, filterDuplicates: true)
        let first = h.advance(milliseconds: 2000).compactMap(\.advertisingReport)
        #expect(first.count == 5)  // a; b and its SCAN_RSP; c and its SCAN_RSP
        _ = h.command(.leSetScanEnable, [0, 0])
        _ = h.command(.leSetScanEnable, [1, 1])
        #expect(h.advance(milliseconds: 2000).compactMap(\.advertisingReport).count == 5)
    }

    @Test func turningFilterDuplicatesOffWhileScanningTakesEffect() throws {
        var h = try Harness(ScanningTests.two)
        h.startScanning(filterDuplicates: true)
        _ = h.advance(milliseconds: 1000)
        #expect(h.command(.leSetScanEnable, [1, 0]).first?.completeStatus == 0)
        #expect(h.advance(milliseconds: 1000).compactMap(\.advertisingReport).count > 10)
    }

    @Test func aScanWindowShorterThanTheIntervalMissesAdvertisements() throws {
        var full = try Harness(ScanningTests.two)
        full.startScanning(interval: 0x0040, window: 0x0040)
        var quarter = try Harness(ScanningTests.two)
        quarter.startScanning(interval: 0x0040, window: 0x0010)
        let all = full.advance(milliseconds: 10_000).compactMap(\.advertisingReport).count
        let some = quarter.advance(milliseconds: 10_000).compactMap(\.advertisingReport).count
        #expect(some > all / 8 && some < all / 2)
    }

    @Test func scanFilterPolicyOneReportsOnlyDevicesOnTheFilterAcceptList() throws {
        var h = try Harness(ScanningTests.two)
        _ = h.command(.setEventMask, [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x3F])
        _ = h.command(.leAddDeviceToFilterAcceptList, [0x01] + BDAddress("C7:00:00:00:00:02")!.wireOrder)
        _ = h.command(.leSetScanParameters, [0x00, 0x10, 0x00, 0x10, 0x00, 0x00, 0x01])
        _ = h.command(.leSetScanEnable, [1, 0])
        let reports = h.advance(milliseconds: 1000).compactMap(\.advertisingReport)
        #expect(!reports.isEmpty && reports.allSatisfy { $0.address == BDAddress("C7:00:00:00:00:02") })
    }

    @Test func nextDeadlineIsTheNextAdvertisementWhileScanningAndNilWhenIdle() throws {
        var h = try Harness(ScanningTests.two)
        #expect(h.controller.nextDeadline() == nil)
        h.startScanning()
        let dValue = h.controller.nextDeadline()
        let d = try #require(dValue)
        #expect(d >= h.now && d <= h.now.adding(milliseconds: 260))
    }

    @Test func aStalledClockSkipsAheadInsteadOfFloodingReports() throws {
        var h = try Harness(ScanningTests.two)
        h.startScanning()
        h.now = h.now.adding(milliseconds: 60_000)
        let bytes = h.controller.tick(now: h.now)
        let out = h.parse(bytes)
        #expect(out.count < 10)
    }
}
