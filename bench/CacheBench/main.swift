// cache-bench: times pod cache commits (put of a pod record, status update) with the
// agent's durability (msync around every flip), for `make bench`. Prints one JSON object.
import Foundation
import KingletCache

let arguments = CommandLine.arguments
let count = arguments.count > 1 ? Int(arguments[1]) ?? 200 : 200
let folder = arguments.count > 2 ? arguments[2] : NSTemporaryDirectory()
let path = folder + "/cache-bench-\(getpid()).kc"
defer { try? FileManager.default.removeItem(atPath: path) }

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted[sorted.count / 2]
}

func microseconds(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1000
}

do {
    let cache = try PodCache.open(path: path)
    // A typical pod spec as received: about 3 KiB of JSON.
    let spec = Array(String(repeating: "{\"name\":\"container\",\"image\":\"/bin/sh\"},", count: 75).utf8)
    let status = Array(String(repeating: "{\"type\":\"Ready\",\"status\":\"True\"},", count: 20).utf8)
    var puts: [Double] = []
    var updates: [Double] = []
    for index in 0..<count {
        let uid = "bench-\(index % 100)"
        puts.append(try microseconds {
            try cache.put(CacheRecord(kind: .pod, uid: uid, namespace: "default", name: uid, resourceVersion: String(index),
                                      specHash: UInt64(index), spec: spec, status: []))
        })
        updates.append(try microseconds { try cache.updateStatus(uid: uid, status: status) })
    }
    cache.close()
    let result: [String: Any] = ["commits": count, "put_median_us": median(puts), "status_update_median_us": median(updates),
                                 "spec_bytes": spec.count, "status_bytes": status.count]
    let data = try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys])
    print(String(decoding: data, as: UTF8.self))
} catch {
    FileHandle.standardError.write(Data("cache-bench: \(error)\n".utf8))
    exit(1)
}
