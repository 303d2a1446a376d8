/// kinglet-sim: device simulators (Modbus RTU, ZNP, H4 BLE) for the demo and the tests,
/// driven by the real protocol bytes on pseudo-terminals. Full Swift.
///
/// This build has its command line only; each simulator arrives with its protocol's issue.
import ArgumentParser

@main
struct Simulator: ParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "kinglet-sim",
        abstract: "Simulates the devices a Kinglet board talks to.",
        discussion: "No simulator is in this build yet: each lands with its protocol.",
        version: version
    )

    func run() throws {
        throw ValidationError("no simulator is in this build yet (see --help)")
    }
}
