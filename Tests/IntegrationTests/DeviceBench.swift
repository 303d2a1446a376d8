import Foundation
import KingletTestPeers

/// The simulators of boards/sim on pseudo-terminals in a temporary folder, and the
/// devices section that points the agent at them (boards/sim/devices/kinglet-devices.yaml).
final class DeviceBench {
    let folder: String
    let modbus: PeerProcess
    let znp: PeerProcess
    let ble: PeerProcess
    var modbusPort: String { folder + "/modbus.tty" }
    var znpPort: String { folder + "/znp.tty" }
    var blePort: String { folder + "/ble.tty" }
    var modbusState: String { folder + "/modbus-state.json" }

    init(modbusFaults: [String] = [], znpFaults: [String] = []) throws {
        folder = NSTemporaryDirectory() + "kinglet-devices-" + UUID().uuidString.prefix(8).lowercased()
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let sim = BuiltProducts.path("kinglet-sim")
        let devices = BuiltProducts.packageRoot.appendingPathComponent("boards/sim/devices").path
        modbus = try PeerProcess(name: "kinglet-sim modbus", executable: sim,
                                 arguments: ["modbus", "--link", folder + "/modbus.tty", "--map", devices + "/modbus-map.json",
                                             "--state", folder + "/modbus-state.json"] + modbusFaults,
                                 logPath: folder + "/modbus.log")
        znp = try PeerProcess(name: "kinglet-sim znp", executable: sim,
                              arguments: ["znp", "--link", folder + "/znp.tty", "--devices", devices + "/znp-devices.json", "--verbose"] + znpFaults,
                              logPath: folder + "/znp.log")
        ble = try PeerProcess(name: "kinglet-sim ble", executable: sim,
                              arguments: ["ble", "--link", folder + "/ble.tty", "--devices", devices + "/ble-devices.json"],
                              logPath: folder + "/ble.log")
        for link in [modbusPort, znpPort, blePort] {
            guard Loopback.eventually(within: 10, { FileManager.default.fileExists(atPath: link) ? true : nil }) != nil else {
                stop()
                throw PeerError("the simulator did not create \(link)")
            }
        }
    }

    /// The devices section with this bench's ports.
    func devicesConfig() throws -> String {
        let template = try String(contentsOfFile: BuiltProducts.packageRoot.appendingPathComponent("boards/sim/devices/kinglet-devices.yaml").path,
                                  encoding: .utf8)
        return template.replacingOccurrences(of: "@MODBUS_PORT@", with: modbusPort)
            .replacingOccurrences(of: "@ZNP_PORT@", with: znpPort)
            .replacingOccurrences(of: "@BLE_PORT@", with: blePort)
    }

    /// The holding registers and coils the Modbus simulator last wrote to its state file.
    func modbusRegisters() -> [String: Any]? {
        guard let data = FileManager.default.contents(atPath: modbusState) else { return nil }
        return try? JSONSerialization.jsonObject(with: data) as? [String: Any]
    }

    func stop() {
        for peer in [modbus, znp, ble] { _ = peer.stop() }
        try? FileManager.default.removeItem(atPath: folder)
    }
}
