import ArgumentParser
import Glibc

/// `kinglet-sim modbus`: a Modbus RTU device on a pseudo-terminal, for the tests and the demo.
public struct ModbusCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "modbus",
        abstract: "Simulate a Modbus RTU slave (libmodbus's own server) on a pseudo-terminal linked at --link.",
        discussion: """
            The master opens --link like a serial port (e.g. libmodbus modbus_new_rtu(link, 9600, 'N', 8, 1)). \
            The link appears once the device answers. Behind it, bytes go through a shuttle thread (where \
            the line faults happen) to libmodbus's RTU server, which answers from the register map; an \
            address outside the map gets libmodbus's ILLEGAL DATA ADDRESS exception.

            MAP FILE (--map, JSON; raw 16-bit words and bits only):
              {
                "slave": 1,
                "coils": {"start": 0, "count": 8, "values": [1, 0, 1]},
                "discreteInputs": {"start": 0, "values": [true, false, true]},
                "holdingRegisters": {"start": 100, "count": 10, "values": [500, 1200]},
                "inputRegisters": {"start": 0, "count": 4, "values": [215, 480]},
                "dynamic": [
                  {"table": "input", "address": 2, "wave": "sine", "period": 60,
                   "min": 0, "max": 1000},
                  {"table": "holding", "address": 105, "wave": "ramp", "period": 10,
                   "max": 100}
                ]
              }
            slave 1-247 (default 1). A table: start (default 0), count (default: number of values), values \
            (missing ones are 0); bits 0/1/false/true, words 0-65535; a table left out has no addresses. \
            dynamic: input or holding registers recomputed at each request from the time since start: \
            wave sine|ramp|triangle|square, period in seconds, min (default 0) and max. Unknown keys are \
            errors. Without --map: 10 of each table from address 0, input register 0 a 60 s sine 0-1000.

            STATE FILE (--state): after every write request (and at start), atomically (temp + rename): \
            {"coils":{"start":0,"values":[1,0]},"holdingRegisters":{"start":100,"values":[500,42]},\
            "slave":1,"writeRequests":3}

            FAULTS: each is counted on its own, logged on stderr, and totalled at exit. --fault-bad-crc-every \
            and --fault-silence-every count responses, --fault-exception-every counts requests to this \
            slave, --fault-garbage-every sends 1-8 random bytes one idle gap after every Nth response.

            OTHER SLAVE IDS: a request for another slave id is not answered, and libmodbus's server then \
            takes the next frame within 0.5 s for that slave's reply (a multi-drop bus), so it goes unanswered too.

            SIGNALS: SIGUSR1 unplugs (pty closed: the master's descriptor hangs up, the link is removed); \
            SIGUSR2 plugs a fresh pty and link. SIGTERM/SIGINT: threads stopped, link removed, exit 0.
            """
    )

    @Option(help: ArgumentHelp("Where to put the symbolic link to the device's serial port (the master opens it).", valueName: "path"))
    var link: String

    @Option(help: ArgumentHelp("Register map (JSON, see below); without it, a small built-in map.", valueName: "file"))
    var map: String?

    @Option(help: ArgumentHelp("Write coils and holding registers here (JSON) after every write request.", valueName: "file"))
    var state: String?

    @Option(help: ArgumentHelp("Slave id 1-247 (overrides the map's).", valueName: "id"))
    var slave: Int?

    @Option(help: ArgumentHelp("Baud rate (sets the RTU character time; a pty is not slowed down).", valueName: "rate"))
    var baud = 9600

    @Option(help: ArgumentHelp("Parity: none, even or odd.", valueName: "parity"))
    var parity: SerialSettings.Parity = .none

    @Option(help: ArgumentHelp("Data bits, 5-8.", valueName: "bits"))
    var dataBits = 8

    @Option(help: ArgumentHelp("Stop bits, 1 or 2.", valueName: "bits"))
    var stopBits = 1

    @Option(help: ArgumentHelp("Invert the CRC of every Nth response.", valueName: "n"))
    var faultBadCrcEvery: Int?

    @Option(help: ArgumentHelp("Drop every Nth response (the master times out).", valueName: "n"))
    var faultSilenceEvery: Int?

    @Option(help: ArgumentHelp("Answer every Nth request with exception 0x04 SERVER DEVICE FAILURE.", valueName: "n"))
    var faultExceptionEvery: Int?

    @Option(help: ArgumentHelp("Send random bytes after every Nth response, between frames.", valueName: "n"))
    var faultGarbageEvery: Int?

    @Flag(help: "Log every request and response, one line each, on stderr.")
    var verbose = false

    public init() {}

    public func validate() throws {
        if let slave, !(1...247).contains(slave) { throw ValidationError("--slave must be 1-247") }
        guard baud > 0 else { throw ValidationError("--baud must be positive") }
        guard (5...8).contains(dataBits) else { throw ValidationError("--data-bits must be 5-8") }
        guard (1...2).contains(stopBits) else { throw ValidationError("--stop-bits must be 1 or 2") }
        for (name, value) in [("--fault-bad-crc-every", faultBadCrcEvery), ("--fault-silence-every", faultSilenceEvery),
                              ("--fault-exception-every", faultExceptionEvery), ("--fault-garbage-every", faultGarbageEvery)] {
            if let value, value < 1 { throw ValidationError("\(name) must be at least 1") }
        }
    }

    public func run() throws {
        // Blocked before any thread starts, so every thread inherits the mask and the
        // signals wait for sigwait below (no handler, no global state).
        var signals = sigset_t()
        sigemptyset(&signals)
        for signal in [SIGUSR1, SIGUSR2, SIGTERM, SIGINT] { sigaddset(&signals, signal) }
        pthread_sigmask(SIG_BLOCK, &signals, nil)

        var registers = RegisterMap.builtIn
        if let map { registers = try RegisterMap.load(path: map) }
        if let slave { registers.slave = slave }
        let serial = SerialSettings(baud: baud, parity: parity, dataBits: dataBits, stopBits: stopBits)
        let faults = FaultPlan(badCRCEvery: faultBadCrcEvery, silenceEvery: faultSilenceEvery,
                               exceptionEvery: faultExceptionEvery, garbageEvery: faultGarbageEvery)
        let simulator = ModbusSimulator(configuration: .init(
            linkPath: link, map: registers, serial: serial, faults: faults, statePath: state, verbose: verbose))
        try simulator.start()
        let log = Log(verbose: verbose)
        log.say("ready: slave \(registers.slave) at \(link) -> \(simulator.agentPath ?? "?") (server on \(simulator.serverPath ?? "?")), \(serial.summary)")

        while true {
            var received: Int32 = 0
            guard sigwait(&signals, &received) == 0 else { continue }
            switch received {
            case SIGUSR1: simulator.unplug()
            case SIGUSR2: simulator.plug()
            default:
                log.say("stopped: \(simulator.stop())")
                return
            }
        }
    }
}
