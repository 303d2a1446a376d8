import CKingletSystem

/// What an OCI container needs beyond what every container has (`ContainerLaunch`): the
/// image's root file system, the user, the pod's volumes and the board's devices.
/// `OCIRuntime` refuses a launch without it; `ExecRuntime` ignores it.
///
/// The caller gives the final argv in `ContainerLaunch.executable` and `.arguments`
/// (`command`/`args` over the image's entrypoint/cmd), the final environment (the image's
/// `Env` merged with the container's), and `workingDirectory` (the container's, else the
/// image's `WorkingDir`; nil is "/"). `executable` is looked up in the container's PATH by
/// the OCI runtime, inside the container.
public struct OCILaunchOptions: Equatable, Sendable {
    /// The image's flattened root file system (`ImageStore.rootfsPath(config)`), or "" when
    /// `imageLayers` are given. Only read: the container writes to its own overlayfs upper
    /// layer, or to a copy.
    public var imageRootfs: String
    /// The image's layer folders, top first, stacked by overlayfs as the root's lower
    /// folders (empty when `imageRootfs` is given).
    public var imageLayers: [String]
    /// uid:gid (default 0:0, the image's `User` resolved by `OCIUser.parse`).
    public var user: OCIUser
    /// The pod's volumes, bind-mounted in order.
    public var mounts: [OCIBindMount]
    /// Host device nodes the container may use (`/dev/ttyUSB0`).
    public var devices: [OCIDevice]
    /// The container's host name; nil keeps the node's (the container shares the node's
    /// network, as `hostNetwork` pods do).
    public var hostname: String?

    public init(imageRootfs: String, imageLayers: [String] = [], user: OCIUser = .root, mounts: [OCIBindMount] = [],
                devices: [OCIDevice] = [], hostname: String? = nil) {
        self.imageRootfs = imageRootfs
        self.imageLayers = imageLayers
        self.user = user
        self.mounts = mounts
        self.devices = devices
        self.hostname = hostname
    }
}

/// The numeric user a container's process runs as.
public struct OCIUser: Equatable, Sendable {
    public var uid: UInt32
    public var gid: UInt32
    public var additionalGids: [UInt32]

    public init(uid: UInt32, gid: UInt32, additionalGids: [UInt32] = []) {
        self.uid = uid
        self.gid = gid
        self.additionalGids = additionalGids
    }

    public static let root = OCIUser(uid: 0, gid: 0)

    /// An image's `User` (or a pod's runAsUser:runAsGroup as text): `uid`, `uid:gid`,
    /// `name`, `name:group`, `uid:group`, `name:gid`. Names are looked up in the image's
    /// own `/etc/passwd` and `/etc/group` (opened without following any symlink, so an
    /// image cannot point the agent at a host file); a user without a group gets its
    /// passwd entry's group, else 0, as runc and containerd do.
    public static func parse(_ text: String, rootfs: String) throws(OCIUserError) -> OCIUser {
        try parse(text, roots: [rootfs])
    }

    /// The same, for an image whose files are in several folders, top layer first: a file is
    /// read from the first folder that has it.
    public static func parse(_ text: String, roots rootfs: [String]) throws(OCIUserError) -> OCIUser {
        if text.isEmpty { return .root }
        let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map { String($0) }
        let userPart = parts[0]
        let groupPart: String? = parts.count > 1 ? parts[1] : nil
        var uid: UInt32
        var gid: UInt32 = 0
        if let number = UInt32(userPart) {
            uid = number
            if groupPart == nil, let entry = passwdEntry(rootfs: rootfs, matching: { $0[2] == userPart }) {
                gid = UInt32(entry[3]) ?? 0
            }
        } else {
            guard let entry = passwdEntry(rootfs: rootfs, matching: { $0[0] == userPart }),
                  let number = UInt32(entry[2]) else {
                throw OCIUserError(message: "unable to find user " + userPart + ": no matching entries in passwd file")
            }
            uid = number
            gid = UInt32(entry[3]) ?? 0
        }
        if let groupPart {
            if let number = UInt32(groupPart) {
                gid = number
            } else {
                guard let entry = tableEntry(rootfs: rootfs, file: "etc/group", matching: { $0[0] == groupPart }),
                      entry.count > 2, let number = UInt32(entry[2]) else {
                    throw OCIUserError(message: "unable to find group " + groupPart + ": no matching entries in group file")
                }
                gid = number
            }
        }
        return OCIUser(uid: uid, gid: gid)
    }

    /// A passwd line's fields (name, password, uid, gid, ...), for lines with at least four.
    private static func passwdEntry(rootfs: [String], matching: ([String]) -> Bool) -> [String]? {
        tableEntry(rootfs: rootfs, file: "etc/passwd", matching: { $0.count >= 4 && matching($0) })
    }

    private static func tableEntry(rootfs: [String], file: String, matching: ([String]) -> Bool) -> [String]? {
        guard let text = rootfs.lazy.compactMap({ readInRoot($0, file) }).first else { return nil }
        for line in text.split(separator: "\n") {
            if line.hasPrefix("#") { continue }
            let fields = line.split(separator: ":", omittingEmptySubsequences: false).map { String($0) }
            if fields.count >= 3 && matching(fields) { return fields }
        }
        return nil
    }

    /// At most 1 MiB of a file below `root`, or nil.
    private static func readInRoot(_ root: String, _ relative: String) -> String? {
        let fd = kinglet_oci_open_in_root(root, relative)
        if fd < 0 { return nil }
        defer { _ = close(fd) }
        var bytes: [UInt8] = []
        let chunk = UnsafeMutableRawPointer.allocate(byteCount: 4096, alignment: 8)
        defer { chunk.deallocate() }
        while bytes.count < 1024 * 1024 {
            let count = read(fd, chunk, 4096)
            if count < 0 && kinglet_errno() == EINTR { continue }
            if count <= 0 { break }
            bytes.append(contentsOf: UnsafeRawBufferPointer(start: chunk, count: count))
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// An image's user that cannot be resolved (the kubelet shows it as CreateContainerError).
public struct OCIUserError: Error, Equatable, Sendable {
    public let message: String
    public var description: String { message }
}

/// A pod volume as a bind mount into the container.
public struct OCIBindMount: Equatable, Sendable {
    public var hostPath: String
    public var containerPath: String
    public var readOnly: Bool

    public init(hostPath: String, containerPath: String, readOnly: Bool = false) {
        self.hostPath = hostPath
        self.containerPath = containerPath
        self.readOnly = readOnly
    }
}

/// A host device node made available in the container (a device node of the same kind and
/// numbers, and a device cgroup rule allowing it).
public struct OCIDevice: Equatable, Sendable {
    public var hostPath: String
    /// Where the container sees it; nil is the host path.
    public var containerPath: String?
    /// The cgroup access: any of "r", "w", "m".
    public var permissions: String

    public init(hostPath: String, containerPath: String? = nil, permissions: String = "rwm") {
        self.hostPath = hostPath
        self.containerPath = containerPath
        self.permissions = permissions
    }
}
