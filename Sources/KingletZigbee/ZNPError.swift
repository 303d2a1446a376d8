/// What can be wrong with an MT frame or its payload. Received input with one of these is
/// counted and skipped, never trapped on.
public enum ZNPError: Error, Equatable, Sendable {
    /// A frame to send whose DATA exceeds the 250-byte MT limit.
    case dataTooLong(command: ZNPCommandID, length: Int)
    /// A payload shorter than its command's fields (or than a length byte inside it says).
    case truncated(command: ZNPCommandID, length: Int)
    /// A well-formed frame whose command this target does not decode.
    case unknownCommand(ZNPCommandID)

    public var description: String {
        switch self {
        case .dataTooLong(let command, let length):
            return command.description + ": " + String(length) + " data bytes, MT allows at most 250"
        case .truncated(let command, let length):
            return command.description + ": payload of " + String(length) + " bytes is too short for its fields"
        case .unknownCommand(let command):
            return command.description + ": command not handled"
        }
    }
}
