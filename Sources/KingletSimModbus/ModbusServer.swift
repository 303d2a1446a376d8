import CModbus
import Foundation
import Glibc
import Synchronization

/// libmodbus's own RTU server on the server-side pty: `modbus_receive` → `modbus_reply`
/// over a `modbus_mapping_t`, in its own thread. Everything a master sees about
/// addressing, quantities and exceptions is libmodbus's behaviour; this type only sets
/// the dynamic registers before each reply, injects the SERVER DEVICE FAILURE fault and
/// writes the state file.
///
/// After `run()` starts, only the server thread touches the context and the mapping; the
/// other threads only set `stopping`.
final class ModbusServer: @unchecked Sendable {
    /// How long `modbus_receive` waits for a request before looking at `stopping` again.
    static let pollInterval: UInt32 = 100_000
    static let maximumFrame = 256  // MODBUS_RTU_MAX_ADU_LENGTH

    let stopping = Atomic<Bool>(false)
    private let context: OpaquePointer
    private let mapping: UnsafeMutablePointer<modbus_mapping_t>
    private let map: RegisterMap
    private let statePath: String?
    /// Told once per write response after the state file is written (the shuttle holds the response until then).
    private let stateWritten: SignalPipe?
    private let log: Log
    private let started = monotonicNanoseconds()
    private var exceptions: EveryNth
    private(set) var requests = 0
    private(set) var writeRequests = 0
    private(set) var exceptionsInjected = 0
    private(set) var badRequests = 0

    /// Opens `device` (the server-side pty's slave) with libmodbus and builds the mapping.
    init(device: String, serial: SerialSettings, map: RegisterMap, faults: FaultPlan, statePath: String?, stateWritten: SignalPipe?, log: Log) throws(SimulatorError) {
        guard let context = modbus_new_rtu(device, Int32(serial.baud), serial.parity.letter,
                                           Int32(serial.dataBits), Int32(serial.stopBits)) else {
            throw .modbus(operation: "modbus_new_rtu \(device)", errno: errno)
        }
        var keep = false
        defer { if !keep { modbus_free(context) } }
        guard modbus_set_slave(context, Int32(map.slave)) == 0 else {
            throw .modbus(operation: "modbus_set_slave \(map.slave)", errno: errno)
        }
        guard modbus_set_indication_timeout(context, 0, Self.pollInterval) == 0 else {
            throw .modbus(operation: "modbus_set_indication_timeout", errno: errno)
        }
        guard modbus_connect(context) == 0 else { throw .modbus(operation: "modbus_connect \(device)", errno: errno) }
        defer { if !keep { modbus_close(context) } }
        guard let mapping = modbus_mapping_new_start_address(
            UInt32(map.coils.start), UInt32(map.coils.count),
            UInt32(map.discreteInputs.start), UInt32(map.discreteInputs.count),
            UInt32(map.holdingRegisters.start), UInt32(map.holdingRegisters.count),
            UInt32(map.inputRegisters.start), UInt32(map.inputRegisters.count)) else {
            throw .modbus(operation: "modbus_mapping_new_start_address", errno: errno)
        }
        for (index, on) in map.coils.values.enumerated() { mapping.pointee.tab_bits[index] = on ? 1 : 0 }
        for (index, on) in map.discreteInputs.values.enumerated() { mapping.pointee.tab_input_bits[index] = on ? 1 : 0 }
        for (index, word) in map.holdingRegisters.values.enumerated() { mapping.pointee.tab_registers[index] = word }
        for (index, word) in map.inputRegisters.values.enumerated() { mapping.pointee.tab_input_registers[index] = word }
        keep = true
        self.context = context
        self.mapping = mapping
        self.map = map
        self.statePath = statePath
        self.stateWritten = stateWritten
        self.log = log
        self.exceptions = EveryNth(faults.exceptionEvery)
        updateDynamicRegisters()
        try writeState()
    }

    deinit {
        modbus_mapping_free(mapping)
        modbus_close(context)
        modbus_free(context)
    }

