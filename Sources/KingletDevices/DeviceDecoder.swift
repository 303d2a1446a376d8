import KingletCore
import KingletDocument
import KingletPod

/// Reads Devices and DeviceModels (devices.kubeedge.io/v1beta1) into `DeviceSpec`s, with
/// errors naming the file, line, column and field.
public enum DeviceDecoder {
    public static let apiVersion = "devices.kubeedge.io/v1beta1"
    /// A cycle longer than a day is taken for nanoseconds: KubeEdge's older samples wrote
    /// `collectCycle: 1000000000` for one second, while its mapper-framework reads
    /// milliseconds (and would wait 11 days).
    static let longestCycleMilliseconds: Int64 = 86_400_000
    static let defaultCycleMilliseconds: Int64 = 1_000
    /// Faster than 10 Hz per property is not a polling rate a serial bus sustains for long.
    static let shortestCycleMilliseconds: Int64 = 10

    /// A Device and the DeviceModel it names. `uid` is the Device's (or, for a headless
    /// board, one derived from its name); `specHash` the relay's or the config's.
    public static func decode(device: FieldReader, model: FieldReader, uid: String, specHash: UInt64,
                              sourceJSON: [UInt8]) throws(DocumentError) -> DeviceSpec {
        let deviceObject = try device.object()
        let modelObject = try model.object()
        try checkKind(deviceObject, "Device")
        try checkKind(modelObject, "DeviceModel")
        let metadata = try deviceObject.required("metadata").object()
        let name = try metadata.requiredString("name")
        let namespace = try metadata.string("namespace") ?? "default"
        let spec = try deviceObject.required("spec").object()
        let modelSpec = try modelObject.required("spec").object()
        let modelName = try modelObject.required("metadata").object().requiredString("name")
        if let reference = try spec.object("deviceModelRef"), let named = try reference.string("name"), named != modelName {
            throw try reference.required("name").error("names DeviceModel '\(named)', but the model given is '\(modelName)'")
        }

        let protocolSection = try spec.required("protocol").object()
        let protocolField = try protocolSection.required("protocolName")
        let protocolName = try protocolField.string()
        guard let kind = DeviceProtocolKind(rawValue: protocolName.lowercased()) else {
            throw protocolField.error("unsupported protocol '\(protocolName)' (expected one of: \(DeviceProtocolKind.names))")
        }
        let protocolConfig = DeviceConfigData(try protocolSection.object("configData"),
                                              path: protocolSection.reader.path + ".configData", file: device.file)

        var modelProperties: [String: (type: DevicePropertyType, writable: Bool, unit: String)] = [:]
        for item in try modelSpec.array("properties") {
            let property = try item.object()
            let propertyName = try property.requiredString("name")
            let typeField = try property.required("type")
            guard let type = DevicePropertyType.parse(try typeField.string()) else {
                throw typeField.error("unknown type (expected one of: INT, FLOAT, DOUBLE, STRING, BOOLEAN, BYTES)")
            }
            var writable = false
            if let access = property.field("accessMode") {
                switch try access.string() {
                case "ReadWrite": writable = true
                case "ReadOnly": writable = false
                default: throw access.error("expected ReadWrite or ReadOnly")
                }
            }
            modelProperties[propertyName] = (type, writable, try property.string("unit") ?? "")
        }

        var properties: [DevicePropertySpec] = []
        for item in try spec.array("properties") {
            let property = try item.object()
            let nameField = try property.required("name")
            let propertyName = try nameField.string()
            guard let model = modelProperties[propertyName] else {
                throw nameField.error("DeviceModel '\(modelName)' has no property '\(propertyName)'")
            }
            if properties.contains(where: { $0.name == propertyName }) { throw nameField.error("duplicate property '\(propertyName)'") }
            let desired = try property.object("desired").flatMap { desired throws(DocumentError) in try stringValue(desired.field("value")) }
            if desired != nil && !model.writable {
                throw nameField.error("property '\(propertyName)' has a desired value but is ReadOnly in its DeviceModel")
            }
            let collect = try cycle(property.field("collectCycle")) ?? defaultCycleMilliseconds
            // Unset, KubeEdge's mappers report once a second whatever the collect cycle
            // (mapper-framework's DefaultReportCycle): so do the $hw twin updates here.
            let report = try cycle(property.field("reportCycle")) ?? defaultCycleMilliseconds
            let visitors = try property.object("visitors")
            if let visitors, let visitorProtocol = try visitors.string("protocolName"), visitorProtocol.lowercased() != kind.rawValue {
                throw try visitors.required("protocolName").error("visitor protocol '\(visitorProtocol)' differs from the device's '\(protocolName)'")
            }
            let visitorPath = property.reader.path + ".visitors.configData"
            properties.append(DevicePropertySpec(
                name: propertyName, type: model.type, writable: model.writable, unit: model.unit, desired: desired,
                collectCycleMilliseconds: collect, reportCycleMilliseconds: report,
                visitor: DeviceConfigData(try visitors?.object("configData"), path: visitorPath, file: device.file)))
        }
        if properties.isEmpty { throw try spec.required("properties").error("a device needs at least one property") }

        var connection = JSONWriter(capacity: 512)
        connection.write(withoutDesired(spec.reader.node))
        connection.write(modelSpec.reader.node)
        return DeviceSpec(uid: uid, namespace: namespace, name: name, kind: kind, protocolConfig: protocolConfig,
                          properties: properties, specHash: specHash, connectionHash: FNV1a.hash(connection.bytes),
                          sourceJSON: sourceJSON)
    }

    static func checkKind(_ object: ObjectReader, _ kind: String) throws(DocumentError) {
        if let field = object.field("kind"), try field.string() != kind { throw field.error("expected kind \(kind)") }
        if let field = object.field("apiVersion"), try field.string() != apiVersion {
            throw field.error("expected apiVersion \(apiVersion)")
        }
    }

    static func stringValue(_ field: FieldReader?) throws(DocumentError) -> String? {
        guard let field else { return nil }
        switch field.node.value {
        case .string(let text): return text
        case .integer(let value): return String(value)
        case .double(let value): return String(value)
        case .bool(let value): return value ? "true" : "false"
        default: throw field.mismatch("a string")
        }
    }

    static func cycle(_ field: FieldReader?) throws(DocumentError) -> Int64? {
        guard let field else { return nil }
        var value = try field.integer()
        if value > longestCycleMilliseconds && value % 1_000_000 == 0 { value /= 1_000_000 }
        if value < shortestCycleMilliseconds || value > longestCycleMilliseconds {
            throw field.error("must be between \(shortestCycleMilliseconds) and \(longestCycleMilliseconds) milliseconds")
        }
        return value
    }

    /// The Device spec with every `properties[].desired` left out.
    static func withoutDesired(_ node: Node) -> Node {
        guard case .object(var members) = node.value else { return node }
        for index in members.indices where members[index].key == "properties" {
            guard case .array(var items) = members[index].node.value else { continue }
            for item in items.indices {
                guard case .object(let fields) = items[item].value else { continue }
                items[item].value = .object(fields.filter { $0.key != "desired" })
            }
            members[index].node.value = .array(items)
        }
        var copy = node
        copy.value = .object(members)
        return copy
    }
}
