/// How much log a container may keep (the kubelet's containerLogMaxSize and
/// containerLogMaxFiles) and how long a line may grow before it is split.
public struct LogLimits: Equatable, Sendable {
    /// A file is rotated before a line would take it past this size. A single line longer
    /// than this still goes whole into a fresh file.
    public var maxBytesPerFile: Int64
    /// Files kept, the one being written included: `name.log`, `name.log.1`, ...
    /// `name.log.<maxFiles - 1>`. 1 means the file is truncated instead of rotated.
    public var maxFiles: Int
    /// Bytes of one line held before it is written as a partial ("P") record. One buffer
    /// of this size per stream is allocated when the container starts.
    public var lineBufferBytes: Int

    public init(maxBytesPerFile: Int64 = 10 * 1024 * 1024, maxFiles: Int = 5, lineBufferBytes: Int = 16 * 1024) {
        self.maxBytesPerFile = max(maxBytesPerFile, 1)
        self.maxFiles = max(maxFiles, 1)
        self.lineBufferBytes = max(lineBufferBytes, 1)
    }
}
