import CKingletSystem
import Foundation
import KingletCore
@testable import KingletRuntime
import Testing

/// Real processes (/bin/sh) on a real epoll loop.
@Suite struct SpawnTests {
    @Test func argumentsEnvironmentAndWorkingDirectoryReachTheProcess() throws {
        let harness = try RuntimeHarness()
        let work = harness.folder + "/work dir"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        let launch = ContainerLaunch(
            podUID: "pod-1", containerName: "args", executable: "/bin/sh",
            arguments: ["-c", #"printf '%s|%s|%s|%s\n' "$0" "$1" "$GREETING" "$(pwd)""#, "zeroth", "two words"],
            environment: [EnvironmentVariable(name: "GREETING", value: "hello, world")],
            workingDirectory: work, logPath: harness.logPath("args"))
        let started = try #require(try harness.start(launch))
        #expect(started.pid > 1)
        let exit = try #require(try harness.exit(of: launch.id))
        #expect(exit.status == .exited(code: 0))
        #expect(exit.reason == "Completed")
        #expect(harness.messages("args") == ["zeroth|two words|hello, world|" + work])
        try harness.finish()
    }

    @Test func environmentIsExactlyTheLaunchsInItsOrder() throws {
        let harness = try RuntimeHarness()
        // A bare name, found in the container's own PATH.
        let launch = ContainerLaunch(
            podUID: "pod-1", containerName: "env", executable: "env",
            environment: [EnvironmentVariable(name: "ZETA", value: "last letter"),
                          EnvironmentVariable(name: "PATH", value: "/nonexistent:/usr/bin:/bin"),
                          EnvironmentVariable(name: "ALPHA", value: "a=b")],
            logPath: harness.logPath("env"))
        _ = try #require(try harness.start(launch))
        _ = try #require(try harness.exit(of: launch.id))
        #expect(harness.messages("env") == ["ZETA=last letter", "PATH=/nonexistent:/usr/bin:/bin", "ALPHA=a=b"])
        try harness.finish()
    }

    @Test func bareNameUsesTheDefaultPathWhenTheEnvironmentHasNone() throws {
        let harness = try RuntimeHarness()
        let launch = ContainerLaunch(podUID: "pod-1", containerName: "echo", executable: "echo",
                                     arguments: ["found"], logPath: harness.logPath("echo"))
        _ = try #require(try harness.start(launch))
        _ = try #require(try harness.exit(of: launch.id))
        #expect(harness.messages("echo") == ["found"])
        try harness.finish()
    }

    @Test func exitCodesAndSignalsAreDecoded() throws {
        let harness = try RuntimeHarness()
        let cases: [(String, String, ProcessExitStatus, Int32, String)] = [
            ("zero", "exit 0", .exited(code: 0), 0, "Completed"),
            ("three", "exit 3", .exited(code: 3), 3, "Error"),
            ("term", "kill -TERM $$", .killed(signal: SIGTERM, coreDumped: false), 143, "Error"),
            ("kill", "kill -KILL $$", .killed(signal: SIGKILL, coreDumped: false), 137, "Error"),
        ]
        for (name, script, _, _, _) in cases { harness.runtime.start(harness.shell(name, script)) }
        for (name, _, status, code, reason) in cases {
            let exit = try #require(try harness.exit(of: ContainerID(podUID: "pod-1", name: name)), "\(name)")
            #expect(exit.status == status, "\(name): \(exit.status.description)")
            #expect(exit.status.exitCode == code, "\(name)")
            #expect(exit.reason == reason, "\(name)")
            #expect(!exit.stopRequested)
        }
        #expect(ProcessExitStatus.killed(signal: SIGKILL, coreDumped: false).description == "killed by signal 9 (SIGKILL)")
        #expect(ProcessExitStatus.exited(code: 3).description == "exited with code 3")
        try harness.finish()
    }

    @Test func eventsComeInOrderAndNeverFromInsideStart() throws {
        let harness = try RuntimeHarness()
        let launch = harness.shell("order", "exit 0")
        harness.runtime.start(launch)
        #expect(harness.recorder.events.isEmpty, "start must not call the delegate itself")
        _ = try #require(try harness.exit(of: launch.id))
        let kinds = harness.recorder.events.map { event -> String in
            switch event {
            case .started: return "started"
            case .exited: return "exited"
            case .failedToStart: return "failed"
            }
        }
        #expect(kinds == ["started", "exited"])
        #expect(!harness.runtime.isRunning(launch.id))
        try harness.finish()
    }

    @Test func missingExecutableFailsToStartWithAClearMessage() throws {
        let harness = try RuntimeHarness()
        var launch = harness.shell("missing-path", "")
        launch.executable = "/nonexistent/kinglet-no-such-program"
        var bare = harness.shell("missing-name", "")
        bare.executable = "kinglet-no-such-program"
        var noFolder = harness.shell("missing-dir", "exit 0")
        noFolder.workingDirectory = harness.folder + "/no-such-folder"
        var notExecutable = harness.shell("not-executable", "")
        FileManager.default.createFile(atPath: harness.folder + "/data.txt", contents: Data("x".utf8))
        notExecutable.executable = harness.folder + "/data.txt"
        for one in [launch, bare, noFolder, notExecutable] { harness.runtime.start(one) }
        try harness.run { harness.recorder.events.count == 4 }

        let path = try #require(harness.recorder.failure(launch.id))
        #expect(path.reason == "StartError")
        #expect(path.message == "exec \"/nonexistent/kinglet-no-such-program\": No such file or directory")
        let name = try #require(harness.recorder.failure(bare.id))
        #expect(name.reason == "StartError")
        #expect(name.message == "exec: \"kinglet-no-such-program\": executable file not found in $PATH")
        let folder = try #require(harness.recorder.failure(noFolder.id))
        #expect(folder.message == "working directory \"" + harness.folder + "/no-such-folder\": No such file or directory")
        let denied = try #require(harness.recorder.failure(notExecutable.id))
        #expect(denied.message.hasSuffix("Permission denied"))
        #expect(harness.runtime.runningContainers.isEmpty)
        try harness.finish()
    }

    @Test func unwritableLogFolderIsACreateContainerError() throws {
        let harness = try RuntimeHarness()
        var launch = harness.shell("nolog", "exit 0")
        launch.logPath = harness.folder + "/missing/nolog.log"
        harness.runtime.start(launch)
        try harness.run { harness.recorder.failure(launch.id) != nil }
        let failure = try #require(harness.recorder.failure(launch.id))
        #expect(failure.reason == "CreateContainerError")
        #expect(failure.message.contains("/missing/nolog.log: No such file or directory"))
        try harness.finish()
    }

    @Test func startingARunningContainerAgainFails() throws {
        let harness = try RuntimeHarness()
        let launch = harness.shell("twice", "sleep 1000")
        _ = try #require(try harness.start(launch))
        harness.runtime.start(launch)
        try harness.run { harness.recorder.failure(launch.id) != nil }
        #expect(harness.recorder.failure(launch.id)?.message == "container pod-1/twice is already running")
        #expect(harness.runtime.isRunning(launch.id))
        try harness.finish()
    }
}
