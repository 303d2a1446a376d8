from bthome_ble import BTHomeBluetoothDeviceData
from bthome_ble.bthome_v2_encryption import encrypt_payload
from habluetooth import BluetoothServiceInfoBleak
from bleak.backends.device import BLEDevice
import binascii, contextlib, io

def info(data, addr="54:48:E6:8F:80:A5"):
    return BluetoothServiceInfoBleak(name="TEST", address=addr, rssi=-60, manufacturer_data={},
        service_data={"0000fcd2-0000-1000-8000-00805f9b34fb": data},
        service_uuids=["0000fcd2-0000-1000-8000-00805f9b34fb"], source="local",
        device=BLEDevice(addr, None, None), advertisement=None, connectable=False, time=0.0, tx_power=None)

def parse(data, key=None):
    dev = BTHomeBluetoothDeviceData(bindkey=key)
    upd = dev.update(info(data))
    out = {}
    for k, v in upd.entity_values.items():
        out[k.key] = v.native_value
    for k, v in upd.events.items():
        out["event:"+k.key] = v.event_type
    return out

vectors = [
 "4002CA0903BF13",
 "400064",  # packet id
 "40015D",
 "4045130102CA09",  # temp 0.1 + 0.01 ... but order; check
 "40042E1F01", # wrong len intentionally? pressure 3 bytes
 "40041386010513A7000C0C0B",
 "400B0000010A138A14",
 "40121204",
 "4014020C",
 "402E40",
 "402F1E",
 "403A01",
 "401A01",
 "402D00",
 "402101",
 "402301",
 "4045FF00",
 "405D0EFE",
 "403C0103",
 "40FF01",
 "4002CA09FF01",
]
for v in vectors:
    try:
        print(v, parse(bytes.fromhex(v)))
    except Exception as e:
        print(v, "EXC", e)

key = binascii.unhexlify("231d39c1d7cc1ab1aee224cd096db932")
mac = binascii.unhexlify("5448E68F80A5")
with contextlib.redirect_stdout(io.StringIO()):
    enc = encrypt_payload(data=bytes.fromhex("02CA0903BF13"), mac=mac, uuid16=b"\xd2\xfc", sw_version=b"\x41",
                      count_id=(1122867).to_bytes(4,"little"), key=key)
print("ENC", enc.hex())
sd = enc[2:]
print("ENC service data after uuid", sd.hex())
print("decrypt", parse(sd, key))
print("wrongkey", parse(sd, bytes(16)))

def parse2(data, key=None, addr="54:48:E6:8F:80:A5"):
    dev = BTHomeBluetoothDeviceData(bindkey=key)
    upd = dev.update(info(data, addr))
    out = {k.key: v.native_value for k, v in upd.entity_values.items()}
    out.update({"bin:"+k.key: v.native_value for k, v in upd.binary_entity_values.items()})
    out.update({"event:"+k.key: v.event_type for k, v in upd.events.items()})
    return out
print("binaries", parse2(bytes.fromhex("400F01" "1101" "1A01" "2101" "2301" "2D00")))
from cryptography.hazmat.primitives.ciphers.aead import AESCCM
plain = bytes.fromhex("0064" "0155" "02CA09")
ctr = (7).to_bytes(4, "little")
info_b = 0x43
nonce = mac + b"\xd2\xfc" + bytes([info_b]) + ctr
ct = AESCCM(key, tag_length=4).encrypt(nonce, plain, None)
sd2 = bytes([info_b]) + mac[::-1] + ct[:-4] + ctr + ct[-4:]
print("MACINCL", sd2.hex(), parse2(sd2, key, addr="C0:FF:EE:00:00:01"))
