import KingletDocument

/// What a restarted agent takes back from a pod's cached status (as `PodStatusJSON`
/// wrote it): per container, its restart count and how its last runs ended. The rest of
/// the status is made afresh. Anything unreadable is skipped: a container then starts its
/// count again, which is what the agent did before it kept containers.
public struct CachedContainerStatuses {
    public struct Entry: Equatable {
        public var restartCount: Int32
        public var state: ContainerState?
        public var lastState: ContainerState?
    }

    public private(set) var entries: [String: Entry] = [:]

    public init() {}

    /// From the cached status JSON; empty when it does not parse.
    public init(json: [UInt8]) {
        guard !json.isEmpty else { return }
        do throws(DocumentError) {
            let root = try JSONReader().parseDocument(json, file: "cached status")
            for key in ["initContainerStatuses", "containerStatuses"] {
                guard case .array(let items)? = root.objectMember(key)?.node.value else { continue }
                for item in items {
                    guard case .string(let name)? = item.objectMember("name")?.node.value else { continue }
                    var entry = Entry(restartCount: 0, state: nil, lastState: nil)
                    if case .integer(let count)? = item.objectMember("restartCount")?.node.value,
                       count >= 0 && count <= Int64(Int32.max) {
                        entry.restartCount = Int32(count)
                    }
                    entry.state = CachedContainerStatuses.state(item.objectMember("state")?.node)
                    entry.lastState = CachedContainerStatuses.state(item.objectMember("lastState")?.node)
                    entries[name] = entry
                }
            }
        } catch {
            entries = [:]
        }
    }

    public subscript(name name: String) -> Entry? { entries[name] }

    /// A terminated or running state (a waiting one says nothing worth keeping).
    static func state(_ node: Node?) -> ContainerState? {
        guard let node else { return nil }
        if let running = node.objectMember("running")?.node {
            return .running(startedAt: time(running.objectMember("startedAt")?.node))
        }
        guard let ended = node.objectMember("terminated")?.node else { return nil }
        return .terminated(exitCode: Int32(clamping: integer(ended.objectMember("exitCode")?.node)),
                           signal: Int32(clamping: integer(ended.objectMember("signal")?.node)),
                           reason: string(ended.objectMember("reason")?.node), message: string(ended.objectMember("message")?.node),
                           startedAt: time(ended.objectMember("startedAt")?.node),
                           finishedAt: time(ended.objectMember("finishedAt")?.node))
    }

    static func integer(_ node: Node?) -> Int64 {
        if case .integer(let value)? = node?.value { return value }
        return 0
    }

    static func string(_ node: Node?) -> String {
        if case .string(let value)? = node?.value { return value }
        return ""
    }

    /// "2026-11-30T14:00:00Z" (whole seconds, UTC: what the writer makes) in nanoseconds
    /// since the epoch; 0 when it is not in that form.
    static func time(_ node: Node?) -> Int64 {
        guard case .string(let text)? = node?.value else { return 0 }
        let bytes = Array(text.utf8)
        guard bytes.count == 20, bytes[4] == 45, bytes[7] == 45, bytes[10] == 84, bytes[13] == 58, bytes[16] == 58,
              bytes[19] == 90 else { return 0 }
        func number(_ from: Int, _ count: Int) -> Int64? {
            var value: Int64 = 0
            for byte in bytes[from..<from + count] {
                guard byte >= 48 && byte <= 57 else { return nil }
                value = value * 10 + Int64(byte - 48)
            }
            return value
        }
        guard let year = number(0, 4), let month = number(5, 2), let day = number(8, 2), let hour = number(11, 2),
              let minute = number(14, 2), let second = number(17, 2), month >= 1 && month <= 12 else { return 0 }
        // Days from civil (Howard Hinnant's algorithm).
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        let days = era * 146_097 + dayOfEra - 719_468
        return ((days * 24 + hour) * 60 + minute) * 60_000_000_000 + second * 1_000_000_000
    }
}
