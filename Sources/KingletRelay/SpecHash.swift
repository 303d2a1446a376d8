/// FNV-1a 64 over bytes: the spec hash of docs/protocol.md (16 lowercase hex digits).
public enum FNV1a64 {
    public static func hash<Bytes: Sequence>(_ bytes: Bytes) -> UInt64 where Bytes.Element == UInt8 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return hash
    }

    public static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}

/// Rendezvous (highest-random-weight) hashing: each node goes to the live member with the
/// highest weight for it. When a member leaves, only its nodes move; when one joins, it
/// takes about 1/n of the nodes from each of the others.
public enum Rendezvous {
    public static func weight(member: String, node: String) -> UInt64 {
        // FNV alone mixes the last bytes weakly; the splitmix64 finaliser spreads them.
        var x = FNV1a64.hash(Array(member.utf8) + [0] + Array(node.utf8))
        x ^= x >> 30
        x = x &* 0xbf58_476d_1ce4_e5b9
        x ^= x >> 27
        x = x &* 0x94d0_49bb_1331_11eb
        x ^= x >> 31
        return x
    }

    /// The owner of `node` among `members` (nil when there are none). Ties (never in
    /// practice) go to the smaller member id, so every replica agrees.
    public static func owner(of node: String, among members: [String]) -> String? {
        var best: (member: String, weight: UInt64)? = nil
        for member in members {
            let weight = weight(member: member, node: node)
            if let current = best, current.weight > weight || (current.weight == weight && current.member < member) { continue }
            best = (member, weight)
        }
        return best?.member
    }
}
