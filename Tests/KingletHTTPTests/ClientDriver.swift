import COpenSSL
import Foundation
import KingletCore
import KingletEpoll
@testable import KingletHTTP

/// What one request came to, gathered on the loop's thread and handed back to the test.
struct Fetched: Sendable {
    var head: HTTPResponseHead?
    var body: [UInt8] = []
    var bodyCount = 0
    var sha256 = ""
    var largestChunk = 0
    var chunkCallbacks = 0
    var finished = false
    var error: HTTPClientError?
    /// finished() and failed() calls together: exactly one is the contract.
    var outcomes = 0
    /// Any handler call made from inside send().
    var calledInsideSend = false
    /// Requests the client still counted once the outcome arrived.
    var activeAfter = 0
    /// The loop's longest single dispatch during the request.
    var longestDispatch = Duration.zero
    var elapsed = Duration.zero
    /// Events out of order (a body before the head, anything after the outcome).
    var protocolViolations: [String] = []

    var bodyText: String { String(decoding: body, as: UTF8.self) }
}

/// Records a request's callbacks, optionally keeping the body, always hashing it.
final class Recorder: HTTPResponseHandler {
    var fetched = Fetched()
    var insideSend = false
    let keepBody: Bool
    let wantBody: Bool
    private let digest = EVP_MD_CTX_new()

    init(keepBody: Bool = true, wantBody: Bool = true) {
        self.keepBody = keepBody
        self.wantBody = wantBody
        EVP_DigestInit_ex(digest, EVP_sha256(), nil)
    }

    deinit { EVP_MD_CTX_free(digest) }

    var done: Bool { fetched.outcomes > 0 }

    func response(_ head: HTTPResponseHead) -> Bool {
        if insideSend { fetched.calledInsideSend = true }
        if fetched.head != nil { fetched.protocolViolations.append("second head") }
        if done { fetched.protocolViolations.append("head after the outcome") }
        fetched.head = head
        return wantBody
    }

    func body(_ bytes: UnsafeRawBufferPointer) {
        if insideSend { fetched.calledInsideSend = true }
        if fetched.head == nil { fetched.protocolViolations.append("body before the head") }
        if done { fetched.protocolViolations.append("body after the outcome") }
        fetched.bodyCount += bytes.count
        fetched.chunkCallbacks += 1
        fetched.largestChunk = max(fetched.largestChunk, bytes.count)
        if keepBody { fetched.body.append(contentsOf: bytes) }
        EVP_DigestUpdate(digest, bytes.baseAddress, bytes.count)
    }

    func finished() {
        if insideSend { fetched.calledInsideSend = true }
        fetched.finished = true
        fetched.outcomes += 1
        var out = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        EVP_DigestFinal_ex(digest, &out, &length)
        fetched.sha256 = hex(out)
    }

    func failed(_ error: HTTPClientError) {
        if insideSend { fetched.calledInsideSend = true }
        fetched.error = error
        fetched.outcomes += 1
    }
}

func hex(_ bytes: [UInt8]) -> String {
    bytes.map { String(format: "%02x", $0) }.joined()
}

func sha256(_ bytes: [UInt8]) -> String {
    var out = [UInt8](repeating: 0, count: 32)
    let context = EVP_MD_CTX_new()
    defer { EVP_MD_CTX_free(context) }
    var length: UInt32 = 0
    EVP_DigestInit_ex(context, EVP_sha256(), nil)
    EVP_DigestUpdate(context, bytes, bytes.count)
    EVP_DigestFinal_ex(context, &out, &length)
    return hex(out)
}

/// The bytes the test servers send for a body of `count` bytes: not a repeating block, so a
/// dropped or doubled chunk changes the hash.
func patternBytes(_ range: Range<Int>) -> [UInt8] {
    [UInt8](unsafeUninitializedCapacity: range.count) { buffer, count in
        var index = range.lowerBound
        for slot in 0..<range.count {
            buffer[slot] = UInt8(truncatingIfNeeded: (index &* 2_654_435_761) >> 13)
            index += 1
        }
        count = range.count
    }
}

/// Runs `body` on a thread of its own: the loop blocks its thread, and the in-process
/// servers need the cooperative pool (only as many threads as CPUs) to answer.
func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread {
            continuation.resume(with: Result { try body() })
        }
        thread.stackSize = 8 << 20
        thread.start()
    }
}

/// Sends `requests` on one client on a real epoll loop and runs the loop in bounded turns
/// until every request has its outcome (or `seconds` pass).
func fetchAll(_ requests: [HTTPRequest], settings: HTTPClientSettings = HTTPClientSettings(),
              keepBody: Bool = true, wantBody: Bool = true, within seconds: Int64 = 30) async throws -> [Fetched] {
    try await onOwnThread {
        let loop = try EpollEventLoop()
        let client = HTTPClient(loop: loop, settings: settings)
        var recorders: [Recorder] = []
        let started = loop.now
        for request in requests {
            let recorder = Recorder(keepBody: keepBody, wantBody: wantBody)
            recorder.insideSend = true
            client.send(request, handler: recorder)
            recorder.insideSend = false
            recorders.append(recorder)
        }
        let giveUp = loop.now.advanced(by: .seconds(seconds))
        while recorders.contains(where: { !$0.done }) && loop.now < giveUp {
            try loop.runOnce(timeoutMilliseconds: 50)
        }
        let elapsed = loop.now.since(started)
        // A few more turns: a late second outcome or a stray callback would show here.
        for _ in 0..<3 { try loop.runOnce(timeoutMilliseconds: 5) }
        return recorders.map { recorder in
            var fetched = recorder.fetched
            fetched.activeAfter = client.activeRequestCount
            fetched.longestDispatch = loop.longestDispatch
            fetched.elapsed = elapsed
            return fetched
        }
    }
}

func fetch(_ request: HTTPRequest, settings: HTTPClientSettings = HTTPClientSettings(), keepBody: Bool = true,
           wantBody: Bool = true, within seconds: Int64 = 30) async throws -> Fetched {
    try await fetchAll([request], settings: settings, keepBody: keepBody, wantBody: wantBody, within: seconds)[0]
}

func get(_ url: String, method: String = "GET", headers: HTTPHeaders = HTTPHeaders()) throws -> HTTPRequest {
    HTTPRequest(method: method, url: try HTTPURL(url), headers: headers)
}
