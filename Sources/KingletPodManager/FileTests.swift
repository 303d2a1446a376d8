import CKingletSystem

enum FileTests {
    static func isExecutable(_ path: String) -> Bool { access(path, X_OK) == 0 }
}
