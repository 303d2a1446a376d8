/// kinglet-sim: simulators for the demo, the tests and the benchmarks. Full Swift.
///
/// `nodes` simulates a fleet of boards on the agent's own cloud link (`KingletLink.CloudLink`,
/// every board's client on one epoll loop, one thread): each board connects, reports a node
/// status, and reports every pod the relay sends it Running without starting anything.
/// The device simulators (Modbus RTU, ZNP, H4 BLE) arrive with their protocols' issues.
import ArgumentParser

@main
struct Simulator: ParsableCommand {
    static let version = "0.2.0"

    static let configuration = CommandConfiguration(
        commandName: "kinglet-sim",
        abstract: "Simulates what a Kinglet deployment talks to: boards (for the relay), and later devices.",
        version: version,
        subcommands: [NodesCommand.self]
    )
}
