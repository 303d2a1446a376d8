import CModbus
import Glibc

/// Why the simulator could not start (or a map could not be read). Input errors name the
/// file and the key path inside it.
public enum SimulatorError: Error, Equatable, CustomStringConvertible {
    /// The map file is unreadable or wrong at `position` (a key path such as `dynamic[1].period`).
    case map(file: String, position: String, message: String)
    /// A system call failed.
    case system(operation: String, errno: Int32)
    /// A libmodbus call failed (libmodbus reports through errno, with its own codes above MODBUS_ENOBASE).
    case modbus(operation: String, errno: Int32)
    /// The `--link` path cannot be made a symbolic link.
    case link(path: String, message: String)

    public var description: String {
        switch self {
        case .map(let file, let position, let message):
            return "\(file): at \(position): \(message)"
        case .system(let operation, let code):
            return "\(operation): \(String(cString: strerror(code)))"
        case .modbus(let operation, let code):
            return "\(operation): \(String(cString: modbus_strerror(code)))"
        case .link(let path, let message):
            return "--link \(path): \(message)"
        }
    }
}
