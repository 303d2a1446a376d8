import CKingletSystem

/// Why cgroup v2 cannot hold a container's limits here.
struct CgroupUnavailable: Error {
    let reason: String
}

/// One container's cgroup v2 folder, `<base>/<pod uid>_<container name>`.
struct ContainerCgroup: Equatable {
    let folder: String

    /// Prepares `base` for per-container cgroups with the `needed` controllers, creates the
    /// container's folder and writes its limits. The container's processes join later,
    /// through `add`.
    static func create(base: String, name: String, memoryBytes: Int64?, cpuQuota: CPUQuota?) throws(CgroupUnavailable) -> ContainerCgroup {
        var needed: [String] = []
        if memoryBytes != nil { needed.append("memory") }
        if cpuQuota != nil { needed.append("cpu") }
        try prepareBase(base, controllers: needed)
        let cgroup = ContainerCgroup(folder: base + "/" + safeName(name))
        if kinglet_make_directory(cgroup.folder, 0o755) != 0 {
            throw CgroupUnavailable(reason: "cannot create " + cgroup.folder + ": " + SystemError.last("mkdir").reason)
        }
        do {
            if let memoryBytes { try FileIO.write(String(memoryBytes), to: cgroup.folder + "/memory.max") }
            if let cpuQuota { try FileIO.write(cpuQuota.description, to: cgroup.folder + "/cpu.max") }
        } catch {
            _ = cgroup.remove()
            throw CgroupUnavailable(reason: error.description)
        }
        return cgroup
    }

    /// Moves a process in.
    func add(_ pid: Int32) throws(SystemError) {
        try FileIO.write(String(pid), to: folder + "/cgroup.procs")
    }

    /// SIGKILLs every process still in the cgroup, including ones that left the
    /// container's process group: cgroup.kill (Linux 5.14) when present, else each pid of
    /// cgroup.procs.
    func killAll() {
        if (try? FileIO.write("1", to: folder + "/cgroup.kill")) != nil { return }
        guard let procs = FileIO.text(folder + "/cgroup.procs") else { return }
        for line in procs.split(separator: "\n") {
            if let pid = Int32(line), pid > 1 { _ = kill(pid, SIGKILL) }
        }
    }

    /// Whether the kernel's OOM killer killed a process of this cgroup (memory.events).
    var oomKilled: Bool {
        guard let events = FileIO.text(folder + "/memory.events") else { return false }
        for line in events.split(separator: "\n") {
            let fields = line.split(separator: " ")
            if fields.count == 2 && fields[0] == "oom_kill", let count = Int(fields[1]) { return count > 0 }
        }
        return false
    }

    /// Removes the folder; returns the errno when it could not (EBUSY while processes
    /// are still leaving).
    func remove() -> Int32? {
        if rmdir(folder) == 0 { return nil }
        let error = kinglet_errno()
        return error == ENOENT ? nil : error
    }

    /// Makes sure `base` exists and that its children get the `controllers`' files, which
    /// needs them enabled in the parent's and in base's cgroup.subtree_control.
    private static func prepareBase(_ base: String, controllers: [String]) throws(CgroupUnavailable) {
        let parent = FileIO.folder(of: base)
        guard let available = FileIO.text(parent + "/cgroup.controllers") else {
            throw CgroupUnavailable(reason: parent + " is not a cgroup v2 folder")
        }
        let offered = available.split(whereSeparator: { $0 == " " || $0 == "\n" })
        for controller in controllers where !offered.contains(where: { $0 == controller }) {
            throw CgroupUnavailable(reason: "cgroup v2 at " + parent + " has no " + controller + " controller")
        }
        if kinglet_make_directory(base, 0o755) != 0 {
            throw CgroupUnavailable(reason: "cannot create " + base + ": " + SystemError.last("mkdir").reason)
        }
        var enable = ""
        for controller in controllers { enable += (enable.isEmpty ? "+" : " +") + controller }
        if enable.isEmpty { return }
        let inBase = FileIO.text(base + "/cgroup.controllers") ?? ""
        let baseOffers = inBase.split(whereSeparator: { $0 == " " || $0 == "\n" })
        if !controllers.allSatisfy({ controller in baseOffers.contains(where: { $0 == controller }) }) {
            do {
                try FileIO.write(enable, to: parent + "/cgroup.subtree_control")
            } catch {
                throw CgroupUnavailable(reason: "cannot enable " + enable + " for " + base + ": " + error.description)
            }
        }
        do {
            try FileIO.write(enable, to: base + "/cgroup.subtree_control")
        } catch {
            throw CgroupUnavailable(reason: "cannot enable " + enable + " below " + base + ": " + error.description)
        }
    }

    /// A folder name from a container id: letters, digits, '.', '-' and '_' kept, anything
    /// else (a '/' above all) replaced by '_'.
    static func safeName(_ name: String) -> String {
        var bytes: [UInt8] = []
        for byte in name.utf8 {
            let keep = (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
                || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
                || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".")
            bytes.append(keep ? byte : UInt8(ascii: "_"))
        }
        if bytes.allSatisfy({ $0 == UInt8(ascii: ".") }) { return "_" + String(decoding: bytes, as: UTF8.self) }
        return String(decoding: bytes, as: UTF8.self)
    }
}
