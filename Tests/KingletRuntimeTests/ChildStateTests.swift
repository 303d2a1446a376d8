import CKingletSystem
import Foundation
import KingletCore
@testable import KingletRuntime
import Testing

/// What a container process inherits from the agent, and what it must not.
@Suite struct ChildStateTests {
    /// A hexadecimal signal set from /proc/<pid>/status.
    private func signalSet(_ fields: [String: String], _ name: String) -> UInt64? {
        fields[name].flatMap { UInt64($0, radix: 16) }
    }

    private func bit(_ signal: Int32) -> UInt64 { 1 << UInt64(signal - 1) }

    @Test func childrenStartWithAnEmptySignalMaskAndDefaultSIGPIPE() throws {
        let harness = try RuntimeHarness()
        // Put this thread in the agent's state: its signals blocked for the signalfd, SIGPIPE ignored.
        #expect(kinglet_ignore_sigpipe() == 0)
        try harness.loop.handle([.terminate, .interrupt, .hangup]) { _ in }
        let own = processStatusOfThisThread()
        let ownBlocked = try #require(signalSet(own, "SigBlk"))
        #expect(ownBlocked & bit(SIGTERM) != 0 && ownBlocked & bit(SIGCHLD) != 0, "the test's premise")
        #expect((signalSet(own, "SigIgn") ?? 0) & bit(SIGPIPE) != 0, "the test's premise")

        let launch = ContainerLaunch(podUID: "pod-1", containerName: "mask", executable: "/bin/sleep",
                                     arguments: ["1000"], logPath: harness.logPath("mask"))
        let started = try #require(try harness.start(launch))
        let child = processStatus(started.pid)
        #expect(signalSet(child, "SigBlk") == 0, "SigBlk: \(child["SigBlk"] ?? "?")")
        // Every standard signal at its default. (glibc's posix_spawn leaves its two internal
        // signals, 32 and 33, ignored in the child; musl's, in the static agent, does not.)
        let ignored = try #require(signalSet(child, "SigIgn"))
        #expect(ignored & 0x7FFF_FFFF == 0, "SigIgn: \(child["SigIgn"] ?? "?")")
        #expect(ignored & bit(SIGPIPE) == 0)
        try harness.finish()
    }

    @Test func childrenLeadTheirOwnProcessGroup() throws {
        let harness = try RuntimeHarness()
        let launch = ContainerLaunch(podUID: "pod-1", containerName: "pgid", executable: "/bin/sleep",
                                     arguments: ["1000"], logPath: harness.logPath("pgid"))
        let started = try #require(try harness.start(launch))
        #expect(getpgid(started.pid) == started.pid)
        #expect(getpgid(started.pid) != getpgrp())
        try harness.finish()
    }

    @Test func noAgentDescriptorLeaksIntoAChild() throws {
        let harness = try RuntimeHarness()
        // A first container, so the runtime holds pipes and a log file while the second starts.
        let first = ContainerLaunch(podUID: "pod-1", containerName: "first", executable: "/bin/sleep",
                                    arguments: ["1000"], logPath: harness.logPath("first"))
        let firstStarted = try #require(try harness.start(first))
        let firstPipes = [1, 2].compactMap { descriptorTarget(firstStarted.pid, $0) }
        #expect(firstPipes.count == 2 && firstPipes.allSatisfy { $0.hasPrefix("pipe:[") })

        let second = ContainerLaunch(podUID: "pod-1", containerName: "second", executable: "/bin/sleep",
                                     arguments: ["1000"], logPath: harness.logPath("second"))
        let started = try #require(try harness.start(second))
        let descriptors = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(started.pid)/fd")
            .compactMap { Int32($0) }.sorted()
        #expect(Array(descriptors.prefix(3)) == [0, 1, 2])
        #expect(descriptorTarget(started.pid, 0) == "/dev/null")
        #expect(descriptorTarget(started.pid, 1)?.hasPrefix("pipe:[") == true)
        #expect(descriptorTarget(started.pid, 2)?.hasPrefix("pipe:[") == true)
        // Only descriptors whose /proc target names them uniquely: every epoll, timerfd and
        // signalfd of the process reads "anon_inode:[...]", and other suites running in this
        // test process (libmosquitto, SwiftNIO) hold their own, which are not the runtime's.
        let agentOwned = firstPipes + [harness.logPath("first"), harness.logPath("second")]
        for fd in descriptors where fd > 2 {
            let target = descriptorTarget(started.pid, fd) ?? "?"
            #expect(!agentOwned.contains(target), "fd \(fd) → \(target) leaked into the child")
        }
        // The runtime's own descriptors are all close-on-exec.
        for (fd, target) in ownDescriptors() where agentOwned.contains(target) || firstPipes.contains(target) {
            #expect(isCloseOnExec(fd), "fd \(fd) → \(target) is not O_CLOEXEC")
        }
        try harness.finish()
    }

    private func descriptorTarget(_ pid: Int32, _ fd: Int32) -> String? {
        try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\(fd)")
    }

    private func ownDescriptors() -> [(Int32, String)] {
        let pid = getpid()
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        return names.compactMap { name in
            guard let fd = Int32(name), let target = descriptorTarget(pid, fd) else { return nil }
            return (fd, target)
        }
    }

    private func isCloseOnExec(_ fd: Int32) -> Bool {
        guard let info = try? String(contentsOfFile: "/proc/self/fdinfo/\(fd)", encoding: .utf8),
              let line = info.split(separator: "\n").first(where: { $0.hasPrefix("flags:") }),
              let flags = Int(line.dropFirst(6).trimmingCharacters(in: .whitespaces), radix: 8) else { return false }
        return flags & 0o2000000 != 0
    }

    private func processStatusOfThisThread() -> [String: String] {
        guard let text = try? String(contentsOfFile: "/proc/thread-self/status", encoding: .utf8) else { return [:] }
        var fields: [String: String] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1)
            if parts.count == 2 { fields[String(parts[0])] = parts[1].trimmingCharacters(in: .whitespaces) }
        }
        return fields
    }
}
