import KingletDevices
import KingletDocument
import KingletLocalBus
import Testing

/// Visitor configData and topic filters, without a broker.
@Suite struct MQTTDeviceVisitorTests {
    func spec(_ configData: String, type: String = "FLOAT", access: String = "ReadWrite",
              protocolConfig: String = "") throws -> DeviceSpec {
        let properties: [(String, String, String, String, String?)] = [("value", type, access, configData, nil)]
        var text = LocalBusFixtures.mqtt("dev-1", properties)
        if !protocolConfig.isEmpty {
            text = text.replacingOccurrences(of: #""protocol":{"protocolName":"mqtt"}"#,
                                             with: #""protocol":{"protocolName":"mqtt","configData":\#(protocolConfig)}"#)
        }
        return try DeviceDocuments.decode(Array(text.utf8), uid: "u", specHash: 1, file: "dev.json")
    }

    func visitor(_ configData: String, type: String = "FLOAT", access: String = "ReadWrite") throws -> MQTTDeviceVisitor {
        let spec = try spec(configData, type: type, access: access)
        return try MQTTDeviceVisitor.decode(spec.properties[0].visitor, property: spec.properties[0])
    }

    func problem(_ configData: String, access: String = "ReadWrite") throws -> String {
        let spec = try spec(configData, access: access)
        do throws(DocumentError) {
            try MQTTDeviceDriver.validate(spec)
            return ""
        } catch {
            return error.description
        }
    }

    @Test func fieldAndJSONPathBothBecomeAPathAndTheFormatFollowsThem() throws {
        let dotted = try visitor(#"{"topic":"a/b","field":"env.t","commandTopic":"a/b/set","qos":0,"retain":true}"#)
        #expect(dotted.field == ["env", "t"] && dotted.commandFormat == .json && dotted.qos == 0 && dotted.retain)
        #expect(try visitor(#"{"topic":"a","jsonPath":"$.env.list[2].t"}"#).field == ["env", "list", "2", "t"])
        #expect(try visitor(#"{"topic":"a","jsonPath":"$['odd key']"}"#).field == ["odd key"])
        let whole = try visitor(#"{"topic":"a/+/t","dataType":"float"}"#)
        #expect(whole.field.isEmpty && whole.commandFormat == .raw && whole.qos == 1 && !whole.retain)
        #expect(try visitor(#"{"topic":"a","field":"t","commandTopic":"c","commandFormat":"raw"}"#).commandFormat == .raw)
    }

    @Test func badVisitorsNameTheFieldAndWhatIsExpected() throws {
        #expect(try problem(#"{"topik":"a"}"#).contains("unknown field 'topik'"))
        #expect(try problem(#"{"field":"t"}"#).contains("needs a topic (readings), a commandTopic (writes), or both"))
        #expect(try problem(#"{"topic":"a/#/b"}"#).contains("visitors.configData.topic: '#' must be a whole level, and the last one"))
        #expect(try problem(#"{"topic":"a","commandTopic":"c/+"}"#).contains("cannot hold the wildcards"))
        #expect(try problem(#"{"topic":"a","commandTopic":"c"}"#, access: "ReadOnly").contains("is ReadOnly in its DeviceModel"))
        #expect(try problem(#"{"topic":"a","qos":3}"#).contains("must be 0, 1 or 2"))
        #expect(try problem(#"{"topic":"a","jsonPath":"$..t"}"#).contains("expected a member name"))
        #expect(try problem(#"{"topic":"a","field":"t","jsonPath":"$.t"}"#).contains("either field or jsonPath"))
        #expect(try problem(#"{"topic":"a","commandFormat":"xml"}"#).contains("expected json or raw"))
        // Errors carry the file, line and column.
        #expect(try problem(#"{"topic":"a","qos":3}"#).hasPrefix("dev.json:1:"))
    }

    @Test func theBrokerIsTheBoardsSoProtocolConfigDataIsRefused() throws {
        let spec = try spec(#"{"topic":"a"}"#, protocolConfig: #"{"brokerURL":"tcp://x:1883"}"#)
        #expect(throws: DocumentError.self) { try MQTTDeviceDriver.validate(spec) }
    }

    @Test func topicFiltersMatchAsMQTTSays() {
        let cases: [(String, String, Bool)] = [
            ("a/b", "a/b", true), ("a/b", "a/c", false), ("a/b", "a/b/c", false), ("a/b/c", "a/b", false),
            ("a/+", "a/b", true), ("a/+", "a/b/c", false), ("a/+/c", "a/x/c", true), ("+/+", "a/b", true),
            ("a/#", "a", true), ("a/#", "a/b/c", true), ("#", "a/b", true), ("+", "", true), ("a/+", "a/", true),
            ("#", "$SYS/x", false), ("+/x", "$hw/x", false), ("$hw/#", "$hw/events/device/d/twin/update", true),
            ("sensors/thermo-1", "sensors/thermo-10", false),
        ]
        for (filter, topic, expected) in cases {
            #expect(LocalBusTopic.matches(filter: filter, topic: topic) == expected, "\(filter) vs \(topic)")
        }
    }
}
