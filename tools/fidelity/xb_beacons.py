from ruuvitag_ble.df5_decoder import DataFormat5Decoder
d = DataFormat5Decoder(bytes.fromhex("0512FC5394C37C0004FFFC040CAC364200CDCBB8334C884F"))
print("ruuvi", d.temperature_celsius, d.humidity_percentage, d.pressure_hpa, d.acceleration_vector_mg, d.battery_voltage_mv, d.tx_power_dbm, d.movement_counter, d.measurement_sequence_number, d.mac)
# official "invalid values" vector from Ruuvi docs
d = DataFormat5Decoder(bytes.fromhex("058000FFFFFFFF800080008000FFFFFFFFFFFFFFFFFFFFFF"))
print("ruuvi-na", d.temperature_celsius, d.humidity_percentage, d.pressure_hpa, d.acceleration_vector_mg, d.battery_voltage_mv, d.tx_power_dbm, d.movement_counter, d.measurement_sequence_number, d.mac)
d = DataFormat5Decoder(bytes.fromhex("057FFFFFFEFFFE7FFF7FFF7FFFFFDEFEFFFECBB8334C884F"))
print("ruuvi-max", d.temperature_celsius, d.humidity_percentage, d.pressure_hpa, d.acceleration_vector_mg, d.battery_voltage_mv, d.tx_power_dbm, d.movement_counter, d.measurement_sequence_number, d.mac)
d = DataFormat5Decoder(bytes.fromhex("058001000000008001800180010000000000CBB8334C884F"))
print("ruuvi-min", d.temperature_celsius, d.humidity_percentage, d.pressure_hpa, d.acceleration_vector_mg, d.battery_voltage_mv, d.tx_power_dbm, d.movement_counter, d.measurement_sequence_number, d.mac)

from beacontools import parse_packet
# full advertising data as beacontools expects (AD structures)
ib = bytes.fromhex("0201061AFF4C000215E2C56DB5DFFB48D2B060D0F5A71096E000010002C5")
p = parse_packet(ib); print("ibeacon", p)
for name, frame in [("uid","0201060303AAFE1716AAFE00E800010203040506070809AABBCCDDEEFF0000"),
                    ("url","0201060303AAFE0D16AAFE10EB0367697468756200"), 
                    ("url2","0201060303AAFE1116AAFE10F900676F6F2E676C2F61626301"),
                    ("tlm","0201060303AAFE1116AAFE2000 0BB8 1880 00000100 00002710".replace(" ","")),
                    ("tlmneg","0201060303AAFE1116AAFE2000 0000 FD80 00000001 00000002".replace(" ",""))]:
    p = parse_packet(bytes.fromhex(frame))
    print(name, p, getattr(p, "url", None), getattr(p, "__dict__", None) or [ (a, getattr(p,a)) for a in dir(p) if not a.startswith("_")])
