/// Frames one HTTP/1.x response from the bytes of a connection, incrementally: the head
/// (status line and headers, at most `maxHeadBytes`), then the body by Content-Length,
/// by `Transfer-Encoding: chunked` (extensions and trailers read and ignored), or until
/// the connection closes. HEAD, 204 and 304 responses have no body; 1xx interim
/// responses are skipped.
///
/// `next` hands body bytes back as ranges of the caller's input, so the body is never
/// copied here.
struct HTTPResponseParser {
    enum Event: Equatable {
        /// Every byte of the input was used; give more.
        case needMore
        case head(HTTPResponseHead)
        /// Body bytes: this range of the input.
        case body(Range<Int>)
        /// The response is complete (bytes after it are ignored).
        case end
    }

    enum Failure: Error, Equatable {
        case malformed(String)
        case headTooLarge(Int)
        case closedBeforeResponse(bytesReceived: Int)
        case closedEarly(bodyBytesReceived: Int64, expected: Int64?)
    }

    private enum State: Equatable {
        case head
        case fixed(remaining: Int64)
        case chunkSize
        case chunkData(remaining: Int64)
        case chunkDataEnd(sawCR: Bool)
        case trailers
        case untilClose
        case complete
    }

    static let maxChunkLine = 4096

    let isHeadRequest: Bool
    let maxHeadBytes: Int
    private var state = State.head
    /// The head so far, or the current chunk-size or trailer line.
    private var pending: [UInt8] = []
    /// Where the current line of `pending` starts (head and trailers).
    private var lineStart = 0
    private var trailerBytes = 0
    private var headBytesReceived = 0
    private(set) var bodyBytesReceived: Int64 = 0
    private(set) var expectedBodyBytes: Int64? = nil
    private(set) var sawHead = false

    init(isHeadRequest: Bool, maxHeadBytes: Int) {
        self.isHeadRequest = isHeadRequest
        self.maxHeadBytes = maxHeadBytes
    }

    var isComplete: Bool { state == .complete }

    /// The next event from `input`, starting at `offset` (advanced past what was used).
    mutating func next(_ input: UnsafeRawBufferPointer, _ offset: inout Int) throws(Failure) -> Event {
        while true {
            switch state {
            case .complete:
                return .end
            case .head:
                if offset >= input.count { return .needMore }
                if let head = try takeHead(input, &offset) { return .head(head) }
            case .fixed(let remaining):
                let count = Int(min(Int64(input.count - offset), remaining))
                if count == 0 { return .needMore }
                let range = offset..<(offset + count)
                offset += count
                bodyBytesReceived += Int64(count)
                state = remaining == Int64(count) ? .complete : .fixed(remaining: remaining - Int64(count))
                return .body(range)
            case .untilClose:
                if offset >= input.count { return .needMore }
                let range = offset..<input.count
                bodyBytesReceived += Int64(input.count - offset)
                offset = input.count
                return .body(range)
            case .chunkSize:
                guard let line = try takeLine(input, &offset, limit: HTTPResponseParser.maxChunkLine, what: "chunk size line") else {
                    return .needMore
                }
                let size = try HTTPResponseParser.chunkSize(line)
                pending.removeAll(keepingCapacity: true)
                state = size == 0 ? .trailers : .chunkData(remaining: size)
                lineStart = 0
            case .chunkData(let remaining):
                let count = Int(min(Int64(input.count - offset), remaining))
                if count == 0 { return .needMore }
                let range = offset..<(offset + count)
                offset += count
                bodyBytesReceived += Int64(count)
                state = remaining == Int64(count) ? .chunkDataEnd(sawCR: false) : .chunkData(remaining: remaining - Int64(count))
                return .body(range)
            case .chunkDataEnd(let sawCR):
                if offset >= input.count { return .needMore }
                let byte = input[offset]
                offset += 1
                if byte == HTTPASCII.cr && !sawCR {
                    state = .chunkDataEnd(sawCR: true)
                } else if byte == HTTPASCII.lf {
                    state = .chunkSize
                } else {
                    throw .malformed("chunk data is not followed by CRLF (the chunk is longer than its size line said)")
                }
            case .trailers:
                guard let line = try takeLine(input, &offset, limit: max(0, maxHeadBytes - trailerBytes), what: "trailer section") else {
                    return .needMore
                }
                trailerBytes += line.count + 2
                pending.removeAll(keepingCapacity: true)
                if line.isEmpty { state = .complete }
            }
        }
    }

