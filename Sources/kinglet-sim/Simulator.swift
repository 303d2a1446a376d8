/// kinglet-sim: simulators for the demo, the tests and the benchmarks. Full Swift.
///
/// `nodes`: many simulated boards, each a real KingletLink client with its own node name,
/// all on one event loop. Device simulators (Modbus RTU, ZNP, H4 BLE) arrive with their
/// protocols.
import ArgumentParser

@main
struct Simulator: ParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "kinglet-sim",
        abstract: "Simulates the boards and devices Kinglet talks to.",
        version: version,
        subcommands: [SimulatedNodesCommand.self]
    )
}
