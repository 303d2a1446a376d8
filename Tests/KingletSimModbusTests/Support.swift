import CModbus
import Foundation
import Glibc
import KingletSimModbus

struct SupportError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// libmodbus's own error numbers (modbus.h builds them from MODBUS_ENOBASE with macros Swift does not import).
enum ModbusErrno {
    static let illegalDataAddress = Int32(MODBUS_ENOBASE) + 2   // EMBXILADD
    static let serverDeviceFailure = Int32(MODBUS_ENOBASE) + 4  // EMBXSFAIL
    static let badCRC = Int32(MODBUS_ENOBASE) + 12              // EMBBADCRC = EMBXGTAR + 1
}

/// Polls `condition` every 10 ms for at most `seconds`.
func eventually(within seconds: Double, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    repeat {
        if condition() { return true }
        usleep(10_000)
    } while Date() < deadline
    return condition()
}

/// `kinglet-sim modbus` as a child process in a fresh folder, stopped and reaped by `stop()`
/// or, failing that, when released.
final class SimulatorProcess {
    static let example = """
        {
          "slave": 1,
          "coils":            { "start": 0,   "count": 8,  "values": [1, 0, 1] },
          "discreteInputs":   { "start": 10,  "values": [true, false, true, true] },
          "holdingRegisters": { "start": 100, "count": 10, "values": [500, 1200, 7] },
          "inputRegisters":   { "start": 0,   "count": 4,  "values": [215, 480] },
          "dynamic": [ { "table": "input", "address": 3, "wave": "ramp", "period": 0.5, "max": 60000 } ]
        }
        """

    /// The built executable (the test bundle sits beside it).
    static var executable: String {
        var folder = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<3 where !FileManager.default.fileExists(atPath: folder.appendingPathComponent("kinglet-sim").path) {
            folder = folder.deletingLastPathComponent()
        }
        return folder.appendingPathComponent("kinglet-sim").path
    }

    let folder: String
    let link: String
    let statePath: String
    let logPath: String
    let process = Process()
    private var stopped = false
    private var removed = false

    /// Starts the simulator with `arguments` after `--link`, `--map` (the example unless
    /// `map` is given) and `--state`, and waits for its link.
    init(_ arguments: [String] = [], map: String = SimulatorProcess.example, waitForLink: Bool = true) throws {
        folder = NSTemporaryDirectory() + "kinglet-sim-modbus-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        link = folder + "/ttyMODBUS"
        statePath = folder + "/state.json"
        logPath = folder + "/sim.log"
        try map.write(toFile: folder + "/map.json", atomically: true, encoding: .utf8)
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        defer { try? log.close() }
        process.executableURL = URL(fileURLWithPath: Self.executable)
        process.arguments = ["modbus", "--link", link, "--map", folder + "/map.json", "--state", statePath] + arguments
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = log
        process.standardError = log
        try process.run()
        if waitForLink {
            guard eventually(within: 10, { FileManager.default.fileExists(atPath: link) || !process.isRunning }),
                  process.isRunning else {
                stop()
                throw SupportError("the simulator did not create \(link):\n\(output)")
            }
        }
    }

    var output: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }
    var linkExists: Bool { access(link, F_OK) == 0 }

    func signal(_ signal: Int32) { kill(process.processIdentifier, signal) }

    /// Waits (bounded) for the process to exit by itself.
    func waitForExit(within seconds: Double) -> Int32? {
        guard eventually(within: seconds, { !process.isRunning }) else { return nil }
        process.waitUntilExit()
        stopped = true
        return process.terminationStatus
    }

    /// SIGTERM, SIGKILL after 5 s, reaped; the exit status (128 + signal if killed).
    @discardableResult
    func stop() -> Int32 {
        if !stopped {
            stopped = true
            if process.isRunning {
                kill(process.processIdentifier, SIGTERM)
                if !eventually(within: 5, { !process.isRunning }) { kill(process.processIdentifier, SIGKILL) }
            }
            process.waitUntilExit()
        }
        if !removed {
            removed = true
            try? FileManager.default.removeItem(atPath: folder)
        }
        return process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
    }

    deinit { stop() }
}