    /// The connection ended: `.end` when that completes the response (a body read until
    /// close, or one already complete), else the failure saying how far it got.
    mutating func endOfInput() throws(Failure) -> Event {
        switch state {
        case .complete, .untilClose:
            state = .complete
            return .end
        case .trailers:
            // Every body byte arrived (the last chunk was seen); only trailers were cut.
            state = .complete
            return .end
        case .head:
            throw .closedBeforeResponse(bytesReceived: headBytesReceived)
        case .fixed:
            throw .closedEarly(bodyBytesReceived: bodyBytesReceived, expected: expectedBodyBytes)
        case .chunkSize, .chunkData, .chunkDataEnd:
            throw .closedEarly(bodyBytesReceived: bodyBytesReceived, expected: nil)
        }
    }

    // MARK: head

    /// Reads head lines; the parsed head once its empty line arrived (interim 1xx
    /// responses are dropped and the next head read), nil when more input is needed.
    private mutating func takeHead(_ input: UnsafeRawBufferPointer, _ offset: inout Int) throws(Failure) -> HTTPResponseHead? {
        while offset < input.count {
            var end = offset
            while end < input.count && input[end] != HTTPASCII.lf { end += 1 }
            let found = end < input.count
            let stop = found ? end + 1 : end
            // The limit covers everything before the body: interim 1xx heads and stray blank
            // lines too, so a server cannot keep a request alive forever with them.
            if headBytesReceived + (stop - offset) > maxHeadBytes { throw .headTooLarge(maxHeadBytes) }
            pending.append(contentsOf: UnsafeRawBufferPointer(rebasing: input[offset..<stop]))
            headBytesReceived += stop - offset
            offset = stop
            guard found else { return nil }
            var length = pending.count - 1 - lineStart
            if length > 0 && pending[pending.count - 2] == HTTPASCII.cr { length -= 1 }
            if length > 0 {
                lineStart = pending.count
                continue
            }
            if lineStart == 0 {
                // An empty line before the status line (left by a sloppy earlier response).
                pending.removeAll(keepingCapacity: true)
                continue
            }
            let head = try parseHead()
            pending.removeAll(keepingCapacity: true)
            lineStart = 0
            if head.status < 200 {
                if head.status == 101 { throw .malformed("101 Switching Protocols was not asked for") }
                continue  // 100 Continue, 103 Early Hints: the real response follows
            }
            try frameBody(head)
            sawHead = true
            return head
        }
        return nil
    }

    private func parseHead() throws(Failure) -> HTTPResponseHead {
        var lines: [ArraySlice<UInt8>] = []
        var start = 0
        for index in 0..<pending.count where pending[index] == HTTPASCII.lf {
            var end = index
            if end > start && pending[end - 1] == HTTPASCII.cr { end -= 1 }
            lines.append(pending[start..<end])
            start = index + 1
        }
        // The last line is the empty one that ended the head.
        if lines.last?.isEmpty == true { lines.removeLast() }
        guard let statusLine = lines.first else { throw .malformed("empty response head") }
        let (minor, status, reason) = try HTTPResponseParser.parseStatusLine(statusLine)
        var headers = HTTPHeaders()
        var folded: [HTTPHeaderField] = []
        for line in lines.dropFirst() {
            guard let first = line.first else { continue }
            if first == HTTPASCII.space || first == HTTPASCII.tab {
                // obs-fold (RFC 9112 5.2): the line continues the previous field's value.
                guard !folded.isEmpty else { throw .malformed("the first header line starts with whitespace") }
                let more = String(decoding: HTTPASCII.trimmed(line), as: UTF8.self)
                folded[folded.count - 1].value += " " + more
                continue
            }
            guard let colon = line.firstIndex(of: HTTPASCII.colon) else {
                throw .malformed("header line " + HTTPASCII.quoted(line) + " has no colon")
            }
            let name = line[line.startIndex..<colon]
            if name.isEmpty { throw .malformed("header line " + HTTPASCII.quoted(line) + " has no name") }
            for byte in name where !HTTPASCII.isTokenByte(byte) {
                throw .malformed("header name " + HTTPASCII.quoted(name) + " is not a token")
            }
            let value = HTTPASCII.trimmed(line[(colon + 1)...])
            folded.append(HTTPHeaderField(name: String(decoding: name, as: UTF8.self), value: String(decoding: value, as: UTF8.self)))
        }
        for field in folded { headers.add(field.name, field.value) }
        return HTTPResponseHead(status: status, reason: reason, headers: headers, versionMinor: minor)
    }

