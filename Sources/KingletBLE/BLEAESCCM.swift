import COpenSSL

/// AES-128-CCM (NIST SP 800-38C) through OpenSSL's EVP interface, for encrypted BTHome.
/// No associated data; a 13-byte nonce (L = 2) and a tag of 4...16 bytes.
public enum BLEAESCCM {
    /// Decrypts and verifies; nil when the key, nonce, data or tag do not match (or the
    /// arguments have the wrong sizes). Never traps. A context per call: the decoder keeps
    /// one `BLEAESCCMDecryptor` instead.
    public static func open(key: [UInt8], nonce: [UInt8], ciphertext: [UInt8], tag: [UInt8]) -> [UInt8]? {
        guard let nonce = BLEInlineBytes(nonce) else { return nil }
        return BLEAESCCMDecryptor().open(key: key, nonce: nonce, ciphertext: ciphertext[...], tag: tag[...]).map { Array($0) }
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

/// AES-128-CCM decryption for many packets: the cipher is fetched and the context made
/// once, then re-keyed per packet, and the plaintext is written into a reused buffer. Per
/// packet, `EVP_aes_128_ccm()` plus a fresh context cost OpenSSL several heap allocations
/// (the implicit cipher fetch, the context and its cipher state).
public final class BLEAESCCMDecryptor {
    private let cipher: OpaquePointer?
    private let context: OpaquePointer?
    private let usable: Bool
    /// `open` answers a slice of this, shared: drop it before the next `open`, or that one
    /// copies the buffer (copy-on-write) instead of writing over it.
    private var plaintext: [UInt8] = []

    public init() {
        cipher = EVP_CIPHER_fetch(nil, "AES-128-CCM", nil)
        context = EVP_CIPHER_CTX_new()
        // The cipher is set once: naming it again on a later init would reset the context
        // and make its cipher state anew.
        if let cipher, let context {
            usable = EVP_DecryptInit_ex(context, cipher, nil, nil, nil) == 1
        } else {
            usable = false
        }
    }

    deinit {
        EVP_CIPHER_CTX_free(context)
        EVP_CIPHER_free(cipher)
    }

    /// Decrypts and verifies; nil when the key, nonce, data or tag do not match (or the
    /// arguments have the wrong sizes). Never traps.
    public func open(key: [UInt8], nonce: BLEInlineBytes, ciphertext: ArraySlice<UInt8>, tag: ArraySlice<UInt8>) -> ArraySlice<UInt8>? {
        guard usable, let context, key.count == 16, nonce.count == 13, (4...16).contains(tag.count), tag.count % 2 == 0,
              ciphertext.count <= 0xFFFF else { return nil }
        if plaintext.count < max(1, ciphertext.count) {
            plaintext.append(contentsOf: repeatElement(0, count: max(1, ciphertext.count) - plaintext.count))
        }
        var outputLength: Int32 = 0
        let ok = key.withUnsafeBufferPointer { key in
            nonce.withUnsafeBufferPointer { nonce in
                tag.withUnsafeBufferPointer { tag in
                    ciphertext.withUnsafeBufferPointer { input in
                        plaintext.withUnsafeMutableBufferPointer { output in
                            // Every step of the EVP CCM sequence, every time, so that nothing
                            // is left over from a packet that failed: the nonce length, the
                            // expected tag, key and nonce, the message length, then one update
                            // over the whole ciphertext, which also checks the tag (OpenSSL
                            // EVP_EncryptInit(3), "CCM Mode"). The input pointer is never nil,
                            // even for no ciphertext: a nil one would skip the tag check.
                            EVP_CIPHER_CTX_ctrl(context, bleEVPControlSetIVLength, 13, nil) == 1
                                && EVP_CIPHER_CTX_ctrl(context, bleEVPControlSetTag, Int32(tag.count),
                                                       UnsafeMutableRawPointer(mutating: tag.baseAddress)) == 1
                                && EVP_DecryptInit_ex(context, nil, nil, key.baseAddress, nonce.baseAddress) == 1
                                && EVP_DecryptUpdate(context, nil, &outputLength, nil, Int32(input.count)) == 1
                                && EVP_DecryptUpdate(context, output.baseAddress, &outputLength,
                                                     input.baseAddress ?? UnsafePointer(output.baseAddress), Int32(input.count)) == 1
                        }
                    }
                }
            }
        }
        guard ok, Int(outputLength) == ciphertext.count else { return nil }
        return plaintext[..<ciphertext.count]
    }
}

// EVP_CTRL_AEAD_SET_IVLEN, EVP_CTRL_AEAD_GET_TAG and EVP_CTRL_AEAD_SET_TAG (openssl/evp.h),
// which the CCM aliases EVP_CTRL_CCM_* name; spelled out because macro aliases do not
// always import into Swift.
let bleEVPControlSetIVLength: Int32 = 0x9
let bleEVPControlGetTag: Int32 = 0x10
let bleEVPControlSetTag: Int32 = 0x11
