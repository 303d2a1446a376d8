import Foundation
import Glibc
import Testing
@testable import KingletSimBLE

/// Runs the real binary on a pty, as the agent will meet it.
@Suite(.serialized) struct PTYServerTests {
    static var binary: URL {
        URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
            .appendingPathComponent("kinglet-sim")
    }

    func waitFor(_ what: String, seconds: Double = 10, _ condition: () -> Bool) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while !condition() {
            guard Date() < deadline else { throw Timeout(what: what) }
            usleep(20_000)
        }
    }

    struct Timeout: Error { let what: String }

    func openRaw(_ path: String) throws -> Int32 {
        let fd = open(path, O_RDWR | O_NOCTTY)
        try #require(fd >= 0)
        var t = termios()
        tcgetattr(fd, &t)
        cfmakeraw(&t)
        tcsetattr(fd, TCSANOW, &t)
        return fd
    }

    /// Reads until `count` octets arrived or `seconds` passed.
    func read(_ fd: Int32, count: Int, seconds: Double = 5) -> [UInt8] {
        var out: [UInt8] = []
        let deadline = Date().addingTimeInterval(seconds)
        while out.count < count, Date() < deadline {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, 50) > 0 else { continue }
            var buffer = [UInt8](repeating: 0, count: 256)
            let n = Glibc.read(fd, &buffer, buffer.count)
            if n <= 0 { break }
            out += buffer[0..<n]
        }
        return out
    }

    func reset(_ fd: Int32) -> [UInt8] {
        let command: [UInt8] = [0x01, 0x03, 0x0C, 0x00]
        _ = command.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        return read(fd, count: 7)
    }

    @Test(.timeLimit(.minutes(1)))
    func ptyServerAnswersResetAndIsUnpluggedAndPluggedBackBySignals() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("blesim-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let link = dir.appendingPathComponent("ttyBLE0").path
        let process = Process()
        process.executableURL = PTYServerTests.binary
        process.arguments = ["ble", "--link", link]
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        defer {
            if process.isRunning {
                process.terminate()
                process.waitUntilExit()
            }
        }
        let exists = { (try? FileManager.default.destinationOfSymbolicLink(atPath: link)) != nil }

        try waitFor("the link", exists)
        var fd = try openRaw(link)
        #expect(reset(fd) == [0x04, 0x0E, 0x04, 0x01, 0x03, 0x0C, 0x00])

        kill(process.processIdentifier, SIGUSR1)
        try waitFor("the link to go") { !exists() }
        // The host side sees the device vanish: a hang-up, then end of input or EIO.
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        #expect(poll(&p, 1, 2000) == 1 && p.revents & Int16(POLLHUP) != 0)
        close(fd)

        kill(process.processIdentifier, SIGUSR2)
        try waitFor("the link to return", exists)
        fd = try openRaw(link)
        #expect(reset(fd) == [0x04, 0x0E, 0x04, 0x01, 0x03, 0x0C, 0x00])
        close(fd)

        process.terminate()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect(!exists())
    }

    @Test(.timeLimit(.minutes(1)))
    func aHostThatClosesAndReopensThePtyFindsTheControllerStillThere() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("blesim-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let link = dir.appendingPathComponent("ttyBLE0").path
        let process = Process()
        process.executableURL = PTYServerTests.binary
        process.arguments = ["ble", "--link", link]
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        defer {
            if process.isRunning {
                process.terminate()
                process.waitUntilExit()
            }
        }
        try waitFor("the link") { (try? FileManager.default.destinationOfSymbolicLink(atPath: link)) != nil }
        for _ in 0..<3 {
            let fd = try openRaw(link)
            #expect(reset(fd) == [0x04, 0x0E, 0x04, 0x01, 0x03, 0x0C, 0x00])
            close(fd)
            usleep(250_000)
        }
    }
}
