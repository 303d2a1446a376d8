import Foundation

/// A board profile in a temporary folder: its own cache, logs, socket and static pods, so
/// agents of concurrent tests never share state. Removed by `remove()`.
struct TemporaryBoard {
    let folder: String
    var configPath: String { folder + "/kinglet.yaml" }
    var manifests: String { folder + "/manifests" }
    var cacheFile: String { folder + "/state/cache.kc" }
    var socket: String { folder + "/state/kinglet.sock" }
    var logs: String { folder + "/logs" }

    init(node: String = "test-node", extraConfig: String = "") throws {
        folder = NSTemporaryDirectory() + "kinglet-board-" + UUID().uuidString.prefix(8).lowercased()
        try FileManager.default.createDirectory(atPath: folder + "/manifests", withIntermediateDirectories: true)
        let config = """
        node: {name: \(node)}
        paths:
          cacheFile: state/cache.kc
          staticPods: manifests
          logs: logs
          apps: apps
          socket: state/kinglet.sock
          images: state/images
        \(extraConfig)
        """
        try config.write(toFile: configPath, atomically: true, encoding: .utf8)
    }

    func write(manifest name: String, _ text: String) throws {
        try text.write(toFile: manifests + "/" + name, atomically: true, encoding: .utf8)
    }

    var stateFolder: String { folder + "/state" }

    /// Stops the board's container keeper (containers outlive the agent by default) and
    /// every container it holds, then removes the folder.
    func remove() {
        stopKeeper()
        try? FileManager.default.removeItem(atPath: folder)
    }

    func stopKeeper() {
        guard FileManager.default.fileExists(atPath: stateFolder + "/keeper.pid") else { return }
        _ = try? AgentProcess.run(["keeper", "--stop", "--state", stateFolder], within: 30)
    }

    /// The running keeper's pid, if any.
    var keeperPID: Int32? {
        guard let text = try? String(contentsOfFile: stateFolder + "/keeper.pid", encoding: .utf8) else { return nil }
        return Int32(text.trimmingCharacters(in: .whitespacesAndNewlines))
    }
}
