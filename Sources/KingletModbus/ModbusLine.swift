import CKingletSystem
import CModbus
import KingletCore

/// The board's Modbus serial lines, by port: every device on one RS-485 bus shares its
/// line, so the port is opened once and one request is on the wire at a time.
public final class ModbusLines {
    private let loop: any EventLoop
    private var lines: [String: ModbusLine] = [:]
    /// Devices refused by a line at other serial settings: started again once that line
    /// closes (its devices gone, or restarted with the new settings themselves).
    private var waiting: [ModbusDriver] = []

    public init(loop: any EventLoop) { self.loop = loop }

    /// The line on `settings.serialPort`, opened for the first device that joins it.
    func line(for settings: ModbusLineSettings) -> ModbusLine {
        if let line = lines[settings.serialPort] { return line }
        let line = ModbusLine(loop: loop, settings: settings)
        let port = settings.serialPort
        line.emptied = { [self] in
            self.lines[port] = nil
            let ready = self.waiting.filter { $0.serialPort == port }
            self.waiting.removeAll { $0.serialPort == port }
            for driver in ready { driver.start() }
        }
        lines[port] = line
        return line
    }

    func wait(_ driver: ModbusDriver) {
        if !waiting.contains(where: { $0 === driver }) { waiting.append(driver) }
    }

    func forget(_ driver: ModbusDriver) { waiting.removeAll { $0 === driver } }

    /// How many lines are in use (for tests and status).
    public var count: Int { lines.count }
}

/// One serial port and the devices on it. The line owns libmodbus's context and the port's
/// lifecycle (open, watch, reopen with back-off); the devices own their requests. When the
/// wire is free the line gives the turn to the next device with work, round-robin, so a
/// slave that never answers costs the others one timeout per turn, not a stall.
final class ModbusLine {
    let settings: ModbusLineSettings
    private let loop: any EventLoop
    private var context: OpaquePointer?
    private var fd: Int32 = -1
    private var members: [ModbusDriver] = []
    private var turn = 0
    /// The device whose request is on the wire.
    private var busy: ModbusDriver?
    /// The device that last used the wire: bytes nobody waits for are counted against it.
    private var lastSender: ModbusDriver?
    private var reopenTimer: TimerHandle?
    private var reopenDelay = Duration.seconds(1)
    /// Why the port is closed, while it is (told to devices that join meanwhile).
    private var lastFailure: String?
    /// Set while the answer of a device that left mid-request may still come: nobody
    /// transmits until its response timeout has passed.
    private var quietTimer: TimerHandle?
    private var onQuietOver: () -> Void = {}
    // Made once: they capture the line (no weak references in Embedded Swift) and are
    // dropped when the last device leaves.
    private var onReopen: () -> Void = {}
    private var onReadiness: (IOReadiness) -> Void = { _ in }
    var emptied: () -> Void = {}

    init(loop: any EventLoop, settings: ModbusLineSettings) {
        self.loop = loop
        self.settings = settings
        onReopen = { [self] in
            self.reopenTimer = nil
            self.open()
        }
        onReadiness = { [self] readiness in self.ready(readiness) }
        onQuietOver = { [self] in
            self.quietTimer = nil
            // Whatever the departed slave sent is noise now.
            if self.flush() { self.kick() }
        }
    }

    deinit { close() }

    var isOpen: Bool { context != nil }

    /// Why `settings` cannot share this line (a different speed or framing), or nil.
    func conflict(with other: ModbusLineSettings) -> String? {
        let mine = settings.serialDescription
        let theirs = other.serialDescription
        return mine == theirs ? nil : "\(settings.serialPort) is already in use at \(mine); this device asks for \(theirs)"
    }

    func join(_ driver: ModbusDriver) {
        guard !members.contains(where: { $0 === driver }) else { return }
        members.append(driver)
        if members.count == 1 {
            open()
        } else if isOpen {
            driver.lineOpened()
            kick()
        } else if let lastFailure {
            driver.lineLost(lastFailure)
        }
    }

    func leave(_ driver: ModbusDriver) {
        members.removeAll { $0 === driver }
        if lastSender === driver { lastSender = nil }
        if busy === driver {
            busy = nil
            // Its answer may still come, on a half-duplex bus where a new request would
            // collide with it, or pass for the answer of another device at the same address.
            if !members.isEmpty && isOpen && quietTimer == nil {
                quietTimer = loop.schedule(after: .milliseconds(driver.responseTimeoutMilliseconds), onQuietOver)
            }
        }
        guard members.isEmpty else {
            kick()
            return
        }
        if let reopenTimer { loop.cancel(reopenTimer) }
        reopenTimer = nil
        if let quietTimer { loop.cancel(quietTimer) }
        quietTimer = nil
        close()
        onReopen = {}
        onReadiness = { _ in }
        onQuietOver = {}
        let emptied = self.emptied
        self.emptied = {}
        emptied()
    }

