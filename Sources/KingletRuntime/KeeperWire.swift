/// The messages between the agent and the container keeper, one per SOCK_SEQPACKET
/// packet: a type byte, then fields (little-endian integers, strings as a 32-bit length
/// and UTF-8 bytes). Descriptors travel beside the bytes (SCM_RIGHTS), in the order each
/// message lists. Both ends are the same binary's code, but an upgraded agent may meet an
/// older keeper: `hello` carries `KeeperWire.version`, and a keeper of another version is
/// refused rather than misread.
public enum KeeperMessage: Equatable, Sendable {
    /// Agent → keeper, first: who is talking. Answered by `welcome` and one `held` per
    /// container the keeper holds.
    case hello(version: Int64)
    /// Keeper → agent.
    case welcome(version: Int64, keeperPID: Int32, held: Int64)
    /// Keeper → agent, after `welcome`: a container it holds. Descriptors: stdout and
    /// stderr read ends.
    case held(KeptContainer)
    /// Agent → keeper: start a process. Descriptors: stdout write, stderr write, stdout
    /// read, stderr read (the keeper keeps the read ends).
    case spawn(KeeperSpawn)
    /// Keeper → agent: the answer to `spawn`.
    case spawned(key: String, pid: Int32, startTicks: UInt64)
    case spawnFailed(key: String, reason: String, message: String)
    /// Agent → keeper: the container's main process is now `pid` (an OCI container's
    /// init, once `runc create` has exited; the keeper is its subreaper), and its label
    /// `label` (what the agent learnt after the start).
    case watch(key: String, pid: Int32, label: String)
    /// Keeper → agent: the container's main process exited (and was reaped).
    case exited(key: String, pid: Int32, status: ProcessExitStatus, finishedAt: Int64)
    /// Agent → keeper: forget the container, close its read ends.
    case release(key: String)
    /// Agent → keeper: send `signal` to the container's main process (its group when the
    /// keeper kills the group on exit). The keeper knows whether the pid is still its
    /// unreaped child, so a signal never reaches a process that reused the pid.
    case signal(key: String, signal: Int32)
}

/// What the agent asks the keeper to start.
public struct KeeperSpawn: Equatable, Sendable {
    /// The container's key: unique on the board, e.g. "exec:<pod uid>/<name>".
    public var key: String
    /// The agent's own notes on the container (spec hash, start time, log path), given
    /// back unchanged after a restart.
    public var label: String
    /// The program's path, and its whole argv (argv[0] as the container named it).
    public var executable: String
    public var arguments: [String]
    public var environment: [String]
    public var workingDirectory: String
    /// Whether its process group is killed when it exits (an exec container ends with its
    /// main process, as with a PID namespace).
    public var killGroupOnExit: Bool

    public init(key: String, label: String, executable: String, arguments: [String], environment: [String],
                workingDirectory: String, killGroupOnExit: Bool) {
        self.key = key
        self.label = label
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.workingDirectory = workingDirectory
        self.killGroupOnExit = killGroupOnExit
    }
}

/// A container the keeper holds for the agent.
public struct KeptContainer: Equatable, Sendable {
    public var key: String
    public var label: String
    /// Its main process, and that process's start time (ticks since boot): together they
    /// name one process.
    public var pid: Int32
    public var startTicks: UInt64
    /// Set when it exited while the agent was away (or before the agent released it).
    public var exit: ProcessExitStatus?
    public var finishedAt: Int64

    public init(key: String, label: String, pid: Int32, startTicks: UInt64, exit: ProcessExitStatus?, finishedAt: Int64) {
        self.key = key
        self.label = label
        self.pid = pid
        self.startTicks = startTicks
        self.exit = exit
        self.finishedAt = finishedAt
    }
}

/// A message that could not be read.
public struct KeeperWireError: Error, Equatable, Sendable {
    public let message: String
}

public enum KeeperWire {
    /// Bumped whenever a message changes shape.
    public static let version: Int64 = 1
    /// The largest message (a spawn with a long environment).
    public static let maximumBytes = 256 * 1024

    public static func encode(_ message: KeeperMessage) -> [UInt8] {
        var out = KeeperWriter()
        switch message {
        case .hello(let version):
            out.byte(1); out.integer(version)
        case .welcome(let version, let pid, let held):
            out.byte(2); out.integer(version); out.integer(Int64(pid)); out.integer(held)
        case .held(let kept):
            out.byte(3); out.string(kept.key); out.string(kept.label); out.integer(Int64(kept.pid))
            out.integer(Int64(bitPattern: kept.startTicks)); out.exit(kept.exit); out.integer(kept.finishedAt)
        case .spawn(let spawn):
            out.byte(4); out.string(spawn.key); out.string(spawn.label); out.string(spawn.executable)
            out.strings(spawn.arguments); out.strings(spawn.environment); out.string(spawn.workingDirectory)
            out.byte(spawn.killGroupOnExit ? 1 : 0)
        case .spawned(let key, let pid, let ticks):
            out.byte(5); out.string(key); out.integer(Int64(pid)); out.integer(Int64(bitPattern: ticks))
        case .spawnFailed(let key, let reason, let message):
            out.byte(6); out.string(key); out.string(reason); out.string(message)
        case .watch(let key, let pid, let label):
            out.byte(7); out.string(key); out.integer(Int64(pid)); out.string(label)
        case .exited(let key, let pid, let status, let finishedAt):
            out.byte(8); out.string(key); out.integer(Int64(pid)); out.exit(status); out.integer(finishedAt)
        case .release(let key):
            out.byte(9); out.string(key)
        case .signal(let key, let signal):
            out.byte(10); out.string(key); out.integer(Int64(signal))
        }
        return out.bytes
    }

