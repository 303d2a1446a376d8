/// `kinglet-sim znp`: a simulated Z-Stack ZNP coordinator stick on a pseudo-terminal.
import ArgumentParser
import Foundation
import KingletSimZigbee

public struct ZNPCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "znp",
        abstract: "Simulate a TI Z-Stack ZNP coordinator (CC2652/CC2531, Z-Stack 3.x) on a pseudo-terminal.",
        discussion: """
            The stick speaks the MT protocol (FE | LEN | CMD0 | CMD1 | DATA | FCS) on a pty whose \
            slave is raw and reachable as --link. It answers SYS (reset, ping, version, OSAL and \
            extended NV), SAPI ZB_READ/WRITE_CONFIGURATION, UTIL_GET_DEVICE_INFO, APP_CNF BDB \
            commissioning, ZDO startup, permit join, bind/unbind, active endpoints, simple and node \
            descriptors, and AF register / data request. Unknown SREQs get the RPC error SRSP.

            Devices from --devices answer ZCL: Read/Write Attributes, Configure Reporting, Discover \
            Attributes, On/Off off/on/toggle and Level Control moves, with Default Responses. Each \
            reports its readings (Report Attributes, drifting plausibly) at its report interval once \
            the network runs and an AF endpoint is registered. Devices marked "joinsOnPermit" join \
            (ZDO_TC_DEV_IND, ZDO_END_DEVICE_ANNCE_IND) while permit join is open.

            Network state and NV live in memory for the process; a reset keeps NV, as the real \
            stick does. Without --devices, two demo devices are simulated (a plug and a sensor).

            Signals: SIGUSR1 unplugs the stick (the pty closes, the link goes), SIGUSR2 plugs it back \
            (a new pty behind the same link; RAM state lost, NV kept), SIGTERM/SIGINT exit after \
            removing the link. Faults for robustness tests are counted and logged to stderr.

            Devices file format (JSON): see README.md of KingletSimZigbee; in short \
            {"devices": [{"name": "plug", "ieee": "00:12:4b:00:00:00:00:01", "nwk": "0x1a2b", \
            "reportInterval": 30, "joinsOnPermit": false, "endpoints": [{"id": 1, "deviceId": "0x0051", \
            "clusters": {"onOff": {"onOff": true}, "electrical": {"activePower": 120}}}]}]}
            """
    )

    @Option(help: ArgumentHelp("Symlink to create for the stick's serial port (e.g. /tmp/ttyZNP).", valueName: "path"))
    var link: String

    @Option(help: ArgumentHelp("Devices file (JSON) describing the simulated Zigbee devices.", valueName: "file"))
    var devices: String?

    @Option(help: ArgumentHelp("Seconds between reports for devices whose entry names no interval.", valueName: "seconds"))
    var reportInterval: Double = 10

    @Option(help: ArgumentHelp("Firmware to imitate: cc2652 (Z-Stack 3.x.0) or cc2531 (Z-Stack 3.0.x).", valueName: "profile"))
    var firmware: String = FirmwareProfile.cc2652.rawValue

    @Flag(help: "Build without the MT SAPI subsystem (no ZB_*_CONFIGURATION), as zigpy-znp's recordings of Z-Stack 3 sticks.")
    var noSapi = false

    @Option(help: ArgumentHelp("Every Nth frame sent gets a wrong FCS.", valueName: "n"))
    var faultBadFcsEvery: Int?

    @Option(help: ArgumentHelp("Every Nth frame sent is preceded by 1-8 garbage bytes (never 0xFE).", valueName: "n"))
    var faultGarbageEvery: Int?

    @Option(help: ArgumentHelp("After N received frames, answer and send nothing more (a hung stick).", valueName: "n"))
    var faultSilenceAfter: Int?

    @Option(help: ArgumentHelp("Seed of the drift and fault generator (a run replays exactly).", valueName: "n"))
    var seed: UInt64 = 0x5EED

    @Flag(help: "Log every frame received and sent, one line each, to stderr.")
    var verbose = false

    public init() {}

    public func validate() throws {
        guard FirmwareProfile(rawValue: firmware) != nil else {
            throw ValidationError("--firmware must be one of: \(FirmwareProfile.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard reportInterval > 0, reportInterval <= 86_400 else {
            throw ValidationError("--report-interval must be above 0 and at most 86400 seconds")
        }
        for (name, value) in [("--fault-bad-fcs-every", faultBadFcsEvery), ("--fault-garbage-every", faultGarbageEvery),
                              ("--fault-silence-after", faultSilenceAfter)] {
            if let value, value < 1 { throw ValidationError("\(name) must be at least 1") }
        }
    }

    public func run() throws {
        var configuration = ZNPConfiguration()
        configuration.firmware = FirmwareProfile(rawValue: firmware) ?? .cc2652
        configuration.sapiEnabled = !noSapi
        configuration.defaultReportInterval = reportInterval
        configuration.seed = seed
        configuration.faults = FaultPlan(badChecksumEvery: faultBadFcsEvery, garbageEvery: faultGarbageEvery,
                                         silenceAfter: faultSilenceAfter)
        let file: DeviceFile
        if let devices {
            do {
                file = try DeviceFile.load(path: devices)
            } catch {
                throw ZNPCommandError(message: "\(devices): \(error)")
            }
        } else {
            file = DemoDevices.file
        }
        configuration.formedNetwork = file.formedNetwork
        if let ieee = file.coordinatorIEEE { configuration.coordinatorIEEE = ieee }
        let simulator = ZNPSimulator(configuration: configuration, devices: file.devices)
        let server = PTYServer(simulator: simulator, linkPath: link, verbose: verbose)
        do {
            let status = try server.run()
            if status != 0 { throw ExitCode(status) }
        } catch let error as PTYServerError {
            throw ZNPCommandError(message: "\(link): \(error)")
        }
    }
}

/// A run-time failure (unreadable devices file, pty trouble): printed as "Error: …", exit 1.
struct ZNPCommandError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
