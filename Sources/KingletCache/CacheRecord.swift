/// What a cached record describes.
public enum RecordKind: UInt8, Equatable, Sendable {
    /// A pod as the relay sent it.
    case pod = 1
    /// A device's twin (desired and reported properties).
    case deviceTwin = 2

    public var description: String {
        switch self {
        case .pod: return "pod"
        case .deviceTwin: return "device-twin"
        }
    }
}

/// One record, copied out of the file (or ready to be written to it).
public struct CacheRecord: Equatable, Sendable {
    public var kind: RecordKind
    public var uid: String
    public var namespace: String
    public var name: String
    public var resourceVersion: String
    /// The agent's hash of the spec, compared on reconnect to skip unchanged pods.
    public var specHash: UInt64
    /// The spec JSON exactly as received.
    public var spec: [UInt8]
    /// The last known status JSON.
    public var status: [UInt8]

    public init(kind: RecordKind, uid: String, namespace: String, name: String, resourceVersion: String,
                specHash: UInt64, spec: [UInt8], status: [UInt8]) {
        self.kind = kind
        self.uid = uid
        self.namespace = namespace
        self.name = name
        self.resourceVersion = resourceVersion
        self.specHash = specHash
        self.spec = spec
        self.status = status
    }

    /// Bytes this record takes in a slot.
    public var encodedSize: Int {
        RecordEncoding.size(uid: uid.utf8.count, namespace: namespace.utf8.count, name: name.utf8.count,
                            resourceVersion: resourceVersion.utf8.count, spec: spec.count, status: status.count)
    }
}

/// A live record read in place from the mapping, without copying. Valid only inside the
/// closure that received it: the next commit may reuse or release its slot.
public struct CachedRecordView {
    public let kind: RecordKind
    /// The commit's generation: higher is newer.
    public let generation: UInt64
    public let specHash: UInt64
    public let uid: UnsafeRawBufferPointer
    public let namespace: UnsafeRawBufferPointer
    public let name: UnsafeRawBufferPointer
    public let resourceVersion: UnsafeRawBufferPointer
    public let spec: UnsafeRawBufferPointer
    public let status: UnsafeRawBufferPointer
    /// Bytes the record takes in its slot.
    public let encodedSize: Int
    /// The slot holding it.
    public let slot: Int

    /// A copy that outlives the view.
    public func copy() -> CacheRecord {
        CacheRecord(kind: kind, uid: String(decoding: uid, as: UTF8.self),
                    namespace: String(decoding: namespace, as: UTF8.self),
                    name: String(decoding: name, as: UTF8.self),
                    resourceVersion: String(decoding: resourceVersion, as: UTF8.self),
                    specHash: specHash, spec: [UInt8](spec), status: [UInt8](status))
    }
}
