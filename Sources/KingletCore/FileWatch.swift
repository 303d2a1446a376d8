/// A watched file descriptor's interest and handler, as every loop keeps them.
public struct FileWatch {
    public var interest: IOInterest
    public let handler: (IOReadiness) -> Void

    public init(interest: IOInterest, handler: @escaping (IOReadiness) -> Void) {
        self.interest = interest
        self.handler = handler
    }

    /// The part of `readiness` this watch should hear: what it asked for, plus hang-ups and
    /// errors, which a handler must always see or it would spin on a dead descriptor.
    public func relevant(_ readiness: IOReadiness) -> IOReadiness {
        var asked: IOReadiness = [.hangup, .error]
        if interest.contains(.readable) { asked.insert(.readable) }
        if interest.contains(.writable) { asked.insert(.writable) }
        return readiness.intersection(asked)
    }
}
