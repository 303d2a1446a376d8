import ArgumentParser
import KingletSimBLE

/// `kinglet-sim ble`: a simulated Bluetooth LE controller behind an H4 UART on a pseudo-terminal.
struct BLECommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ble",
        abstract: "Simulate a Bluetooth LE controller behind an H4 UART, on a pseudo-terminal.",
        discussion: """
            The controller speaks HCI over H4 (indicators 0x01 command, 0x02 ACL, 0x04 event) on a \
            pseudo-terminal in raw mode; --link names a symlink to its slave device, as a udev by-id \
            link names a USB dongle. Open it like a UART (any baud rate) and send HCI_Reset first.

            It answers Reset, Set Event Mask, LE Set Event Mask, Read Local Version Information, \
            Read BD_ADDR, Read Local Supported Commands and Features, Read Buffer Size, LE Read Buffer \
            Size, LE Read Local Supported Features, LE Set Random Address, LE Set Scan Parameters, LE Set \
            Scan Enable, LE Create Connection (and Cancel), the filter accept list, LE Rand and Disconnect; \
            any other opcode gets Unknown HCI Command (0x01). While scanning, each peripheral of the \
            devices file is reported at its advertising interval (BTHome v2, iBeacon, Eddystone, Ruuvi \
            RAWv2; values drift within their configured bounds). A peripheral with a GATT table accepts \
            a connection and serves ATT on L2CAP CID 0x0004; its notifying characteristic notifies once \
            its CCCD is 0x0001. LE Meta events arrive only after Set Event Mask enables bit 61, as on a \
            real controller. ACL flow control is real too: LE Read Buffer Size grants 27-octet packets, \
            8 in flight (devices file defaults); Number Of Completed Packets comes at the next connection event; a peripheral's \
            data arrives in 27-octet fragments.

            Signals: SIGUSR1 unplugs the controller (closes the pty, removes the link); SIGUSR2 plugs a \
            fresh one in (new pty, new link, state reset); SIGTERM or SIGINT exits 0 after a summary. \
            Faults and notable events go to stderr; --verbose adds every packet.

            The devices file is JSON; see README.md, or --print-example-devices for a complete example \
            (the one used when --devices is not given).
            """
    )

    @Option(help: ArgumentHelp("Path of the symlink to the pty slave (the host opens this).", valueName: "path"))
    var link: String?

    @Option(help: ArgumentHelp("The devices file (JSON). Without it, the built-in example.", valueName: "file"))
    var devices: String?

    @Option(help: ArgumentHelp("Insert 1 to 8 garbage octets after every N-th packet sent.", valueName: "n"))
    var faultGarbageEvery: Int?

    @Option(help: ArgumentHelp("Cut every N-th event short.", valueName: "n"))
    var faultTruncateEvery: Int?

    @Option(help: ArgumentHelp("Send nothing more after N packets, until unplugged and plugged back (SIGUSR1, SIGUSR2).",
                               valueName: "n"))
    var faultSilenceAfter: Int?

    @Option(help: ArgumentHelp("Seed for drift, delays and RSSI (overrides the devices file's).", valueName: "n"))
    var seed: UInt64?

    @Flag(help: "Print the example devices file and exit.")
    var printExampleDevices = false

    @Flag(help: "Log every HCI packet, ATT exchange and notification on stderr.")
    var verbose = false

    func validate() throws {
        if printExampleDevices { return }
        guard let link, !link.isEmpty else { throw ValidationError("--link is required") }
        for (name, value) in [("--fault-garbage-every", faultGarbageEvery), ("--fault-truncate-every", faultTruncateEvery),
                              ("--fault-silence-after", faultSilenceAfter)] {
            if let v = value, v < 1 { throw ValidationError("\(name) must be at least 1") }
        }
    }

    func run() throws {
        if printExampleDevices {
            print(exampleDevicesJSON)
            return
        }
        var config: SimulationConfig
        do {
            config = try devices.map { try SimulationConfig.load(path: $0) } ?? SimulationConfig.parse(exampleDevicesJSON)
        } catch let error as DevicesFileError {
            writeStandardError("kinglet-sim ble: \(devices ?? "built-in example"): \(error)")
            throw ExitCode.validationFailure
        }
        if let seed { config.seed = seed }
        let log = BLESimLog(verbose: verbose) { line in
            writeStandardError("kinglet-sim ble: \(line)")
        }
        let faults = FaultPlan(garbageEvery: faultGarbageEvery, truncateEvery: faultTruncateEvery,
                               silenceAfter: faultSilenceAfter)
        if !faults.isEmpty {
            log.info("faults: garbage every \(faultGarbageEvery.map(String.init) ?? "-"), truncate every \(faultTruncateEvery.map(String.init) ?? "-"), silence after \(faultSilenceAfter.map(String.init) ?? "-") packets")
        }
        do {
            try PTYServer(linkPath: link!, config: config, faults: faults, log: log).run()
        } catch {
            writeStandardError("kinglet-sim ble: \(error)")
            throw ExitCode.failure
        }
    }
}
