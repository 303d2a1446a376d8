import KingletNode
import Testing

@Suite struct NodeFactsTests {
    @Test func meminfoLoadavgAndPidMaxAreParsed() {
        var readings = NodeReadings()
        readings.parseMeminfo("MemTotal:        8029736 kB\nMemFree:         1000 kB\nMemAvailable:    5123456 kB\n")
        readings.parseLoadavg("0.37 0.37 0.41 1/87 5375\n")
        readings.parsePidMax("4194304\n")
        #expect(readings.memoryTotalKiB == 8_029_736)
        #expect(readings.memoryAvailableKiB == 5_123_456)
        #expect(readings.processesInUse == 87)
        #expect(readings.processLimit == 4_194_304)
    }

    @Test func osImageIsThePrettyNameUnquoted() {
        #expect(osImage(fromOSRelease: "NAME=\"Debian\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n") == "Debian GNU/Linux 12 (bookworm)")
        #expect(osImage(fromOSRelease: "PRETTY_NAME=Alpine\n") == "Alpine")
        #expect(osImage(fromOSRelease: "") == "Linux")
    }

    @Test func healthyReadingsGiveReadyAndNoPressure() {
        var readings = NodeReadings()
        readings.memoryTotalKiB = 1_000_000
        readings.memoryAvailableKiB = 500_000
        readings.filesystemTotalKiB = 1000
        readings.filesystemAvailableKiB = 500
        readings.processesInUse = 100
        readings.processLimit = 32768
        let conditions = NodeConditions.evaluate(readings, runtimeReady: true)
        #expect(conditions.map(\.type) == ["Ready", "MemoryPressure", "DiskPressure", "PIDPressure"])
        #expect(conditions.map(\.status) == [.isTrue, .isFalse, .isFalse, .isFalse])
    }

    @Test func pressureThresholdsFollowTheKubeletDefaults() {
        var readings = NodeReadings()
        readings.memoryTotalKiB = 1_000_000
        readings.memoryAvailableKiB = 100 * 1024 - 1
        readings.filesystemTotalKiB = 1000
        readings.filesystemAvailableKiB = 99
        readings.processesInUse = 900
        readings.processLimit = 1000
        let conditions = NodeConditions.evaluate(readings, runtimeReady: false, runtimeProblem: "runtime down")
        #expect(conditions.map(\.status) == [.isFalse, .isTrue, .isTrue, .isTrue])
        #expect(conditions[0].message == "runtime down")
        #expect(conditions[3].message == "900 of 1000 PIDs in use")
    }

    @Test func thisMachineReportsPlausibleFacts() {
        let facts = NodeFactsReader(stateFolder: "/tmp", podCapacity: 256, agentVersion: "0.1.0").facts(runtimeReady: true)
        #expect(facts.capacity.cpuCores >= 1)
        #expect(facts.capacity.memoryKiB > 0)
        #expect(facts.capacity.ephemeralStorageKiB > 0)
        #expect(facts.capacity.pods == 256)
        #expect(facts.info.architecture == "amd64")
        #expect(!facts.info.kernelVersion.isEmpty)
        #expect(facts.info.bootID.count == 36)
        #expect(facts.info.kubeletVersion == "kinglet-0.1.0")
    }
}
