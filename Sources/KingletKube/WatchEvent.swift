/// One event of a watch stream.
public struct WatchEvent: Sendable {
    public enum Kind: String, Sendable {
        case added = "ADDED"
        case modified = "MODIFIED"
        case deleted = "DELETED"
        /// Only `metadata.resourceVersion` is meaningful: progress to resume from.
        case bookmark = "BOOKMARK"
        case error = "ERROR"
    }

    public var kind: Kind
    public var object: JSONValue

    public init(kind: Kind, object: JSONValue) {
        self.kind = kind
        self.object = object
    }
}

/// Splits a watch response body (one JSON object a line, in chunks cut anywhere) into
/// events. An ERROR event becomes a `KubeError` (`.gone` for 410, so the informer relists).
public struct WatchEventDecoder: Sendable {
    private var pending: [UInt8] = []

    public init() {}

    public mutating func feed(_ bytes: [UInt8]) -> [Result<WatchEvent, KubeError>] {
        var results: [Result<WatchEvent, KubeError>] = []
        var start = 0
        pending.append(contentsOf: bytes)
        while let newline = pending[start...].firstIndex(of: UInt8(ascii: "\n")) {
            let line = Array(pending[start..<newline])
            start = newline + 1
            if let result = Self.decode(line) { results.append(result) }
        }
        pending.removeFirst(start)
        return results
    }

    /// Decodes one line; nil for a blank one.
    public static func decode(_ line: [UInt8]) -> Result<WatchEvent, KubeError>? {
        guard line.contains(where: { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\r") && $0 != UInt8(ascii: "\t") }) else { return nil }
        let value: JSONValue
        do {
            value = try JSONValue.parse(line)
        } catch {
            return .failure(.decoding("watch event: \(error.description)"))
        }
        guard let type = value["type"]?.stringValue, let kind = WatchEvent.Kind(rawValue: type) else {
            return .failure(.decoding("watch event without a known type: \(String(decoding: line.prefix(200), as: UTF8.self))"))
        }
        let object = value["object"] ?? .null
        if kind == .error {
            let code = Int(object["code"]?.intValue ?? 0)
            let message = object["message"]?.stringValue ?? "watch error"
            if code == 410 { return .failure(.gone(message)) }
            return .failure(.status(code: code, reason: object["reason"]?.stringValue ?? "", message: message))
        }
        return .success(WatchEvent(kind: kind, object: object))
    }
}
