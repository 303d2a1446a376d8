/// A system call the loop made failed.
public struct LoopError: Error, Equatable, Sendable {
    /// The call that failed, e.g. "epoll_ctl(ADD)".
    public let call: String
    /// The errno it left.
    public let errno: Int32
    /// strerror(errno), filled in by the loop that saw the error.
    public let reason: String

    public init(call: String, errno: Int32, reason: String) {
        self.call = call
        self.errno = errno
        self.reason = reason
    }

    public var description: String { "\(call) failed: \(reason) (errno \(errno))" }
}
