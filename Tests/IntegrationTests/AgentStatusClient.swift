import Foundation

/// Reads the running agent's status the way a user does: `kinglet status -o json`.
struct AgentStatusClient {
    let socket: String

    /// The pods by name ("<name>-<node>" for static pods), as JSON objects; nil when the
    /// agent does not answer.
    func pods() -> [String: [String: Any]]? {
        guard let result = try? AgentProcess.run(["status", "-o", "json", "--socket", socket], within: 10),
              result.status == 0,
              let document = try? JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any],
              let pods = document["pods"] as? [[String: Any]] else { return nil }
        var byName: [String: [String: Any]] = [:]
        for pod in pods {
            if let metadata = pod["metadata"] as? [String: Any], let name = metadata["name"] as? String { byName[name] = pod }
        }
        return byName
    }

    /// Polls (bounded) until `condition` holds for the pods; returns the last pods seen.
    @discardableResult
    func waitFor(within seconds: Double, _ condition: ([String: [String: Any]]) -> Bool) -> [String: [String: Any]]? {
        let deadline = Date().addingTimeInterval(seconds)
        var last: [String: [String: Any]]? = nil
        while Date() < deadline {
            if let pods = pods() {
                last = pods
                if condition(pods) { return pods }
            }
            usleep(200_000)
        }
        return last
    }
}

/// Reading a pod's status JSON.
enum PodJSON {
    static func status(_ pod: [String: Any]?) -> [String: Any] { pod?["status"] as? [String: Any] ?? [:] }
    static func phase(_ pod: [String: Any]?) -> String { status(pod)["phase"] as? String ?? "" }

    static func container(_ pod: [String: Any]?, _ name: String) -> [String: Any] {
        let all = (status(pod)["containerStatuses"] as? [[String: Any]] ?? []) + (status(pod)["initContainerStatuses"] as? [[String: Any]] ?? [])
        return all.first { $0["name"] as? String == name } ?? [:]
    }

    static func restarts(_ pod: [String: Any]?, _ name: String) -> Int { container(pod, name)["restartCount"] as? Int ?? 0 }
    static func ready(_ pod: [String: Any]?, _ name: String) -> Bool { container(pod, name)["ready"] as? Bool ?? false }
    static func stateName(_ pod: [String: Any]?, _ name: String) -> String {
        (container(pod, name)["state"] as? [String: Any])?.keys.first ?? ""
    }
    static func containerID(_ pod: [String: Any]?, _ name: String) -> String { container(pod, name)["containerID"] as? String ?? "" }
    static func lastTerminated(_ pod: [String: Any]?, _ name: String) -> [String: Any] {
        ((container(pod, name)["lastState"] as? [String: Any])?["terminated"] as? [String: Any]) ?? [:]
    }
    static func pid(_ pod: [String: Any]?, _ name: String) -> Int32? {
        let id = containerID(pod, name)
        return id.hasPrefix("exec://") ? Int32(id.dropFirst(7)) : nil
    }
}
