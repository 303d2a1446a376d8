/// Builds one YAML document's `Node` tree from libyaml's events, with an explicit stack
/// (no recursion, whatever the nesting), and applies the model's rules on the way:
/// scalar resolution (YAMLScalarResolution), string keys (YAMLMappingKeys), unique keys,
/// merge keys, alias expansion and the depth and size limits.
///
/// Aliases are expanded by copying the anchored node, positions included (a value from an
/// alias reports where it was written). Copies share storage, so memory stays small, but
/// whoever walks the tree pays for every copy: `maxNodes` caps the expanded size of a
/// document (the "billion laughs" defence).
///
/// Merge keys (`<<: *base`, `<<: [*a, *b]`, from the YAML 1.1 merge type): keys written in
/// the mapping win over merged ones wherever they appear, and among merged mappings the
/// earlier wins. (yaml.v2 lets a key written before `<<` be overwritten by the merge; the
/// spec does not, and manifests put `<<` first anyway.)
struct YAMLTreeBuilder {
    let file: String
    let maxDepth: Int
    let maxNodes: Int

    private var stack: [Frame] = []
    private var anchors: [String: Anchored] = [:]
    /// Nodes (values, not keys) in the current document, aliases expanded.
    private var nodeCount = 0
    private var root: Node?
    /// The document holds nothing but an empty plain scalar (e.g. "---" alone).
    private var rootIsEmpty = false
    private var scratch: [UInt8] = []

    init(file: String, maxDepth: Int, maxNodes: Int) {
        self.file = file
        self.maxDepth = maxDepth
        self.maxNodes = maxNodes
    }

    private struct Anchored {
        var node: Node
        /// Nodes in the subtree.
        var size: Int
        /// Container levels in the subtree (0 for a scalar).
        var height: Int
    }

    private struct Frame {
        var isMapping: Bool
        var position: SourcePosition
        var anchor: String?
        var items: [Node] = []
        var members = MemberList()
        /// The key read and waiting for its value.
        var pendingKey: PendingKey?
        var size = 1
        var height = 1

        var expectsKey: Bool { isMapping && pendingKey == nil }
    }

    private struct PendingKey {
        var text: String
        var position: SourcePosition
        var isMerge: Bool
    }

    private func error(_ message: String, at position: SourcePosition) -> DocumentError {
        DocumentError(file: file, position: position, message: message)
    }

    // MARK: Documents

    mutating func beginDocument() {
        stack.removeAll(keepingCapacity: true)
        anchors.removeAll(keepingCapacity: true)
        nodeCount = 0
        root = nil
        rootIsEmpty = false
    }

    /// The document's root, or nil when the document is empty.
    mutating func endDocument() -> Node? {
        defer { anchors.removeAll(keepingCapacity: true) }
        return rootIsEmpty ? nil : root
    }

    // MARK: Events

    mutating func scalar(_ text: UnsafeBufferPointer<UInt8>, tag: UnsafeBufferPointer<UInt8>?, anchor: String?,
                         plainImplicit: Bool, at position: SourcePosition) throws(DocumentError) {
        let tagKind = YAMLScalarResolution.Tag(tag)
        if stack.isEmpty {
            rootIsEmpty = text.isEmpty && plainImplicit && anchor == nil && tag == nil
        }
        if let frame = stack.last, frame.expectsKey,
           text.count == 2, text[0] == 0x3C, text[1] == 0x3C, // "<<"
           plainImplicit || tagKind == .merge {
            stack[stack.count - 1].pendingKey = PendingKey(text: "<<", position: position, isMerge: true)
            if let anchor { anchors[anchor] = Anchored(node: Node(.string("<<"), at: position), size: 1, height: 0) }
            return
        }
        let value: Value
        do {
            value = try YAMLScalarResolution.resolve(text, tag: tagKind, plainImplicit: plainImplicit, scratch: &scratch)
        } catch {
            throw self.error(ByteDescriptions.quoted(YAMLScalarResolution.string(text)) + " is not a valid "
                + error.tag.shortName + " (it carries that tag)", at: position)
        }
        let node = Node(value, at: position)
        if let anchor { anchors[anchor] = Anchored(node: node, size: 1, height: 0) }
        if let frame = stack.last, frame.expectsKey {
            try setKey(value, at: position) // keys are not nodes: they do not count
        } else {
            try count(1, at: position)
            try add(node, size: 1, height: 0)
        }
    }

