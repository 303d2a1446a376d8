import CYAML

/// Reads YAML streams (one or more documents) into `Node` trees through libyaml's event
/// parser, resolving scalars as Kubernetes does (see YAMLScalarResolution) so a manifest
/// read as YAML gives the same tree as its JSON form.
///
/// Positions are 1-based lines and byte columns, like JSONReader's. libyaml's own errors
/// (syntax, invalid UTF-8, control characters) carry libyaml's problem text and position.
/// UTF-16 input is rejected: Kinglet reads UTF-8 only.
public struct YAMLReader: Sendable {
    /// How deep mappings and sequences may nest (aliases expanded). The reader itself does
    /// not recurse, but whoever walks the tree does (writing, comparing, freeing it), so
    /// this is capped at 1024 like JSONReader's.
    public var maxDepth: Int
    /// How many nodes (values; keys do not count) one document may hold with its aliases
    /// expanded.
    public var maxNodes: Int

    public init(maxDepth: Int = 64, maxNodes: Int = 100_000) {
        self.maxDepth = min(max(maxDepth, 0), 1024)
        self.maxNodes = max(maxNodes, 1)
    }

    /// Every document of the stream, in order. Empty documents (nothing but "---", or
    /// only comments) are skipped; an explicit `null` or `~` document is kept.
    public func parseDocuments(_ bytes: UnsafeRawBufferPointer, file: String = "") throws(DocumentError) -> [Node] {
        try readStream(bytes.assumingMemoryBound(to: UInt8.self), file: file)
    }

    public func parseDocuments(_ bytes: [UInt8], file: String = "") throws(DocumentError) -> [Node] {
        let result = bytes.withUnsafeBufferPointer { input in
            Result { () throws(DocumentError) -> [Node] in try readStream(input, file: file) }
        }
        return try result.get()
    }

    public func parseDocuments(_ text: String, file: String = "") throws(DocumentError) -> [Node] {
        var text = text
        let result = text.withUTF8 { input in
            Result { () throws(DocumentError) -> [Node] in try readStream(input, file: file) }
        }
        return try result.get()
    }

    /// The stream's one document (a config file). An empty stream reads as a null node at
    /// 1:1; a second document is an error.
    public func parseDocument(_ bytes: UnsafeRawBufferPointer, file: String = "") throws(DocumentError) -> Node {
        try single(parseDocuments(bytes, file: file), file: file)
    }

    public func parseDocument(_ bytes: [UInt8], file: String = "") throws(DocumentError) -> Node {
        try single(parseDocuments(bytes, file: file), file: file)
    }

    public func parseDocument(_ text: String, file: String = "") throws(DocumentError) -> Node {
        try single(parseDocuments(text, file: file), file: file)
    }

    private func single(_ documents: [Node], file: String) throws(DocumentError) -> Node {
        guard let first = documents.first else { return Node(.null, at: SourcePosition(line: 1, column: 1)) }
        guard documents.count == 1 else {
            throw DocumentError(file: file, position: documents[1].position, message: "expected one YAML document, found a second")
        }
        return first
    }

    // MARK: The event loop

