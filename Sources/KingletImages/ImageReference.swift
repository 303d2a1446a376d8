/// An image reference as users write it in `image:` (`busybox`, `eclipse-mosquitto:2`,
/// `registry.local:5000/plc-bridge:1.4`, `ghcr.io/acme/app@sha256:...`), parsed with the
/// grammar of the distribution project's reference package and normalised the way Docker
/// and the kubelet do: a first component without `.` or `:` (and not `localhost`) is a
/// Docker Hub path, a single-component Docker Hub name is under `library/`, and a reference
/// with neither tag nor digest means `:latest`.
public struct ImageReference: Equatable, Sendable, CustomStringConvertible {
    /// The registry as written, normalised: `docker.io` for Docker Hub, else `host[:port]`.
    public let registry: String
    /// The repository path within the registry: `library/busybox`, `acme/app`.
    public let repository: String
    /// The tag, when the reference has one (`latest` is filled in only when there is no digest).
    public let tag: String?
    /// `sha256:<64 hex digits>`, when the reference pins a digest.
    public let digest: ImageDigest?

    /// Docker Hub's name in references, and the host its API answers on.
    public static let dockerHub = "docker.io"
    public static let dockerHubEndpoint = "registry-1.docker.io"

    public init(parsing text: String) throws(ImageReferenceError) {
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty else { throw .invalid(text, "the reference is empty") }
        guard bytes.count <= 4096 else { throw .invalid(text, "the reference is too long") }
        var rest = bytes[...]
        var digest: ImageDigest? = nil
        if let at = rest.firstIndex(of: UInt8(ascii: "@")) {
            let digestText = String(decoding: rest[(at + 1)...], as: UTF8.self)
            do throws(ImageDigestError) {
                digest = try ImageDigest(parsing: digestText)
            } catch {
                throw .invalid(text, error.description)
            }
            rest = rest[..<at]
        }
        // A colon after the last slash starts the tag (a colon before it is a port).
        var tag: String? = nil
        let lastSlash = rest.lastIndex(of: UInt8(ascii: "/"))
        if let colon = rest.lastIndex(of: UInt8(ascii: ":")), colon > (lastSlash ?? rest.startIndex - 1) {
            let tagBytes = rest[(colon + 1)...]
            guard ImageReference.isTag(tagBytes) else {
                throw .invalid(text, "the tag must be 1 to 128 letters, digits, '_', '.' or '-', not starting with '.' or '-'")
            }
            tag = String(decoding: tagBytes, as: UTF8.self)
            rest = rest[..<colon]
        }
        let name = String(decoding: rest, as: UTF8.self)
        guard !rest.isEmpty else { throw .invalid(text, "the name is empty") }
        guard rest.count <= 255 else { throw .invalid(text, "the name is longer than 255 characters") }

        var components = rest.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false).map { Array($0) }
        var registry = ImageReference.dockerHub
        if components.count > 1, ImageReference.looksLikeHost(components[0]) {
            let host = components.removeFirst()
            guard ImageReference.isHost(host) else { throw .invalid(text, "\"\(String(decoding: host, as: UTF8.self))\" is not a valid registry host") }
            registry = String(decoding: host, as: UTF8.self)
            if registry == "index.docker.io" { registry = ImageReference.dockerHub }
        }
        for component in components where !ImageReference.isPathComponent(component) {
            if component.contains(where: { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") }) {
                throw .invalid(text, "the repository name \"\(name)\" must be lowercase")
            }
            throw .invalid(text, "\"\(String(decoding: component, as: UTF8.self))\" is not a valid path component (lowercase letters and digits, separated by '.', '_', '__' or dashes)")
        }
        var repository = components.map { String(decoding: $0, as: UTF8.self) }.joined(separator: "/")
        if registry == ImageReference.dockerHub && components.count == 1 { repository = "library/" + repository }
        self.registry = registry
        self.repository = repository
        self.tag = tag ?? (digest == nil ? "latest" : nil)
        self.digest = digest
    }

    /// The host (and port) the registry's API answers on.
    public var endpoint: String { registry == ImageReference.dockerHub ? ImageReference.dockerHubEndpoint : registry }

    /// What a manifest request asks for: the digest when pinned, else the tag.
    public var manifestReference: String { digest?.description ?? tag ?? "latest" }

