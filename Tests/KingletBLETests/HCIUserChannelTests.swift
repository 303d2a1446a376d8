import CKingletSystem
import KingletBLE
import KingletDevices
import KingletDocument
import KingletEpoll
import KingletPod
import Testing

/// A board's own controller, on the kernel's HCI user channel. No Bluetooth exists in this
/// machine's kernel (no /sys/class/bluetooth, no /dev/vhci), so what can be pinned here is
/// the settings and the failure path: the controller is reported, retried, and nothing
/// crashes or blocks. The working path needs a board with a controller.
@Suite struct HCIUserChannelTests {
    func settings(_ yaml: String) throws -> BLEBoardSettings {
        let node = try YAMLReader().parseDocument(yaml, file: "kinglet.yaml")
        return try BLEBoardSettings.decode(DeviceConfigData(try FieldReader(node, path: "devices.ble", file: "kinglet.yaml").object(),
                                                            path: "devices.ble", file: "kinglet.yaml"))
    }

    @Test func aControllerIsASerialPortOrAnHCIDeviceNotBoth() throws {
        #expect(try settings("{hciDevice: 0}").hciDevice == 0)
        #expect(try settings("{serialPort: /dev/ttyAMA0}").serialPort == "/dev/ttyAMA0")
        #expect(throws: DocumentError.self) { _ = try settings("{serialPort: /dev/ttyAMA0, hciDevice: 0}") }
        #expect(throws: DocumentError.self) { _ = try settings("{}") }
        #expect(throws: DocumentError.self) { _ = try settings("{hciDevice: 99}") }
    }

    @Test func aMissingControllerIsReportedAndRetriedWithoutBlocking() throws {
        let loop = try EpollEventLoop()
        let link = try BLEControllerLink(loop: loop, settings: try settings("{hciDevice: 0}"))
        var logged: [String] = []
        link.log = { logged.append($0) }
        link.start()
        defer { link.stop() }
        for _ in 0..<5 { try loop.runOnce(timeoutMilliseconds: 10) }
        if kinglet_hci_user_channel_open(0) >= 0 {
            print("this kernel has an hci0: the failure path is not what this test sees")
            return
        }
        #expect(!link.ready)
        #expect(link.lastProblem.contains("cannot open hci0"), "\(link.lastProblem)")
    }
}
