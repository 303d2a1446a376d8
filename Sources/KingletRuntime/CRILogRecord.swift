/// One line of a CRI-format log file:
/// `<timestamp> <stdout|stderr> <F|P> <text>`.
public struct CRILogRecord: Equatable, Sendable {
    /// As written, RFC 3339.
    public let timestamp: String
    public let stream: LogStream
    /// A piece of a longer line ("P"); the line goes on in the next record of its stream.
    public let isPartial: Bool
    public let text: String

    public init(timestamp: String, stream: LogStream, isPartial: Bool, text: String) {
        self.timestamp = timestamp
        self.stream = stream
        self.isPartial = isPartial
        self.text = text
    }

    /// Parses one line (without its newline); nil when it is not in the CRI format.
    public init?(line: UnsafeRawBufferPointer) {
        let space = UInt8(ascii: " ")
        guard let first = line.firstIndex(of: space),
              let second = line[(first + 1)...].firstIndex(of: space) else { return nil }
        let streamName = line[(first + 1)..<second]
        let stream: LogStream
        if streamName.elementsEqual("stdout".utf8) {
            stream = .stdout
        } else if streamName.elementsEqual("stderr".utf8) {
            stream = .stderr
        } else {
            return nil
        }
        let tagIndex = second + 1
        guard tagIndex < line.count else { return nil }
        let tag = line[tagIndex]
        guard tag == UInt8(ascii: "F") || tag == UInt8(ascii: "P") else { return nil }
        // The text follows one space; a record for an empty line may end right after the tag.
        if tagIndex + 1 < line.count && line[tagIndex + 1] != space { return nil }
        let textStart = min(tagIndex + 2, line.count)
        self.timestamp = String(decoding: line[0..<first], as: UTF8.self)
        self.stream = stream
        self.isPartial = tag == UInt8(ascii: "P")
        self.text = String(decoding: line[textStart...], as: UTF8.self)
    }
}

/// One message of a container's output: a line, its partial records joined.
public struct LogMessage: Equatable, Sendable {
    /// The timestamp of the line's first record.
    public let timestamp: String
    public let stream: LogStream
    public let text: String

    public init(timestamp: String, stream: LogStream, text: String) {
        self.timestamp = timestamp
        self.stream = stream
        self.text = text
    }

    /// The message as `kinglet logs` prints it: "<text>\n", or "<timestamp> <text>\n".
    public func formatted(timestamps: Bool) -> String {
        (timestamps ? timestamp + " " : "") + text + "\n"
    }
}

/// Joins records into messages: a stream's partial records wait for the record that ends
/// their line. stdout and stderr are joined separately, as they were written.
public struct LogMessageAssembler: Sendable {
    private var pendingStdout: (timestamp: String, text: String)? = nil
    private var pendingStderr: (timestamp: String, text: String)? = nil

    public init() {}

    /// The finished message, if `record` ends a line.
    public mutating func add(_ record: CRILogRecord) -> LogMessage? {
        var pending = record.stream == .stdout ? pendingStdout : pendingStderr
        if var started = pending {
            started.text += record.text
            pending = started
        } else {
            pending = (record.timestamp, record.text)
        }
        var message: LogMessage? = nil
        if !record.isPartial, let done = pending {
            message = LogMessage(timestamp: done.timestamp, stream: record.stream, text: done.text)
            pending = nil
        }
        if record.stream == .stdout { pendingStdout = pending } else { pendingStderr = pending }
        return message
    }

    /// Lines whose end never came (the log stopped mid-line), oldest first.
    public mutating func flush() -> [LogMessage] {
        var messages: [LogMessage] = []
        if let rest = pendingStdout { messages.append(LogMessage(timestamp: rest.timestamp, stream: .stdout, text: rest.text)) }
        if let rest = pendingStderr { messages.append(LogMessage(timestamp: rest.timestamp, stream: .stderr, text: rest.text)) }
        if messages.count == 2 && messages[1].timestamp < messages[0].timestamp { messages.swapAt(0, 1) }
        pendingStdout = nil
        pendingStderr = nil
        return messages
    }
}
