import Foundation

/// A fresh folder under the system's temporary folder, removed by `remove()`.
struct ImagesScratchFolder {
    let path: String
    init() {
        path = NSTemporaryDirectory() + "kinglet-images-" + UUID().uuidString
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    func file(_ name: String) -> String { path + "/" + name }
    func remove() { try? FileManager.default.removeItem(atPath: path) }
}
