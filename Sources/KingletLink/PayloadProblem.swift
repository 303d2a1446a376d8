/// Why an incoming payload was skipped. Each kind is counted, and logged once per topic.
public enum PayloadProblem: String, CaseIterable, Equatable, Sendable {
    /// Larger than 256 KiB.
    case tooLarge
    /// Not a JSON object (or not UTF-8, or an empty index).
    case notJSON
    /// `v` is not 1.
    case wrongVersion
    /// A required field is absent.
    case missingField
    /// A field is present but wrong (type, hash, uid, an invalid pod).
    case invalid
    /// A topic under `desired/` this version does not know.
    case unknownTopic
}

/// A skipped payload: its kind and a one-line reason for the log.
public struct PayloadRejection: Error, Equatable {
    public var problem: PayloadProblem
    public var reason: String

    public init(_ problem: PayloadProblem, _ reason: String) {
        self.problem = problem
        self.reason = reason
    }

    public var description: String { problem.rawValue + ": " + reason }
}

/// Counts of skipped payloads per kind, and which topic+kind pairs were already logged.
public struct PayloadRejections {
    public private(set) var counts: [PayloadProblem: Int] = [:]
    private var logged: Set<String> = []
    /// A broker full of junk must not grow this set without end.
    static let maxLoggedPairs = 1024

    public init() {}

    public var total: Int { counts.values.reduce(0, +) }

    /// Counts the rejection; returns true when it is the first of its kind for this topic
    /// (the caller logs it then).
    public mutating func record(_ rejection: PayloadRejection, topic: String) -> Bool {
        counts[rejection.problem, default: 0] += 1
        let key = rejection.problem.rawValue + " " + topic
        if logged.contains(key) || logged.count >= PayloadRejections.maxLoggedPairs { return false }
        logged.insert(key)
        return true
    }
}