    /// "HTTP/1.x SP 3DIGIT [SP reason]".
    static func parseStatusLine(_ line: ArraySlice<UInt8>) throws(Failure) -> (Int, Int, String) {
        let bytes = Array(line)
        let prefix = Array("HTTP/1.".utf8)
        let problem = Failure.malformed("the status line " + HTTPASCII.quoted(bytes) + " is not 'HTTP/1.x <3-digit status> <reason>'")
        guard bytes.count >= 12 else { throw problem }
        for index in 0..<prefix.count where bytes[index] != prefix[index] { throw problem }
        guard HTTPASCII.isDigit(bytes[7]), bytes[8] == HTTPASCII.space else { throw problem }
        var status = 0
        for index in 9..<12 {
            guard HTTPASCII.isDigit(bytes[index]) else { throw problem }
            status = status * 10 + Int(bytes[index] - 0x30)
        }
        guard status >= 100 else { throw problem }
        if bytes.count > 12 && bytes[12] != HTTPASCII.space { throw problem }
        let reason = bytes.count > 13 ? String(decoding: bytes[13...], as: UTF8.self) : ""
        return (Int(bytes[7] - 0x30), status, reason)
    }

    /// Decides how the body is framed (RFC 9112 6.3).
    private mutating func frameBody(_ head: HTTPResponseHead) throws(Failure) {
        if isHeadRequest || head.status == 204 || head.status == 304 {
            state = .complete
            expectedBodyBytes = 0
            return
        }
        let codings = head.values(of: "Transfer-Encoding")
        if !codings.isEmpty {
            // Only the last coding frames the body; anything but chunked runs to the close.
            var last: ArraySlice<UInt8> = []
            for value in codings {
                for part in Array(value.utf8).split(separator: UInt8(ascii: ","), omittingEmptySubsequences: true) {
                    let trimmed = HTTPASCII.trimmed(part)
                    if !trimmed.isEmpty { last = trimmed }
                }
            }
            state = HTTPASCII.equalIgnoringCase(String(decoding: last, as: UTF8.self), "chunked") ? .chunkSize : .untilClose
            return
        }
        let lengths = head.values(of: "Content-Length")
        if lengths.isEmpty {
            state = .untilClose
            return
        }
        var length: Int64? = nil
        for value in lengths {
            for part in Array(value.utf8).split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false) {
                let trimmed = HTTPASCII.trimmed(part)
                guard let number = HTTPASCII.decimal(trimmed) else {
                    throw .malformed("Content-Length " + HTTPASCII.quoted(trimmed) + " is not a number")
                }
                if let length, length != number {
                    throw .malformed("conflicting Content-Length values " + length.description + " and " + number.description)
                }
                length = number
            }
        }
        let total = length ?? 0
        expectedBodyBytes = total
        state = total == 0 ? .complete : .fixed(remaining: total)
    }

    // MARK: chunks

    /// A whole line (without CR LF) once its LF arrived, nil when more input is needed.
    private mutating func takeLine(_ input: UnsafeRawBufferPointer, _ offset: inout Int, limit: Int, what: String) throws(Failure) -> [UInt8]? {
        var end = offset
        while end < input.count && input[end] != HTTPASCII.lf { end += 1 }
        let found = end < input.count
        if pending.count + (end - offset) > limit {
            throw .malformed("the " + what + " is longer than " + limit.description + " bytes")
        }
        pending.append(contentsOf: UnsafeRawBufferPointer(rebasing: input[offset..<end]))
        offset = found ? end + 1 : end
        guard found else { return nil }
        if pending.last == HTTPASCII.cr { pending.removeLast() }
        return pending
    }

    /// chunk-size [ BWS ";" extension ]: the size, in hexadecimal.
    static func chunkSize(_ line: [UInt8]) throws(Failure) -> Int64 {
        var size: Int64 = 0
        var digits = 0
        var index = 0
        while index < line.count, let value = HTTPASCII.hexValue(line[index]) {
            if digits == 15 { throw .malformed("the chunk size " + HTTPASCII.quoted(line) + " is too large") }
            size = size * 16 + Int64(value)
            digits += 1
            index += 1
        }
        while index < line.count && (line[index] == HTTPASCII.space || line[index] == HTTPASCII.tab) { index += 1 }
        if digits == 0 || (index < line.count && line[index] != UInt8(ascii: ";")) {
            throw .malformed("the chunk size line " + HTTPASCII.quoted(line) + " is not hexadecimal")
        }
        return size
    }
}
