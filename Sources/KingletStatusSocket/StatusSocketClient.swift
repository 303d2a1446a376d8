import CKingletSystem

/// The client side, for CLI commands: one request line, the whole response. Blocking with
/// a timeout, which is right for a short-lived command and never used inside the agent.
public enum StatusSocketClient {
    public static func request(_ line: String, path: String, timeoutMilliseconds: Int32 = 5000,
                               responseLimit: Int = 16 * 1024 * 1024) -> Result<[UInt8], StatusSocketError> {
        let fd = kinglet_unix_connect(path, timeoutMilliseconds)
        if fd < 0 { return .failure(.system(call: "connect to \(path)", errno: kinglet_errno())) }
        defer { close(fd) }
        var message = Array((line + "\n").utf8)
        var offset = 0
        while offset < message.count {
            let count = message.withUnsafeMutableBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if count < 0 {
                if kinglet_errno() == EINTR { continue }
                return .failure(.system(call: "send to \(path)", errno: kinglet_errno()))
            }
            offset += count
        }
        var response: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if kinglet_errno() == EINTR { continue }
                return .failure(.system(call: "read from \(path)", errno: kinglet_errno()))
            }
            if count == 0 { return .success(response) }
            response.append(contentsOf: chunk[0..<count])
            if response.count > responseLimit { return .failure(.responseTooLarge(limit: responseLimit)) }
        }
    }
}
