import KingletConfig
import KingletCore
import KingletDevices
import KingletDocument
import KingletEpoll
import KingletLink
import KingletLocalBus
import KingletNode
import KingletPod
import KingletPodManager

/// What the status socket answers: the node (its conditions, capacity and nodeInfo, in
/// the Node API's field names) and every pod with its Kubernetes status. `kinglet status`
/// renders it as tables or prints it as is (`-o json`).
enum StatusDocument {
    static func write(agent: Agent, to writer: inout JSONWriter) {
        let facts = agent.nodeFacts.facts(runtimeReady: true)
        writer.beginObject()
        writer.key("node")
        writer.beginObject()
        writer.key("name")
        writer.string(agent.config.nodeName)
        writer.key("uptimeSeconds")
        writer.integer(agent.loop.now.since(agent.bootStarted).nanoseconds / 1_000_000_000)
        writer.key("loop")
        writer.beginObject()
        writer.key("wakeups"); writer.integer(Int64(agent.loop.iterations))
        // The longest single handler or timer run: the worst stall the loop has seen.
        writer.key("longestDispatchMicroseconds"); writer.integer(agent.loop.longestDispatch.nanoseconds / 1000)
        writer.key("dispatches"); writer.integer(Int64(agent.loop.dispatchTimes.count))
        writer.key("dispatchP50Microseconds"); writer.integer(agent.loop.dispatchTimes.quantileMicroseconds(0.5))
        writer.key("dispatchP99Microseconds"); writer.integer(agent.loop.dispatchTimes.quantileMicroseconds(0.99))
        // The histogram itself, [upper bound in microseconds, count] per non-empty bucket: the
        // difference of two snapshots gives the stalls of the window between them.
        writer.key("dispatchBuckets")
        writer.beginArray()
        agent.loop.dispatchTimes.forEachBucket { bound, count in
            writer.beginArray()
            writer.integer(bound)
            writer.integer(Int64(count))
            writer.endArray()
        }
        writer.endArray()
        writer.key("cacheSyncRounds"); writer.integer(Int64(agent.cache.backgroundSyncRounds))
        writer.key("cachePendingCommits"); writer.integer(Int64(agent.cache.pendingCommits))
        writer.endObject()
        writer.key("conditions")
        writer.beginArray()
        for condition in facts.conditions {
            writer.beginObject()
            writer.key("type"); writer.string(condition.type)
            writer.key("status"); writer.string(condition.status.rawValue)
            writer.key("reason"); writer.string(condition.reason)
            writer.key("message"); writer.string(condition.message)
            writer.endObject()
        }
        writer.endArray()
        writer.key("capacity")
        resources(facts.capacity, &writer)
        writer.key("allocatable")
        resources(facts.allocatable, &writer)
        writer.key("nodeInfo")
        nodeInfo(facts.info, &writer)
        writer.endObject()
        if let link = agent.link { linkReport(link.report, &writer) }
        if let bus = agent.localBus { localBusReport(bus.report, &writer) }

        writer.key("devices")
        writer.beginArray()
        for uid in agent.devices.manager.devices.keys.sorted() {
            guard let device = agent.devices.manager.devices[uid] else { continue }
            writer.beginObject()
            writer.key("namespace"); writer.string(device.spec.namespace)
            writer.key("name"); writer.string(device.spec.name)
            writer.key("uid"); writer.string(uid)
            writer.key("protocol"); writer.string(device.spec.kind.rawValue)
            if !device.twin.stateReason.isEmpty { writer.key("reason"); writer.string(device.twin.stateReason) }
            let counters = device.driver.counters
            writer.key("counters")
            writer.beginObject()
            writer.key("reads"); writer.integer(Int64(counters.reads))
            writer.key("writes"); writer.integer(Int64(counters.writes))
            writer.key("timeouts"); writer.integer(Int64(counters.timeouts))
            writer.key("badFrames"); writer.integer(Int64(counters.badFrames))
            writer.key("deviceErrors"); writer.integer(Int64(counters.deviceErrors))
            writer.key("reopens"); writer.integer(Int64(counters.reopens))
            writer.endObject()
            writer.key("desired")
            writer.beginObject()
            for (index, property) in device.spec.properties.enumerated() {
                if let desired = device.twin.properties[index].desired { writer.key(property.name); writer.string(desired) }
            }
            writer.endObject()
            agent.devices.writeStatus(device, to: &writer)
            writer.endObject()
        }
        writer.endArray()

        writer.key("pods")
        writer.beginArray()
        var pods = agent.manager.pods
        pods.sort { $0.0.fullName < $1.0.fullName }
        for (pod, status, specHash) in pods {
            writer.beginObject()
            writer.key("metadata")
            writer.beginObject()
            writer.key("namespace"); writer.string(pod.metadata.namespace)
            writer.key("name"); writer.string(pod.metadata.name)
            writer.key("uid"); writer.string(pod.metadata.uid)
            writer.endObject()
            writer.key("specHash"); writer.string(FNV1a.hex(specHash))
            writer.key("limits")
            writer.beginObject()
            for container in status.initContainerStatuses + status.containerStatuses where !container.appliedLimits.isEmpty {
                writer.key(container.name); writer.string(container.appliedLimits)
            }
            writer.endObject()
            writer.key("status")
            PodStatusJSON.write(status, to: &writer)
            writer.endObject()
        }
        writer.endArray()
        writer.endObject()
    }

