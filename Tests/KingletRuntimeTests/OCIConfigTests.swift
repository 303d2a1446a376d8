import Foundation
@testable import KingletRuntime
import Testing

/// The config.json a container's bundle gets (no root needed: the document alone).
@Suite struct OCIConfigTests {
    static func sample() -> OCIConfig {
        OCIConfig(arguments: ["/bin/sh", "-c", "echo \"quoted\" \\ done"],
                  environment: [EnvironmentVariable(name: "MODE", value: "a=b"), EnvironmentVariable(name: "EMPTY", value: "")],
                  workingDirectory: "/srv", user: OCIUser(uid: 1000, gid: 1001, additionalGids: [20]), hostname: "sensor",
                  mounts: [OCIBindMount(hostPath: "/var/lib/kinglet/volumes/x", containerPath: "/data", readOnly: true),
                           OCIBindMount(hostPath: "/tmp/out", containerPath: "/out")],
                  devices: [OCIDeviceNode(containerPath: "/dev/ttyUSB0", block: false, major: 188, minor: 0, fileMode: 0o660,
                                          uid: 0, gid: 20, permissions: "rw")],
                  resources: ResourceLimits(memoryBytes: 32 * 1024 * 1024, cpuMillicores: 250), cgroupsPath: "/kinglet/p_c")
    }

    static func document(_ config: OCIConfig) throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data(config.json()))
        return try #require(object as? [String: Any])
    }

    @Test func theProcessGetsTheFinalArgvEnvironmentUserAndDockersCapabilities() throws {
        let json = try Self.document(Self.sample())
        #expect(json["ociVersion"] as? String == "1.0.2")
        let process = try #require(json["process"] as? [String: Any])
        #expect(process["terminal"] as? Bool == false)
        #expect(process["args"] as? [String] == ["/bin/sh", "-c", "echo \"quoted\" \\ done"])
        // PATH first when the caller gave none, then the entries in order.
        #expect(process["env"] as? [String] == ["PATH=" + ExecutableLookup.defaultPath, "MODE=a=b", "EMPTY="])
        #expect(process["cwd"] as? String == "/srv")
        #expect(process["noNewPrivileges"] as? Bool == true)
        let user = try #require(process["user"] as? [String: Any])
        #expect(user["uid"] as? Int == 1000)
        #expect(user["gid"] as? Int == 1001)
        #expect(user["additionalGids"] as? [Int] == [20])
        let capabilities = try #require(process["capabilities"] as? [String: [String]])
        #expect(capabilities["bounding"]?.count == 14)
        #expect(capabilities["effective"] == capabilities["bounding"])
        #expect(capabilities["permitted"]?.contains("CAP_NET_BIND_SERVICE") == true)
        #expect(capabilities["bounding"]?.contains("CAP_SYS_ADMIN") == false)
        #expect(json["hostname"] as? String == "sensor")
        let root = try #require(json["root"] as? [String: Any])
        #expect(root["path"] as? String == "rootfs")
        #expect(root["readonly"] as? Bool == false)
    }

    @Test func aPATHGivenByTheCallerIsKept() throws {
        var config = Self.sample()
        config.environment = [EnvironmentVariable(name: "PATH", value: "/app/bin")]
        let process = try #require(try Self.document(config)["process"] as? [String: Any])
        #expect(process["env"] as? [String] == ["PATH=/app/bin"])
    }

    @Test func theNodesNetworkIsSharedAndTheOtherNamespacesAreTheContainers() throws {
        let linux = try #require(try Self.document(Self.sample())["linux"] as? [String: Any])
        let namespaces = try #require(linux["namespaces"] as? [[String: String]])
        #expect(namespaces.map { $0["type"] } == ["pid", "ipc", "uts", "mount"])
        #expect(linux["cgroupsPath"] as? String == "/kinglet/p_c")
        #expect((linux["maskedPaths"] as? [String])?.contains("/proc/kcore") == true)
        #expect((linux["readonlyPaths"] as? [String])?.contains("/proc/sys") == true)
    }

    @Test func runcsDefaultMountsComeFirstThenTheVolumes() throws {
        let mounts = try #require(try Self.document(Self.sample())["mounts"] as? [[String: Any]])
        #expect(mounts.map { $0["destination"] as? String } == ["/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys", "/data", "/out"])
        #expect((mounts[5]["options"] as? [String])?.contains("ro") == true)
        #expect(mounts[6]["type"] as? String == "bind")
        #expect(mounts[6]["source"] as? String == "/var/lib/kinglet/volumes/x")
        #expect(mounts[6]["options"] as? [String] == ["rbind", "rprivate", "ro"])
        #expect(mounts[7]["options"] as? [String] == ["rbind", "rprivate", "rw"])
    }

    @Test func limitsAndDevicesBecomeResourcesAndDeviceNodes() throws {
        let linux = try #require(try Self.document(Self.sample())["linux"] as? [String: Any])
        let resources = try #require(linux["resources"] as? [String: Any])
        #expect((resources["memory"] as? [String: Int])?["limit"] == 32 * 1024 * 1024)
        #expect(resources["cpu"] as? [String: Int] == ["quota": 25000, "period": 100000])
        let rules = try #require(resources["devices"] as? [[String: Any]])
        #expect(rules.count == 2)
        #expect(rules[0]["allow"] as? Bool == false)
        #expect(rules[0]["access"] as? String == "rwm")
        #expect(rules[1]["allow"] as? Bool == true)
        #expect(rules[1]["type"] as? String == "c")
        #expect(rules[1]["major"] as? Int == 188)
        #expect(rules[1]["access"] as? String == "rw")
        let devices = try #require(linux["devices"] as? [[String: Any]])
        #expect(devices.count == 1)
        #expect(devices[0]["path"] as? String == "/dev/ttyUSB0")
        #expect(devices[0]["fileMode"] as? Int == 0o660)
        #expect(devices[0]["gid"] as? Int == 20)
    }

    @Test func noLimitsMeansNoMemoryOrCPUSection() throws {
        var config = Self.sample()
        config.resources = ResourceLimits()
        config.devices = []
        config.hostname = nil
        let json = try Self.document(config)
        #expect(json["hostname"] == nil)
        let linux = try #require(json["linux"] as? [String: Any])
        let resources = try #require(linux["resources"] as? [String: Any])
        #expect(resources["memory"] == nil)
        #expect(resources["cpu"] == nil)
        #expect(linux["devices"] == nil)
    }

    @Test func containerIDsKeepToTheCharactersRuncAccepts() {
        #expect(OCIRuntime.runtimeID(for: ContainerID(podUID: "6f1c2d3e-0000-4a5b-9c8d-112233445566", name: "web")) ==
            "6f1c2d3e-0000-4a5b-9c8d-112233445566_web")
        #expect(OCIRuntime.runtimeID(for: ContainerID(podUID: "a/b", name: "c d")) == "a_b_c_d")
    }

    @Test func runcsLogrusLinesGiveTheirMessage() {
        let line = "time=\"2026-01-01T00:00:00Z\" level=error msg=\"runc create failed: exec: \\\"x\\\": not found\""
        #expect(OCIRuntime.lastLine(Array((line + "\n").utf8)) == "runc create failed: exec: \"x\": not found")
        #expect(OCIRuntime.lastLine(Array("crun: plain message\n\n".utf8)) == "crun: plain message")
        #expect(OCIRuntime.lastLine([]) == nil)
    }

    @Test func cgroupPathsAreReadFromProcPidCgroup() {
        let v1 = "9:name=systemd:/k/x\n4:memory:/k/x\n1:cpu,cpuacct:/k/y\n0::/k/x\n"
        #expect(OCIRuntime.cgroupPath(in: v1, controller: "memory") == "/k/x")
        #expect(OCIRuntime.cgroupPath(in: v1, controller: "cpu") == "/k/y")
        #expect(OCIRuntime.cgroupPath(in: v1, controller: nil) == "/k/x")
        #expect(OCIRuntime.cgroupPath(in: "0::/kinglet/c\n", controller: "memory") == nil)
    }
}

