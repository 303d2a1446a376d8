/// The example devices file (examples/devices.json; a test keeps the two equal): one device of
/// each kind, used when --devices is not given.
public let exampleDevicesJSON = #"""
{
  "seed": 1,
  "controller": {
    "address": "00:1A:7D:4B:4C:54",
    "aclDataPacketLength": 27,
    "totalNumACLDataPackets": 8,
    "unknownCommandEvent": "commandComplete"
  },
  "devices": [
    {
      "name": "greenhouse",
      "address": "A4:C1:38:00:00:01",
      "intervalMs": 1000,
      "measurementIntervalMs": 5000,
      "rssi": -58,
      "localName": "Greenhouse",
      "bthome": {
        "measurements": [
          { "type": "temperature", "value": 21.5, "drift": 0.5 },
          { "type": "humidity", "value": 48.2, "drift": 2 },
          { "type": "battery", "value": 93, "drift": 0 }
        ]
      }
    },
    {
      "name": "cellar",
      "address": "A4:C1:38:00:00:02",
      "intervalMs": 1000,
      "rssi": -71,
      "localName": "Cellar",
      "bthome": {
        "bindKey": "231d39c1d7cc1ab1aee224cd096db932",
        "measurements": [
          { "type": "temperature", "value": 12.3, "drift": 0.2 },
          { "type": "humidity", "value": 81, "drift": 1 },
          { "type": "battery", "value": 77, "drift": 0 }
        ]
      }
    },
    {
      "name": "door-beacon",
      "address": "F0:12:34:56:78:9A",
      "addressType": "random",
      "intervalMs": 500,
      "rssi": -64,
      "ibeacon": { "uuid": "e2c56db5-dffb-48d2-b060-d0f5a71096e0", "major": 1, "minor": 42, "measuredPower": -59 }
    },
    {
      "name": "hall-beacon",
      "address": "00:1B:DC:00:00:04",
      "intervalMs": 300,
      "rssi": -67,
      "eddystone": {
        "txPower": -20,
        "uid": { "namespace": "f7826da6bc5b71e0893e", "instance": "4b4c00000004" },
        "url": "https://kinglet.dev/hall",
        "tlm": { "batteryMv": 3012, "temperature": 20.5, "drift": 0.5 }
      }
    },
    {
      "name": "freezer",
      "address": "C7:3A:1B:2C:3D:4E",
      "addressType": "random",
      "intervalMs": 1000,
      "rssi": -75,
      "ruuvi": {
        "temperature": -18.25, "humidity": 60, "pressure": 1008.5,
        "acceleration": [0, 0, 1], "batteryVoltage": 2.95, "txPower": 4, "movementCounter": 7
      }
    },
    {
      "name": "relay",
      "address": "24:0A:C4:00:00:06",
      "intervalMs": 100,
      "rssi": -52,
      "localName": "Kinglet Relay",
      "gatt": {
        "service": "a1b2c3d4-0001-4b4c-8e1f-6b696e676c65",
        "mtu": 247,
        "characteristics": [
          { "uuid": "a1b2c3d4-0002-4b4c-8e1f-6b696e676c65", "kind": "switch", "value": false, "description": "Relay" },
          { "uuid": "2A6E", "kind": "temperature", "value": 23.0, "drift": 0.3, "notifyMs": 1000 },
          { "uuid": "2A29", "kind": "text", "value": "Kinglet" }
        ]
      }
    }
  ]
}
"""#
