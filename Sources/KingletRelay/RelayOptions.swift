import Foundation

/// The relay's settings (from the command line).
public struct RelayOptions: Sendable {
    /// This replica's id: its membership Lease is `kinglet-relay-<id>`.
    public var replicaID: String
    /// Where the membership Leases live.
    public var namespace: String = "kinglet-system"
    /// A taint put on every Node the relay creates, so only tolerating pods land there.
    public var edgeTaint: Taint? = nil
    /// Node and membership Lease duration; also how long a silent board stays Ready (40 s).
    public var leaseDuration: Double = 40
    /// How often Leases are renewed (10 s, 0.25 x the duration, as the kubelet does).
    public var renewInterval: Double = 10
    /// At most this many API writes at once.
    public var writeConcurrency: Int = 32
    /// The server-side timeout of each watch request.
    public var watchTimeout: Int = 300

    public init(replicaID: String) {
        self.replicaID = replicaID
    }

    /// "kinglet-relay-<id>", lowercased and reduced to what a Lease name may hold.
    public var memberLeaseName: String {
        let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789-.")
        var name = String(replicaID.lowercased().map { allowed.contains($0) ? $0 : "-" })
        while name.hasSuffix("-") || name.hasSuffix(".") { name.removeLast() }
        return String(("kinglet-relay-" + name).prefix(253))
    }

    /// The default replica id: host name and process id.
    public static var defaultReplicaID: String {
        "\(ProcessInfo.processInfo.hostName)-\(ProcessInfo.processInfo.processIdentifier)"
    }
}
