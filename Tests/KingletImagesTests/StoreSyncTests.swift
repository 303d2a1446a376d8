import Foundation
import KingletCore
import KingletEpoll
import Testing
@testable import KingletImages

/// The store's fsyncs and renames on the flusher thread: in order, never on the loop.
@Suite struct StoreSyncTests {
    @Test func stepListsRunInOrderOnTheFlusherThreadAndAFailedStepIsNamed() throws {
        let folder = ImagesScratchFolder()
        defer { folder.remove() }
        try Data("a".utf8).write(to: URL(fileURLWithPath: folder.file("a")))
        let loop = try EpollEventLoop()
        let sync = StoreSync()
        // 30 ms before every list, a slow card's fsync.
        try sync.start(on: loop, delayMicroseconds: 30_000)
        var finished: [String] = []
        var failure: ImageStoreError?
        sync.run([.sync(folder.file("a")), .rename(folder.file("a"), folder.file("b")), .sync(folder.path)]) { error in
            finished.append("first" + (error == nil ? "" : " failed"))
        }
        sync.run([.rename(folder.file("b"), folder.file("c"))]) { error in
            finished.append("second" + (error == nil ? "" : " failed"))
        }
        sync.run([.sync(folder.file("c")), .sync(folder.file("missing")), .sync(folder.file("c"))]) { error in
            finished.append("third")
            failure = error
        }
        // Nothing ran on the caller's turn.
        #expect(finished.isEmpty)
        #expect(sync.pending == 3)
        let deadline = Date().addingTimeInterval(10)
        while finished.count < 3 && Date() < deadline { try loop.runOnce(timeoutMilliseconds: 50) }
        #expect(finished == ["first", "second", "third"])
        #expect(FileManager.default.fileExists(atPath: folder.file("c")))
        #expect(failure?.description == "fsync \(folder.file("missing")): No such file or directory")
        #expect(sync.listsRun == 3)
        #expect(loop.longestDispatch < .milliseconds(30), "the loop waited on a sync: \(loop.longestDispatch)")
        sync.stop()
    }

    @Test func withoutAThreadAListRunsAtOnceOnTheCaller() throws {
        let folder = ImagesScratchFolder()
        defer { folder.remove() }
        try Data("a".utf8).write(to: URL(fileURLWithPath: folder.file("a")))
        let sync = StoreSync()
        var done = false
        sync.run([.sync(folder.file("a")), .rename(folder.file("a"), folder.file("b"))]) { error in
            done = error == nil
        }
        #expect(done)
        #expect(FileManager.default.fileExists(atPath: folder.file("b")))
    }
}
