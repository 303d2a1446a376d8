import KingletConfig
import KingletCore
import KingletDevices
import KingletDocument
import KingletLoopTesting
import Testing

/// When the manager asks drivers to read: on each property's cycle, on a grid shared by
/// every device, so one wake-up serves all the reads due together.
@Suite struct DeviceManagerCollectTests {
    /// A driver that only notes when it was asked to read.
    final class RecordingDriver: DeviceDriver {
        let name: String
        let loop: ManualEventLoop
        var collects: [(String, Int64)] = []
        var onCollect: (String, Int64) -> Void = { _, _ in }
        init(name: String, loop: ManualEventLoop) {
            self.name = name
            self.loop = loop
        }
        func start() {}
        func stop() {}
        func collect(property index: Int) { onCollect(name, loop.now.nanoseconds / 1_000_000) }
        func write(property index: Int, value: DeviceValue) {}
        var counters: DeviceCounters { DeviceCounters() }
    }

    static func specs(_ names: [String], cycle: Int) throws -> [DeviceSpec] {
        var text = """
        devices:
          - apiVersion: devices.kubeedge.io/v1beta1
            kind: DeviceModel
            metadata: {name: meter}
            spec:
              protocol: mqtt
              properties:
                - {name: power, type: INT, accessMode: ReadOnly}
        """
        for name in names {
            text += """

              - apiVersion: devices.kubeedge.io/v1beta1
                kind: Device
                metadata: {name: \(name)}
                spec:
                  deviceModelRef: {name: meter}
                  protocol: {protocolName: mqtt}
                  properties:
                    - name: power
                      collectCycle: \(cycle)
                      visitors: {protocolName: mqtt, configData: {topic: "meters/\(name)"}}
            """
        }
        let config = try ConfigDecoder.decode(try YAMLReader().parseDocument(text, file: "kinglet.yaml"), file: "kinglet.yaml",
                                              defaultNodeName: "edge-1")
        return config.devices.specs
    }

    @Test func devicesStartedAtDifferentTimesReadTogetherOnTheCycleGrid() throws {
        let loop = ManualEventLoop(now: Instant(nanoseconds: 1_000_037_000))  // 1000.037 ms
        var collects: [(String, Int64)] = []
        let manager = DeviceManager(loop: loop, wallClockMilliseconds: { 0 }, makeDriver: { spec, _ in
            let driver = RecordingDriver(name: spec.name, loop: loop)
            driver.onCollect = { collects.append(($0, $1)) }
            return driver
        })
        defer { manager.stopAll() }
        manager.apply(try Self.specs(["a"], cycle: 100))
        loop.advance(by: .milliseconds(30))
        manager.apply(try Self.specs(["a", "b"], cycle: 100))
        loop.advance(by: .milliseconds(400))
        // Each reads at once when it starts, then on the 100 ms marks of the clock.
        #expect(collects.filter { $0.0 == "a" }.map(\.1) == [1000, 1100, 1200, 1300, 1400])
        #expect(collects.filter { $0.0 == "b" }.map(\.1) == [1030, 1100, 1200, 1300, 1400])
    }

    @Test func gridInstantsAreWholeCyclesAfterNow() {
        let cycle = Duration.milliseconds(100)
        #expect(DeviceManager.onGrid(after: Instant(nanoseconds: 1_000_000_000), cycle: cycle) == Instant(nanoseconds: 1_100_000_000))
        #expect(DeviceManager.onGrid(after: Instant(nanoseconds: 1_099_999_999), cycle: cycle) == Instant(nanoseconds: 1_100_000_000))
        // A reading late by more than a cycle skips the missed ones.
        #expect(DeviceManager.onGrid(after: Instant(nanoseconds: 1_350_000_000), cycle: cycle) == Instant(nanoseconds: 1_400_000_000))
    }
}
