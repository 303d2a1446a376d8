import Foundation
import KingletTestPeers

extension MosquittoClient {
    /// The retained payload on `topic`, or nil when none comes within `seconds`. Reads to
    /// the end, so it does not depend on mosquitto_sub's output buffering.
    func retained(_ topic: String, within seconds: Int = 3, folder: String) -> String? {
        let log = folder + "/retained-\(UUID().uuidString.prefix(8)).log"
        guard let lines = try? subscribe(topic, count: 1, within: seconds, logPath: log).finish(),
              let line = lines.first(where: { $0.hasPrefix(topic + " ") }) else { return nil }
        return String(line.dropFirst(topic.count + 1))
    }

    /// Polls the retained payload on `topic` until `condition` holds (bounded).
    func waitForRetained(_ topic: String, within seconds: Double, folder: String, _ condition: (String) -> Bool) -> String? {
        var last: String? = nil
        let found = Loopback.eventually(within: seconds, interval: 0.2) { () -> String? in
            last = retained(topic, within: 2, folder: folder)
            if let last, condition(last) { return last }
            return nil
        }
        return found ?? last
    }
}
