import KingletDocument

/// `kinglet status` as tables: the node and its conditions, the pods (as `kubectl get
/// pods` shows them), and their containers with state, restarts and applied limits.
enum StatusTables {
    static func render(_ document: Node) -> String {
        let node = document.objectMember("node")?.node
        var text = ""
        let name = string(node, "name")
        let conditions = array(node, "conditions").map { string($0, "type") + "=" + string($0, "status") }.joined(separator: "  ")
        text += "NODE " + name + "  " + conditions + "\n"
        let capacity = node?.objectMember("capacity")?.node
        text += "     cpu " + string(capacity, "cpu") + ", memory " + string(capacity, "memory") + ", pods " + string(capacity, "pods")
            + ", up " + String(integer(node, "uptimeSeconds")) + "s\n"
        if let link = document.objectMember("link")?.node {
            text += linkLine(link)
        }
        if let bus = document.objectMember("localBus")?.node {
            text += localBusLine(bus)
        }
        text += "\n"

        var pods: [[String]] = [["NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS"]]
        var containers: [[String]] = [["POD", "CONTAINER", "STATE", "REASON", "EXIT", "RESTARTS", "READY", "LIMITS"]]
        for pod in array(document, "pods") {
            let metadata = pod.objectMember("metadata")?.node
            let status = pod.objectMember("status")?.node
            let limits = pod.objectMember("limits")?.node
            let statuses = array(status, "containerStatuses")
            var ready = 0
            var restarts: Int64 = 0
            var reason = string(status, "phase")
            for container in statuses {
                if bool(container, "ready") { ready += 1 }
                restarts += integer(container, "restartCount")
                if let waiting = state(container).waiting, waiting != "ContainerCreating" { reason = waiting }
            }
            for container in array(status, "initContainerStatuses") where reason == "Pending" {
                if state(container).name != "terminated" { reason = "Init:" + string(container, "name") }
            }
            pods.append([string(metadata, "namespace"), string(metadata, "name"), "\(ready)/\(statuses.count)", reason, String(restarts)])
            for container in array(status, "initContainerStatuses") + statuses {
                let current = state(container)
                let containerName = string(container, "name")
                containers.append([string(metadata, "name"), containerName, current.name, current.reason, current.exitCode,
                                   String(integer(container, "restartCount")), bool(container, "ready") ? "true" : "false",
                                   string(limits, containerName)])
            }
        }
        text += table(pods)
        if containers.count > 1 { text += "\n" + table(containers) }
        var devices: [[String]] = [["DEVICE", "PROTOCOL", "STATE", "READINGS", "ERRORS"]]
        for device in array(document, "devices") {
            var readings: [String] = []
            for twin in array(device, "twins") {
                let value = string(twin.objectMember("reported")?.node, "value")
                readings.append(string(twin, "propertyName") + "=" + (value.isEmpty ? "?" : value))
            }
            let counters = device.objectMember("counters")?.node
            var errors: [String] = []
            for key in ["timeouts", "badFrames", "deviceErrors", "reopens"] where integer(counters, key) > 0 {
                errors.append(key + " " + String(integer(counters, key)))
            }
            var state = string(device, "state")
            let reason = string(device, "reason")
            if !reason.isEmpty && state != "online" { state += " (" + reason + ")" }
            devices.append([string(device, "namespace") + "/" + string(device, "name"), string(device, "protocol"), state,
                            readings.joined(separator: " "), errors.joined(separator: ", ")])
        }
        if devices.count > 1 { text += "\n" + table(devices) }
        return text
    }

    /// "LINK mqtts://broker:8883  connected since 2026-11-30T10:00:00Z  ...", and the
    /// skipped payloads by kind when there are any.
    static func linkLine(_ link: Node) -> String {
        let connected = bool(link, "connected")
        var text = "LINK " + string(link, "broker") + "  " + string(link, "state")
            + (connected ? " since " : ", not connected since ") + string(link, "since")
            + "  connections " + String(integer(link, "connections"))
        let pending = integer(link, "pendingStatuses")
        if pending > 0 { text += "  statuses waiting " + String(pending) }
        let error = string(link, "lastError")
        if !error.isEmpty { text += "\n     last error: " + error }
        var skipped: [String] = []
        if case .object(let members)? = link.objectMember("skippedPayloads")?.node.value {
            for member in members { if case .integer(let count) = member.node.value, count > 0 { skipped.append(member.key + " " + String(count)) } }
        }
        if !skipped.isEmpty { text += "\n     skipped payloads: " + skipped.joined(separator: ", ") }
        return text + "\n"
    }

    /// "LOCALBUS mqtt://127.0.0.1:1883  connected since ...  twin updates 12, deltas 1",
    /// and the last error when there is one.
    static func localBusLine(_ bus: Node) -> String {
        let connected = bool(bus, "connected")
        var text = "LOCALBUS " + string(bus, "broker") + "  " + string(bus, "state")
            + (connected ? " since " : ", not connected since ") + string(bus, "since")
            + "  connections " + String(integer(bus, "connections"))
            + "  twin updates " + String(integer(bus, "twinUpdates")) + ", deltas " + String(integer(bus, "deltas"))
        let error = string(bus, "lastError")
        if !error.isEmpty { text += "\n     last error: " + error }
        return text + "\n"
    }

    /// The state's name, its reason, and the exit code when terminated.
    private static func state(_ container: Node) -> (name: String, reason: String, exitCode: String, waiting: String?) {
        guard case .object(let members)? = container.objectMember("state")?.node.value, let first = members.first else {
            return ("unknown", "", "", nil)
        }
        let reason = string(first.node, "reason")
        switch first.key {
        case "waiting": return ("waiting", reason, "", reason)
        case "terminated": return ("terminated", reason, String(integer(first.node, "exitCode")), nil)
        default: return (first.key, reason, "", nil)
        }
    }

    /// Left-aligned columns, three spaces apart, as kubectl prints them.
    static func table(_ rows: [[String]]) -> String {
        guard let header = rows.first else { return "" }
        var widths = [Int](repeating: 0, count: header.count)
        for row in rows { for (index, cell) in row.enumerated() where cell.count > widths[index] { widths[index] = cell.count } }
        var text = ""
        for row in rows {
            var line = ""
            for (index, cell) in row.enumerated() {
                line += cell
                if index < row.count - 1 { line += String(repeating: " ", count: widths[index] - cell.count + 3) }
            }
            text += line + "\n"
        }
        return text
    }

    private static func string(_ node: Node?, _ key: String) -> String {
        if case .string(let text)? = node?.objectMember(key)?.node.value { return text }
        return ""
    }

    private static func integer(_ node: Node?, _ key: String) -> Int64 {
        if case .integer(let value)? = node?.objectMember(key)?.node.value { return value }
        return 0
    }

    private static func bool(_ node: Node?, _ key: String) -> Bool {
        if case .bool(let value)? = node?.objectMember(key)?.node.value { return value }
        return false
    }

    private static func array(_ node: Node?, _ key: String) -> [Node] {
        if case .array(let items)? = node?.objectMember(key)?.node.value { return items }
        return []
    }
}
