import KingletCore
import KingletDocument
import KingletNode

/// `status/node` (docs/protocol.md): labels, addresses, capacity, allocatable, conditions
/// with transition times, nodeInfo. Transition times are kept here, so an unchanged node
/// writes the same bytes and the link sends it only when something changed.
struct NodeStatusPayload {
    private var transitions: [String: (status: String, time: Int64)] = [:]
    private var writer = JSONWriter(capacity: 2048)

    mutating func make(facts: NodeFacts, labels: [(String, String)], hostIP: String, hostName: String, now: Int64) -> [UInt8] {
        writer.reset()
        writer.beginObject()
        writer.key("v"); writer.integer(1)
        writer.key("labels")
        writer.beginObject()
        for (key, value) in labels { writer.key(key); writer.string(value) }
        writer.endObject()
        writer.key("addresses")
        writer.beginArray()
        for (type, address) in [("InternalIP", hostIP), ("Hostname", hostName)] {
            writer.beginObject()
            writer.key("type"); writer.string(type)
            writer.key("address"); writer.string(address)
            writer.endObject()
        }
        writer.endArray()
        writer.key("capacity")
        StatusDocument.resources(facts.capacity, &writer)
        writer.key("allocatable")
        StatusDocument.resources(facts.allocatable, &writer)
        writer.key("conditions")
        writer.beginArray()
        for condition in facts.conditions {
            let status = condition.status.rawValue
            var since = now
            if let last = transitions[condition.type], last.status == status { since = last.time }
            transitions[condition.type] = (status, since)
            writer.beginObject()
            writer.key("type"); writer.string(condition.type)
            writer.key("status"); writer.string(status)
            writer.key("reason"); writer.string(condition.reason)
            writer.key("message"); writer.string(condition.message)
            writer.key("lastTransitionTime"); writer.string(UTCTimestamp.format(nanoseconds: since, fractionDigits: 0))
            writer.endObject()
        }
        writer.endArray()
        writer.key("nodeInfo")
        StatusDocument.nodeInfo(facts.info, &writer)
        writer.endObject()
        return writer.bytes
    }
}
