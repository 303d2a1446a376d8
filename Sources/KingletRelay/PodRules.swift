import KingletKube

/// Rules about API pods that the relay applies: tolerations against eviction, the
/// CreateContainerConfigError status, and whether an agent's status changes anything.
public enum PodRules {
    public static let evictableAnnotation = "kinglet.io/evictable"
    static let autonomyTaints = ["node.kubernetes.io/unreachable", "node.kubernetes.io/not-ready"]

    /// The tolerations list with unlimited NoExecute tolerations for unreachable and
    /// not-ready appended (the API only lets a running pod *add* tolerations; an unlimited
    /// one wins over DefaultTolerationSeconds' 300 s ones). Nil when nothing is to add.
    public static func autonomyTolerations(for pod: JSONValue) -> [JSONValue]? {
        if pod.annotations[evictableAnnotation] == "true" { return nil }
        let current = pod[path: "spec", "tolerations"]?.arrayValue ?? []
        var result = current
        for key in autonomyTaints {
            let present = current.contains { toleration in
                let matchesKey = toleration["key"]?.stringValue == key
                    || (toleration["key"] == nil && toleration["operator"]?.stringValue == "Exists")
                let matchesEffect = toleration["effect"] == nil || toleration["effect"]?.stringValue == "NoExecute"
                return matchesKey && matchesEffect && toleration["tolerationSeconds"] == nil
            }
            if !present { result.append(["key": .string(key), "operator": "Exists", "effect": "NoExecute"]) }
        }
        return result.count == current.count ? nil : result
    }

    /// The status a pod gets while a ConfigMap/Secret it needs is missing.
    public static func configErrorStatus(pod: JSONValue, message: String) -> JSONValue {
        let containers = pod[path: "spec", "containers"]?.arrayValue ?? []
        let statuses: [JSONValue] = containers.map { container in
            [
                "name": container["name"] ?? "", "image": container["image"] ?? "", "imageID": "",
                "ready": false, "started": false, "restartCount": 0,
                "state": ["waiting": ["reason": "CreateContainerConfigError", "message": .string(message)]],
            ]
        }
        return ["phase": "Pending", "containerStatuses": .array(statuses)]
    }

    /// Whether writing `status` would change the pod's current status: each field the
    /// agent sends compared with the API's.
    public static func statusDiffers(_ status: JSONValue, from current: JSONValue?) -> Bool {
        guard let fields = status.objectValue else { return false }
        for (key, value) in fields where current?[key] != value { return true }
        return false
    }
}
