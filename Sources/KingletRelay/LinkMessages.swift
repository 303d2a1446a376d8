import KingletKube

/// Reads the agent's payloads (docs/protocol.md): JSON objects with `"v": 1`, at most
/// 256 KiB. Anything else is rejected with a reason the relay logs once and counts.
public enum LinkMessage {
    public enum Rejection: Error, Equatable, CustomStringConvertible {
        case tooLarge(Int)
        case notJSON(String)
        case wrongVersion
        case missingField(String)

        public var description: String {
            switch self {
            case .tooLarge(let size): return "payload of \(size) bytes is over the 256 KiB limit"
            case .notJSON(let why): return "payload is not a JSON object: \(why)"
            case .wrongVersion: return "payload has no \"v\": 1"
            case .missingField(let field): return "payload lacks \(field)"
            }
        }
    }

    /// A non-empty payload's object, checked for size and version.
    public static func decode(_ payload: [UInt8], requiring fields: [String] = []) -> Result<JSONValue, Rejection> {
        guard payload.count <= maximumPayloadSize else { return .failure(.tooLarge(payload.count)) }
        let value: JSONValue
        do {
            value = try JSONValue.parse(payload)
        } catch {
            return .failure(.notJSON(error.description))
        }
        guard value.objectValue != nil else { return .failure(.notJSON("not an object")) }
        guard value["v"]?.intValue == 1 else { return .failure(.wrongVersion) }
        for field in fields where value[field] == nil { return .failure(.missingField(field)) }
        return .success(value)
    }
}
