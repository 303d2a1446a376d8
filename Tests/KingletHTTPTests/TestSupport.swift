import Foundation

/// A fresh folder under the system's temporary folder, removed by `remove()`.
struct HTTPScratchFolder {
    let path: String
    init() {
        path = NSTemporaryDirectory() + "kinglet-http-" + UUID().uuidString
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    func remove() { try? FileManager.default.removeItem(atPath: path) }
}