/// An image's `User` as numbers, names looked up in the image's own files.
@Suite struct OCIUserTests {
    static func rootfs(passwdLink: Bool = false) throws -> String {
        let folder = NSTemporaryDirectory() + "kinglet-oci-user-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: folder + "/etc", withIntermediateDirectories: true)
        if passwdLink {
            try FileManager.default.createSymbolicLink(atPath: folder + "/etc/passwd", withDestinationPath: "/etc/passwd")
        } else {
            try "root:x:0:0:root:/root:/bin/sh\n# comment\napp:x:1000:1001::/:/bin/sh\n"
                .write(toFile: folder + "/etc/passwd", atomically: false, encoding: .utf8)
        }
        try "root:x:0:\ndialout:x:20:app\napp:x:1001:\n".write(toFile: folder + "/etc/group", atomically: false, encoding: .utf8)
        return folder
    }

    @Test func numbersNamesAndMixturesResolve() throws {
        let rootfs = try Self.rootfs()
        defer { try? FileManager.default.removeItem(atPath: rootfs) }
        #expect(try OCIUser.parse("", rootfs: rootfs) == .root)
        #expect(try OCIUser.parse("1000", rootfs: rootfs) == OCIUser(uid: 1000, gid: 1001))
        #expect(try OCIUser.parse("4242", rootfs: rootfs) == OCIUser(uid: 4242, gid: 0))
        #expect(try OCIUser.parse("65534:65534", rootfs: rootfs) == OCIUser(uid: 65534, gid: 65534))
        #expect(try OCIUser.parse("app", rootfs: rootfs) == OCIUser(uid: 1000, gid: 1001))
        #expect(try OCIUser.parse("app:dialout", rootfs: rootfs) == OCIUser(uid: 1000, gid: 20))
        #expect(try OCIUser.parse("0:dialout", rootfs: rootfs) == OCIUser(uid: 0, gid: 20))
    }

    @Test func unknownNamesAreErrors() throws {
        let rootfs = try Self.rootfs()
        defer { try? FileManager.default.removeItem(atPath: rootfs) }
        #expect(throws: OCIUserError.self) { try OCIUser.parse("nobody", rootfs: rootfs) }
        #expect(throws: OCIUserError.self) { try OCIUser.parse("app:wheel", rootfs: rootfs) }
    }

    @Test func aSymlinkedPasswdIsNotFollowedOutOfTheImage() throws {
        let rootfs = try Self.rootfs(passwdLink: true)
        defer { try? FileManager.default.removeItem(atPath: rootfs) }
        // The host's /etc/passwd has root; the image's link to it must not be read.
        #expect(throws: OCIUserError.self) { try OCIUser.parse("root", rootfs: rootfs) }
        #expect(try OCIUser.parse("0", rootfs: rootfs) == .root)
    }
}
