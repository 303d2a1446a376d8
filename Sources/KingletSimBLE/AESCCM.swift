import COpenSSL

/// AES-128-CCM (NIST SP 800-38C) through libcrypto's EVP interface, for encrypted BTHome
/// advertisements: 13-octet nonce, no associated data, a 4-octet tag (the MIC).
public enum AESCCM {
    public enum Failure: Error, Equatable {
        case badKeyLength(Int)
        case badNonceLength(Int)
        case libcrypto(String)
    }

    /// Returns the ciphertext and the tag.
    public static func seal(key: [UInt8], nonce: [UInt8], plaintext: [UInt8], tagLength: Int = 4)
        throws(Failure) -> (ciphertext: [UInt8], tag: [UInt8]) {
        guard key.count == 16 else { throw .badKeyLength(key.count) }
        guard (7...13).contains(nonce.count) else { throw .badNonceLength(nonce.count) }
        guard let ctx = EVP_CIPHER_CTX_new() else { throw .libcrypto("EVP_CIPHER_CTX_new") }
        defer { EVP_CIPHER_CTX_free(ctx) }
        guard EVP_EncryptInit_ex(ctx, EVP_aes_128_ccm(), nil, nil, nil) == 1 else { throw .libcrypto("init") }
        guard EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, Int32(nonce.count), nil) == 1,
              EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, Int32(tagLength), nil) == 1 else {
            throw .libcrypto("ctrl")
        }
        guard EVP_EncryptInit_ex(ctx, nil, nil, key, nonce) == 1 else { throw .libcrypto("key") }
        var outLength: Int32 = 0
        // CCM needs the total plaintext length before any data (EVP's CCM mode contract).
        guard EVP_EncryptUpdate(ctx, nil, &outLength, nil, Int32(plaintext.count)) == 1 else {
            throw .libcrypto("length")
        }
        var out = [UInt8](repeating: 0, count: plaintext.count + 16)
        if !plaintext.isEmpty {
            guard EVP_EncryptUpdate(ctx, &out, &outLength, plaintext, Int32(plaintext.count)) == 1 else {
                throw .libcrypto("update")
            }
        }
        var finalLength: Int32 = 0
        let written = Int(outLength)
        let ok = out.withUnsafeMutableBufferPointer { p in
            EVP_EncryptFinal_ex(ctx, p.baseAddress! + written, &finalLength)
        }
        guard ok == 1 else { throw .libcrypto("final") }
        var tag = [UInt8](repeating: 0, count: tagLength)
        guard EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, Int32(tagLength), &tag) == 1 else {
            throw .libcrypto("tag")
        }
        return (Array(out[0..<(written + Int(finalLength))]), tag)
    }

    /// Returns the plaintext, or nil when the tag does not authenticate.
    public static func open(key: [UInt8], nonce: [UInt8], ciphertext: [UInt8], tag: [UInt8])
        throws(Failure) -> [UInt8]? {
        guard key.count == 16 else { throw .badKeyLength(key.count) }
        guard (7...13).contains(nonce.count) else { throw .badNonceLength(nonce.count) }
        guard let ctx = EVP_CIPHER_CTX_new() else { throw .libcrypto("EVP_CIPHER_CTX_new") }
        defer { EVP_CIPHER_CTX_free(ctx) }
        var tagCopy = tag
        guard EVP_DecryptInit_ex(ctx, EVP_aes_128_ccm(), nil, nil, nil) == 1,
              EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, Int32(nonce.count), nil) == 1,
              EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, Int32(tag.count), &tagCopy) == 1,
              EVP_DecryptInit_ex(ctx, nil, nil, key, nonce) == 1 else {
            throw .libcrypto("init")
        }
        var outLength: Int32 = 0
        guard EVP_DecryptUpdate(ctx, nil, &outLength, nil, Int32(ciphertext.count)) == 1 else {
            throw .libcrypto("length")
        }
        var out = [UInt8](repeating: 0, count: ciphertext.count + 16)
        // In CCM mode the single update both decrypts and verifies; it fails on a bad tag.
        guard EVP_DecryptUpdate(ctx, &out, &outLength, ciphertext, Int32(ciphertext.count)) == 1 else {
            return nil
        }
        return Array(out[0..<Int(outLength)])
    }
}
