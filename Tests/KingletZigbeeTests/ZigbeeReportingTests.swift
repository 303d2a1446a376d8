import KingletConfig
import KingletDevices
import KingletDocument
import KingletZigbee
import Testing

/// A property's `reporting` visitor field: what is checked, and the Configure Reporting
/// record it becomes.
@Suite struct ZigbeeReportingTests {
    static func visitors(_ configData: String) throws(DocumentError) -> [ZigbeeVisitor] {
        let text = """
        devices:
          - apiVersion: devices.kubeedge.io/v1beta1
            kind: DeviceModel
            metadata: {name: sensor}
            spec:
              protocol: zigbee
              properties:
                - {name: value, type: FLOAT, accessMode: ReadOnly}
          - apiVersion: devices.kubeedge.io/v1beta1
            kind: Device
            metadata: {name: sensor-1}
            spec:
              deviceModelRef: {name: sensor}
              protocol: {protocolName: zigbee, configData: {ieeeAddress: "00:12:4b:00:1c:a1:00:02"}}
              properties:
                - name: value
                  visitors: {protocolName: zigbee, configData: \(configData)}
        """
        let config = try ConfigDecoder.decode(try YAMLReader().parseDocument(text, file: "kinglet.yaml"), file: "kinglet.yaml",
                                              defaultNodeName: "edge-1")
        return try ZigbeeDeviceDriver.parse(config.devices.specs[0]).1
    }

    static func problem(_ configData: String) -> String {
        do {
            _ = try visitors(configData)
            return ""
        } catch {
            return error.description
        }
    }

    @Test func temperatureChangeIsSentInHundredthsOfADegree() throws {
        let visitor = try Self.visitors("{cluster: temperature, reporting: {minimumInterval: 5, maximumInterval: 600, reportableChange: 0.25}}")[0]
        let record = try #require(visitor.reporting?.record(cluster: visitor.cluster, attribute: visitor.attribute))
        #expect(record == ZCLReportingConfiguration(attribute: 0, type: .int16, minimumInterval: 5, maximumInterval: 600,
                                                    reportableChange: .int16(25)))
    }

    @Test func discreteAttributesCarryNoChangeAndDefaultsApply() throws {
        let visitor = try Self.visitors("{cluster: onOff, reporting: {reportableChange: 1}}")[0]
        let record = try #require(visitor.reporting?.record(cluster: visitor.cluster, attribute: visitor.attribute))
        #expect(record == ZCLReportingConfiguration(attribute: 0, type: .bool, minimumInterval: 1, maximumInterval: 300,
                                                    reportableChange: nil))
    }

    @Test func batteryPercentageCountsHalfPercentSteps() throws {
        let visitor = try Self.visitors("{cluster: powerConfiguration, attribute: 0x0021, reporting: {maximumInterval: 3600, reportableChange: 2}}")[0]
        #expect(visitor.reporting?.record(cluster: visitor.cluster, attribute: visitor.attribute)?.reportableChange == .uint8(4))
    }

    @Test func noReportingFieldMeansNoConfiguration() throws {
        #expect(try Self.visitors("{cluster: temperature}")[0].reporting == nil)
    }

    @Test func badReportingSettingsAreNamedWithTheirField() {
        #expect(Self.problem("{cluster: temperature, reporting: {minimumInterval: 60, maximumInterval: 10}}")
            .contains("maximumInterval: must be at least minimumInterval (60)"))
        #expect(Self.problem("{cluster: temperature, reporting: {every: 10}}").contains("unknown field 'every'"))
        #expect(Self.problem("{cluster: temperature, reporting: {reportableChange: -1}}").contains("at least 0"))
        #expect(Self.problem("{cluster: 0xFC00, attribute: 1, reporting: {maximumInterval: 60}}")
            .contains("reporting can be configured only for attributes Kinglet knows the type of"))
        #expect(Self.problem("{cluster: temperature, reporting: {maximumInterval: 70000}}").contains("0 to 65535"))
    }
}