    /// The server loop; returns once `stopping` is set (within `pollInterval`).
    func run() {
        var request = [UInt8](repeating: 0, count: Self.maximumFrame)
        while !stopping.load(ordering: .acquiring) {
            let length = request.withUnsafeMutableBufferPointer { modbus_receive(context, $0.baseAddress) }
            if length < 0 {
                let code = errno
                if code == ETIMEDOUT || stopping.load(ordering: .acquiring) { continue }
                // A broken request (bad CRC, garbage, a frame cut short): drop what is left of
                // it, as a device resynchronises on the next silence.
                badRequests += 1
                log.trace("bad request: \(String(cString: modbus_strerror(code)))")
                modbus_flush(context)
                continue
            }
            // 0: a frame for another slave address; libmodbus ignores it.
            guard length > 0 else { continue }
            requests += 1
            let frame = request[0..<Int(length)]
            log.trace("request \(requests): \(describeRequest(frame))")
            updateDynamicRegisters()
            let writes = ModbusFunction(rawValue: request[1])?.writes == true
            let sent: Int32
            if exceptions.next(), request[0] != 0 {
                exceptionsInjected += 1
                log.say("fault exception (\(exceptionsInjected)): request \(requests) answered with 0x04 SERVER DEVICE FAILURE")
                sent = request.withUnsafeBufferPointer {
                    modbus_reply_exception(context, $0.baseAddress, UInt32(MODBUS_EXCEPTION_SLAVE_OR_SERVER_FAILURE))
                }
            } else {
                // Broadcasts (slave 0) are served without a response: libmodbus returns 0.
                sent = request.withUnsafeBufferPointer { modbus_reply(context, $0.baseAddress, length, mapping) }
                if sent < 0 { log.trace("reply to request \(requests) failed: \(String(cString: modbus_strerror(errno)))") }
                if writes {
                    writeRequests += 1
                    do { try writeState() } catch { log.say("cannot write the state file: \(error)") }
                }
            }
            if writes, sent > 0 { stateWritten?.send(1) }
        }
    }

    private func updateDynamicRegisters() {
        guard !map.dynamic.isEmpty else { return }
        let seconds = Double(monotonicNanoseconds() - started) / 1e9
        for register in map.dynamic {
            let value = register.value(atSeconds: seconds)
            switch register.table {
            case .input: mapping.pointee.tab_input_registers[register.address - map.inputRegisters.start] = value
            case .holding: mapping.pointee.tab_registers[register.address - map.holdingRegisters.start] = value
            }
        }
    }

    /// The coils and holding registers as libmodbus holds them now, for `--state`.
    var snapshot: DeviceState {
        DeviceState(
            slave: map.slave, writeRequests: writeRequests,
            coils: .init(start: map.coils.start,
                         values: (0..<map.coils.count).map { Int(mapping.pointee.tab_bits[$0]) }),
            holdingRegisters: .init(start: map.holdingRegisters.start,
                                    values: (0..<map.holdingRegisters.count).map { Int(mapping.pointee.tab_registers[$0]) }))
    }

    private func writeState() throws(SimulatorError) {
        guard let statePath else { return }
        try snapshot.write(to: statePath)
    }
}

/// The `--state` file, rewritten after every write request (and once at start):
///
///     {"coils":{"start":0,"values":[1,0]},"holdingRegisters":{"start":100,"values":[500,42]},
///      "slave":1,"writeRequests":3}
///
/// Coils are 0/1, registers raw words; `writeRequests` counts the write requests served
/// so far, so a reader can wait for the one it caused.
public struct DeviceState: Codable, Equatable, Sendable {
    public struct Table: Codable, Equatable, Sendable {
        public var start: Int
        public var values: [Int]

        public init(start: Int, values: [Int]) {
            self.start = start
            self.values = values
        }
    }

    public var slave: Int
    public var writeRequests: Int
    public var coils: Table
    public var holdingRegisters: Table

    /// Temporary file then rename, so a reader never sees half a file.
    func write(to path: String) throws(SimulatorError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data: Data
        do { data = try encoder.encode(self) } catch { throw .system(operation: "encode state", errno: EINVAL) }
        let temporary = "\(path).tmp"
        guard FileManager.default.createFile(atPath: temporary, contents: data + Data("\n".utf8)) else {
            throw .system(operation: "write \(temporary)", errno: errno)
        }
        guard rename(temporary, path) == 0 else { throw .system(operation: "rename \(temporary)", errno: errno) }
    }

    public static func read(from path: String) -> DeviceState? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return try? JSONDecoder().decode(DeviceState.self, from: data)
    }
}
