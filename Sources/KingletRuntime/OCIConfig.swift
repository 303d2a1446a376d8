import CKingletSystem
import KingletDocument

/// A host device node, resolved when the container is created.
struct OCIDeviceNode: Equatable {
    let containerPath: String
    let block: Bool
    let major: UInt32
    let minor: UInt32
    let fileMode: UInt32
    let uid: UInt32
    let gid: UInt32
    let permissions: String

    /// stat(2) of the host node: its kind, numbers, mode and owner go to the container's.
    static func resolve(_ device: OCIDevice) throws(SystemError) -> OCIDeviceNode {
        var info = kinglet_oci_device()
        if kinglet_oci_device_info(device.hostPath, &info) != 0 {
            throw SystemError.last("device", path: device.hostPath)
        }
        return OCIDeviceNode(containerPath: device.containerPath ?? device.hostPath, block: info.block != 0,
                             major: info.major, minor: info.minor, fileMode: info.mode, uid: info.uid, gid: info.gid,
                             permissions: device.permissions)
    }

    var type: String { block ? "b" : "c" }
}

/// One container's `config.json`, the OCI runtime spec 1.0.2 as runc and crun read it.
///
/// What it holds, and why:
/// - process: the final argv, environment (PATH added when missing, as containerd does),
///   working directory, numeric user, no new privileges, Docker's default capabilities for
///   an unprivileged container, no terminal (stdout and stderr are the agent's pipes).
/// - root: `rootfs` in the bundle, writable (an overlayfs or a copy of the image).
/// - mounts: runc's defaults (proc, a tmpfs /dev, devpts, shm, mqueue, read-only sysfs),
///   then each volume as an rbind mount.
/// - linux: pid, ipc, uts and mount namespaces; NOT network (the node's network, as exec
///   containers and `hostNetwork` pods have) and no user namespace. Resources from the
///   pod's limits, every device denied but the default ones and the container's own,
///   runc's masked and read-only paths.
struct OCIConfig {
    var arguments: [String]
    var environment: [EnvironmentVariable]
    var workingDirectory: String
    var user: OCIUser
    var rootPath: String = "rootfs"
    var hostname: String?
    var mounts: [OCIBindMount]
    var devices: [OCIDeviceNode]
    var resources: ResourceLimits
    /// linux.cgroupsPath; nil leaves it to the runtime.
    var cgroupsPath: String?

    static let ociVersion = "1.0.2"

    /// Docker's default set for a container that is not privileged.
    static let defaultCapabilities = [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
        "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
        "CAP_KILL", "CAP_AUDIT_WRITE",
    ]

