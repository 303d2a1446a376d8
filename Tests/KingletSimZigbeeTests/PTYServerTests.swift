import Foundation
import Glibc
import Testing
@testable import KingletSimZigbee

/// Runs the real `kinglet-sim znp` on a pty: the link, raw mode, unplug and plug back.
@Suite("The pty server", .serialized)
struct PTYServerTests {
    /// The binary SwiftPM built next to this test bundle.
    static var binary: String {
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        var directory = bundle
        // Inside an .xctest bundle on some layouts the executable sits one level further down.
        for _ in 0..<3 {
            let candidate = directory.appendingPathComponent("kinglet-sim").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            directory.deleteLastPathComponent()
        }
        return bundle.appendingPathComponent("kinglet-sim").path
    }

    final class RunningSimulator {
        let process = Process()
        let link: String
        let directory: String

        init(arguments: [String] = []) throws {
            directory = FileManager.default.temporaryDirectory.appendingPathComponent("znpsim-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            link = directory + "/ttyZNP"
            process.executableURL = URL(fileURLWithPath: PTYServerTests.binary)
            process.arguments = ["znp", "--link", link] + arguments
            process.standardError = FileHandle.nullDevice
            try process.run()
        }

        /// Stops and reaps the process (SIGKILL if SIGTERM is not enough), then removes the directory.
        func stop() -> Int32 {
            if process.isRunning {
                process.terminate()
                if !waitUntil(seconds: 5, { !self.process.isRunning }) { kill(process.processIdentifier, SIGKILL) }
            }
            process.waitUntilExit()
            try? FileManager.default.removeItem(atPath: directory)
            return process.terminationStatus
        }

        func signal(_ number: Int32) { kill(process.processIdentifier, number) }

        var linkExists: Bool {
            var status = stat()
            return lstat(link, &status) == 0
        }
    }

    /// Polls `condition` every 10 ms for at most `seconds`.
    static func waitUntil(seconds: Double, _ condition: () -> Bool) -> Bool {
        let attempts = Int(seconds * 100)
        for _ in 0..<attempts {
            if condition() { return true }
            usleep(10_000)
        }
        return condition()
    }

    /// Opens the link, sends SYS_PING, and returns the bytes that came back within a second.
    static func ping(_ link: String) -> [UInt8] {
        let fd = open(link, O_RDWR | O_NOCTTY)
        guard fd >= 0 else { return [] }
        defer { close(fd) }
        let request = MTFrame(type: .sreq, subsystem: .sys, command: 0x01).encoded
        _ = request.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        var received: [UInt8] = []
        var decoder = MTFrameDecoder()
        for _ in 0..<20 where received.isEmpty {
            var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&descriptor, 1, 50) > 0 else { continue }
            var buffer = [UInt8](repeating: 0, count: 256)
            let count = read(fd, &buffer, buffer.count)
            guard count > 0 else { break }
            for case .frame(let frame) in decoder.feed(Array(buffer.prefix(count))) { received += frame.encoded }
        }
        return received
    }

    @Test func stickAnswersOnTheLinkUnplugsOnSIGUSR1AndComesBackOnSIGUSR2() throws {
        let simulator = try RunningSimulator()
        defer { _ = simulator.stop() }
        let pingReply = MTFrame(cmd0: 0x61, cmd1: 0x01, payload: [0x79, 0x06]).encoded

        #expect(Self.waitUntil(seconds: 10) { simulator.linkExists })
        #expect(Self.ping(simulator.link) == pingReply)

        simulator.signal(SIGUSR1)
        #expect(Self.waitUntil(seconds: 5) { !simulator.linkExists })

        simulator.signal(SIGUSR2)
        #expect(Self.waitUntil(seconds: 5) { simulator.linkExists })
        #expect(Self.ping(simulator.link) == pingReply)
    }

    @Test func terminationRemovesTheLinkAndExitsZero() throws {
        let simulator = try RunningSimulator()
        #expect(Self.waitUntil(seconds: 10) { simulator.linkExists })
        simulator.signal(SIGTERM)
        #expect(Self.waitUntil(seconds: 5) { !simulator.process.isRunning })
        #expect(!simulator.linkExists)
        #expect(simulator.stop() == 0)
    }

    @Test func aFileInTheWayOfTheLinkIsLeftAloneAndIsAnError() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("znpsim-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/ttyZNP"
        #expect(FileManager.default.createFile(atPath: path, contents: Data("keep".utf8)))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = ["znp", "--link", path]
        process.standardError = FileHandle.nullDevice
        try process.run()
        #expect(Self.waitUntil(seconds: 10) { !process.isRunning })
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        #expect(process.terminationStatus == 1)
        #expect(FileManager.default.contents(atPath: path) == Data("keep".utf8))
    }
}
