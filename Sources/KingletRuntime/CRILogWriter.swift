import CKingletSystem
import KingletCore

/// Writes container output in the CRI log format the kubelet reads:
/// `<RFC 3339 UTC, nanoseconds> <stdout|stderr> <F|P> <text>\n`, where P marks a piece of a
/// line longer than the line buffer and F the piece that ends it. The timestamp is always
/// nine fraction digits (fixed width, so lines sort as text; RFC3339Nano parsers accept it).
final class CRILogWriter {
    private let file: RotatingLogFile
    /// One record is assembled here; its capacity is reserved at the first record (a
    /// container that never writes never holds it).
    private var record: [UInt8] = []
    private let recordCapacity: Int

    init(file: RotatingLogFile, lineBufferBytes: Int) {
        self.file = file
        recordCapacity = lineBufferBytes + 64
    }

    var lastError: SystemError? { file.lastError }

    /// Writes one record for `text` (without its newline).
    func write(_ stream: LogStream, partial: Bool, text: UnsafeRawBufferPointer, at nanoseconds: Int64) {
        if record.capacity == 0 { record.reserveCapacity(recordCapacity) }
        record.removeAll(keepingCapacity: true)
        UTCTimestamp.append(nanoseconds: nanoseconds, fractionDigits: 9, to: &record)
        record.append(UInt8(ascii: " "))
        record.append(contentsOf: stream.name.utf8)
        record.append(UInt8(ascii: " "))
        record.append(partial ? UInt8(ascii: "P") : UInt8(ascii: "F"))
        record.append(UInt8(ascii: " "))
        record.append(contentsOf: text)
        record.append(UInt8(ascii: "\n"))
        record.withUnsafeBytes { file.append($0) }
    }

    func close() { file.close() }
}
