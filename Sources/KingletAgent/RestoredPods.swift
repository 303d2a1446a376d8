import KingletCache
import KingletConfig
import KingletDocument
import KingletPod
import KingletPodManager

/// Pods as the agent keeps them: from the cache at boot, from the static folder, and (later)
/// from the relay. A pod's spec is kept as received; its identity comes from the record.
enum RestoredPods {
    /// Every pod record of the cache, decoded. A record that no longer decodes is skipped
    /// with a warning rather than blocking the others.
    static func fromCache(_ cache: PodCache, log: AgentLog) -> [DesiredPod] {
        var pods: [DesiredPod] = []
        cache.forEachRecord { (view: CachedRecordView) in
            guard view.kind == .pod else { return }
            let uid = String(decoding: view.uid, as: UTF8.self)
            guard let record = cache.record(uid: uid) else { return }
            do throws(DocumentError) {
                let node = try JSONReader().parseDocument(record.spec, file: "cache:" + uid)
                var pod = try PodDecoder.decode(node, file: "cache:" + uid)
                pod.metadata.uid = record.uid
                pod.metadata.name = record.name
                pod.metadata.namespace = record.namespace
                pods.append(DesiredPod(pod: pod, specHash: record.specHash, cachedStatuses: CachedContainerStatuses(json: record.status)))
            } catch {
                log.warning("cached pod \(record.namespace)/\(record.name) (\(uid)) is not usable: \(error.description)")
            }
        }
        return pods
    }

    /// One cached pod record, decoded; nil (with a warning) when it is missing or unusable.
    static func one(uid: String, from cache: PodCache, log: AgentLog) -> DesiredPod? {
        guard let record = cache.record(uid: uid), record.kind == .pod else { return nil }
        do throws(DocumentError) {
            let node = try JSONReader().parseDocument(record.spec, file: "cache:" + uid)
            var pod = try PodDecoder.decode(node, file: "cache:" + uid)
            pod.metadata.uid = record.uid
            pod.metadata.name = record.name
            pod.metadata.namespace = record.namespace
            return DesiredPod(pod: pod, specHash: record.specHash, cachedStatuses: CachedContainerStatuses(json: record.status))
        } catch {
            log.warning("cached pod \(record.namespace)/\(record.name) (\(uid)) is not usable: \(error.description)")
            return nil
        }
    }

    static func isStatic(_ uid: String) -> Bool { uid.hasPrefix("static-") }
}
