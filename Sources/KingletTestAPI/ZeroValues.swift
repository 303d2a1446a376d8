/// Fields the real server always writes because their Go types have no `omitempty`:
/// clients such as the Python `kubernetes` package refuse objects without them (e.g.
/// `nodeInfo.architecture`, `containerStatuses[].imageID`), so they are filled in with
/// Go's zero values on every write, as kube-apiserver's encoding would.
enum ZeroValues {
    static let nodeInfoFields = ["machineID", "systemUUID", "bootID", "kernelVersion", "osImage", "containerRuntimeVersion",
                                 "kubeletVersion", "kubeProxyVersion", "operatingSystem", "architecture"]

    static func fill(_ object: inout JSON, kind: String) {
        switch kind {
        case "Node":
            if var info = object.at(["status", "nodeInfo"]), info.isObject {
                for field in nodeInfoFields where info[field] == nil { info[field] = "" }
                object.set(["status", "nodeInfo"], info)
            }
        case "Pod":
            for field in ["containerStatuses", "initContainerStatuses"] {
                guard let statuses = object.at(["status", field])?.arrayValue else { continue }
                object.set(["status", field], .array(statuses.map(fillContainerStatus)))
            }
        default: break
        }
    }

    static func fillContainerStatus(_ status: JSON) -> JSON {
        guard status.isObject else { return status }
        var status = status
        let defaults: [(String, JSON)] = [("name", ""), ("image", ""), ("imageID", ""), ("ready", false), ("restartCount", 0),
                                          ("state", [:]), ("lastState", [:])]
        for (field, value) in defaults where status[field] == nil { status[field] = value }
        return status
    }
}
