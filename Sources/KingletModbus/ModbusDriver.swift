import CKingletSystem
import CModbus
import KingletCore
import KingletDevices
import KingletDocument

/// One Modbus RTU device (one slave) on a serial line it may share with others (ModbusLine),
/// driven from the loop (see ModbusSettings.swift). Its requests go one at a time, writes
/// before reads; a read already queued for a property is not queued twice, so a slow bus
/// sheds load instead of building a backlog.
public final class ModbusDriver: DeviceDriver {
    enum Job: Equatable {
        case read(property: Int)
        case write(property: Int, registers: (UInt16, UInt16))

        var property: Int {
            switch self {
            case .read(let property), .write(let property, _): return property
            }
        }

        static func == (a: Job, b: Job) -> Bool {
            switch (a, b) {
            case (.read(let x), .read(let y)): return x == y
            case (.write(let x, let r), .write(let y, let s)): return x == y && r.0 == s.0 && r.1 == s.1
            default: return false
            }
        }
    }

    private let loop: any EventLoop
    private let lines: ModbusLines
    private let settings: ModbusLineSettings
    private let visitors: [ModbusVisitor]
    private let types: [DevicePropertyType]
    private let events: DeviceDriverEvents
    public internal(set) var counters = DeviceCounters()

    /// The line this device is on, once started (nil: stopped, or its port is taken at
    /// other serial settings).
    private var line: ModbusLine?
    private var queue = JobQueue()
    private var inFlight: Job?
    private var attempts = 0
    private var timeoutTimer: TimerHandle?
    private var answering = false
    /// Set after the retries of a request ran out; cleared by the next answer.
    private var declaredOffline = false
    private var lastProblem = ""
    // Buffers and callbacks made once: a poll allocates nothing.
    private var request = [UInt8](repeating: 0, count: 16)
    private var requestLength = 0
    private var response = [UInt8](repeating: 0, count: 260)
    private var registers = [UInt16](repeating: 0, count: 2)
    private var onTimeout: () -> Void = {}

    /// Decodes the device's settings and every property's visitor; throws for bad config.
    /// Devices with the same `serialPort` share one line from `lines`.
    public init(loop: any EventLoop, lines: ModbusLines, spec: DeviceSpec, events: DeviceDriverEvents) throws(DocumentError) {
        self.loop = loop
        self.lines = lines
        self.events = events
        settings = try ModbusLineSettings.decode(spec.protocolConfig)
        var visitors: [ModbusVisitor] = []
        for property in spec.properties { visitors.append(try ModbusVisitor.decode(property.visitor, property: property)) }
        self.visitors = visitors
        types = spec.properties.map { $0.type }
        onTimeout = { [self] in self.responseTimedOut() }
    }

    /// Checks a spec's settings and visitors without opening anything (config load).
    public static func validate(_ spec: DeviceSpec) throws(DocumentError) {
        _ = try ModbusLineSettings.decode(spec.protocolConfig)
        for property in spec.properties { _ = try ModbusVisitor.decode(property.visitor, property: property) }
    }

    public func start() {
        let line = lines.line(for: settings)
        if let conflict = line.conflict(with: settings) {
            // Tried again when that line closes (say, its devices restart at the new settings).
            lines.wait(self)
            goOffline(conflict)
            return
        }
        self.line = line
        line.join(self)
    }

    public func stop() {
        lines.forget(self)
        cancelTimeout()
        if let line { line.leave(self) }
        line = nil
        inFlight = nil
        // It captures the driver (no weak references in Embedded Swift): a stopped driver
        // is never started again, so dropping it lets the driver go.
        onTimeout = {}
    }

    public func collect(property index: Int) {
        guard index >= 0 && index < visitors.count else { return }
        let job = Job.read(property: index)
        if inFlight == job || queue.contains(job) { return }
        queue.append(job)
        line?.kick()
    }

    public func write(property index: Int, value: DeviceValue) {
        guard index >= 0 && index < visitors.count else { return }
        let visitor = visitors[index]
        guard visitor.table.isWritable else {
            events.written(index, "a \(visitor.table.rawValue) cannot be written")
            return
        }
        guard let words = visitor.encode(value) else {
            events.written(index, "\(value.twinText) does not fit a \(visitor.dataType.rawValue) (scale \(visitor.scale))")
            return
        }
        queue.enqueueWrite(.write(property: index, registers: words))
        line?.kick()
    }

    // MARK: from the line

    var hasWork: Bool { inFlight == nil && !queue.isEmpty }
    var serialPort: String { settings.serialPort }
    var responseTimeoutMilliseconds: Int64 { settings.responseTimeoutMilliseconds }

    func lineOpened() {
        note("opened \(settings.serialPort) at \(settings.serialDescription), slave \(settings.slaveID)")
    }

    /// The port failed: the request on the wire (if ours) goes back to the queue.
    func lineLost(_ reason: String) {
        cancelTimeout()
        if let job = inFlight { queue.prepend(job) }
        inFlight = nil
        goOffline(reason)
    }

