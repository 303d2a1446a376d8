@testable import KingletImages
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

/// The store's writes as the tests use them: with no sync thread started they finish at
/// once, on the calling thread.
extension ImageStore {
    struct NotFinished: Error {}

    func record(_ image: StoredImage) throws {
        try wait { self.record(image, completion: $0) }
    }

    func storeBlob(_ bytes: [UInt8], digest: ImageDigest) throws {
        try wait { self.storeBlob(bytes, digest: digest, completion: $0) }
    }

    func collectGarbage(high: Int64, low: Int64, inUse: Set<String>, usage: @escaping () -> Int64? = { nil }) throws -> [String] {
        var outcome: Result<[String], ImageStoreError>?
        collectGarbage(high: high, low: low, inUse: inUse, usage: usage) { outcome = $0 }
        guard let outcome else { throw NotFinished() }
        return try outcome.get()
    }

    private func wait(_ start: (@escaping (ImageStoreError?) -> Void) -> Void) throws {
        var finished = false
        var failure: ImageStoreError?
        start { error in
            finished = true
            failure = error
        }
        if let failure { throw failure }
        if !finished { throw NotFinished() }
    }
}
