import Foundation
import KingletTestPeers
import Testing

/// A KubeEdge Device created with kubectl reaches the board through the relay; its readings
/// come back as the Device's status twins; editing its desired value reaches the device.
@Suite(.serialized)
struct CloudDevicesTests {
    static func manifests(port: String) -> String {
        """
        apiVersion: devices.kubeedge.io/v1beta1
        kind: DeviceModel
        metadata: {name: boiler-controller}
        spec:
          protocol: modbus
          properties:
          - {name: temperature, type: FLOAT, accessMode: ReadOnly, unit: Cel}
          - {name: setpoint, type: FLOAT, accessMode: ReadWrite, unit: Cel}
        ---
        apiVersion: devices.kubeedge.io/v1beta1
        kind: Device
        metadata: {name: boiler-1}
        spec:
          deviceModelRef: {name: boiler-controller}
          nodeName: edge-1
          protocol:
            protocolName: modbus
            configData: {serialPort: "\(port)", baudRate: 9600, slaveID: 1}
          properties:
          - name: temperature
            collectCycle: 200
            reportCycle: 1000
            visitors: {protocolName: modbus, configData: {register: InputRegister, offset: 0, limit: 1, scale: 0.1}}
          - name: setpoint
            collectCycle: 500
            desired: {value: "21"}
            visitors: {protocolName: modbus, configData: {register: HoldingRegister, offset: 100, limit: 1, scale: 0.1}}
        """
    }

    static func twin(_ device: [String: Any]?, _ property: String, _ part: String) -> String? {
        let twins = (device?["status"] as? [String: Any])?["twins"] as? [[String: Any]] ?? []
        let twin = twins.first { $0["propertyName"] as? String == property }
        return (twin?[part] as? [String: Any])?["value"] as? String
    }

    @Test func aDeviceCreatedWithKubectlReportsTwinsAndTakesDesiredValues() throws {
        let stack = try CloudStack(label: "devices")
        defer { stack.stop() }
        let bench = try DeviceBench()
        defer { bench.stop() }
        let board = try stack.board(node: "edge-1")
        defer { board.remove() }
        func check(_ condition: Bool, _ what: String) throws {
            if !condition { throw PeerError("\(what)\n\(stack.logs)") }
        }
        let crds = try stack.kubectl(["apply", "-f", BuiltProducts.packageRoot.appendingPathComponent("deploy/crds").path])
        try check(crds.status == 0, "kubectl apply -f deploy/crds: \(crds.output)")
        let manifest = board.folder + "/boiler.yaml"
        try CloudDevicesTests.manifests(port: bench.modbusPort).write(toFile: manifest, atomically: true, encoding: .utf8)
        let created = try stack.kubectl(["create", "-f", manifest])
        try check(created.status == 0, "kubectl create -f boiler.yaml: \(created.output)")

        let agent = try PeerProcess(name: "kinglet", executable: BuiltProducts.path("kinglet"),
                                    arguments: ["run", "--config", board.configPath], logPath: board.folder + "/agent.log")
        defer { _ = agent.stop() }
        let path = "/apis/devices.kubeedge.io/v1beta1/namespaces/default/devices/boiler-1"

        // Readings come back as the Device's status twins; the desired 21 °C reaches the register.
        let reported = Loopback.eventually(within: 60) { () -> [String: Any]? in
            let device = try? stack.get(path)
            return CloudDevicesTests.twin(device, "temperature", "reported") != nil
                && CloudDevicesTests.twin(device, "setpoint", "observedDesired") == "21" ? device : nil
        }
        try check(reported != nil, "the Device never got its twins\n--- agent\n\(agent.tail)")
        #expect((reported?["status"] as? [String: Any])?["state"] as? String == "online")
        let listed = try stack.kubectl(["get", "device", "boiler-1", "-o", "json"])
        #expect(listed.status == 0 && listed.output.contains("\"propertyName\": \"temperature\""))
        #expect(((bench.modbusRegisters()?["holdingRegisters"] as? [String: Any])?["values"] as? [Int])?.first == 210)

        // Editing the desired value in the API reaches the device.
        let patch = #"{"spec":{"properties":[{"name":"temperature","collectCycle":200,"reportCycle":1000,"visitors":{"protocolName":"modbus","configData":{"register":"InputRegister","offset":0,"limit":1,"scale":0.1}}},{"name":"setpoint","collectCycle":500,"desired":{"value":"23.5"},"visitors":{"protocolName":"modbus","configData":{"register":"HoldingRegister","offset":100,"limit":1,"scale":0.1}}}]}}"#
        let patched = try stack.kubectl(["patch", "device", "boiler-1", "--type=merge", "-p", patch])
        try check(patched.status == 0, "kubectl patch: \(patched.output)")
        let written = Loopback.eventually(within: 60) { () -> Bool? in
            ((bench.modbusRegisters()?["holdingRegisters"] as? [String: Any])?["values"] as? [Int])?.first == 235 ? true : nil
        }
        try check(written != nil, "the new desired value never reached the register\n--- agent\n\(agent.tail)")
        let observed = Loopback.eventually(within: 30) { () -> Bool? in
            CloudDevicesTests.twin(try? stack.get(path), "setpoint", "observedDesired") == "23.5" ? true : nil
        }
        #expect(observed != nil, "observedDesired follows the new value")
    }
}