    private func readStream(_ input: UnsafeBufferPointer<UInt8>, file: String) throws(DocumentError) -> [Node] {
        guard let base = input.baseAddress, !input.isEmpty else { return [] }
        if input.count >= 2 && ((input[0] == 0xFE && input[1] == 0xFF) || (input[0] == 0xFF && input[1] == 0xFE)) {
            throw DocumentError(file: file, position: SourcePosition(line: 1, column: 1),
                                message: "the text is UTF-16 (it starts with a UTF-16 byte order mark); save it as UTF-8")
        }
        let parser = UnsafeMutablePointer<yaml_parser_t>.allocate(capacity: 1)
        defer { parser.deallocate() }
        guard yaml_parser_initialize(parser) != 0 else {
            throw DocumentError(file: file, message: "libyaml could not allocate a parser")
        }
        defer { yaml_parser_delete(parser) }
        yaml_parser_set_input_string(parser, base, input.count)

        var marks = YAMLMarkConverter(input: input)
        var builder = YAMLTreeBuilder(file: file, maxDepth: min(max(maxDepth, 0), 1024), maxNodes: max(maxNodes, 1))
        var documents: [Node] = []
        var event = yaml_event_t()
        // libyaml consumes input for almost every event; this bound only guards the loop
        // against a parser that would stop making progress.
        let eventLimit = input.count * 8 + 64
        for _ in 0..<eventLimit {
            guard yaml_parser_parse(parser, &event) != 0 else {
                throw libyamlError(parser.pointee, marks: &marks, file: file)
            }
            defer { yaml_event_delete(&event) }
            // Positions only for events that make nodes; libyaml's marks count characters.
            let start = Int(event.start_mark.index)
            switch event.type {
            case YAML_STREAM_END_EVENT:
                return documents
            case YAML_DOCUMENT_START_EVENT:
                builder.beginDocument()
            case YAML_DOCUMENT_END_EVENT:
                if let root = builder.endDocument() { documents.append(root) }
            case YAML_SCALAR_EVENT:
                let scalar = event.data.scalar
                try builder.scalar(
                    UnsafeBufferPointer(start: scalar.value, count: Int(scalar.length)),
                    tag: Self.bytes(scalar.tag), anchor: Self.text(scalar.anchor),
                    plainImplicit: scalar.plain_implicit != 0, at: marks.position(characterIndex: start))
            case YAML_SEQUENCE_START_EVENT:
                try builder.beginCollection(isMapping: false, anchor: Self.text(event.data.sequence_start.anchor),
                                            at: marks.position(characterIndex: start))
            case YAML_MAPPING_START_EVENT:
                try builder.beginCollection(isMapping: true, anchor: Self.text(event.data.mapping_start.anchor),
                                            at: marks.position(characterIndex: start))
            case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                try builder.endCollection()
            case YAML_ALIAS_EVENT:
                try builder.alias(Self.text(event.data.alias.anchor) ?? "", at: marks.position(characterIndex: start))
            default:
                break // STREAM-START, NO-EVENT
            }
        }
        throw DocumentError(file: file, message: "libyaml produced more events than the input can hold")
    }

    /// A NUL-terminated libyaml string (tag, anchor) as bytes.
    private static func bytes(_ pointer: UnsafeMutablePointer<yaml_char_t>?) -> UnsafeBufferPointer<UInt8>? {
        guard let pointer else { return nil }
        return UnsafeBufferPointer(start: pointer, count: strlen(pointer))
    }

    private static func text(_ pointer: UnsafeMutablePointer<yaml_char_t>?) -> String? {
        guard let bytes = bytes(pointer) else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func strlen(_ pointer: UnsafeMutablePointer<yaml_char_t>) -> Int {
        var length = 0
        while pointer[length] != 0 { length += 1 }
        return length
    }

    // MARK: libyaml errors

    private func libyamlError(_ parser: yaml_parser_t, marks: inout YAMLMarkConverter, file: String) -> DocumentError {
        let problem = parser.problem.map { String(cString: $0) } ?? "unknown problem"
        switch parser.error {
        case YAML_MEMORY_ERROR:
            return DocumentError(file: file, message: "libyaml ran out of memory")
        case YAML_READER_ERROR:
            var message = problem
            if parser.problem_value >= 0 {
                message += " (0x" + ByteDescriptions.hex(UInt32(parser.problem_value), digits: 2) + ")"
            }
            return DocumentError(file: file, position: marks.position(byteOffset: Int(parser.problem_offset)), message: message)
        default:
            var message = problem
            if let context = parser.context {
                let contextPosition = marks.position(characterIndex: Int(parser.context_mark.index))
                message += " (" + String(cString: context) + " at " + String(contextPosition.line) + ":" + String(contextPosition.column) + ")"
            }
            let position = marks.position(characterIndex: Int(parser.problem_mark.index))
            return DocumentError(file: file, position: position, message: message)
        }
    }
}
