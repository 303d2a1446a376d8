@testable import KingletAgent
import Testing

@Suite struct VersionReportTests {
    @Test func everyLinkedLibraryReportsADottedVersion() {
        let libraries = LinkedLibraries.all()
        #expect(libraries.map(\.name) == ["libmosquitto", "OpenSSL", "libmodbus", "libyaml", "libbluetooth", "zlib"])
        for library in libraries where library.name != "libbluetooth" {
            let parts = library.version.split(separator: ".")
            #expect(parts.count >= 3, "\(library.name) reported '\(library.version)'")
            #expect(parts.allSatisfy { Int($0) != nil }, "\(library.name) reported '\(library.version)'")
        }
    }

    @Test func bluetoothLibraryAnswersAtRunTime() {
        let bluetooth = LinkedLibraries.all().first { $0.name == "libbluetooth" }!
        #expect(bluetooth.version.hasPrefix("system (bluez exposes no version)") || bluetooth.version.hasPrefix("bluez "))
    }

    @Test func reportStartsWithNameVersionAndBuildMode() {
        let report = AgentMain.versionReport()
        #expect(report.hasPrefix("kinglet \(AgentVersion.number) (host, \(AgentVersion.architecture), dynamic)\n"))
        #expect(report.split(separator: "\n").count == 7)
    }

    @Test func logTimestampsAreRFC3339UTC() {
        #expect(AgentLog.timestamp(nanoseconds: 0) == "1970-01-01T00:00:00.000Z")
        // 2026-11-24T23:59:01.123Z
        #expect(AgentLog.timestamp(nanoseconds: 1_795_564_741_123_000_000) == "2026-11-24T23:59:01.123Z")
        // A leap day.
        #expect(AgentLog.timestamp(nanoseconds: 951_782_400_000_000_000) == "2000-02-29T00:00:00.000Z")
    }
}
