import CKingletSystem

/// A system call the runtime made failed.
public struct SystemError: Error, Equatable, Sendable {
    /// The call, e.g. "open".
    public let call: String
    /// The file it was about, if any.
    public let path: String?
    public let errno: Int32

    public init(call: String, path: String? = nil, errno: Int32) {
        self.call = call
        self.path = path
        self.errno = errno
    }

    /// The failure with the caller's errno, e.g. after `open` returned -1.
    static func last(_ call: String, path: String? = nil) -> SystemError {
        SystemError(call: call, path: path, errno: kinglet_errno())
    }

    /// strerror(errno).
    public var reason: String { String(cString: kinglet_strerror(errno)) }

    /// e.g. "open /var/log/pods/x.log: No such file or directory (errno 2)".
    public var description: String {
        var text = call
        if let path { text += " " + path }
        return text + ": " + reason + " (errno " + String(errno) + ")"
    }
}
