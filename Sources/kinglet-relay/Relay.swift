/// kinglet-relay: the cloud side. A Kubernetes controller that makes every board a Node,
/// relays the pods and devices bound to it over MQTT, and writes status back. Full Swift.
///
/// This build has its command line only; the controller arrives with the cloud-link issue.
import ArgumentParser

@main
struct Relay: ParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "kinglet-relay",
        abstract: "Relays Kubernetes pods and KubeEdge Devices to Kinglet boards over MQTT.",
        discussion: "The controller is not in this build yet: it lands with the cloud link.",
        version: version
    )

    func run() throws {
        throw ValidationError("the relay controller is not in this build yet (see --help)")
    }
}
