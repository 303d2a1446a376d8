/// kinglet-relay: the cloud side. A Kubernetes controller that makes every board a Node,
/// relays the pods bound to it over MQTT (docs/protocol.md), and writes status back.
/// Full Swift. `run` (the default subcommand) is the controller.
import ArgumentParser

@main
struct Relay: AsyncParsableCommand {
    static let version = "0.2.0"

    static let configuration = CommandConfiguration(
        commandName: "kinglet-relay",
        abstract: "Relays Kubernetes pods to Kinglet boards over MQTT and writes their status back.",
        version: version,
        subcommands: [RunCommand.self, BrokerConfigCommand.self],
        defaultSubcommand: RunCommand.self
    )
}
