import CKingletSystem
import COpenSSL

// OpenSSL constants that are function-like or aliased macros, which Swift does not import.
let tlsOptionIgnoreUnexpectedEOF: UInt64 = 1 << 7   // SSL_OP_IGNORE_UNEXPECTED_EOF
let tlsOptionNoRenegotiation: UInt64 = 1 << 30      // SSL_OP_NO_RENEGOTIATION
let tlsControlMode: Int32 = 33                      // SSL_CTRL_MODE
let tlsControlSetHostName: Int32 = 55               // SSL_CTRL_SET_TLSEXT_HOSTNAME
let tlsControlSetMinProtocol: Int32 = 123           // SSL_CTRL_SET_MIN_PROTO_VERSION
let tlsVersion12 = 0x0303                           // TLS1_2_VERSION
let tlsModePartialWrite = 0x1                       // SSL_MODE_ENABLE_PARTIAL_WRITE
let tlsModeMovingWriteBuffer = 0x2                  // SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER
let tlsNameTypeHostName = 0                         // TLSEXT_NAMETYPE_host_name
let tlsCheckNoPartialWildcards: UInt32 = 0x4        // X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS

/// The client's SSL_CTX: TLS 1.2 or later, the trusted CAs, peer verification. Made on the
/// first https request and shared by every connection after it.
final class TLSContext {
    let context: OpaquePointer

    init(_ settings: HTTPClientSettings) throws(HTTPClientError) {
        guard let context = SSL_CTX_new(TLS_client_method()) else {
            throw .tlsSetupFailed(reason: "SSL_CTX_new failed: " + TLSContext.takeErrorReason())
        }
        self.context = context
        _ = SSL_CTX_ctrl(context, tlsControlSetMinProtocol, tlsVersion12, nil)
        // An EOF without close_notify ends the stream like one with it: the response's own
        // framing (Content-Length, the last chunk) says whether the body is complete.
        _ = SSL_CTX_set_options(context, tlsOptionIgnoreUnexpectedEOF | tlsOptionNoRenegotiation)
        _ = SSL_CTX_ctrl(context, tlsControlMode, tlsModePartialWrite | tlsModeMovingWriteBuffer, nil)
        guard settings.verifyCertificates else {
            SSL_CTX_set_verify(context, SSL_VERIFY_NONE, nil)
            return
        }
        SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nil)
        var loaded = false
        if access(settings.caFile, R_OK) == 0 {
            loaded = SSL_CTX_load_verify_locations(context, settings.caFile, nil) == 1
        }
        if !loaded {
            ERR_clear_error()
            _ = SSL_CTX_set_default_verify_paths(context)
            ERR_clear_error()
        }
        if let extra = settings.extraCAFile {
            guard SSL_CTX_load_verify_locations(context, extra, nil) == 1 else {
                let reason = TLSContext.takeErrorReason()
                // self is whole: deinit frees the context.
                throw .tlsSetupFailed(reason: "cannot load the CA file " + extra + ": " + reason)
            }
        }
    }

    deinit { SSL_CTX_free(context) }

    /// A connection's SSL on `fd`, with SNI and host-name (or IP address) verification
    /// for `host`.
    func session(fd: Int32, host: String, hostIsIPAddress: Bool, verify: Bool) -> OpaquePointer? {
        guard let ssl = SSL_new(context) else { return nil }
        guard SSL_set_fd(ssl, fd) == 1 else {
            SSL_free(ssl)
            return nil
        }
        var ok = true
        if hostIsIPAddress {
            // No SNI for an address (RFC 6066); the certificate needs an IP entry.
            if verify { ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host) == 1 }
        } else {
            ok = host.withCString { name in
                SSL_ctrl(ssl, tlsControlSetHostName, tlsNameTypeHostName, UnsafeMutableRawPointer(mutating: name)) == 1
            }
            if ok && verify {
                SSL_set_hostflags(ssl, tlsCheckNoPartialWildcards)
                ok = SSL_set1_host(ssl, host) == 1
            }
        }
        if !ok {
            SSL_free(ssl)
            return nil
        }
        SSL_set_connect_state(ssl)
        return ssl
    }

    /// The oldest error on OpenSSL's queue, as its reason text, and the queue emptied.
    static func takeErrorReason() -> String {
        let code = ERR_get_error()
        var text = ""
        if code != 0 {
            if let reason = ERR_reason_error_string(code) {
                text = String(cString: reason)
            } else {
                var buffer = [CChar](repeating: 0, count: 256)
                buffer.withUnsafeMutableBufferPointer { ERR_error_string_n(code, $0.baseAddress, $0.count) }
                text = buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            }
        }
        ERR_clear_error()
        return text.isEmpty ? "unknown OpenSSL error" : text
    }
}
