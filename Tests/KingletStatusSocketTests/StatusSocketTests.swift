import Foundation
import KingletCore
import KingletEpoll
import KingletStatusSocket
import Testing

@Suite struct StatusSocketTests {
    private func socketPath() -> String {
        NSTemporaryDirectory() + "kinglet-status-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).sock"
    }

    /// Runs the client on another thread (it blocks) while this thread drives the loop.
    private func exchange(_ line: String, server path: String, loop: EpollEventLoop) throws -> Result<[UInt8], StatusSocketError> {
        let done = Box<Result<[UInt8], StatusSocketError>>()
        let client = Thread { done.value = StatusSocketClient.request(line, path: path) }
        client.start()
        for _ in 0..<500 where done.value == nil { try loop.runOnce(timeoutMilliseconds: 10) }
        for _ in 0..<500 where done.value == nil { usleep(10_000) }
        return try #require(done.value)
    }

    final class Box<T>: @unchecked Sendable {
        private let lock = NSLock()
        private var stored: T?
        var value: T? {
            get { lock.lock(); defer { lock.unlock() }; return stored }
            set { lock.lock(); stored = newValue; lock.unlock() }
        }
    }

    @Test func requestLineGetsTheResponderAnswer() throws {
        let loop = try EpollEventLoop()
        let path = socketPath()
        var requests: [String] = []
        let server = try StatusSocketServer(path: path, loop: loop) { line in
            requests.append(line)
            return Array("answer to \(line)".utf8)
        }
        defer { server.shutdown() }
        let result = try exchange("status json", server: path, loop: loop)
        #expect(try String(decoding: result.get(), as: UTF8.self) == "answer to status json")
        #expect(requests == ["status json"])
    }

    @Test func largeResponsesArriveWhole() throws {
        let loop = try EpollEventLoop()
        let path = socketPath()
        let big = [UInt8](repeating: UInt8(ascii: "x"), count: 3_000_000)
        let server = try StatusSocketServer(path: path, loop: loop) { _ in big }
        defer { server.shutdown() }
        let result = try exchange("status", server: path, loop: loop)
        #expect(try result.get().count == big.count)
        for _ in 0..<100 where server.openConnections > 0 { try loop.runOnce(timeoutMilliseconds: 10) }
        #expect(server.openConnections == 0)
    }

    @Test func staleSocketFileFromAKilledAgentIsReplaced() throws {
        let loop = try EpollEventLoop()
        let path = socketPath()
        FileManager.default.createFile(atPath: path, contents: Data("stale".utf8))
        let server = try StatusSocketServer(path: path, loop: loop) { _ in Array("ok".utf8) }
        defer { server.shutdown() }
        #expect(try String(decoding: exchange("x", server: path, loop: loop).get(), as: UTF8.self) == "ok")
    }

    @Test func clientNamesTheSocketWhenNoAgentListens() {
        let path = socketPath()
        guard case .failure(let error) = StatusSocketClient.request("status", path: path) else {
            Issue.record("expected a failure"); return
        }
        #expect(error.description == "connect to \(path): No such file or directory")
    }

    @Test func shutdownRemovesTheSocketFile() throws {
        let loop = try EpollEventLoop()
        let path = socketPath()
        let server = try StatusSocketServer(path: path, loop: loop) { _ in [] }
        #expect(FileManager.default.fileExists(atPath: path))
        server.shutdown()
        #expect(!FileManager.default.fileExists(atPath: path))
    }
}
