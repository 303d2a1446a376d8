import CKingletSimSystem
import CModbus
import Foundation
import Glibc

/// libmodbus's own RTU server on the master side of a pseudo-terminal, in a thread of the
/// test: the driver under test opens the slave side's path like a serial port.
final class PTYModbusServer: @unchecked Sendable {
    let slavePath: String
    let mapping: UnsafeMutablePointer<modbus_mapping_t>
    private let masterFD: Int32
    private let context: OpaquePointer
    private let lock = NSLock()
    private var stopping = false
    private var silent = false
    private let finished = DispatchSemaphore(value: 0)
    private(set) var requests = 0

    init(slave: Int32 = 1) throws {
        var path = [CChar](repeating: 0, count: 64)
        masterFD = ksim_open_pty(&path, path.count)
        guard masterFD >= 0 else { throw POSIXError(.ENODEV) }
        var attributes = termios()
        tcgetattr(masterFD, &attributes)
        cfmakeraw(&attributes)
        tcsetattr(masterFD, TCSANOW, &attributes)
        slavePath = String(cString: path)
        mapping = modbus_mapping_new(16, 16, 16, 16)
        // The path is never opened: the server works on the master descriptor directly.
        context = modbus_new_rtu("/dev/null", 9600, CChar(UInt8(ascii: "N")), 8, 1)
        modbus_set_slave(context, slave)
        modbus_set_socket(context, masterFD)
        modbus_set_indication_timeout(context, 0, 100_000)
        Thread.detachNewThread { [self] in self.serve() }
    }

    /// While silent the server reads requests and answers none (the device is gone).
    func setSilent(_ value: Bool) {
        lock.lock()
        silent = value
        lock.unlock()
    }

    func holdingRegister(_ address: Int) -> UInt16 {
        lock.lock()
        defer { lock.unlock() }
        return mapping.pointee.tab_registers[address]
    }

    func setInputRegister(_ address: Int, _ value: UInt16) {
        lock.lock()
        mapping.pointee.tab_input_registers[address] = value
        lock.unlock()
    }

    func stop() {
        lock.lock()
        stopping = true
        lock.unlock()
        finished.wait()
        modbus_free(context)
        modbus_mapping_free(mapping)
        close(masterFD)
    }

    private func serve() {
        var query = [UInt8](repeating: 0, count: 260)
        while true {
            lock.lock()
            let done = stopping
            lock.unlock()
            if done { break }
            let length = query.withUnsafeMutableBufferPointer { modbus_receive(context, $0.baseAddress) }
            guard length > 0 else { continue }
            lock.lock()
            requests += 1
            let quiet = silent
            if !quiet { _ = query.withUnsafeBufferPointer { modbus_reply(context, $0.baseAddress, length, mapping) } }
            lock.unlock()
        }
        finished.signal()
    }
}
