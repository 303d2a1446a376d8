/// The members of an object being read, with the lookups duplicate detection and YAML
/// merge keys need. Small objects (most Kubernetes objects) are searched linearly; a
/// dictionary is built only once an object grows, so hostile input with thousands of keys
/// stays linear.
struct MemberList {
    private(set) var members: [Member] = []
    private var indexByKey: [String: Int]? = nil
    /// Which members came in through a YAML merge key ('<<'); nil while none did.
    private var merged: [Bool]? = nil

    private static let linearSearchLimit = 16

    func index(of key: String) -> Int? {
        if let indexByKey { return indexByKey[key] }
        for index in members.indices where members[index].key == key { return index }
        return nil
    }

    /// Adds a member written in the document. Returns the earlier member with the same key
    /// when there is one (a duplicate, which readers reject); a member that a merge key
    /// brought in is replaced instead, since explicit keys override merged ones.
    mutating func add(_ member: Member) -> Member? {
        if let existing = index(of: member.key) {
            guard let merged, merged[existing] else { return members[existing] }
            members[existing] = member
            self.merged?[existing] = false
            return nil
        }
        append(member, merged: false)
        return nil
    }

    /// Adds a member from a merge key's mapping, unless the key is already present
    /// (explicit keys and earlier merges win).
    mutating func addMerged(_ member: Member) {
        guard index(of: member.key) == nil else { return }
        if merged == nil { merged = Array(repeating: false, count: members.count) }
        append(member, merged: true)
    }

    private mutating func append(_ member: Member, merged isMerged: Bool) {
        members.append(member)
        merged?.append(isMerged)
        if indexByKey != nil {
            indexByKey?[member.key] = members.count - 1
        } else if members.count > MemberList.linearSearchLimit {
            var index: [String: Int] = [:]
            index.reserveCapacity(members.count * 2)
            for (offset, each) in members.enumerated() { index[each.key] = offset }
            indexByKey = index
        }
    }
}