    /// `runc spec`'s defaults.
    static let maskedPaths = [
        "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
        "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi",
    ]
    static let readonlyPaths = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]

    /// The environment as `NAME=value`, with the default PATH when the caller gave none (runc
    /// looks the executable up in it).
    var environmentStrings: [String] {
        var strings = environment.map { $0.name + "=" + $0.value }
        if !environment.contains(where: { $0.name == "PATH" }) {
            strings.insert("PATH=" + ExecutableLookup.defaultPath, at: 0)
        }
        return strings
    }

    func json() -> [UInt8] {
        var writer = JSONWriter(capacity: 4096)
        writer.beginObject()
        writer.key("ociVersion")
        writer.string(OCIConfig.ociVersion)
        writeProcess(&writer)
        writer.key("root")
        writer.beginObject()
        writer.key("path")
        writer.string(rootPath)
        writer.key("readonly")
        writer.bool(false)
        writer.endObject()
        if let hostname {
            writer.key("hostname")
            writer.string(hostname)
        }
        writeMounts(&writer)
        writeLinux(&writer)
        writer.endObject()
        return writer.bytes
    }

    private func writeProcess(_ writer: inout JSONWriter) {
        writer.key("process")
        writer.beginObject()
        writer.key("terminal")
        writer.bool(false)
        writer.key("user")
        writer.beginObject()
        writer.key("uid")
        writer.integer(Int64(user.uid))
        writer.key("gid")
        writer.integer(Int64(user.gid))
        if !user.additionalGids.isEmpty {
            writer.key("additionalGids")
            writer.beginArray()
            for gid in user.additionalGids { writer.integer(Int64(gid)) }
            writer.endArray()
        }
        writer.endObject()
        writer.key("args")
        OCIConfig.writeStrings(arguments, &writer)
        writer.key("env")
        OCIConfig.writeStrings(environmentStrings, &writer)
        writer.key("cwd")
        writer.string(workingDirectory)
        writer.key("capabilities")
        writer.beginObject()
        for set in ["bounding", "effective", "permitted"] {
            writer.key(set)
            OCIConfig.writeStrings(OCIConfig.defaultCapabilities, &writer)
        }
        writer.endObject()
        writer.key("noNewPrivileges")
        writer.bool(true)
        writer.endObject()
    }

    private func writeMounts(_ writer: inout JSONWriter) {
        writer.key("mounts")
        writer.beginArray()
        OCIConfig.writeMount("/proc", "proc", "proc", ["nosuid", "noexec", "nodev"], &writer)
        OCIConfig.writeMount("/dev", "tmpfs", "tmpfs", ["nosuid", "strictatime", "mode=755", "size=65536k"], &writer)
        OCIConfig.writeMount("/dev/pts", "devpts", "devpts",
                             ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"], &writer)
        OCIConfig.writeMount("/dev/shm", "tmpfs", "shm", ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"], &writer)
        OCIConfig.writeMount("/dev/mqueue", "mqueue", "mqueue", ["nosuid", "noexec", "nodev"], &writer)
        OCIConfig.writeMount("/sys", "sysfs", "sysfs", ["nosuid", "noexec", "nodev", "ro"], &writer)
        for mount in mounts {
            OCIConfig.writeMount(mount.containerPath, "bind", mount.hostPath,
                                 ["rbind", "rprivate", mount.readOnly ? "ro" : "rw"], &writer)
        }
        writer.endArray()
    }

    private func writeLinux(_ writer: inout JSONWriter) {
        writer.key("linux")
        writer.beginObject()
        writer.key("namespaces")
        writer.beginArray()
        for namespace in ["pid", "ipc", "uts", "mount"] {
            writer.beginObject()
            writer.key("type")
            writer.string(namespace)
            writer.endObject()
        }
        writer.endArray()
        if !devices.isEmpty {
            writer.key("devices")
            writer.beginArray()
            for device in devices {
                writer.beginObject()
                writer.key("path")
                writer.string(device.containerPath)
                writer.key("type")
                writer.string(device.type)
                writer.key("major")
                writer.integer(Int64(device.major))
                writer.key("minor")
                writer.integer(Int64(device.minor))
                writer.key("fileMode")
                writer.integer(Int64(device.fileMode))
                writer.key("uid")
                writer.integer(Int64(device.uid))
                writer.key("gid")
                writer.integer(Int64(device.gid))
                writer.endObject()
            }
            writer.endArray()
        }
        writeResources(&writer)
        if let cgroupsPath {
            writer.key("cgroupsPath")
            writer.string(cgroupsPath)
        }
        writer.key("maskedPaths")
        OCIConfig.writeStrings(OCIConfig.maskedPaths, &writer)
        writer.key("readonlyPaths")
        OCIConfig.writeStrings(OCIConfig.readonlyPaths, &writer)
        writer.endObject()
    }

    private func writeResources(_ writer: inout JSONWriter) {
        writer.key("resources")
        writer.beginObject()
        writer.key("devices")
        writer.beginArray()
        // Deny everything; the runtime adds its default devices (null, zero, full, random,
        // urandom, tty, ptmx, pts), then the container's own are allowed.
        writer.beginObject()
        writer.key("allow")
        writer.bool(false)
        writer.key("access")
        writer.string("rwm")
        writer.endObject()
        for device in devices {
            writer.beginObject()
            writer.key("allow")
            writer.bool(true)
            writer.key("type")
            writer.string(device.type)
            writer.key("major")
            writer.integer(Int64(device.major))
            writer.key("minor")
            writer.integer(Int64(device.minor))
            writer.key("access")
            writer.string(device.permissions)
            writer.endObject()
        }
        writer.endArray()
        if let memory = resources.memoryBytes {
            writer.key("memory")
            writer.beginObject()
            writer.key("limit")
            writer.integer(memory)
            writer.endObject()
        }
        if let quota = resources.cpuQuota {
            writer.key("cpu")
            writer.beginObject()
            writer.key("quota")
            writer.integer(quota.quotaMicroseconds)
            writer.key("period")
            writer.integer(quota.periodMicroseconds)
            writer.endObject()
        }
        writer.endObject()
    }

    private static func writeMount(_ destination: String, _ type: String, _ source: String, _ options: [String],
                                   _ writer: inout JSONWriter) {
        writer.beginObject()
        writer.key("destination")
        writer.string(destination)
        writer.key("type")
        writer.string(type)
        writer.key("source")
        writer.string(source)
        writer.key("options")
        writeStrings(options, &writer)
        writer.endObject()
    }

    private static func writeStrings(_ strings: [String], _ writer: inout JSONWriter) {
        writer.beginArray()
        for string in strings { writer.string(string) }
        writer.endArray()
    }
}