    /// The fully qualified reference: `docker.io/library/busybox:latest`.
    public var description: String {
        var text = registry + "/" + repository
        if let tag { text += ":" + tag }
        if let digest { text += "@" + digest.description }
        return text
    }

    /// The same image by its manifest digest (what a pulled image records as its identity).
    public func pinned(to digest: ImageDigest) -> ImageReference {
        ImageReference(registry: registry, repository: repository, tag: nil, digest: digest)
    }

    private init(registry: String, repository: String, tag: String?, digest: ImageDigest?) {
        self.registry = registry
        self.repository = repository
        self.tag = tag
        self.digest = digest
    }

    /// Docker's rule for the first component: a host when it has a dot or a port, is
    /// `localhost`, or has an upper-case letter (a path component cannot).
    static func looksLikeHost(_ component: [UInt8]) -> Bool {
        component.contains(UInt8(ascii: ".")) || component.contains(UInt8(ascii: ":"))
            || component.elementsEqual("localhost".utf8)
            || component.contains(where: { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") })
    }

    /// host[:port]: DNS labels of letters, digits and dashes joined by dots, or an IPv6
    /// literal in brackets; the port is digits.
    static func isHost(_ bytes: [UInt8]) -> Bool {
        var host = bytes[...]
        if let colon = host.lastIndex(of: UInt8(ascii: ":")), !(host.first == UInt8(ascii: "[") && host.last == UInt8(ascii: "]")) {
            let port = host[(colon + 1)...]
            guard !port.isEmpty, port.count <= 5, port.allSatisfy(isDigit) else { return false }
            host = host[..<colon]
        }
        guard !host.isEmpty else { return false }
        if host.first == UInt8(ascii: "[") {
            guard host.last == UInt8(ascii: "]"), host.count > 2 else { return false }
            return host.dropFirst().dropLast().allSatisfy { isHexDigit($0) || $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: ".") }
        }
        for label in host.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false) {
            guard let first = label.first, let last = label.last, isAlphanumeric(first), isAlphanumeric(last),
                  label.allSatisfy({ isAlphanumeric($0) || $0 == UInt8(ascii: "-") }) else { return false }
        }
        return true
    }

    /// [a-z0-9]+ ((\.|_|__|-+)[a-z0-9]+)*
    static func isPathComponent(_ bytes: [UInt8]) -> Bool {
        var index = 0
        func lowerAlphanumerics() -> Bool {
            let start = index
            while index < bytes.count, isLowerAlphanumeric(bytes[index]) { index += 1 }
            return index > start
        }
        guard lowerAlphanumerics() else { return false }
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: ".") {
                index += 1
            } else if byte == UInt8(ascii: "_") {
                index += 1
                if index < bytes.count, bytes[index] == UInt8(ascii: "_") { index += 1 }
            } else if byte == UInt8(ascii: "-") {
                while index < bytes.count, bytes[index] == UInt8(ascii: "-") { index += 1 }
            } else {
                return false
            }
            guard lowerAlphanumerics() else { return false }
        }
        return true
    }

    /// [\w][\w.-]{0,127}
    static func isTag(_ bytes: ArraySlice<UInt8>) -> Bool {
        guard let first = bytes.first, bytes.count <= 128, isWord(first) else { return false }
        return bytes.allSatisfy { isWord($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") }
    }
}

public enum ImageReferenceError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalid(String, String)

    /// The kubelet's wording for an InvalidImageName, with what is wrong.
    public var description: String {
        switch self {
        case .invalid(let text, let why):
            return "couldn't parse image name \"\(text)\": invalid reference format: \(why)"
        }
    }
}

@inline(__always) func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
@inline(__always) func isLowerHexDigit(_ byte: UInt8) -> Bool { isDigit(byte) || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "f")) }
@inline(__always) func isHexDigit(_ byte: UInt8) -> Bool { isLowerHexDigit(byte) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "F")) }
@inline(__always) func isLowerAlphanumeric(_ byte: UInt8) -> Bool { isDigit(byte) || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) }
@inline(__always) func isAlphanumeric(_ byte: UInt8) -> Bool { isLowerAlphanumeric(byte) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z")) }
@inline(__always) func isWord(_ byte: UInt8) -> Bool { isAlphanumeric(byte) || byte == UInt8(ascii: "_") }
