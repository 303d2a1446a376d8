import CZlib

/// A streaming gzip inflater with a fixed output window: input goes in as it arrives and
/// comes out at most `windowSize` bytes at a time, so a layer never sits whole in memory.
/// Concatenated gzip members (what `pigz` and some registries' tools write) are one stream,
/// as gzip(1) reads them.
final class GzipInflater {
    static let windowSize = 64 * 1024

    /// zlib keeps a pointer back to its z_stream: it must not move, so it lives on the heap.
    private let stream: UnsafeMutablePointer<z_stream>
    private let window: UnsafeMutableRawBufferPointer
    private var initialized = false
    /// True between members: the last inflate call returned Z_STREAM_END.
    private(set) var atMemberEnd = false
    /// Whether any member has begun (an empty input is not a gzip stream).
    private(set) var started = false

    init() throws(LayerError) {
        stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        window = UnsafeMutableRawBufferPointer.allocate(byteCount: GzipInflater.windowSize, alignment: 16)
        // 16 + MAX_WBITS: a gzip wrapper (not zlib's), with the largest window deflate uses.
        let result = inflateInit2_(stream, 16 + MAX_WBITS, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard result == Z_OK else {
            throw LayerError.corruptGzip("inflateInit2 failed (zlib error " + result.description + ")")
        }
        initialized = true
    }

    deinit {
        if initialized { inflateEnd(stream) }
        stream.deinitialize(count: 1)
        stream.deallocate()
        window.deallocate()
    }

    /// Inflates all of `input`, calling `output` with each window of uncompressed bytes
    /// (valid only during the call).
    func inflate(_ input: UnsafeRawBufferPointer,
                 _ output: (UnsafeRawBufferPointer) throws(LayerError) -> Void) throws(LayerError) {
        guard let base = input.baseAddress, input.count > 0 else { return }
        var offset = 0
        while offset < input.count {
            if atMemberEnd {
                // Another member follows the one that ended.
                guard inflateReset(stream) == Z_OK else { throw LayerError.corruptGzip("inflateReset failed") }
                atMemberEnd = false
            }
            started = true
            let chunk = min(input.count - offset, 1 << 30)
            stream.pointee.next_in = UnsafeMutablePointer(mutating: base.advanced(by: offset).assumingMemoryBound(to: Bytef.self))
            stream.pointee.avail_in = uInt(chunk)
            while true {
                stream.pointee.next_out = window.baseAddress!.assumingMemoryBound(to: Bytef.self)
                stream.pointee.avail_out = uInt(window.count)
                let result = CZlib.inflate(stream, Z_NO_FLUSH)
                let produced = window.count - Int(stream.pointee.avail_out)
                if produced > 0 {
                    try output(UnsafeRawBufferPointer(start: window.baseAddress, count: produced))
                }
                switch result {
                case Z_OK:
                    break
                case Z_STREAM_END:
                    atMemberEnd = true
                case Z_BUF_ERROR:
                    // No progress possible: all input taken and the window was not filled.
                    break
                case Z_NEED_DICT:
                    throw LayerError.corruptGzip("the stream asks for a preset dictionary")
                case Z_MEM_ERROR:
                    throw LayerError.corruptGzip("zlib is out of memory")
                default:
                    throw LayerError.corruptGzip(message(result))
                }
                if atMemberEnd { break }
                if stream.pointee.avail_in == 0 && stream.pointee.avail_out > 0 { break }
                if result == Z_BUF_ERROR { break }
            }
            offset += chunk - Int(stream.pointee.avail_in)
            if !atMemberEnd && stream.pointee.avail_in > 0 {
                throw LayerError.corruptGzip("zlib stopped with input left")
            }
        }
        stream.pointee.next_in = nil
        stream.pointee.avail_in = 0
    }

    private func message(_ code: Int32) -> String {
        if let text = stream.pointee.msg { return String(cString: text) }
        return "zlib error " + code.description
    }
}