    /// The line gave us the wire: send the next request.
    func transmitNext() {
        guard let line, let job = queue.popFirst() else {
            line?.release(self)
            return
        }
        let visitor = visitors[job.property]
        var length = 0
        request.withUnsafeMutableBufferPointer { bytes in
            bytes[0] = UInt8(truncatingIfNeeded: settings.slaveID)
            put16(visitor.address, at: 2, in: bytes)
            switch job {
            case .read:
                bytes[1] = visitor.table.readFunction.rawValue
                put16(UInt16(visitor.dataType.registerCount), at: 4, in: bytes)
                length = 6
            case .write(_, let words):
                if visitor.table == .coil {
                    bytes[1] = ModbusFunction.writeSingleCoil.rawValue
                    put16(words.0 != 0 ? 0xFF00 : 0x0000, at: 4, in: bytes)
                    length = 6
                } else if visitor.dataType.registerCount == 1 {
                    bytes[1] = ModbusFunction.writeSingleRegister.rawValue
                    put16(words.0, at: 4, in: bytes)
                    length = 6
                } else {
                    bytes[1] = ModbusFunction.writeMultipleRegisters.rawValue
                    put16(2, at: 4, in: bytes)
                    bytes[6] = 4
                    put16(words.0, at: 7, in: bytes)
                    put16(words.1, at: 9, in: bytes)
                    length = 11
                }
            }
        }
        inFlight = job
        requestLength = length
        let sent = request.withUnsafeBufferPointer { line.send(UnsafeBufferPointer(rebasing: $0[0..<length]), slave: settings.slaveID) }
        // A failed send already reached us through lineLost.
        guard sent else { return }
        timeoutTimer = loop.schedule(after: .milliseconds(settings.responseTimeoutMilliseconds), onTimeout)
    }

    /// The port is readable while our request is on the wire: let libmodbus read the frame.
    func receive(from context: OpaquePointer) {
        guard let job = inFlight else { return }
        let length = response.withUnsafeMutableBufferPointer { modbus_receive_confirmation(context, $0.baseAddress) }
        if length == 0 { return }  // a frame for another slave: keep waiting
        if length < 0 {
            let code = kinglet_errno()
            if code == EIO || code == ENXIO || code == EBADF || code == ENODEV {
                line?.failed("\(settings.serialPort) failed: \(ModbusLine.lastError())")
                return
            }
            // A corrupt or truncated frame (bad CRC, silence inside the frame).
            counters.badFrames += 1
            let reason = "bad response: \(ModbusLine.lastError())"
            // A port that failed while flushing has re-queued the job and said why.
            guard line?.flush() == true else { return }
            retry(job, reason: reason)
            return
        }
        finish(job, length: Int(length))
    }

    // MARK: transactions

    private func cancelTimeout() {
        if let timeoutTimer { loop.cancel(timeoutTimer) }
        timeoutTimer = nil
    }

    private func responseTimedOut() {
        timeoutTimer = nil
        guard let job = inFlight else { return }
        counters.timeouts += 1
        // A late answer to this request must not pass for the answer to the next one.
        guard line?.flush() == true else { return }
        retry(job, reason: "no answer from slave \(settings.slaveID) on \(settings.serialPort)")
    }

    private func retry(_ job: Job, reason: String) {
        cancelTimeout()
        inFlight = nil
        attempts += 1
        // Once the device is known not to answer, one attempt per request keeps the bus free.
        let allowed = declaredOffline ? 0 : settings.retries
        if attempts <= allowed {
            queue.prepend(job)
        } else {
            attempts = 0
            if case .write(let property, _) = job { events.written(property, reason) }
            goOffline(reason)
        }
        line?.release(self)
    }

    private func finish(_ job: Job, length: Int) {
        cancelTimeout()
        inFlight = nil
        let visitor = visitors[job.property]
        let outcome = response.withUnsafeBufferPointer { bytes in
            ModbusResponse.check(UnsafeBufferPointer(rebasing: bytes[0..<length]), slave: UInt8(truncatingIfNeeded: settings.slaveID),
                                 request: request[1], visitor: visitor)
        }
        switch outcome {
        case .malformed(let reason):
            counters.badFrames += 1
            retry(job, reason: reason)
            return
        case .exception(let code):
            attempts = 0
            counters.deviceErrors += 1
            goOnline()
            let reason = "slave \(settings.slaveID) answered exception \(code) (\(ModbusResponse.exceptionName(code)))"
            if case .write(let property, _) = job { events.written(property, reason) } else { note(reason) }
        case .bits(let first):
            attempts = 0
            counters.reads += 1
            goOnline()
            events.reported(job.property, .bool(first))
        case .registers(let high, let low):
            attempts = 0
            goOnline()
            if case .write(let property, _) = job {
                counters.writes += 1
                events.written(property, nil)
            } else {
                counters.reads += 1
                registers[0] = high
                registers[1] = low
                let value = registers.withUnsafeBufferPointer { visitor.decode(registers: $0, as: types[job.property]) }
                if let value { events.reported(job.property, value) }
            }
        case .written:
            attempts = 0
            counters.writes += 1
            goOnline()
            events.written(job.property, nil)
        }
        line?.release(self)
    }

    private func goOnline() {
        guard !answering else { return }
        answering = true
        declaredOffline = false
        lastProblem = ""
        events.stateChanged(.online, "")
    }

    private func goOffline(_ reason: String) {
        answering = false
        declaredOffline = true
        note(reason)
        events.stateChanged(.offline, reason)
    }

    /// Logs a problem once until something else happens.
    private func note(_ message: String) {
        guard message != lastProblem else { return }
        lastProblem = message
        events.log(message)
    }

}

private func put16(_ value: UInt16, at offset: Int, in bytes: UnsafeMutableBufferPointer<UInt8>) {
    bytes[offset] = UInt8(value >> 8)
    bytes[offset + 1] = UInt8(truncatingIfNeeded: value)
}