    public static func decode(_ bytes: [UInt8]) throws(KeeperWireError) -> KeeperMessage {
        var input = KeeperReader(bytes: bytes)
        let message: KeeperMessage
        switch try input.byte() {
        case 1:
            message = .hello(version: try input.integer())
        case 2:
            message = .welcome(version: try input.integer(), keeperPID: try input.pid(), held: try input.integer())
        case 3:
            message = .held(KeptContainer(key: try input.string(), label: try input.string(), pid: try input.pid(),
                                          startTicks: UInt64(bitPattern: try input.integer()), exit: try input.exit(),
                                          finishedAt: try input.integer()))
        case 4:
            message = .spawn(KeeperSpawn(key: try input.string(), label: try input.string(), executable: try input.string(),
                                         arguments: try input.strings(), environment: try input.strings(),
                                         workingDirectory: try input.string(), killGroupOnExit: try input.byte() != 0))
        case 5:
            message = .spawned(key: try input.string(), pid: try input.pid(), startTicks: UInt64(bitPattern: try input.integer()))
        case 6:
            message = .spawnFailed(key: try input.string(), reason: try input.string(), message: try input.string())
        case 7:
            message = .watch(key: try input.string(), pid: try input.pid(), label: try input.string())
        case 8:
            let key = try input.string()
            let pid = try input.pid()
            guard let status = try input.exit() else { throw KeeperWireError(message: "an exit without a status") }
            message = .exited(key: key, pid: pid, status: status, finishedAt: try input.integer())
        case 9:
            message = .release(key: try input.string())
        case 10:
            message = .signal(key: try input.string(), signal: try input.pid())
        default:
            throw KeeperWireError(message: "unknown message type " + String(bytes.first ?? 0))
        }
        guard input.atEnd else { throw KeeperWireError(message: "trailing bytes after a message") }
        return message
    }
}

struct KeeperWriter {
    var bytes: [UInt8] = []

    mutating func byte(_ value: UInt8) { bytes.append(value) }

    mutating func integer(_ value: Int64) {
        let bits = UInt64(bitPattern: value)
        for shift in stride(from: 0, to: 64, by: 8) { bytes.append(UInt8(truncatingIfNeeded: bits >> UInt64(shift))) }
    }

    mutating func string(_ value: String) {
        let utf8 = Array(value.utf8)
        let count = UInt32(utf8.count)
        for shift in stride(from: 0, to: 32, by: 8) { bytes.append(UInt8(truncatingIfNeeded: count >> UInt32(shift))) }
        bytes.append(contentsOf: utf8)
    }

    mutating func strings(_ values: [String]) {
        integer(Int64(values.count))
        for value in values { string(value) }
    }

    /// 0: none; 1: exited with a code; 2: killed by a signal (3 with a core dump).
    mutating func exit(_ status: ProcessExitStatus?) {
        switch status {
        case nil: byte(0); integer(0)
        case .exited(let code): byte(1); integer(Int64(code))
        case .killed(let signal, let core): byte(core ? 3 : 2); integer(Int64(signal))
        }
    }
}

struct KeeperReader {
    let bytes: [UInt8]
    var offset = 0

    var atEnd: Bool { offset == bytes.count }

    mutating func byte() throws(KeeperWireError) -> UInt8 {
        guard offset < bytes.count else { throw KeeperWireError(message: "a message ends too early") }
        offset += 1
        return bytes[offset - 1]
    }

    mutating func integer() throws(KeeperWireError) -> Int64 {
        guard bytes.count - offset >= 8 else { throw KeeperWireError(message: "a message ends too early") }
        var bits: UInt64 = 0
        for index in 0..<8 { bits |= UInt64(bytes[offset + index]) << UInt64(index * 8) }
        offset += 8
        return Int64(bitPattern: bits)
    }

    mutating func pid() throws(KeeperWireError) -> Int32 {
        let value = try integer()
        guard value >= 0 && value <= Int64(Int32.max) else { throw KeeperWireError(message: "a pid out of range") }
        return Int32(value)
    }

    mutating func string() throws(KeeperWireError) -> String {
        guard bytes.count - offset >= 4 else { throw KeeperWireError(message: "a message ends too early") }
        var count = 0
        for index in 0..<4 { count |= Int(bytes[offset + index]) << (index * 8) }
        offset += 4
        guard bytes.count - offset >= count else { throw KeeperWireError(message: "a string runs past the message") }
        let text = String(decoding: bytes[offset..<offset + count], as: UTF8.self)
        offset += count
        return text
    }

    mutating func strings() throws(KeeperWireError) -> [String] {
        let count = try integer()
        guard count >= 0 && count <= Int64(bytes.count) else { throw KeeperWireError(message: "a list count out of range") }
        var values: [String] = []
        for _ in 0..<count { values.append(try string()) }
        return values
    }

    mutating func exit() throws(KeeperWireError) -> ProcessExitStatus? {
        let kind = try byte()
        let value = try integer()
        guard value >= Int64(Int32.min) && value <= Int64(Int32.max) else { throw KeeperWireError(message: "an exit code out of range") }
        switch kind {
        case 0: return nil
        case 1: return .exited(code: Int32(value))
        case 2, 3: return .killed(signal: Int32(value), coreDumped: kind == 3)
        default: throw KeeperWireError(message: "unknown exit kind " + String(kind))
        }
    }
}
