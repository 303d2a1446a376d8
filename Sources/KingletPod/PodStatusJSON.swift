import KingletCore
import KingletDocument

/// Writes a PodStatus as the Kubernetes API spells it (the body of a status PATCH and what
/// the cache keeps as the pod's last known status). Times are RFC 3339 seconds in UTC, as
/// metav1.Time marshals them.
public enum PodStatusJSON {
    public static func write(_ status: PodStatus, to writer: inout JSONWriter) {
        writer.beginObject()
        writer.key("phase")
        writer.string(status.phase.rawValue)
        writer.key("conditions")
        writer.beginArray()
        for condition in status.conditions {
            writer.beginObject()
            writer.key("type")
            writer.string(condition.type)
            writer.key("status")
            writer.string(condition.isTrue ? "True" : "False")
            writer.key("lastProbeTime")
            writer.null()
            time("lastTransitionTime", condition.lastTransitionTime, &writer)
            optionalString("reason", condition.reason, &writer)
            optionalString("message", condition.message, &writer)
            writer.endObject()
        }
        writer.endArray()
        optionalString("reason", status.reason, &writer)
        optionalString("message", status.message, &writer)
        optionalString("hostIP", status.hostIP, &writer)
        optionalString("podIP", status.podIP, &writer)
        if status.startTime != 0 { time("startTime", status.startTime, &writer) }
        if !status.initContainerStatuses.isEmpty {
            writer.key("initContainerStatuses")
            containerStatuses(status.initContainerStatuses, &writer)
        }
        writer.key("containerStatuses")
        containerStatuses(status.containerStatuses, &writer)
        writer.endObject()
    }

    static func containerStatuses(_ statuses: [ContainerStatus], _ writer: inout JSONWriter) {
        writer.beginArray()
        for status in statuses {
            writer.beginObject()
            writer.key("name")
            writer.string(status.name)
            writer.key("image")
            writer.string(status.image)
            writer.key("imageID")
            writer.string("")
            optionalString("containerID", status.containerID, &writer)
            writer.key("state")
            state(status.state, &writer)
            writer.key("lastState")
            if let last = status.lastState { state(last, &writer) } else { writer.beginObject(); writer.endObject() }
            writer.key("ready")
            writer.bool(status.ready)
            writer.key("started")
            writer.bool(status.started)
            writer.key("restartCount")
            writer.integer(Int64(status.restartCount))
            writer.endObject()
        }
        writer.endArray()
    }

    static func state(_ state: ContainerState, _ writer: inout JSONWriter) {
        writer.beginObject()
        switch state {
        case .waiting(let reason, let message):
            writer.key("waiting")
            writer.beginObject()
            optionalString("reason", reason, &writer)
            optionalString("message", message, &writer)
            writer.endObject()
        case .running(let startedAt):
            writer.key("running")
            writer.beginObject()
            time("startedAt", startedAt, &writer)
            writer.endObject()
        case .terminated(let exitCode, let signal, let reason, let message, let startedAt, let finishedAt):
            writer.key("terminated")
            writer.beginObject()
            writer.key("exitCode")
            writer.integer(Int64(exitCode))
            if signal != 0 {
                writer.key("signal")
                writer.integer(Int64(signal))
            }
            optionalString("reason", reason, &writer)
            optionalString("message", message, &writer)
            time("startedAt", startedAt, &writer)
            time("finishedAt", finishedAt, &writer)
            writer.endObject()
        }
        writer.endObject()
    }

    static func time(_ key: String, _ nanoseconds: Int64, _ writer: inout JSONWriter) {
        writer.key(key)
        if nanoseconds == 0 { writer.null() } else { writer.string(UTCTimestamp.format(nanoseconds: nanoseconds, fractionDigits: 0)) }
    }

    static func optionalString(_ key: String, _ value: String, _ writer: inout JSONWriter) {
        guard !value.isEmpty else { return }
        writer.key(key)
        writer.string(value)
    }
}
