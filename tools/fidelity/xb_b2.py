exec(open('/tmp/xb_bthome.py').read().split("vectors = [")[0])
from habluetooth import BluetoothServiceInfoBleak
def parse2(data, key=None, addr="54:48:E6:8F:80:A5"):
    dev = BTHomeBluetoothDeviceData(bindkey=key)
    upd = dev.update(info(data, addr))
    out = {k.key: v.native_value for k, v in upd.entity_values.items()}
    out.update({"bin:"+k.key: v.native_value for k, v in upd.binary_entity_values.items()})
    out.update({"event:"+k.key: v.event_type for k, v in upd.events.items()})
    return out
for v in ["4002F0F8", "4002CA0903BF", "40 0064 015D".replace(" ",""), "40 3C0205 3A04".replace(" ","")]:
    print(v, parse2(bytes.fromhex(v)))
