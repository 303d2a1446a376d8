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
    /// every container it holds, then removes the folder, after unmounting (lazily) whatever
    /// is still mounted below it: an agent's clean stop does not wait for its containers'
    /// overlayfs roots to be unmounted, and a test's tmpfs.
    func remove() {
        stopKeeper()
        // Read to its end: String(contentsOfFile:) stops after the first read of a proc file.
        let mountInfo = String(decoding: FileHandle(forReadingAtPath: "/proc/self/mountinfo")?.readDataToEndOfFile() ?? Data(),
                               as: UTF8.self)
        let mounts = mountInfo.split(separator: "\n").compactMap { line -> String? in
            let fields = line.split(separator: " ")
            guard fields.count > 4, fields[4].hasPrefix(folder + "/") else { return nil }
            return String(fields[4])
        }
        for mount in mounts.sorted(by: { $0.count > $1.count }) { umount2(mount, Int32(MNT_DETACH)) }
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
