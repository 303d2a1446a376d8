import COpenSSL

/// AES-128-CCM (NIST SP 800-38C) through OpenSSL's EVP interface, for encrypted BTHome.
/// No associated data; a 13-byte nonce (L = 2) and a tag of 4...16 bytes.
public enum BLEAESCCM {
    /// Decrypts and verifies; nil when the key, nonce, data or tag do not match (or the
    /// arguments have the wrong sizes). Never traps.
    public static func open(key: [UInt8], nonce: [UInt8], ciphertext: [UInt8], tag: [UInt8]) -> [UInt8]? {
        guard key.count == 16, nonce.count == 13, (4...16).contains(tag.count), tag.count % 2 == 0,
              ciphertext.count <= 0xFFFF else { return nil }
        guard let ctx = EVP_CIPHER_CTX_new() else { return nil }
        defer { EVP_CIPHER_CTX_free(ctx) }
        var tagCopy = tag
        var output = [UInt8](repeating: 0, count: max(1, ciphertext.count))
        var outputLength: Int32 = 0
        // The EVP CCM sequence: cipher, nonce length, expected tag, key and nonce, then one
        // update over the whole ciphertext, which also checks the tag (OpenSSL EVP_EncryptInit(3)).
        guard EVP_DecryptInit_ex(ctx, EVP_aes_128_ccm(), nil, nil, nil) == 1,
              EVP_CIPHER_CTX_ctrl(ctx, bleEVPControlSetIVLength, 13, nil) == 1,
              tagCopy.withUnsafeMutableBytes({ EVP_CIPHER_CTX_ctrl(ctx, bleEVPControlSetTag, Int32(tag.count), $0.baseAddress) }) == 1,
              EVP_DecryptInit_ex(ctx, nil, nil, key, nonce) == 1
        else { return nil }
        let ok = ciphertext.withUnsafeBufferPointer { input in
            output.withUnsafeMutableBufferPointer { out in
                EVP_DecryptUpdate(ctx, out.baseAddress, &outputLength, input.baseAddress, Int32(input.count))
            }
        }
        guard ok > 0, Int(outputLength) == ciphertext.count else { return nil }
        return Array(output.prefix(ciphertext.count))
    }

    /// Encrypts; returns the ciphertext and the tag, or nil on bad argument sizes.
    public static func seal(key: [UInt8], nonce: [UInt8], plaintext: [UInt8], tagLength: Int = 4) -> (ciphertext: [UInt8], tag: [UInt8])? {
        guard key.count == 16, nonce.count == 13, (4...16).contains(tagLength), tagLength % 2 == 0,
              plaintext.count <= 0xFFFF else { return nil }
        guard let ctx = EVP_CIPHER_CTX_new() else { return nil }
        defer { EVP_CIPHER_CTX_free(ctx) }
        var output = [UInt8](repeating: 0, count: max(1, plaintext.count))
        var outputLength: Int32 = 0
        var finalLength: Int32 = 0
        guard EVP_EncryptInit_ex(ctx, EVP_aes_128_ccm(), nil, nil, nil) == 1,
              EVP_CIPHER_CTX_ctrl(ctx, bleEVPControlSetIVLength, 13, nil) == 1,
              EVP_CIPHER_CTX_ctrl(ctx, bleEVPControlSetTag, Int32(tagLength), nil) == 1,
              EVP_EncryptInit_ex(ctx, nil, nil, key, nonce) == 1
        else { return nil }
        let ok = plaintext.withUnsafeBufferPointer { input in
            output.withUnsafeMutableBufferPointer { out in
                EVP_EncryptUpdate(ctx, out.baseAddress, &outputLength, input.baseAddress, Int32(input.count))
            }
        }
        guard ok == 1, Int(outputLength) == plaintext.count else { return nil }
        var tail = [UInt8](repeating: 0, count: 16)
        guard EVP_EncryptFinal_ex(ctx, &tail, &finalLength) == 1 else { return nil }
        var tag = [UInt8](repeating: 0, count: tagLength)
        guard tag.withUnsafeMutableBytes({ EVP_CIPHER_CTX_ctrl(ctx, bleEVPControlGetTag, Int32(tagLength), $0.baseAddress) }) == 1
        else { return nil }
        return (Array(output.prefix(plaintext.count)), tag)
    }
}

// EVP_CTRL_AEAD_SET_IVLEN, EVP_CTRL_AEAD_GET_TAG and EVP_CTRL_AEAD_SET_TAG (openssl/evp.h),
// which the CCM aliases EVP_CTRL_CCM_* name; spelled out because macro aliases do not
// always import into Swift.
let bleEVPControlSetIVLength: Int32 = 0x9
let bleEVPControlGetTag: Int32 = 0x10
let bleEVPControlSetTag: Int32 = 0x11
