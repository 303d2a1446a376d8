import CKingletSystem

/// A NULL-terminated array of C strings (argv, envp), copied once and freed explicitly.
struct CStringArray {
    let pointers: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>
    private let count: Int

    init(_ strings: [String]) {
        count = strings.count
        pointers = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: count + 1)
        for (index, string) in strings.enumerated() {
            pointers[index] = string.withCString { strdup($0) }
        }
        pointers[count] = nil
    }

    func free() {
        for index in 0..<count { CKingletSystem.free(pointers[index]) }
        pointers.deallocate()
    }
}