/// A libmodbus RTU master on the simulator's link: the independent side of every test.
final class Master {
    let context: OpaquePointer

    init(path: String, slave: Int32 = 1, timeout: Double = 1.0) throws {
        guard let context = modbus_new_rtu(path, 9600, CChar(UInt8(ascii: "N")), 8, 1) else {
            throw SupportError("modbus_new_rtu \(path): \(String(cString: modbus_strerror(errno)))")
        }
        modbus_set_slave(context, slave)
        modbus_set_response_timeout(context, UInt32(timeout), UInt32((timeout - timeout.rounded(.down)) * 1e6))
        guard modbus_connect(context) == 0 else {
            let code = errno
            modbus_free(context)
            throw SupportError("modbus_connect \(path): \(String(cString: modbus_strerror(code)))")
        }
        // Only now: a throwing class initializer still runs deinit once every property is set.
        self.context = context
    }

    deinit {
        modbus_close(context)
        modbus_free(context)
    }

    /// The descriptor libmodbus reads and writes.
    var descriptor: Int32 { modbus_get_socket(context) }

    func readHoldingRegisters(_ address: Int32, _ count: Int32) -> Result<[UInt16], ModbusFailure> {
        words(count) { modbus_read_registers(context, address, count, $0) }
    }

    func readInputRegisters(_ address: Int32, _ count: Int32) -> Result<[UInt16], ModbusFailure> {
        words(count) { modbus_read_input_registers(context, address, count, $0) }
    }

    func readCoils(_ address: Int32, _ count: Int32) -> Result<[UInt8], ModbusFailure> {
        bits(count) { modbus_read_bits(context, address, count, $0) }
    }

    func readDiscreteInputs(_ address: Int32, _ count: Int32) -> Result<[UInt8], ModbusFailure> {
        bits(count) { modbus_read_input_bits(context, address, count, $0) }
    }

    func writeRegister(_ address: Int32, _ value: UInt16) -> Result<Void, ModbusFailure> {
        check(modbus_write_register(context, address, value))
    }

    func writeRegisters(_ address: Int32, _ values: [UInt16]) -> Result<Void, ModbusFailure> {
        check(modbus_write_registers(context, address, Int32(values.count), values))
    }

    func writeCoil(_ address: Int32, _ on: Bool) -> Result<Void, ModbusFailure> {
        check(modbus_write_bit(context, address, on ? 1 : 0))
    }

    func writeCoils(_ address: Int32, _ values: [UInt8]) -> Result<Void, ModbusFailure> {
        check(modbus_write_bits(context, address, Int32(values.count), values))
    }

    private func words(_ count: Int32, _ call: (UnsafeMutablePointer<UInt16>) -> Int32) -> Result<[UInt16], ModbusFailure> {
        var values = [UInt16](repeating: 0, count: Int(count))
        let result = values.withUnsafeMutableBufferPointer { call($0.baseAddress!) }
        return result == count ? .success(values) : .failure(ModbusFailure(errno))
    }

    private func bits(_ count: Int32, _ call: (UnsafeMutablePointer<UInt8>) -> Int32) -> Result<[UInt8], ModbusFailure> {
        var values = [UInt8](repeating: 0, count: Int(count))
        let result = values.withUnsafeMutableBufferPointer { call($0.baseAddress!) }
        return result == count ? .success(values) : .failure(ModbusFailure(errno))
    }

    private func check(_ result: Int32) -> Result<Void, ModbusFailure> {
        result >= 0 ? .success(()) : .failure(ModbusFailure(errno))
    }
}

/// A failed libmodbus call: errno, with libmodbus's message.
struct ModbusFailure: Error, Equatable, CustomStringConvertible {
    let code: Int32
    init(_ code: Int32) { self.code = code }
    var description: String { "\(code) (\(String(cString: modbus_strerror(code))))" }
}

extension Result {
    var failure: Failure? {
        if case .failure(let failure) = self { return failure }
        return nil
    }
}
