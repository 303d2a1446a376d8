/// KingletHTTP: an HTTP/1.1 client on the agent's event loop, for the image registry.
///
/// Non-blocking from the first byte: host names resolve on a helper thread (getaddrinfo
/// would block the loop), TCP connects and TLS (OpenSSL) handshakes proceed on readiness,
/// and response bodies are handed over in chunks as they arrive, so a 100 MB layer never
/// holds the loop or the agent's memory.
///
/// - `HTTPURL`, `HTTPRequest`, `HTTPHeaders`, `HTTPResponseHead`: the values.
/// - `HTTPClient`: `send(_:handler:)` and `cancel(_:)` on `any EventLoop`.
/// - `HTTPResponseHandler`: what a request's caller hears, always on the loop.
/// - `HTTPClientError`: every way a request fails, naming the server.
