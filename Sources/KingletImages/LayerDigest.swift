import COpenSSL

/// The sha256 of a layer's uncompressed tar, computed as the bytes stream past: the layer's
/// diffID, which the image config lists in rootfs.diff_ids (image-spec config.md).
final class LayerDigest {
    private let context: OpaquePointer?

    init() throws(LayerError) {
        context = EVP_MD_CTX_new()
        guard let context, EVP_DigestInit_ex(context, EVP_sha256(), nil) == 1 else {
            throw LayerError.system(call: "EVP_DigestInit_ex(sha256)", entry: "", errno: 0)
        }
    }

    deinit { EVP_MD_CTX_free(context) }

    func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        _ = EVP_DigestUpdate(context, base, bytes.count)
    }

    func finish() -> ImageDigest {
        var hash = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        hash.withUnsafeMutableBufferPointer { buffer in
            _ = EVP_DigestFinal_ex(context, buffer.baseAddress, &length)
        }
        return ImageDigest(sha256: hash)
    }
}