    mutating func beginCollection(isMapping: Bool, anchor: String?, at position: SourcePosition) throws(DocumentError) {
        if let frame = stack.last, frame.expectsKey {
            throw error("a mapping key must be a scalar, found " + (isMapping ? "a mapping" : "a sequence")
                + " (complex keys have no JSON form)", at: position)
        }
        guard stack.count < maxDepth else {
            throw error("mappings and sequences nest deeper than " + String(maxDepth) + " levels", at: position)
        }
        try count(1, at: position)
        stack.append(Frame(isMapping: isMapping, position: position, anchor: anchor))
    }

    mutating func endCollection() throws(DocumentError) {
        guard let frame = stack.popLast() else { return } // libyaml pairs its events; nothing to close
        let node = Node(frame.isMapping ? .object(frame.members.members) : .array(frame.items), at: frame.position)
        if let anchor = frame.anchor {
            anchors[anchor] = Anchored(node: node, size: frame.size, height: frame.height)
        }
        try add(node, size: frame.size, height: frame.height)
    }

    mutating func alias(_ name: String, at position: SourcePosition) throws(DocumentError) {
        // An open collection with this anchor is the most recent one (YAML 1.2 §3.2.2.2),
        // even when an earlier node had the same anchor: the alias would contain itself.
        if stack.contains(where: { $0.anchor == name }) {
            throw error("alias *" + name + " refers to a node that contains it", at: position)
        }
        guard let anchored = anchors[name] else {
            throw error("unknown alias *" + name + " (no anchor &" + name + " before it in this document)", at: position)
        }
        if let frame = stack.last, frame.expectsKey {
            try setKey(anchored.node.value, at: position)
            return
        }
        guard stack.count + anchored.height <= maxDepth else {
            throw error("alias *" + name + " nests deeper than " + String(maxDepth) + " levels", at: position)
        }
        try count(anchored.size, at: position)
        try add(anchored.node, size: anchored.size, height: anchored.height)
    }

    // MARK: Building

    private mutating func count(_ nodes: Int, at position: SourcePosition) throws(DocumentError) {
        nodeCount += nodes
        guard nodeCount <= maxNodes else {
            throw error("document has more than " + String(maxNodes)
                + " nodes with its aliases expanded (the limit guards against alias bombs)", at: position)
        }
    }

    /// Places a finished node: as the root, as a sequence item or as a mapping value.
    private mutating func add(_ node: Node, size: Int, height: Int) throws(DocumentError) {
        guard !stack.isEmpty else {
            root = node
            return
        }
        let top = stack.count - 1
        stack[top].size += size
        stack[top].height = max(stack[top].height, height + 1)
        guard stack[top].isMapping else {
            stack[top].items.append(node)
            return
        }
        guard let key = stack[top].pendingKey else {
            // Collections never get here as keys (beginCollection rejects them).
            try setKey(node.value, at: node.position)
            return
        }
        stack[top].pendingKey = nil
        if key.isMerge {
            try merge(node, into: top)
        } else if let first = stack[top].members.add(Member(key: key.text, keyPosition: key.position, node: node)) {
            throw error("duplicate key " + ByteDescriptions.quoted(key.text) + " (first at "
                + String(first.keyPosition.line) + ":" + String(first.keyPosition.column) + ")", at: key.position)
        }
    }

    private mutating func setKey(_ value: Value, at position: SourcePosition) throws(DocumentError) {
        guard let text = YAMLMappingKeys.text(for: value) else {
            throw error("a mapping key must be a string, number or boolean, found " + value.kindDescription, at: position)
        }
        stack[stack.count - 1].pendingKey = PendingKey(text: text, position: position, isMerge: false)
    }

    private mutating func merge(_ node: Node, into index: Int) throws(DocumentError) {
        switch node.value {
        case .object(let members):
            for member in members { stack[index].members.addMerged(member) }
        case .array(let items):
            for item in items {
                guard case .object(let members) = item.value else {
                    throw error("a merge key '<<' takes a mapping or a sequence of mappings; this item is "
                        + item.value.kindDescription, at: item.position)
                }
                for member in members { stack[index].members.addMerged(member) }
            }
        default:
            throw error("a merge key '<<' takes a mapping or a sequence of mappings, found "
                + node.value.kindDescription, at: node.position)
        }
    }
}
