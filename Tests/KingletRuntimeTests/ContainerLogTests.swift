import CKingletSystem
import Foundation
import KingletCore
@testable import KingletRuntime
import Testing

/// Container output in the CRI log format, rotation, and reading it back.
@Suite struct ContainerLogTests {
    /// "<RFC 3339, 9 fraction digits>Z <stdout|stderr> <F|P> <text>"
    static let recordPattern = #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z (stdout|stderr) [FP] "#

    @Test func stdoutAndStderrAreWrittenInTheCRIFormat() throws {
        let harness = try RuntimeHarness()
        let launch = harness.shell("cri", "echo out-1; echo err-1 >&2; echo; printf 'no newline at the end'")
        _ = try #require(try harness.start(launch))
        _ = try #require(try harness.exit(of: launch.id))
        let lines = harness.logLines("cri")
        #expect(lines.count == 4)
        for line in lines {
            #expect(line.range(of: ContainerLogTests.recordPattern, options: .regularExpression) != nil, "\(line)")
        }
        let tails = lines.map { String($0.split(separator: " ", maxSplits: 1)[1]) }
        #expect(tails.contains("stdout F out-1"))
        #expect(tails.contains("stderr F err-1"))
        #expect(tails.contains("stdout F "))
        // The last line had no newline: written whole when the stream ended.
        #expect(tails.contains("stdout F no newline at the end"))
        try harness.finish()
    }

    @Test func aLineLongerThanTheBufferIsSplitIntoPartialRecords() throws {
        let harness = try RuntimeHarness()
        let line = "0123456789abcdefghijklmnopqrstuvwxyzABCD"
        let launch = harness.shell("long", "echo " + line + "; echo short",
                                   logLimits: LogLimits(lineBufferBytes: 16))
        _ = try #require(try harness.start(launch))
        _ = try #require(try harness.exit(of: launch.id))
        let tails = harness.logLines("long").map { String($0.split(separator: " ", maxSplits: 1)[1]) }
        #expect(tails == ["stdout P 0123456789abcdef", "stdout P ghijklmnopqrstuv", "stdout F wxyzABCD", "stdout F short"])
        // The reader joins the pieces back into the line.
        let messages = try ContainerLogReader.messages(logPath: harness.logPath("long"))
        #expect(messages.map(\.text) == [line, "short"])
        #expect(messages[0].timestamp == harness.logLines("long")[0].split(separator: " ")[0].description)
        try harness.finish()
    }

    @Test func manyLinesArriveCompleteAndInOrder() throws {
        let harness = try RuntimeHarness()
        let launch = harness.shell("many", "seq 1 20000", logLimits: LogLimits(lineBufferBytes: 100))
        _ = try #require(try harness.start(launch))
        _ = try #require(try harness.exit(of: launch.id))
        #expect(harness.messages("many") == (1...20000).map(String.init))
        try harness.finish()
    }

    @Test func rotationCapsTheNumberAndSizeOfFiles() throws {
        let harness = try RuntimeHarness()
        let limits = LogLimits(maxBytesPerFile: 300, maxFiles: 3)
        let launch = harness.shell("rotate", "for i in $(seq 100 199); do echo line-$i; done", logLimits: limits)
        _ = try #require(try harness.start(launch))
        _ = try #require(try harness.exit(of: launch.id))
        let path = harness.logPath("rotate")
        #expect(ContainerLogReader.files(logPath: path) == [path + ".2", path + ".1", path])
        #expect(!FileManager.default.fileExists(atPath: path + ".3"))
        for file in ContainerLogReader.files(logPath: path) {
            let size = try #require(try FileManager.default.attributesOfItem(atPath: file)[.size] as? Int)
            #expect(size > 0 && size <= 300, "\(file): \(size) bytes")
            let text = try String(contentsOfFile: file, encoding: .utf8)
            #expect(text.hasSuffix("\n"), "\(file) ends mid-record")
        }
        // What is kept is the newest output, without gaps.
        let kept = harness.messages("rotate")
        #expect(kept.last == "line-199")
        let numbers = kept.compactMap { Int($0.dropFirst(5)) }
        #expect(numbers == Array((200 - numbers.count)...199))
        #expect(numbers.count >= 12)
        try harness.finish()
    }

