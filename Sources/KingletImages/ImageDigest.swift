import KingletDocument
import KingletPod

/// A content digest as the OCI image spec writes it: `sha256:<64 lower-case hex digits>`.
/// Only sha256 is accepted: it is what every registry and image tool produces, and what the
/// agent can verify.
public struct ImageDigest: Hashable, Sendable, CustomStringConvertible {
    /// The 64 hex digits.
    public let hex: String

    public init(parsing text: String) throws(ImageDigestError) {
        let bytes = Array(text.utf8)
        guard let colon = bytes.firstIndex(of: UInt8(ascii: ":")) else { throw .malformed(text) }
        let algorithm = String(decoding: bytes[..<colon], as: UTF8.self)
        let encoded = bytes[(colon + 1)...]
        guard algorithm == "sha256" else {
            // The algorithm grammar of the image spec: [a-z0-9]+([+._-][a-z0-9]+)*
            throw algorithm.isEmpty ? .malformed(text) : .unsupportedAlgorithm(algorithm)
        }
        guard encoded.count == 64, encoded.allSatisfy(isLowerHexDigit) else { throw .malformed(text) }
        hex = String(decoding: encoded, as: UTF8.self)
    }

    /// From the 32 bytes of a sha256 hash.
    public init(sha256 bytes: some Collection<UInt8>) {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(64)
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        hex = String(decoding: text, as: UTF8.self)
    }

    public var description: String { "sha256:" + hex }

    /// A digest field of a manifest, index or config; a bad one names the field.
    static func read(_ field: FieldReader) throws(DocumentError) -> ImageDigest {
        let text = try field.string()
        do throws(ImageDigestError) {
            return try ImageDigest(parsing: text)
        } catch {
            throw field.error(error.description)
        }
    }
}

public enum ImageDigestError: Error, Equatable, Sendable, CustomStringConvertible {
    case malformed(String)
    case unsupportedAlgorithm(String)

    public var description: String {
        switch self {
        case .malformed(let text): return "\"\(text)\" is not a digest (expected sha256: and 64 lower-case hex digits)"
        case .unsupportedAlgorithm(let name): return "digest algorithm \(name) is not supported (only sha256)"
        }
    }
}