    /// The cloud link: absent when the agent runs headless.
    static func linkReport(_ report: LinkReport, _ writer: inout JSONWriter) {
        writer.key("link")
        writer.beginObject()
        writer.key("broker"); writer.string(report.broker)
        writer.key("state"); writer.string(report.state.rawValue)
        writer.key("connected"); writer.bool(report.state == .connected)
        // Since when it is connected, or since when it is not.
        writer.key("since"); writer.string(UTCTimestamp.format(nanoseconds: report.sinceNanoseconds, fractionDigits: 0))
        writer.key("lastError"); writer.string(report.lastError)
        writer.key("connections"); writer.integer(Int64(report.connections))
        writer.key("pendingStatuses"); writer.integer(Int64(report.pendingStatuses))
        writer.key("waitingForPods"); writer.integer(Int64(report.waitingForPods))
        writer.key("skippedPayloads")
        writer.beginObject()
        for problem in PayloadProblem.allCases {
            writer.key(problem.rawValue); writer.integer(Int64(report.skippedPayloads[problem] ?? 0))
        }
        writer.endObject()
        writer.endObject()
    }

    /// The local device bus: absent without `devices.localBroker`.
    static func localBusReport(_ report: LocalBusReport, _ writer: inout JSONWriter) {
        writer.key("localBus")
        writer.beginObject()
        writer.key("broker"); writer.string(report.broker)
        writer.key("state"); writer.string(report.state.rawValue)
        writer.key("connected"); writer.bool(report.state == .connected)
        writer.key("since"); writer.string(UTCTimestamp.format(nanoseconds: report.sinceNanoseconds, fractionDigits: 0))
        writer.key("lastError"); writer.string(report.lastError)
        writer.key("connections"); writer.integer(Int64(report.connections))
        writer.key("filters"); writer.integer(Int64(report.filters))
        writer.key("twinUpdates"); writer.integer(Int64(truncatingIfNeeded: report.twinUpdates))
        writer.key("deltas"); writer.integer(Int64(truncatingIfNeeded: report.deltas))
        writer.endObject()
    }

    static func resources(_ resources: NodeResources, _ writer: inout JSONWriter) {
        writer.beginObject()
        writer.key("cpu"); writer.string(String(resources.cpuCores))
        writer.key("memory"); writer.string(String(resources.memoryKiB) + "Ki")
        writer.key("pods"); writer.string(String(resources.pods))
        writer.key("ephemeral-storage"); writer.string(String(resources.ephemeralStorageKiB) + "Ki")
        writer.endObject()
    }

    static func nodeInfo(_ info: NodeInfo, _ writer: inout JSONWriter) {
        writer.beginObject()
        for (key, value) in [("machineID", info.machineID), ("systemUUID", info.systemUUID), ("bootID", info.bootID),
                             ("kernelVersion", info.kernelVersion), ("osImage", info.osImage),
                             ("containerRuntimeVersion", info.containerRuntimeVersion), ("kubeletVersion", info.kubeletVersion),
                             ("operatingSystem", info.operatingSystem), ("architecture", info.architecture)] {
            writer.key(key)
            writer.string(value)
        }
        writer.endObject()
    }
}