    @Test func oneFileMeansTruncateInsteadOfRotate() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kinglet-trunc-" + UUID().uuidString).path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/one.log"
        let file = try RotatingLogFile(path: path, limits: LogLimits(maxBytesPerFile: 100, maxFiles: 1))
        for index in 0..<10 {
            var record = Array("record \(index) padded to be long enough\n".utf8)
            record.withUnsafeBytes { file.append($0) }
        }
        file.close()
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "record 8 padded to be long enough\nrecord 9 padded to be long enough\n")
        #expect(ContainerLogReader.files(logPath: path) == [path])
    }

    @Test func aFullDiskDropsRecordsWithoutHarmingTheContainer() throws {
        let harness = try RuntimeHarness()
        var launch = harness.shell("full", "echo lost; exit 4")
        launch.logPath = "/dev/full"
        _ = try #require(try harness.start(launch))
        let exit = try #require(try harness.exit(of: launch.id))
        #expect(exit.status == .exited(code: 4))
        #expect(exit.logError == "write /dev/full: No space left on device (errno 28)")
        try harness.finish()
    }

    @Test func readerRendersMessagesWithAndWithoutTimestamps() throws {
        let messages = [LogMessage(timestamp: "2026-11-24T23:59:01.000000001Z", stream: .stdout, text: "hello"),
                        LogMessage(timestamp: "2026-11-24T23:59:02.000000001Z", stream: .stderr, text: "oops")]
        #expect(ContainerLogReader.render(messages, timestamps: false) == "hello\noops\n")
        #expect(ContainerLogReader.render(messages, timestamps: true)
                == "2026-11-24T23:59:01.000000001Z hello\n2026-11-24T23:59:02.000000001Z oops\n")
    }

    @Test func followModeSeesLinesAcrossARotation() throws {
        let harness = try RuntimeHarness()
        let path = harness.logPath("follow")
        // Written directly, so the test decides when the rotation happens.
        let file = try RotatingLogFile(path: path, limits: LogLimits(maxBytesPerFile: 300, maxFiles: 3))
        let writer = CRILogWriter(file: file, lineBufferBytes: 64)
        func write(_ text: String) {
            var bytes = Array(text.utf8)
            bytes.withUnsafeBytes { writer.write(.stdout, partial: false, text: $0, at: kinglet_realtime_ns()) }
        }
        var seen: [String] = []
        let follower = ContainerLogFollower(loop: harness.loop, logPath: path, pollInterval: .milliseconds(5)) { seen.append($0.text) }
        follower.start()
        for index in 1...4 { write("line-\(index)") }
        #expect(try harness.run { seen.count == 4 })
        // Records 5 and 6 fill the file, 7 rotates it: the follower has not read 5 and 6 yet.
        for index in 5...9 { write("line-\(index)") }
        #expect(FileManager.default.fileExists(atPath: path + ".1"))
        #expect(try harness.run { seen.count == 9 })
        write("line-10")
        #expect(try harness.run { seen.count == 10 })
        #expect(seen == (1...10).map { "line-\($0)" })
        follower.stop()
        try harness.finish()
    }

    @Test func followModeFollowsARunningContainer() throws {
        let harness = try RuntimeHarness()
        let launch = harness.shell("live", "for i in $(seq 1 50); do echo live-$i; done; sleep 1000",
                                   logLimits: LogLimits(maxBytesPerFile: 400, maxFiles: 10))
        var seen: [String] = []
        FileManager.default.createFile(atPath: harness.logPath("live"), contents: nil)
        let follower = ContainerLogFollower(loop: harness.loop, logPath: harness.logPath("live"), fromStart: false,
                                            pollInterval: .milliseconds(5)) { seen.append($0.text) }
        follower.start()
        _ = try #require(try harness.start(launch))
        #expect(try harness.run { seen.last == "live-50" })
        // Every line, in order, through several rotations, however many happened between
        // two polls: the files are all still there.
        #expect(FileManager.default.fileExists(atPath: harness.logPath("live") + ".4"))
        #expect(seen == (1...50).map { "live-\($0)" })
        follower.stop()
        try harness.finish()
    }

    @Test func criRecordsParseAndPartialsJoinPerStream() {
        func parse(_ text: String) -> CRILogRecord? {
            Array(text.utf8).withUnsafeBytes { CRILogRecord(line: $0) }
        }
        #expect(parse("2026-01-01T00:00:00.000000000Z stdout F hello world")
                == CRILogRecord(timestamp: "2026-01-01T00:00:00.000000000Z", stream: .stdout, isPartial: false, text: "hello world"))
        #expect(parse("t stderr P  two spaces")?.text == " two spaces")
        #expect(parse("t stdout F ")?.text == "")
        #expect(parse("t stdout F")?.text == "")
        #expect(parse("t stdin F x") == nil)
        #expect(parse("t stdout X x") == nil)
        #expect(parse("t stdout Fx") == nil)
        #expect(parse("garbage") == nil)

        var assembler = LogMessageAssembler()
        #expect(assembler.add(CRILogRecord(timestamp: "1", stream: .stdout, isPartial: true, text: "ab")) == nil)
        #expect(assembler.add(CRILogRecord(timestamp: "2", stream: .stderr, isPartial: false, text: "err"))
                == LogMessage(timestamp: "2", stream: .stderr, text: "err"))
        #expect(assembler.add(CRILogRecord(timestamp: "3", stream: .stdout, isPartial: false, text: "cd"))
                == LogMessage(timestamp: "1", stream: .stdout, text: "abcd"))
        #expect(assembler.add(CRILogRecord(timestamp: "4", stream: .stdout, isPartial: true, text: "cut")) == nil)
        #expect(assembler.flush() == [LogMessage(timestamp: "4", stream: .stdout, text: "cut")])
    }
}