    /// Gives the free wire to the next device with work.
    func kick() {
        guard busy == nil, quietTimer == nil, isOpen, !members.isEmpty else { return }
        for step in 0..<members.count {
            let driver = members[(turn + step) % members.count]
            guard driver.hasWork else { continue }
            turn = (turn + step + 1) % members.count
            busy = driver
            lastSender = driver
            driver.transmitNext()
            return
        }
    }

    /// Sends one raw request (no CRC: libmodbus adds it) addressed to `slave`; false when
    /// the port failed (the line has then told every device).
    func send(_ request: UnsafeBufferPointer<UInt8>, slave: Int32) -> Bool {
        guard let context else { return false }
        // libmodbus drops answers whose address is not the context's slave (RTU integrity check).
        _ = modbus_set_slave(context, slave)
        if modbus_send_raw_request(context, request.baseAddress, Int32(request.count)) < 0 {
            failed("cannot write to \(settings.serialPort): \(ModbusLine.lastError())")
            return false
        }
        return true
    }

    /// The busy device is done with the wire (answered, gave up or will retry).
    func release(_ driver: ModbusDriver) {
        if busy === driver { busy = nil }
        kick()
    }

    /// Drops whatever the port holds: a late answer must not pass for the next one. False
    /// when the port failed doing it (every device has then been told).
    @discardableResult
    func flush() -> Bool {
        guard let context else { return false }
        if modbus_flush(context) < 0 {
            failed("\(settings.serialPort) failed: \(ModbusLine.lastError())")
            return false
        }
        return true
    }

    /// The port went away or broke: every device hears it, and the port is reopened later
    /// (1 s doubling to 30 s), each device keeping its queued work.
    func failed(_ reason: String) {
        busy = nil
        lastFailure = reason
        if let quietTimer { loop.cancel(quietTimer) }
        quietTimer = nil
        close()
        for member in members { member.lineLost(reason) }
        guard !members.isEmpty, reopenTimer == nil else { return }
        for member in members { member.counters.reopens += 1 }
        reopenTimer = loop.schedule(after: reopenDelay, onReopen)
        reopenDelay = min(reopenDelay * 2, .seconds(30))
    }

    private func open() {
        guard !members.isEmpty, context == nil else { return }
        guard let context = modbus_new_rtu(settings.serialPort, settings.baudRate, CChar(bitPattern: settings.parity),
                                           settings.dataBits, settings.stopBits) else {
            failed("cannot set up \(settings.serialPort): \(ModbusLine.lastError())")
            return
        }
        _ = modbus_set_byte_timeout(context, UInt32(settings.byteTimeoutMilliseconds / 1000),
                                    UInt32(settings.byteTimeoutMilliseconds % 1000) * 1000)
        if modbus_connect(context) != 0 {
            let reason = ModbusLine.lastError()
            modbus_free(context)
            failed("cannot open \(settings.serialPort): \(reason)")
            return
        }
        if settings.rs485 && modbus_rtu_set_serial_mode(context, Int32(MODBUS_RTU_RS485)) != 0 {
            let reason = ModbusLine.lastError()
            modbus_close(context)
            modbus_free(context)
            failed("cannot put \(settings.serialPort) in RS-485 mode: \(reason)")
            return
        }
        if settings.rts != .none {
            _ = modbus_rtu_set_rts(context, settings.rts == .up ? Int32(MODBUS_RTU_RTS_UP) : Int32(MODBUS_RTU_RTS_DOWN))
        }
        let socket = modbus_get_socket(context)
        _ = kinglet_set_cloexec(socket)
        do {
            try loop.watch(socket, interest: .readable, handler: onReadiness)
        } catch {
            modbus_close(context)
            modbus_free(context)
            failed("cannot watch \(settings.serialPort): \(error.description)")
            return
        }
        self.context = context
        fd = socket
        reopenDelay = .seconds(1)
        lastFailure = nil
        for member in members { member.lineOpened() }
        kick()
    }

    private func close() {
        guard let context else { return }
        loop.unwatch(fd)
        modbus_close(context)
        modbus_free(context)
        self.context = nil
        fd = -1
    }

    private func ready(_ readiness: IOReadiness) {
        if readiness.contains(.hangup) || readiness.contains(.error) {
            failed("\(settings.serialPort) vanished")
            return
        }
        guard let context else { return }
        guard let driver = busy else {
            // Bytes nobody asked for: line noise or a late answer. Drop them.
            lastSender?.counters.badFrames += 1
            flush()
            return
        }
        driver.receive(from: context)
    }

    static func lastError() -> String { String(cString: modbus_strerror(kinglet_errno())) }
}
