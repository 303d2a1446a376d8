import Testing
@testable import KingletRuntime

/// The agent ↔ keeper messages: every kind survives the wire, and bytes that are not a
/// message are an error, never a crash.
@Suite struct KeeperWireTests {
    static let samples: [KeeperMessage] = [
        .hello(version: KeeperWire.version),
        .welcome(version: 1, keeperPID: 4242, held: 3),
        .held(KeptContainer(key: "exec:uid/main", label: "a\nb", pid: 17, startTicks: 123_456_789, exit: nil, finishedAt: 0)),
        .held(KeptContainer(key: "oci:x_y", label: "", pid: 18, startTicks: 1, exit: .killed(signal: 9, coreDumped: true),
                            finishedAt: 1_764_500_000_000_000_000)),
        .spawn(KeeperSpawn(key: "exec:é/ü", label: "", executable: "/bin/sh", arguments: ["sh", "-c", "echo 'hi'"],
                           environment: ["A=1", "EMPTY="], workingDirectory: "", killGroupOnExit: true)),
        .spawned(key: "k", pid: 99, startTicks: UInt64.max),
        .spawnFailed(key: "k", reason: "StartError", message: "exec \"/x\": No such file or directory"),
        .watch(key: "oci:a", pid: 100, label: "kinglet-label-1\n0\n0\n30\n\n\n"),
        .exited(key: "k", pid: 99, status: .exited(code: 3), finishedAt: 5),
        .release(key: "k"),
        .signal(key: "k", signal: 15),
    ]

    @Test(arguments: samples)
    func everyMessageComesBackAsItWasSent(_ message: KeeperMessage) throws {
        #expect(try KeeperWire.decode(KeeperWire.encode(message)) == message)
    }

    @Test func truncatedOrPaddedMessagesAreErrors() throws {
        for message in KeeperWireTests.samples {
            let bytes = KeeperWire.encode(message)
            for length in 0..<bytes.count {
                #expect(throws: KeeperWireError.self) { try KeeperWire.decode(Array(bytes[0..<length])) }
            }
            #expect(throws: KeeperWireError.self) { try KeeperWire.decode(bytes + [0]) }
        }
    }

    @Test func unknownTypesAndAbsurdCountsAreErrors() {
        #expect(throws: KeeperWireError(message: "unknown message type 200")) { try KeeperWire.decode([200]) }
        // A spawn whose argument count claims more strings than the message could hold.
        var writer = KeeperWriter()
        writer.byte(4)
        for _ in 0..<3 { writer.string("x") }
        writer.integer(Int64.max)
        #expect(throws: KeeperWireError.self) { try KeeperWire.decode(writer.bytes) }
        // A pid that does not fit a pid_t.
        var pid = KeeperWriter()
        pid.byte(5)
        pid.string("k")
        pid.integer(-1)
        pid.integer(0)
        #expect(throws: KeeperWireError(message: "a pid out of range")) { try KeeperWire.decode(pid.bytes) }
    }

    @Test func aLabelReadsBackAndAForeignOneIsRefused() {
        let label = KeeperLabel(specHash: 0xdead_beef_0123, startedAt: 1_764_500_000_123_456_789, graceSeconds: 2,
                                logPath: "/var/log/pods/a/b/0.log", limits: "cgroup v2 /sys/fs/cgroup/kinglet/x", extra: "copy")
        #expect(KeeperLabel(label.text) == label)
        #expect(KeeperLabel("") == nil)
        #expect(KeeperLabel("kinglet-label-0\n1\n2\n3\n\n\n") == nil)
        // A newline inside a field would shift the others: the field is dropped instead.
        let odd = KeeperLabel(specHash: 1, startedAt: 2, graceSeconds: 3, logPath: "a\nb", limits: "", extra: "")
        #expect(KeeperLabel(odd.text)?.logPath == "")
        #expect(KeeperLabel(odd.text)?.specHash == 1)
    }
}

extension KeeperMessage: CustomTestStringConvertible {
    public var testDescription: String { String(KeeperWire.encode(self).count) + " bytes, type " + String(KeeperWire.encode(self)[0]) }
}
