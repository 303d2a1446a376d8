import Foundation

/// Server-side printing (`Accept: application/json;as=Table;v=v1;g=meta.k8s.io`), with
/// the columns kube-apiserver's printers give, so `kubectl get` looks as usual.
public enum Tables {
    struct Column {
        let name: String
        let type: String
        let format: String
        let priority: Int
        let description: String
        init(_ name: String, _ description: String, type: String = "string", format: String = "", priority: Int = 0) {
            self.name = name; self.type = type; self.format = format; self.priority = priority; self.description = description
        }
    }

    static func columns(_ resource: ResourceType) -> [Column] {
        let name = Column("Name", "Name must be unique within a namespace.", format: "name")
        let age = Column("Age", "CreationTimestamp is a timestamp representing the server time when this object was created.")
        if resource.isCustom {
            return [name] + resource.printerColumns.map {
                Column($0.name, $0.description, type: $0.type, format: $0.format, priority: $0.priority)
            }
        }
        switch resource.kind {
        case "CustomResourceDefinition":
            return [name, Column("Created At", "Time when the resource was created.", type: "date")]
        case "Pod":
            return [name, Column("Ready", "The aggregate readiness state of this pod for accepting traffic."),
                    Column("Status", "The aggregate status of the containers in this pod."),
                    Column("Restarts", "The number of times the containers in this pod have been restarted."), age,
                    Column("IP", "IP address allocated to the pod.", priority: 1),
                    Column("Node", "Name of the Node this pod is assigned to.", priority: 1),
                    Column("Nominated Node", "Name of the node where this pod is nominated.", priority: 1),
                    Column("Readiness Gates", "The pod's readiness gates.", priority: 1)]
        case "Node":
            return [name, Column("Status", "The status of the node"), Column("Roles", "The roles of the node"), age,
                    Column("Version", "Kubelet Version reported by the node."),
                    Column("Internal-IP", "List of internal IPs in the node.", priority: 1),
                    Column("External-IP", "List of external IPs in the node.", priority: 1),
                    Column("OS-Image", "OS image reported by the node.", priority: 1),
                    Column("Kernel-Version", "Kernel version reported by the node.", priority: 1),
                    Column("Container-Runtime", "Container runtime reported by the node.", priority: 1)]
        case "Namespace": return [name, Column("Status", "The status of the namespace"), age]
        case "ConfigMap": return [name, Column("Data", "Number of keys in the ConfigMap.", type: "integer"), age]
        case "Secret": return [name, Column("Type", "The type of the secret"), Column("Data", "Number of keys in the secret.", type: "integer"), age]
        case "Lease": return [name, Column("Holder", "The holder of the lease."), age]
        case "Event":
            return [Column("Last Seen", "Time when the event was last seen."), Column("Type", "Type of this event."),
                    Column("Reason", "Reason is why the action was taken."), Column("Object", "The object this event is about."),
                    Column("Message", "A human-readable description of the status of this operation.")]
        default: return [name, age]
        }
    }

    static func cells(_ resource: ResourceType, _ object: JSON, now: Date) -> [JSON] {
        let name = JSON.string(object.at(["metadata", "name"])?.stringValue ?? "")
        let age = JSON.string(ObjectMeta.age(object, now: now))
        if resource.isCustom { return [name] + resource.printerColumns.map { customCell($0, object, now: now) } }
        switch resource.kind {
        case "CustomResourceDefinition": return [name, object.at(["metadata", "creationTimestamp"]) ?? .null]
        case "Pod": return podCells(object, name: name, age: age)
        case "Node": return nodeCells(object, name: name, age: age)
        case "Namespace": return [name, .string(object.at(["status", "phase"])?.stringValue ?? ""), age]
        case "ConfigMap":
            let count = (object["data"]?.objectValue?.count ?? 0) + (object["binaryData"]?.objectValue?.count ?? 0)
            return [name, .int(count), age]
        case "Secret":
            return [name, .string(object["type"]?.stringValue ?? ""), .int(object["data"]?.objectValue?.count ?? 0), age]
        case "Lease": return [name, .string(object.at(["spec", "holderIdentity"])?.stringValue ?? ""), age]
        case "Event":
            let last = object["lastTimestamp"]?.stringValue ?? object["eventTime"]?.stringValue ?? object.at(["metadata", "creationTimestamp"])?.stringValue
            let seen = last.flatMap(ObjectMeta.parseTimestamp).map { ObjectMeta.humanDuration(now.timeIntervalSince($0)) } ?? "<unknown>"
            let involved = object["involvedObject"] ?? [:]
            let target = "\((involved["kind"]?.stringValue ?? "").lowercased())/\(involved["name"]?.stringValue ?? "")"
            return [.string(seen), .string(object["type"]?.stringValue ?? ""), .string(object["reason"]?.stringValue ?? ""),
                    .string(target), .string(object["message"]?.stringValue ?? "")]
        default: return [name, age]
        }
    }

