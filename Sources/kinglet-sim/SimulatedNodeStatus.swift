import Glibc
import KingletCore
import KingletDocument

/// The fixed `status/node` payload of a simulated board (docs/protocol.md): a plausible
/// small gateway (4 CPUs, 3884 Mi, 110 pods), Ready with no pressure, and this host's
/// architecture and kernel, so the relay's labels and `kubectl get nodes -o wide` look real.
struct SimulatedNodeStatus {
    let architecture: String
    let kernelVersion: String
    let agentVersion: String
    /// Wall-clock nanoseconds: every condition's lastTransitionTime.
    let since: Int64

    init(agentVersion: String, since: Int64) {
        var names = utsname()
        uname(&names)
        let machine = withUnsafeBytes(of: &names.machine) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        kernelVersion = withUnsafeBytes(of: &names.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        architecture = SimulatedNodeStatus.goArchitecture(machine)
        self.agentVersion = agentVersion
        self.since = since
    }

    /// Kubernetes spells architectures as Go does.
    static func goArchitecture(_ machine: String) -> String {
        switch machine {
        case "x86_64": return "amd64"
        case "aarch64", "arm64": return "arm64"
        case "armv7l", "armv6l": return "arm"
        case "riscv64": return "riscv64"
        case "i686", "i386": return "386"
        default: return machine
        }
    }

    /// A distinct private address per board: 10.x.y.z from its index.
    static func address(index: Int) -> String {
        "10.\((index >> 16) & 255).\((index >> 8) & 255).\(index & 255)"
    }

    func payload(nodeName: String, address: String) -> [UInt8] {
        var writer = JSONWriter(capacity: 1536)
        let time = UTCTimestamp.format(nanoseconds: since, fractionDigits: 0)
        writer.beginObject()
        writer.key("v"); writer.integer(1)
        writer.key("labels")
        writer.beginObject()
        writer.key("kinglet.io/simulated"); writer.string("true")
        writer.endObject()
        writer.key("addresses")
        writer.beginArray()
        for (type, value) in [("InternalIP", address), ("Hostname", nodeName)] {
            writer.beginObject()
            writer.key("type"); writer.string(type)
            writer.key("address"); writer.string(value)
            writer.endObject()
        }
        writer.endArray()
        for key in ["capacity", "allocatable"] {
            writer.key(key)
            writer.beginObject()
            writer.key("cpu"); writer.string("4")
            writer.key("memory"); writer.string("3884Mi")
            writer.key("pods"); writer.string("110")
            writer.key("ephemeral-storage"); writer.string("29Gi")
            writer.endObject()
        }
        writer.key("conditions")
        writer.beginArray()
        let conditions = [
            ("Ready", "True", "KubeletReady", "kinglet is posting ready status"),
            ("MemoryPressure", "False", "KubeletHasSufficientMemory", "kinglet has sufficient memory available"),
            ("DiskPressure", "False", "KubeletHasNoDiskPressure", "kinglet has no disk pressure"),
            ("PIDPressure", "False", "KubeletHasSufficientPID", "kinglet has sufficient PID available"),
        ]
        for (type, status, reason, message) in conditions {
            writer.beginObject()
            writer.key("type"); writer.string(type)
            writer.key("status"); writer.string(status)
            writer.key("reason"); writer.string(reason)
            writer.key("message"); writer.string(message)
            writer.key("lastTransitionTime"); writer.string(time)
            writer.endObject()
        }
        writer.endArray()
        writer.key("nodeInfo")
        writer.beginObject()
        let identity = "kinglet-sim-" + nodeName
        for (key, value) in [
            ("machineID", identity), ("systemUUID", identity), ("bootID", identity), ("kernelVersion", kernelVersion),
            ("osImage", "kinglet-sim"), ("containerRuntimeVersion", "kinglet-exec://" + agentVersion),
            ("kubeletVersion", "v1.32.0-kinglet-" + agentVersion), ("kubeProxyVersion", ""), ("operatingSystem", "linux"),
            ("architecture", architecture),
        ] {
            writer.key(key); writer.string(value)
        }
        writer.endObject()
        writer.endObject()
        return writer.bytes
    }
}
