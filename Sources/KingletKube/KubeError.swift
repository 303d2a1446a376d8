/// What went wrong talking to the API server. `status` errors carry the reason and
/// message from the API's Status body, so logs say what the server said.
public enum KubeError: Error, CustomStringConvertible, Sendable, Equatable {
    /// 404: the object (or its namespace) does not exist.
    case notFound(String)
    /// 409: a resourceVersion or uid precondition failed, or the object already exists.
    case conflict(String)
    /// 410: the resourceVersion is too old to watch from; relist.
    case gone(String)
    /// Any other HTTP error status, with the Status body's message.
    case status(code: Int, reason: String, message: String)
    /// The request never got an HTTP answer (connection refused, TLS, timeout...).
    case transport(String)
    /// The answer was not the JSON expected.
    case decoding(String)

    public var description: String {
        switch self {
        case .notFound(let message): return "not found: \(message)"
        case .conflict(let message): return "conflict: \(message)"
        case .gone(let message): return "gone (resource version too old): \(message)"
        case .status(let code, let reason, let message): return "HTTP \(code) \(reason): \(message)"
        case .transport(let message): return "cannot reach the API server: \(message)"
        case .decoding(let message): return "unreadable answer from the API server: \(message)"
        }
    }

    /// The typed error for an HTTP status and its body (a `Status` object when the API
    /// server wrote one).
    public static func from(code: Int, body: [UInt8]) -> KubeError {
        var reason = ""
        var message = String(decoding: body.prefix(500), as: UTF8.self)
        if let status = try? JSONValue.parse(body), status["kind"]?.stringValue == "Status" {
            reason = status["reason"]?.stringValue ?? ""
            message = status["message"]?.stringValue ?? message
        }
        switch code {
        case 404: return .notFound(message)
        case 409: return .conflict(message)
        case 410: return .gone(message)
        default: return .status(code: code, reason: reason, message: message)
        }
    }
}

/// A kubeconfig or in-cluster configuration that cannot be used.
public struct KubeConfigError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
