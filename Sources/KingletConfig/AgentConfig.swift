/// KingletConfig: the agent's local config file (/etc/kinglet/kinglet.yaml, or a board's
/// profile), read strictly: an unknown key is an error with its position, since a typo
/// in a headless board's config must not pass silently.
import KingletDevices
import KingletDocument
import KingletPod

/// Everything the config file sets, with defaults for what it leaves out.
public struct AgentConfig: Equatable {
    public var nodeName: String
    public var nodeLabels: [(String, String)]
    public var paths: AgentPaths
    public var runtime: RuntimeSettings
    /// Present when a cloud link is configured; the agent runs headless without one.
    public var cloud: CloudSettings?
    /// The board's own devices and local broker (`devices:`). Compared by the devices'
    /// hashes only.
    public var devices = DeviceSettings()
    /// Container images: registries, credentials, platform, garbage collection (`images:`).
    public var images = ImageSettings()

    public init(nodeName: String, nodeLabels: [(String, String)] = [], paths: AgentPaths = AgentPaths(),
                runtime: RuntimeSettings = RuntimeSettings(), cloud: CloudSettings? = nil) {
        self.nodeName = nodeName
        self.nodeLabels = nodeLabels
        self.paths = paths
        self.runtime = runtime
        self.cloud = cloud
    }

    public static func == (a: AgentConfig, b: AgentConfig) -> Bool {
        a.nodeName == b.nodeName && a.paths == b.paths && a.runtime == b.runtime && a.cloud == b.cloud
            && a.images == b.images && a.nodeLabels.count == b.nodeLabels.count
            && zip(a.nodeLabels, b.nodeLabels).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
            && a.devices.localBroker == b.devices.localBroker
            && a.devices.specs.map { $0.specHash } == b.devices.specs.map { $0.specHash }
    }
}

/// Where the agent keeps things. Relative paths in the file are resolved against the
/// config file's folder, as the kubelet does with its config file.
public struct AgentPaths: Equatable {
    /// The memory-mapped pod cache.
    public var cacheFile: String = "/var/lib/kinglet/cache.kc"
    /// Static pod manifests (YAML or JSON), like the kubelet's staticPodPath.
    public var staticPods: String = "/etc/kinglet/manifests"
    /// Container logs, one folder per pod.
    public var logs: String = "/var/log/kinglet/pods"
    /// Where the exec runtime resolves an `image` name to an executable.
    public var apps: String = "/var/lib/kinglet/apps"
    /// The status socket `kinglet status` and `kinglet logs` talk to.
    public var socket: String = "/run/kinglet/kinglet.sock"
    /// The image store: blobs, root file systems, images.json (docs/images.md).
    public var images: String = "/var/lib/kinglet/images"

    public init() {}
}

public struct RuntimeSettings: Equatable {
    /// cgroup v2 folder the agent creates container cgroups under, when writable.
    public var cgroupRoot: String = "/sys/fs/cgroup/kinglet"
    /// Size at which a container log file is rotated.
    public var logMaxBytes: Int64 = 10 * 1024 * 1024
    /// Rotated files kept per container, the live one included.
    public var logMaxFiles: Int64 = 5
    /// The OCI runtime (`runc`, `crun` or a path) that runs registry images; nil keeps
    /// every `image` with the exec runtime (docs/runtime.md).
    public var oci: String? = nil
    /// Whether containers keep running when the agent stops, crashes or is killed (the
    /// kubelet's behaviour): the container keeper holds them and the next agent adopts
    /// them. false: the agent stops every container when it stops, and the next start
    /// ends what a killed agent left (docs/runtime.md).
    public var containersOutliveAgent = true

    public init() {}
}

/// Where images come from and how much disk they may take (`images:`, docs/images.md).
public struct ImageSettings: Equatable {
    /// Registries (`host[:port]`) reached over plain http; loopback ones always are.
    public var insecureRegistries: [String] = []
    /// A docker-style config.json with `auths` for private registries (read when present).
    public var credentialsFile: String = "/etc/kinglet/registries.json"
    /// The platform images are chosen for, e.g. `linux/arm/v6`; nil: the kernel's (`uname -m`).
    public var platform: String? = nil
    /// Unused images are removed, least recently used first, when the image store's file
    /// system is at least this full (percent), until it is at most `gcLowThresholdPercent`:
    /// the kubelet's imageGCHighThresholdPercent and imageGCLowThresholdPercent.
    public var gcHighThresholdPercent: Int64 = 85
    public var gcLowThresholdPercent: Int64 = 80
    /// How often the store's disk use is checked (the kubelet's 5 minutes).
    public var gcPeriodSeconds: Int64 = 300

    public init() {}
}

/// The relay link (docs/protocol.md); KingletLink connects with it.
public struct CloudSettings: Equatable {
    /// e.g. "mqtts://relay.example.com:8883"
    public var broker: String
    public var caFile: String
    public var certFile: String
    public var keyFile: String
    /// `broker`, parsed and checked (mqtt:// only on loopback).
    public var address: BrokerAddress

    public init(broker: String, caFile: String = "", certFile: String = "", keyFile: String = "") {
        self.broker = broker
        switch BrokerAddress.parse(broker) {
        case .success(let value): address = value
        case .failure: address = BrokerAddress(host: "", port: 0, useTLS: true)
        }
        self.caFile = caFile
        self.certFile = certFile
        self.keyFile = keyFile
    }
}
