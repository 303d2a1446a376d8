import CKingletSystem

/// How a process ended.
public enum ProcessExitStatus: Equatable, Sendable {
    /// It called exit (or returned from main) with this code.
    case exited(code: Int32)
    /// A signal killed it.
    case killed(signal: Int32, coreDumped: Bool)

    /// The exit code Kubernetes reports: the code, or 128 + the signal number.
    public var exitCode: Int32 {
        switch self {
        case .exited(let code): return code
        case .killed(let signal, _): return 128 + signal
        }
    }

    /// The killing signal, if any.
    public var signal: Int32? {
        if case .killed(let signal, _) = self { return signal }
        return nil
    }

    /// e.g. "exited with code 3", "killed by signal 9 (SIGKILL)".
    public var description: String {
        switch self {
        case .exited(let code):
            return "exited with code " + String(code)
        case .killed(let signal, let coreDumped):
            var text = "killed by signal " + String(signal)
            if let name = kinglet_signal_name(signal) { text += " (" + String(cString: name) + ")" }
            if coreDumped { text += ", core dumped" }
            return text
        }
    }
}
