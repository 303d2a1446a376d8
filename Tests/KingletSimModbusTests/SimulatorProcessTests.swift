import Foundation
import Glibc
import KingletSimModbus
import Testing

/// `kinglet-sim modbus` as a process, against libmodbus as the master on its --link path.
struct SimulatorProcessTests {
    @Test("reads return the map's coils, discrete inputs, holding and input registers")
    func readsReturnTheMap() throws {
        let sim = try SimulatorProcess()
        defer { sim.stop() }
        let master = try Master(path: sim.link)
        #expect(try master.readCoils(0, 4).get() == [1, 0, 1, 0])
        #expect(try master.readDiscreteInputs(10, 4).get() == [1, 0, 1, 1])
        #expect(try master.readHoldingRegisters(100, 4).get() == [500, 1200, 7, 0])
        #expect(try master.readInputRegisters(0, 3).get() == [215, 480, 0])
    }

    @Test("single and multiple writes of coils and registers are read back and are in the state file when the response arrives")
    func writesLandInTheStateFile() throws {
        let sim = try SimulatorProcess()
        defer { sim.stop() }
        let initial = try #require(DeviceState.read(from: sim.statePath))
        #expect(initial.writeRequests == 0)
        #expect(initial.holdingRegisters == DeviceState.Table(start: 100, values: [500, 1200, 7, 0, 0, 0, 0, 0, 0, 0]))
        let master = try Master(path: sim.link)

        try master.writeRegister(101, 42).get()
        // The shuttle holds a write's response until the state file is written: no waiting here.
        var state = try #require(DeviceState.read(from: sim.statePath))
        #expect(state.writeRequests == 1)
        #expect(state.holdingRegisters.values[1] == 42)

        try master.writeRegisters(105, [7, 8, 9]).get()
        try master.writeCoil(1, true).get()
        try master.writeCoils(4, [1, 1, 0, 1]).get()
        state = try #require(DeviceState.read(from: sim.statePath))
        #expect(state.writeRequests == 4)
        #expect(state.holdingRegisters.values == [500, 42, 7, 0, 0, 7, 8, 9, 0, 0])
        #expect(state.coils == DeviceState.Table(start: 0, values: [1, 1, 1, 0, 1, 1, 0, 1]))
        #expect(try master.readHoldingRegisters(105, 3).get() == [7, 8, 9])
        #expect(try master.readCoils(0, 8).get() == [1, 1, 1, 0, 1, 1, 0, 1])
    }

    @Test("an address outside the map gets libmodbus's ILLEGAL DATA ADDRESS exception, for reads and writes")
    func unmappedAddressesGetIllegalDataAddress() throws {
        let sim = try SimulatorProcess()
        defer { sim.stop() }
        let master = try Master(path: sim.link)
        #expect(master.readHoldingRegisters(0, 1).failure?.code == ModbusErrno.illegalDataAddress)
        #expect(master.readHoldingRegisters(108, 4).failure?.code == ModbusErrno.illegalDataAddress)
        #expect(master.readInputRegisters(4, 1).failure?.code == ModbusErrno.illegalDataAddress)
        #expect(master.writeRegister(200, 1).failure?.code == ModbusErrno.illegalDataAddress)
        #expect(master.writeCoil(8, true).failure?.code == ModbusErrno.illegalDataAddress)
        // The device is still fine afterwards.
        #expect(try master.readHoldingRegisters(100, 1).get() == [500])
    }

    @Test("a dynamic register changes between reads")
    func dynamicRegistersMove() throws {
        let sim = try SimulatorProcess()
        defer { sim.stop() }
        let master = try Master(path: sim.link)
        var seen = Set<UInt16>()
        for _ in 0..<5 {
            seen.insert(try master.readInputRegisters(3, 1).get()[0])
            usleep(60_000)
        }
        #expect(seen.count >= 3, "input register 3 (a 0.5 s ramp) read \(seen)")
    }

