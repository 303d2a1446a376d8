/// What kube-apiserver does to Pods beyond storing them: defaulting, the
/// DefaultTolerationSeconds admission plugin, the spec-update restrictions, and the
/// grace period of a delete.
public enum PodRules {
    /// Defaults the real API applies on create (pkg/apis/core/v1/defaults.go).
    public static func applyDefaults(_ pod: inout JSON) {
        var spec = pod["spec"] ?? .object([:])
        if spec["restartPolicy"] == nil { spec["restartPolicy"] = "Always" }
        if spec["terminationGracePeriodSeconds"] == nil { spec["terminationGracePeriodSeconds"] = 30 }
        if spec["dnsPolicy"] == nil { spec["dnsPolicy"] = "ClusterFirst" }
        if spec["schedulerName"] == nil { spec["schedulerName"] = "default-scheduler" }
        if spec["securityContext"] == nil { spec["securityContext"] = .object([:]) }
        if spec["enableServiceLinks"] == nil { spec["enableServiceLinks"] = true }
        if spec["priority"] == nil { spec["priority"] = 0 }
        if spec["preemptionPolicy"] == nil { spec["preemptionPolicy"] = "PreemptLowerPriority" }
        if spec["serviceAccountName"] == nil, spec["serviceAccount"] == nil { spec["serviceAccountName"] = "default" }
        for field in ["containers", "initContainers"] {
            guard let containers = spec[field]?.arrayValue else { continue }
            spec[field] = .array(containers.map(defaultContainer))
        }
        pod["spec"] = spec
        addDefaultTolerations(&pod)
    }

    static func defaultContainer(_ container: JSON) -> JSON {
        var container = container
        if container["terminationMessagePath"] == nil { container["terminationMessagePath"] = "/dev/termination-log" }
        if container["terminationMessagePolicy"] == nil { container["terminationMessagePolicy"] = "File" }
        if container["imagePullPolicy"] == nil {
            container["imagePullPolicy"] = .string(imageIsLatest(container["image"]?.stringValue ?? "") ? "Always" : "IfNotPresent")
        }
        if container["resources"] == nil { container["resources"] = .object([:]) }
        if let ports = container["ports"]?.arrayValue {
            container["ports"] = .array(ports.map { port in
                var port = port
                if port["protocol"] == nil { port["protocol"] = "TCP" }
                return port
            })
        }
        return container
    }

    /// An image without a tag, or tagged `:latest`, is pulled Always (by digest: IfNotPresent).
    static func imageIsLatest(_ image: String) -> Bool {
        if image.contains("@") { return false }
        let lastPart = image.split(separator: "/").last.map(String.init) ?? image
        guard let colon = lastPart.lastIndex(of: ":") else { return true }
        return lastPart[lastPart.index(after: colon)...] == "latest"
    }

    /// DefaultTolerationSeconds: pods tolerate NoExecute not-ready/unreachable for 300 s
    /// unless they already tolerate them.
    public static func addDefaultTolerations(_ pod: inout JSON) {
        var tolerations = pod.at(["spec", "tolerations"])?.arrayValue ?? []
        for key in ["node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"] {
            let tolerated = tolerations.contains { toleration in
                let effect = toleration["effect"]?.stringValue ?? ""
                let tolKey = toleration["key"]?.stringValue ?? ""
                let op = toleration["operator"]?.stringValue ?? "Equal"
                return (effect.isEmpty || effect == "NoExecute") && (tolKey == key || (tolKey.isEmpty && op == "Exists"))
            }
            if !tolerated {
                tolerations.append(["key": .string(key), "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300])
            }
        }
        pod.set(["spec", "tolerations"], .array(tolerations))
    }

    /// The QoS class the real API records in status on create.
    static func qosClass(_ spec: JSON) -> String {
        let containers = (spec["containers"]?.arrayValue ?? []) + (spec["initContainers"]?.arrayValue ?? [])
        var anyResources = false
        var guaranteed = true
        for container in containers {
            let requests = container.at(["resources", "requests"])?.objectValue ?? [:]
            let limits = container.at(["resources", "limits"])?.objectValue ?? [:]
            if !requests.isEmpty || !limits.isEmpty { anyResources = true }
            for resource in ["cpu", "memory"] {
                guard let limit = limits[resource] else { guaranteed = false; continue }
                if let request = requests[resource], request != limit { guaranteed = false }
            }
        }
        if !anyResources { return "BestEffort" }
        return guaranteed ? "Guaranteed" : "Burstable"
    }

    /// Refuses spec changes the real API refuses: only container images,
    /// activeDeadlineSeconds, terminationGracePeriodSeconds and added tolerations may change.
    public static func validateSpecUpdate(old: JSON, new: JSON, name: String, resource: ResourceType) throws(APIError) {
        var comparable = new
        for field in ["containers", "initContainers"] {
            guard var newContainers = comparable[field]?.arrayValue, let oldContainers = old[field]?.arrayValue,
                  newContainers.count == oldContainers.count else { continue }
            for index in newContainers.indices { newContainers[index]["image"] = oldContainers[index]["image"] }
            comparable[field] = .array(newContainers)
        }
        for field in ["activeDeadlineSeconds", "terminationGracePeriodSeconds"] { comparable[field] = old[field] }
        let oldTolerations = old["tolerations"]?.arrayValue ?? []
        let newTolerations = new["tolerations"]?.arrayValue ?? []
        let kept = oldTolerations.allSatisfy { newTolerations.contains($0) }
        if kept { comparable["tolerations"] = old["tolerations"] }
        if comparable != old {
            let what = kept ? "" : " (existing tolerations may not be removed or changed)"
            throw .invalid(resource, name, field: "spec",
                           "Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)" + what)
        }
    }

    /// The grace period a delete gets: 0 (remove now) for a pod no node runs or that has
    /// finished; else the request's, else the spec's, else 30.
    public static func gracePeriod(pod: JSON, requested: Int?) -> Int {
        let nodeName = pod.at(["spec", "nodeName"])?.stringValue ?? ""
        let phase = pod.at(["status", "phase"])?.stringValue ?? ""
        if nodeName.isEmpty || phase == "Succeeded" || phase == "Failed" { return 0 }
        return max(0, requested ?? pod.at(["spec", "terminationGracePeriodSeconds"])?.intValue ?? 30)
    }
}
