/// Checks a response frame (as libmodbus returns it: address, function, data, CRC already
/// verified) against the request that went out.
enum ModbusResponse {
    enum Outcome: Equatable {
        case bits(first: Bool)
        case registers(UInt16, UInt16)
        case written
        case exception(code: UInt8)
        case malformed(String)
    }

    static func check(_ frame: UnsafeBufferPointer<UInt8>, slave: UInt8, request function: UInt8,
                      visitor: ModbusVisitor) -> Outcome {
        // address + function + at least one byte + CRC
        guard frame.count >= 5 else { return .malformed("a response of \(frame.count) bytes is too short") }
        guard frame[0] == slave else { return .malformed("a response from slave \(frame[0]), not \(slave)") }
        if frame[1] == function | 0x80 { return .exception(code: frame[2]) }
        guard frame[1] == function else { return .malformed("a response to function \(frame[1]), not \(function)") }
        switch function {
        case ModbusFunction.readCoils.rawValue, ModbusFunction.readDiscreteInputs.rawValue:
            guard frame[2] >= 1, frame.count >= 3 + Int(frame[2]) + 2 else { return .malformed("a truncated bit response") }
            return .bits(first: frame[3] & 1 == 1)
        case ModbusFunction.readHoldingRegisters.rawValue, ModbusFunction.readInputRegisters.rawValue:
            let expected = visitor.dataType.registerCount * 2
            guard Int(frame[2]) == expected, frame.count >= 3 + expected + 2 else {
                return .malformed("a register response of \(frame[2]) bytes, expected \(expected)")
            }
            let high = UInt16(frame[3]) << 8 | UInt16(frame[4])
            let low = expected == 4 ? UInt16(frame[5]) << 8 | UInt16(frame[6]) : 0
            return .registers(high, low)
        case ModbusFunction.writeSingleCoil.rawValue, ModbusFunction.writeSingleRegister.rawValue,
             ModbusFunction.writeMultipleRegisters.rawValue:
            // The echo of address (and value or quantity): 8 bytes with the CRC.
            guard frame.count >= 8 else { return .malformed("a truncated write response") }
            let address = UInt16(frame[2]) << 8 | UInt16(frame[3])
            guard address == visitor.address else { return .malformed("a write response for address \(address)") }
            return .written
        default:
            return .malformed("a response to an unexpected function \(function)")
        }
    }

    /// Modbus Application Protocol V1.1b3, section 7.
    static func exceptionName(_ code: UInt8) -> String {
        switch code {
        case 1: return "illegal function"
        case 2: return "illegal data address"
        case 3: return "illegal data value"
        case 4: return "server device failure"
        case 5: return "acknowledge"
        case 6: return "server device busy"
        case 8: return "memory parity error"
        case 10: return "gateway path unavailable"
        case 11: return "gateway target device failed to respond"
        default: return "unknown"
        }
    }
}

/// A small FIFO of pending requests that keeps its storage: queuing allocates nothing once
/// it has grown to the device's property count.
struct JobQueue {
    private var jobs: [ModbusDriver.Job] = []
    private var head = 0

    var isEmpty: Bool { head >= jobs.count }

    func contains(_ job: ModbusDriver.Job) -> Bool {
        var index = head
        while index < jobs.count {
            if jobs[index] == job { return true }
            index += 1
        }
        return false
    }

    mutating func append(_ job: ModbusDriver.Job) { jobs.append(job) }

    /// Queues a write behind the writes already queued and ahead of every read; a write
    /// of the same property still queued is replaced (the newest desired value wins).
    mutating func enqueueWrite(_ job: ModbusDriver.Job) {
        var index = head
        while index < jobs.count {
            if case .write = jobs[index], jobs[index].property == job.property {
                jobs[index] = job
                return
            }
            index += 1
        }
        var insertAt = head
        while insertAt < jobs.count, case .write = jobs[insertAt] { insertAt += 1 }
        jobs.insert(job, at: insertAt)
    }

    mutating func prepend(_ job: ModbusDriver.Job) {
        if head > 0 {
            head -= 1
            jobs[head] = job
        } else {
            jobs.insert(job, at: 0)
        }
    }

    mutating func popFirst() -> ModbusDriver.Job? {
        guard head < jobs.count else { return nil }
        let job = jobs[head]
        head += 1
        if head == jobs.count {
            jobs.removeAll(keepingCapacity: true)
            head = 0
        }
        return job
    }
}
