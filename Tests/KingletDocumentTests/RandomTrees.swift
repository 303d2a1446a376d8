import KingletDocument
import KingletLoopTesting

/// Random `Node` trees from a seed: bounded depth and width, strings from an alphabet that
/// stresses escaping, numbers at their edges.
struct RandomTrees {
    var random: SplitMix64
    /// Only characters libyaml takes raw inside a double-quoted scalar (for trees that
    /// must also read as YAML): no C0/C1 controls, DEL, line separators or noncharacters.
    let yamlSafe: Bool
    let maxDepth: Int

    init(seed: UInt64, yamlSafe: Bool = false, maxDepth: Int = 5) {
        random = SplitMix64(seed: seed)
        self.yamlSafe = yamlSafe
        self.maxDepth = maxDepth
    }

    private static let anyText: [Unicode.Scalar] = Array("abcXYZ019 _-./:\"\\'{}[],#&*!|>%@`éß€中😀🎉\u{FEFF}".unicodeScalars) + [
        "\u{0}", "\u{1}", "\u{8}", "\u{9}", "\u{A}", "\u{C}", "\u{D}", "\u{1F}", "\u{7F}", "\u{85}", "\u{2028}", "\u{FFFF}",
    ]
    private static let yamlText: [Unicode.Scalar] = Array("abcXYZ019 _-./:\"\\'{}[],#&*!|>%@`éß€中😀🎉".unicodeScalars)

    mutating func node(depth: Int = 0) -> Node {
        let containerAllowed = depth < maxDepth
        switch Int.random(in: 0..<(containerAllowed ? 9 : 7), using: &random) {
        case 0: return Node(.null)
        case 1: return Node(.bool(Bool.random(using: &random)))
        case 2, 3: return Node(.integer(integer()))
        case 4: return Node(.double(double()))
        case 5, 6: return Node(.string(string()))
        case 7:
            let count = Int.random(in: 0...5, using: &random)
            var items: [Node] = []
            for _ in 0..<count { items.append(node(depth: depth + 1)) }
            return Node(.array(items))
        default:
            let count = Int.random(in: 0...5, using: &random)
            var members: [Member] = []
            var keys = Set<String>()
            for _ in 0..<count {
                let key = string()
                guard keys.insert(key).inserted else { continue }
                members.append(Member(key: key, keyPosition: SourcePosition(line: 0, column: 0), node: node(depth: depth + 1)))
            }
            return Node(.object(members))
        }
    }

    mutating func integer() -> Int64 {
        switch Int.random(in: 0..<4, using: &random) {
        case 0: return [Int64.min, Int64.max, 0, -1, 1, Int64.min + 1][Int.random(in: 0..<6, using: &random)]
        case 1: return Int64.random(in: -1000...1000, using: &random)
        default: return Int64(bitPattern: random.next())
        }
    }

    mutating func double() -> Double {
        switch Int.random(in: 0..<4, using: &random) {
        case 0:
            let specials: [Double] = [0, -0.0, 0.1, -2.5, 1e-300, .leastNonzeroMagnitude, .greatestFiniteMagnitude, -.leastNormalMagnitude, 1e21, 123456789.125]
            return specials[Int.random(in: 0..<specials.count, using: &random)]
        case 1:
            return Double(Int.random(in: -1_000_000...1_000_000, using: &random)) / 64
        default:
            while true { // random bit patterns, finite only (JSON has no infinity or NaN)
                let value = Double(bitPattern: random.next())
                if value.isFinite { return value }
            }
        }
    }

    mutating func string() -> String {
        let alphabet = yamlSafe ? RandomTrees.yamlText : RandomTrees.anyText
        var text = String.UnicodeScalarView()
        for _ in 0..<Int.random(in: 0...12, using: &random) {
            text.append(alphabet[Int.random(in: 0..<alphabet.count, using: &random)])
        }
        return String(text)
    }
}
