/// The devices simulated when no devices file is given; also the format's worked example
/// (README.md shows the same document).
import Foundation

public enum DemoDevices {
    public static let json = """
        {
          "devices": [
            {
              "name": "kitchen-plug",
              "ieee": "00:12:4b:00:1c:a1:00:01",
              "nwk": "0x3e1a",
              "type": "router",
              "manufacturerCode": "0x1234",
              "reportInterval": 30,
              "endpoints": [
                {
                  "id": 1, "profile": "0x0104", "deviceId": "0x0051",
                  "clusters": {
                    "basic": { "manufacturerName": "Kinglet", "modelIdentifier": "SIM-PLUG", "powerSource": 1 },
                    "onOff": { "onOff": true, "startUpOnOff": 1 },
                    "level": { "currentLevel": 200, "onLevel": 254 },
                    "electrical": { "rmsVoltage": 230, "rmsCurrent": 520, "activePower": 118,
                                    "acPowerMultiplier": 1, "acPowerDivisor": 1 }
                  }
                }
              ]
            },
            {
              "name": "hall-sensor",
              "ieee": "00:12:4b:00:1c:a1:00:02",
              "nwk": "0x7b05",
              "type": "end-device",
              "reportInterval": 60,
              "joinsOnPermit": true,
              "joinDelay": 2,
              "lqi": 120,
              "endpoints": [
                {
                  "id": 1, "profile": "0x0104", "deviceId": "0x0302",
                  "clusters": {
                    "basic": { "manufacturerName": "Kinglet", "modelIdentifier": "SIM-THO", "powerSource": 3 },
                    "power": { "batteryVoltage": 30, "batteryPercentageRemaining": 200 },
                    "temperature": { "measuredValue": 2150, "minMeasuredValue": -4000, "maxMeasuredValue": 8500 },
                    "humidity": { "measuredValue": 4600 },
                    "occupancy": { "occupancy": 0, "occupancySensorType": 0 }
                  }
                }
              ]
            }
          ]
        }
        """

    /// The parsed demo document. It is a constant checked by the tests, so a parse failure is a
    /// programming error in this file, not an input error.
    public static var file: DeviceFile {
        do {
            return try DeviceFile.parse(Data(json.utf8))
        } catch {
            preconditionFailure("the built-in demo devices do not parse: \(error)")
        }
    }
}
