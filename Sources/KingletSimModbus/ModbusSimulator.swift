/// KingletSimModbus: a Modbus RTU device for the tests and the demo. The slave is
/// libmodbus's own server; this target gives it a serial port a master can open (two pty
/// pairs joined by a shuttle thread, the master's end symlinked at `--link`), a register
/// map from a file, faults on the line, a pluggable cable and a state file.
///
///     master ──/dev/pts/A (--link)──[pty A]══ shuttle thread ══[pty B]──/dev/pts/B── libmodbus server thread
///                                             (faults: CRC, silence, garbage)        (faults: exception 0x04)
import Glibc

/// One simulated device: `start()`, then `unplug()`/`plug()` as often as wanted, then `stop()`.
/// Call these from one thread (the command's main thread, or a test); the device's own two
/// threads share nothing with it but a pipe and an atomic flag.
public final class ModbusSimulator: @unchecked Sendable {
    public struct Configuration: Sendable {
        public var linkPath: String
        public var map: RegisterMap
        public var serial: SerialSettings
        public var faults: FaultPlan
        public var statePath: String?
        public var verbose: Bool

        public init(linkPath: String, map: RegisterMap, serial: SerialSettings = SerialSettings(),
                    faults: FaultPlan = FaultPlan(), statePath: String? = nil, verbose: Bool = false) {
            self.linkPath = linkPath
            self.map = map
            self.serial = serial
            self.faults = faults
            self.statePath = statePath
            self.verbose = verbose
        }
    }

    /// What happened, for the exit line.
    public struct Summary: Sendable, CustomStringConvertible {
        public var requests: Int
        public var badRequests: Int
        public var responses: Int
        public var badCRC: Int
        public var silenced: Int
        public var exceptions: Int
        public var garbage: Int

        public var description: String {
            "\(requests) requests (\(badRequests) unreadable), \(responses) responses; "
                + "faults: bad-crc \(badCRC), silence \(silenced), exception \(exceptions), garbage \(garbage)"
        }
    }

    public let configuration: Configuration
    private var serverSide: PseudoTerminal?
    private var stateWritten: SignalPipe?
    private var server: ModbusServer?
    private var shuttle: Shuttle?
    private var threads: [JoinableThread] = []
    private var summary: Summary?

    public init(configuration: Configuration) {
        self.configuration = configuration
    }

    /// The server-side and agent-side slave paths, once started.
    public private(set) var serverPath: String?
    public private(set) var agentPath: String?

    /// Opens both ptys and the libmodbus server, and starts the two threads. The `--link`
    /// path appears last, so a master that sees it can talk at once.
    public func start() throws(SimulatorError) {
        let log = Log(verbose: configuration.verbose)
        let serverSide = try PseudoTerminal.open()
        var stateWritten: SignalPipe?
        do throws(SimulatorError) {
            if configuration.statePath != nil { stateWritten = try SignalPipe() }
            let server = try ModbusServer(device: serverSide.slavePath, serial: configuration.serial, map: configuration.map,
                                          faults: configuration.faults, statePath: configuration.statePath,
                                          stateWritten: stateWritten, log: log)
            let agentSide = try PseudoTerminal.open()
            let link = SymbolicLink(path: configuration.linkPath)
            let shuttle: Shuttle
            do throws(SimulatorError) {
                try link.point(at: agentSide.slavePath)
                shuttle = try Shuttle(agentSide: agentSide, serverMaster: serverSide.master, link: link,
                                      serial: configuration.serial, faults: configuration.faults,
                                      stateWritten: stateWritten, log: log)
            } catch {
                link.remove(ifPointingAt: agentSide.slavePath)
                agentSide.close()
                throw error
            }
            let serverThread = try JoinableThread { server.run() }
            threads.append(serverThread)
            do throws(SimulatorError) {
                threads.append(try JoinableThread { shuttle.run() })
            } catch {
                server.stopping.store(true, ordering: .releasing)
                serverThread.join()
                threads = []
                shuttle.command(.stop)
                shuttle.run()  // returns at once on the stop command, removing the link
                throw error
            }
            self.serverSide = serverSide
            self.stateWritten = stateWritten
            self.server = server
            self.shuttle = shuttle
            serverPath = serverSide.slavePath
            agentPath = agentSide.slavePath
        } catch {
            serverSide.close()
            stateWritten?.close()
            throw error
        }
    }

    /// Pulls the cable: pty A closes (the master's descriptor hangs up) and the link goes.
    public func unplug() { shuttle?.command(.unplug) }

    /// Plugs a fresh cable: a new pty A, the link pointing at it.
    public func plug() { shuttle?.command(.plug) }

    /// Stops both threads, removes the link, closes everything. Idempotent.
    @discardableResult
    public func stop() -> Summary {
        if let summary { return summary }
        shuttle?.command(.stop)
        server?.stopping.store(true, ordering: .releasing)
        for thread in threads { thread.join() }
        threads = []
        let counters = shuttle?.counters ?? Shuttle.Counters()
        let result = Summary(requests: server?.requests ?? 0, badRequests: server?.badRequests ?? 0,
                             responses: counters.responses, badCRC: counters.badCRC, silenced: counters.silenced,
                             exceptions: server?.exceptionsInjected ?? 0, garbage: counters.garbage)
        shuttle = nil
        server = nil
        serverSide?.close()
        serverSide = nil
        stateWritten?.close()
        stateWritten = nil
        summary = result
        return result
    }

    deinit { stop() }
}
