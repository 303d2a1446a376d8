/// kinglet-sim: simulators for the demo, the tests and the benchmarks. Full Swift.
///
/// `nodes` simulates a fleet of boards on the agent's own cloud link (`KingletLink.CloudLink`,
/// every board's client on one epoll loop, one thread): each board connects, reports a node
/// status, and reports every pod the relay sends it Running without starting anything.
/// `modbus`, `znp` and `ble` simulate the devices wired to a board, each on a
/// pseudo-terminal, driven by the real protocol bytes and written from the public specs.
import ArgumentParser
import KingletSimBLE
import KingletSimModbus

@main
struct Simulator: ParsableCommand {
    static let version = "0.2.0"

    static let configuration = CommandConfiguration(
        commandName: "kinglet-sim",
        abstract: "Simulates what a Kinglet deployment talks to: boards (for the relay) and the devices wired to them.",
        version: version,
        subcommands: [NodesCommand.self, ModbusCommand.self, ZNPCommand.self, BLECommand.self]
    )
}
