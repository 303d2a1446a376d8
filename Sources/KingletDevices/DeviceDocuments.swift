import KingletCore
import KingletDocument
import KingletPod

/// Device specs and twins as JSON: the relay's `desired/devices/<uid>` payloads and the
/// cache's device records (both `{"device": ..., "model": ...}`), and the twin in the shape
/// of the Device's `status` (docs/protocol.md, `status/devices/<uid>`).
public enum DeviceDocuments {
    /// A document with `device` and `model` members (other members are ignored).
    public static func decode(_ bytes: [UInt8], uid: String, specHash: UInt64, file: String) throws(DocumentError) -> DeviceSpec {
        let root = FieldReader(try JSONReader(maxDepth: 48).parseDocument(bytes, file: file), file: file)
        let object = try root.object()
        return try DeviceDecoder.decode(device: try object.required("device"), model: try object.required("model"), uid: uid,
                                        specHash: specHash, sourceJSON: bytes)
    }

    /// Writes `state`, `lastOnlineTime` and `twins` (members only: the caller opens and
    /// closes the object). Values are strings and timestamps Unix milliseconds as strings,
    /// as KubeEdge's twins carry them.
    public static func writeStatusMembers(_ twin: DeviceTwin, spec: DeviceSpec, to writer: inout JSONWriter,
                                          scratch: inout [UInt8]) {
        writer.key("state"); writer.string(twin.state.rawValue)
        if twin.lastOnlineAt > 0 {
            scratch.removeAll(keepingCapacity: true)
            UTCTimestamp.append(nanoseconds: twin.lastOnlineAt * 1_000_000, fractionDigits: 0, to: &scratch)
            writer.key("lastOnlineTime"); writer.stringBytes(scratch)
        }
        writer.key("twins")
        writer.beginArray()
        for (index, property) in spec.properties.enumerated() where index < twin.properties.count {
            let state = twin.properties[index]
            writer.beginObject()
            writer.key("propertyName"); writer.string(property.name)
            if let reported = state.reported {
                writer.key("reported")
                writer.beginObject()
                scratch.removeAll(keepingCapacity: true)
                reported.twinText(into: &scratch)
                writer.key("value"); writer.stringBytes(scratch)
                writeMetadata(at: state.reportedAt, type: property.type, to: &writer)
                writer.endObject()
            }
            if let observed = state.observedDesired {
                writer.key("observedDesired")
                writer.beginObject()
                writer.key("value"); writer.string(observed)
                writeMetadata(at: state.observedDesiredAt, type: property.type, to: &writer)
                writer.endObject()
            }
            writer.endObject()
        }
        writer.endArray()
    }

    static func writeMetadata(at milliseconds: Int64, type: DevicePropertyType, to writer: inout JSONWriter) {
        writer.key("metadata")
        writer.beginObject()
        writer.key("timestamp"); writer.integerString(milliseconds)
        writer.key("type"); writer.string(type.rawValue)
        writer.endObject()
    }

    /// The twin kept in the cache, read back after a restart; nil when it does not decode
    /// (the device then starts with an empty twin).
    public static func restoreTwin(_ bytes: [UInt8], spec: DeviceSpec) -> DeviceTwin? {
        guard !bytes.isEmpty else { return nil }
        do throws(DocumentError) {
            let object = try FieldReader(try JSONReader(maxDepth: 16).parseDocument(bytes)).object()
            var twin = DeviceTwin(propertyCount: spec.properties.count)
            for item in try object.array("twins") {
                let entry = try item.object()
                guard let index = spec.propertyIndex(try entry.requiredString("propertyName")) else { continue }
                let type = spec.properties[index].type
                if let reported = try entry.object("reported"), let text = try reported.string("value") {
                    twin.properties[index].reported = DeviceValue.parse(text, as: type)
                    twin.properties[index].reportedAt = timestamp(try reported.object("metadata"))
                }
                if let observed = try entry.object("observedDesired"), let text = try observed.string("value") {
                    twin.properties[index].observedDesired = text
                    twin.properties[index].observedDesiredAt = timestamp(try observed.object("metadata"))
                }
            }
            return twin
        } catch {
            return nil
        }
    }

    static func timestamp(_ metadata: ObjectReader?) -> Int64 {
        guard let metadata, let text = try? metadata.string("timestamp") else { return 0 }
        return Int64(text) ?? 0
    }
}
