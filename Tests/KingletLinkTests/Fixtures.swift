import KingletDocument
import KingletLink
import KingletPod

/// Payloads as the relay writes them (docs/protocol.md).
enum Fixtures {
    static func podJSON(uid: String, name: String = "web", hash: String = "00000000000000aa", env: String = "hello",
                        files: String = "", pullCredentials: String = "") -> String {
        """
        {"v":1,"uid":"\(uid)","specHash":"\(hash)","pod":{"apiVersion":"v1","kind":"Pod",\
        "metadata":{"name":"\(name)","namespace":"default","uid":"\(uid)","labels":{"app":"web"}},\
        "spec":{"restartPolicy":"Always","terminationGracePeriodSeconds":30,"containers":[{"name":"web",\
        "image":"/bin/sh","command":["/bin/sh","-c","echo $GREETING; sleep 1000"],\
        "env":[{"name":"GREETING","value":"\(env)"}]}]}}\(files.isEmpty ? "" : ",\"files\":" + files)\
        \(pullCredentials.isEmpty ? "" : ",\"pullCredentials\":" + pullCredentials)}
        """
    }

    static func message(uid: String, hash: UInt64) -> DesiredPodMessage {
        let text = podJSON(uid: uid, name: "pod-" + uid, hash: LinkPayloads.hex(hash))
        guard case .success(let message) = DesiredMessages.pod(Array(text.utf8), topicUID: uid) else {
            fatalError("fixture does not decode")
        }
        return message
    }

    static func index(_ pods: [String: UInt64], deleting: [String: Int64] = [:]) -> DesiredIndex {
        DesiredIndex(pods: pods, deleting: deleting)
    }
}