    @Test("--fault-bad-crc-every 2 inverts the CRC of every second response")
    func badCRCFault() throws {
        let sim = try SimulatorProcess(["--fault-bad-crc-every", "2"])
        defer { sim.stop() }
        let master = try Master(path: sim.link)
        let results = (0..<4).map { _ in master.readHoldingRegisters(100, 2) }
        #expect(try results[0].get() == [500, 1200])
        #expect(results[1].failure?.code == ModbusErrno.badCRC)
        #expect(try results[2].get() == [500, 1200])
        #expect(results[3].failure?.code == ModbusErrno.badCRC)
        #expect(sim.output.contains("fault bad-crc (2): response 4"))
    }

    @Test("--fault-silence-every 2 drops every second response, so the master times out")
    func silenceFault() throws {
        let sim = try SimulatorProcess(["--fault-silence-every", "2"])
        defer { sim.stop() }
        let master = try Master(path: sim.link, timeout: 0.3)
        #expect(try master.readInputRegisters(0, 2).get() == [215, 480])
        #expect(master.readInputRegisters(0, 2).failure?.code == ETIMEDOUT)
        #expect(try master.readInputRegisters(0, 2).get() == [215, 480])
        #expect(sim.output.contains("fault silence (1): response 2 dropped"))
    }

    @Test("--fault-exception-every 2 answers every second request with 0x04 SERVER DEVICE FAILURE, writes too")
    func exceptionFault() throws {
        let sim = try SimulatorProcess(["--fault-exception-every", "2"])
        defer { sim.stop() }
        let master = try Master(path: sim.link)
        #expect(try master.readCoils(0, 3).get() == [1, 0, 1])
        #expect(master.readCoils(0, 3).failure?.code == ModbusErrno.serverDeviceFailure)
        try master.writeRegister(100, 1).get()
        #expect(master.writeRegister(100, 2).failure?.code == ModbusErrno.serverDeviceFailure)
        #expect(try master.readHoldingRegisters(100, 1).get() == [1], "the refused write was not applied")
        #expect(sim.output.contains("fault exception (2): request 4"))
    }

    @Test("--fault-garbage-every 1 leaves random bytes on the line after each response")
    func garbageFault() throws {
        let sim = try SimulatorProcess(["--fault-garbage-every", "1"])
        defer { sim.stop() }
        let master = try Master(path: sim.link)
        #expect(try master.readHoldingRegisters(100, 1).get() == [500])
        // libmodbus reads exactly the response, so the garbage waits on the descriptor.
        var descriptor = pollfd(fd: master.descriptor, events: Int16(POLLIN), revents: 0)
        #expect(poll(&descriptor, 1, 2000) == 1)
        var buffer = [UInt8](repeating: 0, count: 64)
        usleep(20_000)
        let count = read(master.descriptor, &buffer, buffer.count)
        #expect((1...8).contains(count), "read \(count) garbage bytes")
        #expect(sim.output.contains("fault garbage (1): \(count) random bytes after response 1"))
    }

    @Test("SIGUSR1 unplugs (link removed, the master's descriptor fails); SIGUSR2 plugs a port a new master can use")
    func unplugAndPlug() throws {
        let sim = try SimulatorProcess()
        defer { sim.stop() }
        let before = try Master(path: sim.link, timeout: 0.5)
        #expect(try before.readHoldingRegisters(100, 1).get() == [500])

        sim.signal(SIGUSR1)
        #expect(eventually(within: 5) { !sim.linkExists }, "the link stayed after SIGUSR1")
        #expect(before.readHoldingRegisters(100, 1).failure != nil)
        var hangup = pollfd(fd: before.descriptor, events: Int16(POLLIN), revents: 0)
        #expect(poll(&hangup, 1, 0) == 1 && hangup.revents & Int16(POLLHUP) != 0, "no hang-up on the old descriptor")
        #expect(throws: (any Error).self) { _ = try Master(path: sim.link) }

        sim.signal(SIGUSR2)
        #expect(eventually(within: 5) { sim.linkExists }, "no link after SIGUSR2")
        let after = try Master(path: sim.link, timeout: 0.5)
        #expect(try after.readHoldingRegisters(100, 1).get() == [500])
        #expect(before.readHoldingRegisters(100, 1).failure != nil, "the old descriptor came back to life")
    }

