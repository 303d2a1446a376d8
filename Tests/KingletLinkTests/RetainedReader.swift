import Foundation
import KingletTestPeers

extension MosquittoClient {
    /// The retained message on `topic` (its payload), or nil when none comes within
    /// `seconds`. Reads to the end, so it does not depend on mosquitto_sub's buffering.
    func retained(_ topic: String, within seconds: Int = 3, folder: String) -> String? {
        let log = folder + "/retained-\(UUID().uuidString.prefix(8)).log"
        guard let lines = try? subscribe(topic, count: 1, within: seconds, logPath: log).finish(),
              let line = lines.first(where: { $0.hasPrefix(topic + " ") }) else { return nil }
        return String(line.dropFirst(topic.count + 1))
    }

    /// Publishes a payload too large for a command line, from a file.
    func publish(_ topic: String, file: String, retain: Bool = false) throws {
        var arguments = ["-h", host, "-p", String(port), "-t", topic, "-q", "1", "-f", file]
        if retain { arguments.append("-r") }
        _ = try PeerProcess.run(MosquittoClient.publisher, arguments, within: 10)
    }
}
