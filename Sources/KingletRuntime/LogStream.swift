/// Which of a container's output streams a log line came from.
public enum LogStream: Equatable, Sendable {
    case stdout
    case stderr

    /// The CRI log format's stream field.
    public var name: String {
        switch self {
        case .stdout: return "stdout"
        case .stderr: return "stderr"
        }
    }
}