    @Test("SIGTERM stops the threads, removes the link and exits 0 with a summary of the faults")
    func sigtermExitsCleanly() throws {
        let sim = try SimulatorProcess(["--fault-silence-every", "1"])
        defer { sim.stop() }
        let master = try Master(path: sim.link, timeout: 0.2)
        #expect(master.readHoldingRegisters(100, 1).failure?.code == ETIMEDOUT)
        sim.signal(SIGTERM)
        let status = sim.waitForExit(within: 5)
        #expect(status == 0)
        #expect(!sim.linkExists)
        #expect(sim.output.contains("stopped: 1 requests (0 unreadable), 1 responses; faults: bad-crc 0, silence 1"))
    }

    @Test("SIGINT while unplugged exits 0 too")
    func sigintWhileUnpluggedExitsCleanly() throws {
        let sim = try SimulatorProcess()
        defer { sim.stop() }
        sim.signal(SIGUSR1)
        #expect(eventually(within: 5) { !sim.linkExists })
        sim.signal(SIGINT)
        #expect(sim.waitForExit(within: 5) == 0)
    }

    @Test("--slave overrides the map; a request for another slave id goes unanswered and, as libmodbus does on a multi-drop bus, the next frame within its response timeout is taken for that slave's reply")
    func slaveFlagOverridesTheMap() throws {
        let sim = try SimulatorProcess(["--slave", "17"])
        defer { sim.stop() }
        let right = try Master(path: sim.link, slave: 17, timeout: 0.3)
        #expect(try right.readHoldingRegisters(100, 1).get() == [500])
        let other = try Master(path: sim.link, slave: 1, timeout: 0.1)
        #expect(other.readHoldingRegisters(100, 1).failure?.code == ETIMEDOUT)
        // libmodbus's server (modbus-rtu.c, confirmation_to_ignore) now waits up to its
        // response timeout (0.5 s) for slave 1's reply and swallows the next frame as that reply.
        #expect(right.readHoldingRegisters(100, 1).failure?.code == ETIMEDOUT)
        usleep(600_000)
        #expect(try right.readHoldingRegisters(100, 1).get() == [500])
    }

    @Test("--verbose logs each request and each response on one line")
    func verboseLogsRequestsAndResponses() throws {
        let sim = try SimulatorProcess(["--verbose"])
        defer { sim.stop() }
        let master = try Master(path: sim.link)
        #expect(try master.readHoldingRegisters(100, 1).get() == [500])
        try master.writeRegister(102, 9).get()
        let lines = sim.output.split(separator: "\n")
        #expect(lines.contains { $0.hasPrefix("kinglet-sim modbus: request 1: slave 1 read holding registers addr 100 qty 1 [01 03 00 64 00 01") })
        #expect(lines.contains { $0.hasPrefix("kinglet-sim modbus: response 1: [01 03 02 01 F4 ") })
        #expect(lines.contains { $0.hasPrefix("kinglet-sim modbus: request 2: slave 1 write single register addr 102 value 9 ") })
        #expect(lines.contains { $0.hasPrefix("kinglet-sim modbus: response 2: [01 06 00 66 00 09 ") })
    }

    @Test("a stale symbolic link at --link is replaced")
    func staleLinkIsReplaced() throws {
        let folder = NSTemporaryDirectory() + "kinglet-sim-modbus-stale-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let link = folder + "/tty"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: "/dev/pts/nonexistent")
        let simulator = ModbusSimulator(configuration: .init(linkPath: link, map: .builtIn))
        try simulator.start()
        defer { simulator.stop() }
        let master = try Master(path: link)
        #expect(try master.readHoldingRegisters(0, 2).get() == [500, 1200])
        simulator.stop()
        #expect(access(link, F_OK) != 0)
    }

    @Test("a bad map exits non-zero naming the file and the key path, and creates no link")
    func badMapIsAnInputError() throws {
        let sim = try SimulatorProcess(map: #"{"coils": {"values": [1, 2]}}"#, waitForLink: false)
        defer { sim.stop() }
        let status = sim.waitForExit(within: 10)
        #expect(status != nil && status != 0)
        #expect(sim.output.contains("map.json: at coils.values[1]: a bit is 0, 1, false or true"))
        #expect(!sim.linkExists)
    }
}
