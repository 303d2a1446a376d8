import Foundation
import KingletCore
import Testing

@Suite struct WholeFileTests {
    func scratch(_ bytes: [UInt8]) throws -> String {
        let path = NSTemporaryDirectory() + "kinglet-wholefile-\(UUID().uuidString)"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test func readsAFileLargerThanOneChunkCompletely() throws {
        let bytes = (0..<40_000).map { UInt8($0 % 251) }
        let path = try scratch(bytes)
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(try WholeFile.read(path, limit: 1 << 20) == bytes)
    }

    @Test func stopsAtTheLimitExactly() throws {
        let path = try scratch([UInt8](repeating: 65, count: 40_000))
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(try WholeFile.read(path, limit: 20_001).count == 20_001)
        #expect(WholeFile.text(path, limit: 3) == "AAA")
    }

    @Test func missingFileIsAnOpenErrorWithItsErrno() {
        #expect(throws: WholeFileError(call: "open", errno: ENOENT)) { try WholeFile.read("/nonexistent/kinglet", limit: 10) }
        #expect(WholeFile.text("/nonexistent/kinglet", limit: 10) == nil)
    }
}
