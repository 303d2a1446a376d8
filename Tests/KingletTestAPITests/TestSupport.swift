import Foundation
import KingletTestAPI
import KingletTestPeers
import Testing

/// A running test API server with its etcd and a client, for one test.
final class APIFixture: @unchecked Sendable {
    let peer: TestAPIPeer
    let client: APIClient

    init(label: String, token: String? = nil, tls: TestAPIPeer.TLSMode = .none, bookmarkInterval: Double = 5) throws {
        peer = try TestAPIPeer.start(label: label, token: token, tls: tls, bookmarkInterval: bookmarkInterval)
        client = APIClient(baseURL: peer.url, token: token)
    }

    func stop() async {
        await client.shutdown()
        peer.stop()
    }

    /// Runs `body` against a fresh server and always stops it.
    static func with(_ label: String, token: String? = nil, tls: TestAPIPeer.TLSMode = .none, bookmarkInterval: Double = 5,
                     _ body: (APIFixture) async throws -> Void) async throws {
        let fixture = try APIFixture(label: label, token: token, tls: tls, bookmarkInterval: bookmarkInterval)
        do { try await body(fixture) } catch {
            await fixture.stop()
            throw error
        }
        await fixture.stop()
    }
}

/// Objects the tests create.
enum Manifests {
    static func pod(_ name: String, node: String? = nil, labels: [String: String] = [:], grace: Int? = nil) -> JSON {
        var spec: JSON = ["containers": [["name": "main", "image": "busybox:1.36", "command": ["sleep", "3600"]]]]
        if let node { spec["nodeName"] = .string(node) }
        if let grace { spec["terminationGracePeriodSeconds"] = .int(grace) }
        return ["apiVersion": "v1", "kind": "Pod",
                "metadata": ["name": .string(name), "labels": .object(labels.mapValues(JSON.string))], "spec": spec]
    }

    static func node(_ name: String, labels: [String: String] = [:], ready: String = "True") -> JSON {
        ["apiVersion": "v1", "kind": "Node",
         "metadata": ["name": .string(name), "labels": .object(labels.mapValues(JSON.string))],
         "status": ["conditions": [["type": "Ready", "status": .string(ready), "reason": "KubeletReady",
                                    "lastHeartbeatTime": "2026-01-01T00:00:00Z", "lastTransitionTime": "2026-01-01T00:00:00Z"]],
                    "nodeInfo": ["kubeletVersion": "v1.32.0-kinglet", "osImage": "Debian", "kernelVersion": "6.1.0",
                                 "containerRuntimeVersion": "kinglet-exec://0.2.0", "architecture": "amd64", "operatingSystem": "linux"],
                    "addresses": [["type": "InternalIP", "address": "127.0.0.2"]]]]
    }
}

extension JSON {
    var resourceVersion: String { at(["metadata", "resourceVersion"])?.stringValue ?? "" }
    var names: [String] { (self["items"]?.arrayValue ?? []).compactMap { $0.at(["metadata", "name"])?.stringValue } }
}

/// A program's exit status and output.
struct ToolRun {
    let status: Int32
    let output: String
    let error: String
}

/// Runs `executable` with a bounded wait (killed after `seconds`).
func runTool(_ executable: String, _ arguments: [String], environment: [String: String] = [:], input: String? = nil,
             within seconds: Double = 60) throws -> ToolRun {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    var env = ProcessInfo.processInfo.environment
    for (key, value) in environment { env[key] = value }
    process.environment = env
    let folder = try BuiltProducts.temporaryFolder("tool")
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let outPath = folder + "/out", errPath = folder + "/err"
    _ = FileManager.default.createFile(atPath: outPath, contents: nil)
    _ = FileManager.default.createFile(atPath: errPath, contents: nil)
    process.standardOutput = FileHandle(forWritingAtPath: outPath)
    process.standardError = FileHandle(forWritingAtPath: errPath)
    if let input {
        let inPath = folder + "/in"
        try input.write(toFile: inPath, atomically: true, encoding: .utf8)
        process.standardInput = FileHandle(forReadingAtPath: inPath)
    } else {
        process.standardInput = FileHandle.nullDevice
    }
    try process.run()
    let deadline = Date().addingTimeInterval(seconds)
    while process.isRunning && Date() < deadline { usleep(20_000) }
    if process.isRunning { process.terminate(); usleep(200_000); if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
    process.waitUntilExit()
    return ToolRun(status: process.terminationStatus,
                   output: (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "",
                   error: (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "")
}
