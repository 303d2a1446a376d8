import KingletCore
import KingletDevices
import KingletDocument
import KingletPod

/// The config's `devices:` section: the board's own devices, for a headless board (and
/// beside the relay's), as the same Device and DeviceModel manifests kubectl would apply.
public struct DeviceSettings {
    public var specs: [DeviceSpec] = []
    /// The board's local MQTT broker: MQTT devices live there, and every reading is also
    /// published on KubeEdge's `$hw/events/device/...` topics (docs/devices.md). Nil: none.
    public var localBroker: BrokerAddress?
    /// The board's ZigBee coordinator (`devices.zigbee`) and Bluetooth controller
    /// (`devices.ble`), decoded by their drivers (the agent checks them at start).
    public var zigbee: DeviceConfigData?
    public var ble: DeviceConfigData?

    public init() {}
}

enum ConfigDevices {
    /// `devices:` is either a list of manifests, or `{localBroker:, manifests: [...]}`.
    static func decode(_ field: FieldReader, file: String) throws(DocumentError) -> DeviceSettings {
        var settings = DeviceSettings()
        var manifests: [FieldReader] = []
        if case .array = field.node.value {
            manifests = try field.array()
        } else {
            let object = try field.object()
            try ConfigDecoder.rejectUnknown(object, allowed: ["localBroker", "zigbee", "ble", "manifests"])
            if let zigbee = try object.object("zigbee") {
                settings.zigbee = DeviceConfigData(zigbee, path: zigbee.reader.path, file: file)
            }
            if let ble = try object.object("ble") {
                settings.ble = DeviceConfigData(ble, path: ble.reader.path, file: file)
            }
            if let brokerField = object.field("localBroker") {
                switch BrokerAddress.parse(try brokerField.string()) {
                case .success(let address):
                    if address.useTLS { throw brokerField.error("the local broker is reached over plain MQTT (mqtt://)") }
                    settings.localBroker = address
                case .failure(let error): throw brokerField.error(error.message)
                }
            }
            manifests = try object.array("manifests")
        }
        var models: [String: FieldReader] = [:]
        var devices: [FieldReader] = []
        for manifest in manifests {
            let object = try manifest.object()
            let kindField = try object.required("kind")
            let metadata = try object.required("metadata").object()
            let name = try metadata.requiredString("name")
            let namespace = try metadata.string("namespace") ?? "default"
            switch try kindField.string() {
            case "DeviceModel":
                if models[namespace + "/" + name] != nil { throw kindField.error("DeviceModel \(namespace)/\(name) is listed twice") }
                models[namespace + "/" + name] = manifest
            case "Device": devices.append(manifest)
            default: throw kindField.error("expected Device or DeviceModel")
            }
        }
        var seen = Set<String>()
        for device in devices {
            let object = try device.object()
            let metadata = try object.required("metadata").object()
            let name = try metadata.requiredString("name")
            let namespace = try metadata.string("namespace") ?? "default"
            if !seen.insert(namespace + "/" + name).inserted { throw device.error("Device \(namespace)/\(name) is listed twice") }
            let reference = try object.required("spec").object().required("deviceModelRef").object()
            let modelName = try reference.requiredString("name")
            guard let model = models[namespace + "/" + modelName] else {
                throw try reference.required("name").error("no DeviceModel \(namespace)/\(modelName) in the config")
            }
            var source = JSONWriter(capacity: 1024)
            source.beginObject()
            source.key("device"); source.write(device.node)
            source.key("model"); source.write(model.node)
            source.endObject()
            // Like static pods: a uid from the name, a hash from the content.
            let uid = "device-" + FNV1a.hex(FNV1a.hash(Array(("config/" + namespace + "/" + name).utf8)))
            settings.specs.append(try DeviceDecoder.decode(device: device, model: model, uid: uid,
                                                           specHash: FNV1a.hash(source.bytes), sourceJSON: source.bytes))
        }
        return settings
    }
}