    /// A custom column's cell as the apiextensions table convertor makes it: null when the
    /// path finds nothing, dates as an age, strings printed, other types as they are.
    static func customCell(_ column: PrinterColumn, _ object: JSON, now: Date) -> JSON {
        guard let value = SimpleJSONPath.evaluate(column.jsonPath, in: object), !value.isNull else { return .null }
        switch column.type {
        case "date":
            guard let text = value.stringValue, let date = ObjectMeta.parseTimestamp(text) else { return .null }
            return .string(ObjectMeta.humanDuration(now.timeIntervalSince(date)))
        case "string":
            switch value {
            case .string: return value
            case .int(let i): return .string(String(i))
            case .bool(let b): return .string(b ? "true" : "false")
            default: return .string(value.text)
            }
        case "integer": return value.intValue.map(JSON.int) ?? .null
        case "boolean": return value.boolValue.map(JSON.bool) ?? .null
        default: return value
        }
    }

    /// The STATUS column as kubectl's pod printer derives it.
    static func podCells(_ pod: JSON, name: JSON, age: JSON) -> [JSON] {
        let status = pod["status"] ?? [:]
        var reason = status["reason"]?.stringValue ?? status["phase"]?.stringValue ?? ""
        let containers = pod.at(["spec", "containers"])?.arrayValue ?? []
        var ready = 0
        var restarts = 0
        let statuses = status["containerStatuses"]?.arrayValue ?? []
        for container in statuses {
            restarts += container["restartCount"]?.intValue ?? 0
            if let waiting = container.at(["state", "waiting", "reason"])?.stringValue, !waiting.isEmpty {
                reason = waiting
            } else if let terminated = container.at(["state", "terminated"]) {
                if let why = terminated["reason"]?.stringValue, !why.isEmpty { reason = why }
                else if let signal = terminated["signal"]?.intValue, signal != 0 { reason = "Signal:\(signal)" }
                else { reason = "ExitCode:\(terminated["exitCode"]?.intValue ?? 0)" }
            } else if container["ready"]?.boolValue == true, container.at(["state", "running"]) != nil {
                ready += 1
            }
        }
        if pod.at(["metadata", "deletionTimestamp"]) != nil {
            reason = status["reason"]?.stringValue == "NodeLost" ? "Unknown" : "Terminating"
        }
        let ip = status["podIP"]?.stringValue ?? "<none>"
        let node = pod.at(["spec", "nodeName"])?.stringValue ?? "<none>"
        let nominated = status["nominatedNodeName"]?.stringValue ?? "<none>"
        return [name, .string("\(ready)/\(containers.count)"), .string(reason), .string(String(restarts)), age,
                .string(ip.isEmpty ? "<none>" : ip), .string(node.isEmpty ? "<none>" : node), .string(nominated), "<none>"]
    }

    static func nodeCells(_ node: JSON, name: JSON, age: JSON) -> [JSON] {
        var status: [String] = []
        if let ready = node.at(["status", "conditions"])?.arrayValue?.first(where: { $0["type"]?.stringValue == "Ready" }) {
            status.append(ready["status"]?.stringValue == "True" ? "Ready" : "NotReady")
        } else {
            status.append("Unknown")
        }
        if node.at(["spec", "unschedulable"])?.boolValue == true { status.append("SchedulingDisabled") }
        var roles = Set<String>()
        for (key, value) in node.at(["metadata", "labels"])?.stringMap ?? [:] {
            if key.hasPrefix("node-role.kubernetes.io/") {
                let role = String(key.dropFirst("node-role.kubernetes.io/".count))
                if !role.isEmpty { roles.insert(role) }
            } else if key == "kubernetes.io/role", !value.isEmpty {
                roles.insert(value)
            }
        }
        let info = node.at(["status", "nodeInfo"]) ?? [:]
        let addresses = node.at(["status", "addresses"])?.arrayValue ?? []
        func address(_ type: String) -> String {
            addresses.first { $0["type"]?.stringValue == type }?["address"]?.stringValue ?? "<none>"
        }
        func text(_ key: String) -> JSON {
            let value = info[key]?.stringValue ?? ""
            return .string(value.isEmpty ? "<unknown>" : value)
        }
        return [name, .string(status.joined(separator: ",")), .string(roles.isEmpty ? "<none>" : roles.sorted().joined(separator: ",")),
                age, .string(info["kubeletVersion"]?.stringValue ?? ""), .string(address("InternalIP")), .string(address("ExternalIP")),
                text("osImage"), text("kernelVersion"), text("containerRuntimeVersion")]
    }

    /// A Table of `objects`; rows carry PartialObjectMetadata unless `includeObject=Object`.
    public static func table(_ resource: ResourceType, objects: [JSON], listMetadata: JSON, includeObject: String?) -> JSON {
        let now = Date()
        let columnDefinitions: [JSON] = columns(resource).map {
            ["name": .string($0.name), "type": .string($0.type), "format": .string($0.format),
             "description": .string($0.description), "priority": .int($0.priority)]
        }
        let rows: [JSON] = objects.map { object in
            var row: JSON = ["cells": .array(cells(resource, object, now: now))]
            switch includeObject {
            case "None": break
            case "Object":
                var full = object
                full["kind"] = .string(resource.kind)
                full["apiVersion"] = .string(resource.apiVersion)
                row["object"] = full
            default:
                row["object"] = ["kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": object["metadata"] ?? [:]]
            }
            return row
        }
        return ["kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": listMetadata,
                "columnDefinitions": .array(columnDefinitions), "rows": .array(rows)]
    }

    public static func wantsTable(accept: String?) -> Bool {
        guard let accept else { return false }
        return accept.contains("as=Table")
    }
}
