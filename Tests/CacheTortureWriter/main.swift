// A writer process for the cache crash-injection tests: commits records until killed.
//
// usage: cache-torture-writer <cache> <seed> <first-version> <uids> <slots> <slot-size> <sync|nosync|background> [max-ops]
//
// Opens (or creates) the cache, prints "ready", then loops: picks a uid and an operation
// (put, status, remove) from the seeded generator, prints "begin <op> <index> <version>",
// commits, prints "ack <op> <index> <version>". "background" commits as the agent does, the
// msyncs on the flusher thread (record round, then flip round), and acknowledges once
// `finishPendingCommits` says the commit is durable. Every line is one write(2) to stdout, so a
// line is either wholly in the output file or not at all when SIGKILL lands. Versions count
// up from <first-version>, one per operation. Exits when its parent goes away or after
// <max-ops> operations (0: no limit), so it never outlives the test.
import Glibc
import KingletCache
import KingletLoopTesting

func emit(_ line: String) {
    var text = line + "\n"
    text.withUTF8 { bytes in
        var offset = 0
        while offset < bytes.count {
            let written = write(1, bytes.baseAddress! + offset, bytes.count - offset)
            if written <= 0 { exit(3) }
            offset += written
        }
    }
}

func fail(_ message: String) -> Never {
    emit("error " + message)
    exit(1)
}

let arguments = CommandLine.arguments
guard arguments.count >= 8, let seed = UInt64(arguments[2]), let firstVersion = UInt64(arguments[3]),
      let uidCount = Int(arguments[4]), let slotCount = Int(arguments[5]), let slotSize = Int(arguments[6]) else {
    fail("usage: cache-torture-writer <cache> <seed> <first-version> <uids> <slots> <slot-size> <sync|nosync|background> [max-ops]")
}
let durability: CacheDurability = arguments[7] == "nosync" ? .processCrash : .powerLoss
let inBackground = arguments[7] == "background"
let maximumOperations = arguments.count > 8 ? Int(arguments[8]) ?? 0 : 0
let parent = getppid()

let cache: PodCache
do throws(CacheError) {
    cache = try PodCache.open(path: arguments[1], creating: CacheGeometry(slotCount: slotCount, slotSize: slotSize),
                              durability: durability)
    if inBackground { try cache.syncInBackground(on: nil) }
} catch {
    fail(error.description)
}
emit("ready")

var random = SplitMix64(seed: seed)

var version = firstVersion
var operations = 0
while maximumOperations == 0 || operations < maximumOperations {
    if getppid() != parent { exit(0) }
    let index = Int(random.next() % UInt64(uidCount))
    let uid = TortureContent.uid(index)
    let roll = random.next() % 100
    let operation = !cache.contains(uid: uid) || roll < 55 ? "put" : roll < 85 ? "status" : "remove"
    emit("begin " + operation + " " + String(index) + " " + String(version))
    do throws(CacheError) {
        switch operation {
        case "put":
            try cache.put(TortureContent.record(index: index, version: version, statusVersion: version, slotSize: slotSize))
        case "status":
            try cache.updateStatus(uid: uid, status: TortureContent.status(uid: uid, version: version))
        default:
            try cache.remove(uid: uid)
        }
    } catch {
        fail(error.description)
    }
    if inBackground { cache.finishPendingCommits() }
    emit("ack " + operation + " " + String(index) + " " + String(version))
    version += 1
    operations += 1
}
cache.close()
