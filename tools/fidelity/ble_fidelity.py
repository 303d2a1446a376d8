#!/usr/bin/env python3
"""Fidelity check of `kinglet-sim ble` against independent implementations.

Runs the simulator on a pty and checks what it says with code we did not write:

1. Raw HCI (bumble.hci encodes every command and decodes every event): Reset, version,
   BD_ADDR, the Supported_Commands mask, buffer sizes, parameter validation (0x12), Command
   Disallowed (0x0C), Unknown HCI Command (0x01), the default event mask holding back LE Meta
   events, advertising reports at each device's interval, duplicate filtering, active scanning.
2. Advertising payloads: bluetooth-data-tools parses the AD structures; bthome-ble (with the
   bind key for the encrypted device), ruuvitag-ble, ibeacon-ble and beacontools (Eddystone
   UID/URL/TLM, iBeacon) decode them to the values the devices file configured.
3. A full host stack (bumble's Device) powers the controller on, scans, connects, runs GATT
   discovery, reads, writes, error responses and notifications, and disconnects.
4. The fault flags, as the host sees them (garbage, a truncated event, silence) and as the
   simulator logs and counts them on stderr.
5. Wireshark (tshark, if installed) dissects every packet of phases 1 and 3 without a
   malformed packet or an expert warning, and agrees on the fields it knows.

Usage:  python3 check/ble_fidelity.py [--binary PATH] [--keep DIR]
Needs:  python3 -m venv /tmp/venv-blesim &&
        /tmp/venv-blesim/bin/pip install bthome-ble ruuvitag-ble bumble bluetooth-data-tools ibeacon-ble beacontools
Prints one line per check, then 'N passed, N failed'; exits non-zero on any failure.
"""

import argparse
import asyncio
import contextlib
import io
import json
import os
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import uuid as uuidlib

from bumble import hci
from bumble.att import ATT_Error, ATT_Prepare_Write_Request, ATT_Read_Multiple_Request, ATT_Read_By_Type_Request
from bumble.core import UUID, AdvertisingData
from bumble.device import Device, Peer
from bumble.snoop import BtSnooper
from bumble.transport import open_transport

from bluetooth_data_tools import parse_advertisement_data
from habluetooth.models import BluetoothServiceInfoBleak
from bleak.backends.device import BLEDevice
from bthome_ble import BTHomeBluetoothDeviceData
from ruuvitag_ble import RuuvitagBluetoothDeviceData
from ibeacon_ble import iBeaconParser
import beacontools

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGE = os.path.dirname(HERE)
DEVICES_FILE = os.path.join(HERE, "ble-devices.json")

RESULTS = []


def check(name, ok, detail=""):
    RESULTS.append((name, bool(ok)))
    detail = " ".join(str(detail).split())[:300]
    print(f"{'PASS' if ok else 'FAIL'}  {name}" + (f"  [{detail}]" if detail else ""))
    return ok


def close_to(a, b, tol=1e-6):
    return a is not None and abs(float(a) - float(b)) <= tol


# ---------------------------------------------------------------------------
# The simulator process


class Simulator:
    def __init__(self, binary, workdir, extra=()):
        self.link = os.path.join(workdir, "ttyBLE0")
        self.stderr_path = os.path.join(workdir, "sim.stderr")
        self.stderr = open(self.stderr_path, "w")
        self.proc = subprocess.Popen([binary, "ble", "--link", self.link, "--devices", DEVICES_FILE, *extra],
                                     stdout=subprocess.DEVNULL, stderr=self.stderr)
        deadline = time.time() + 20
        while not os.path.islink(self.link):
            if time.time() > deadline or self.proc.poll() is not None:
                self.stop()
                raise RuntimeError("the simulator did not create its link; see " + self.stderr_path)
            time.sleep(0.05)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.stderr.close()
        return self.proc.returncode


# ---------------------------------------------------------------------------
# Phase 1: raw HCI with bumble's packet classes


class RawHost:
    """Writes HCI commands and reads events over the pty; records both ways for tshark."""

    def __init__(self, path):
        self.fd = os.open(path, os.O_RDWR | os.O_NOCTTY)
        import termios
        import tty
        tty.setraw(self.fd)
        self.buffer = b""
        self.capture = []  # (direction, bytes): 0 host->controller, 1 controller->host

    def close(self):
        os.close(self.fd)

    def send(self, command):
        raw = bytes(command)
        self.capture.append((0, raw))
        os.write(self.fd, raw)

    def _fill(self, timeout):
        r, _, _ = select.select([self.fd], [], [], timeout)
        if r:
            self.buffer += os.read(self.fd, 65536)

    def next_packet(self, timeout):
        deadline = time.time() + timeout
        while True:
            packet = self._split()
            if packet is not None:
                self.capture.append((1, packet))
                return hci.HCI_Packet.from_bytes(packet)
            left = deadline - time.time()
            if left <= 0:
                return None
            self._fill(min(left, 0.05))

    def _split(self):
        b = self.buffer
        if not b:
            return None
        if b[0] == 0x04 and len(b) >= 3 and len(b) >= 3 + b[2]:
            n = 3 + b[2]
        elif b[0] == 0x02 and len(b) >= 5 and len(b) >= 5 + (b[3] | b[4] << 8):
            n = 5 + (b[3] | b[4] << 8)
        elif b[0] in (0x02, 0x04):
            return None
        else:
            raise RuntimeError(f"unexpected H4 indicator 0x{b[0]:02x}")
        self.buffer = b[n:]
        return b[:n]

    def command(self, command, timeout=2.0):
        """Sends a command; returns its Command Complete/Status, gathering other events meanwhile."""
        self.send(command)
        others = []
        deadline = time.time() + timeout
        while time.time() < deadline:
            p = self.next_packet(deadline - time.time())
            if p is None:
                break
            if isinstance(p, hci.HCI_Command_Complete_Event) and p.command_opcode == command.op_code:
                return p, others
            if isinstance(p, hci.HCI_Command_Status_Event) and p.command_opcode == command.op_code:
                return p, others
            others.append(p)
        return None, others

    def collect(self, seconds):
        out = []
        deadline = time.time() + seconds
        while time.time() < deadline:
            p = self.next_packet(deadline - time.time())
            if p is not None:
                out.append(p)
        return out


def status_of(event):
    if event is None:
        return None
    if isinstance(event, hci.HCI_Command_Status_Event):
        return event.status
    rp = event.return_parameters
    if hasattr(rp, "data") and not hasattr(rp, "status"):
        rp = rp.data
    if isinstance(rp, (bytes, bytearray)):
        return rp[0] if rp else None
    return rp if isinstance(rp, int) else getattr(rp, "status", None)


def adv_reports(packets):
    reports = []
    for p in packets:
        if isinstance(p, hci.HCI_LE_Advertising_Report_Event):
            reports.extend(p.reports)
    return reports


def phase_raw(sim, config):
    host = RawHost(sim.link)
    try:
        ev, _ = host.command(hci.HCI_Reset_Command())
        check("HCI_Reset -> Command Complete, status Success", status_of(ev) == 0)

        ev, _ = host.command(hci.HCI_Read_Local_Version_Information_Command())
        rp = ev.return_parameters
        check("Read Local Version Information: Core 5.0, company 0xFFFF",
              rp.status == 0 and rp.hci_version == 9 and rp.lmp_version == 9 and rp.company_identifier == 0xFFFF,
              f"hci {rp.hci_version} lmp {rp.lmp_version} company 0x{rp.company_identifier:04x}")

        ev, _ = host.command(hci.HCI_Read_BD_ADDR_Command())
        addr = ev.return_parameters.bd_addr
        check("Read BD_ADDR returns the configured address", str(addr).startswith(config["controller"]["address"]), str(addr))

        ev, _ = host.command(hci.HCI_Read_Local_Supported_Commands_Command())
        mask = int.from_bytes(ev.return_parameters.supported_commands, "little")
        named = sorted(hci.HCI_Command.command_name(op) for op, bit in hci.HCI_SUPPORTED_COMMANDS_MASKS.items() if mask & bit)
        expected = sorted(hci.HCI_Command.command_name(op) for op in [
            hci.HCI_DISCONNECT_COMMAND, hci.HCI_SET_EVENT_MASK_COMMAND, hci.HCI_RESET_COMMAND,
            hci.HCI_READ_LOCAL_VERSION_INFORMATION_COMMAND, hci.HCI_READ_LOCAL_SUPPORTED_FEATURES_COMMAND,
            hci.HCI_READ_BUFFER_SIZE_COMMAND, hci.HCI_READ_BD_ADDR_COMMAND, hci.HCI_LE_SET_EVENT_MASK_COMMAND,
            hci.HCI_LE_READ_BUFFER_SIZE_COMMAND, hci.HCI_LE_READ_LOCAL_SUPPORTED_FEATURES_COMMAND,
            hci.HCI_LE_SET_RANDOM_ADDRESS_COMMAND, hci.HCI_LE_SET_SCAN_PARAMETERS_COMMAND,
            hci.HCI_LE_SET_SCAN_ENABLE_COMMAND, hci.HCI_LE_CREATE_CONNECTION_COMMAND,
            hci.HCI_LE_CREATE_CONNECTION_CANCEL_COMMAND, hci.HCI_LE_READ_FILTER_ACCEPT_LIST_SIZE_COMMAND,
            hci.HCI_LE_CLEAR_FILTER_ACCEPT_LIST_COMMAND, hci.HCI_LE_ADD_DEVICE_TO_FILTER_ACCEPT_LIST_COMMAND,
            hci.HCI_LE_REMOVE_DEVICE_FROM_FILTER_ACCEPT_LIST_COMMAND, hci.HCI_LE_RAND_COMMAND])
        check("Supported_Commands mask names exactly the implemented commands (bumble's bit table)", named == expected,
              f"extra {sorted(set(named) - set(expected))} missing {sorted(set(expected) - set(named))}")

        ev, _ = host.command(hci.HCI_Read_Local_Supported_Features_Command())
        features = int.from_bytes(ev.return_parameters.lmp_features, "little")
        check("LMP features: LE Supported (bit 38) and BR/EDR Not Supported (bit 37)",
              features & (1 << 38) and features & (1 << 37))

        ev, _ = host.command(hci.HCI_LE_Read_Buffer_Size_Command())
        rp = ev.return_parameters
        check("LE Read Buffer Size [v1]: 27 octets, 8 packets",
              rp.status == 0 and rp.le_acl_data_packet_length == 27 and rp.total_num_le_acl_data_packets == 8)

        ev, _ = host.command(hci.HCI_Command(op_code=0xFC77, parameters=b""))
        check("vendor opcode 0xFC77 -> Unknown HCI Command (0x01)", status_of(ev) == hci.HCI_UNKNOWN_HCI_COMMAND_ERROR)
        ev, _ = host.command(hci.HCI_LE_Set_Extended_Scan_Enable_Command(enable=1, filter_duplicates=0, duration=0, period=0))
        check("unsupported LE Set Extended Scan Enable -> Unknown HCI Command (0x01)",
              status_of(ev) == hci.HCI_UNKNOWN_HCI_COMMAND_ERROR)

        ev, _ = host.command(hci.HCI_LE_Set_Scan_Parameters_Command(
            le_scan_type=1, le_scan_interval=0x0010, le_scan_window=0x0020, own_address_type=0, scanning_filter_policy=0))
        check("LE Set Scan Parameters, window > interval -> 0x12",
              status_of(ev) == hci.HCI_INVALID_HCI_COMMAND_PARAMETERS_ERROR)
        ev, _ = host.command(hci.HCI_LE_Set_Scan_Parameters_Command(
            le_scan_type=1, le_scan_interval=0x0003, le_scan_window=0x0003, own_address_type=0, scanning_filter_policy=0))
        check("LE Set Scan Parameters, interval 0x0003 (below 0x0004) -> 0x12",
              status_of(ev) == hci.HCI_INVALID_HCI_COMMAND_PARAMETERS_ERROR)
        ev, _ = host.command(hci.HCI_LE_Set_Scan_Parameters_Command(
            le_scan_type=2, le_scan_interval=0x0010, le_scan_window=0x0010, own_address_type=0, scanning_filter_policy=0))
        check("LE Set Scan Parameters, scan type 2 -> 0x12", status_of(ev) == hci.HCI_INVALID_HCI_COMMAND_PARAMETERS_ERROR)

        ev, _ = host.command(hci.HCI_LE_Set_Scan_Parameters_Command(
            le_scan_type=0, le_scan_interval=0x0010, le_scan_window=0x0010, own_address_type=1, scanning_filter_policy=0))
        ev, _ = host.command(hci.HCI_LE_Set_Scan_Enable_Command(le_scan_enable=1, filter_duplicates=0))
        check("LE Set Scan Enable with a random own address never set -> 0x12",
              status_of(ev) == hci.HCI_INVALID_HCI_COMMAND_PARAMETERS_ERROR)

        # Passive scan with the default event mask: LE Meta (bit 61) is off, so no reports.
        ev, _ = host.command(hci.HCI_LE_Set_Scan_Parameters_Command(
            le_scan_type=0, le_scan_interval=0x0010, le_scan_window=0x0010, own_address_type=0, scanning_filter_policy=0))
        ev, _ = host.command(hci.HCI_LE_Set_Scan_Enable_Command(le_scan_enable=1, filter_duplicates=0))
        check("LE Set Scan Enable -> Success", status_of(ev) == 0)
        quiet = host.collect(0.6)
        check("default event mask holds back LE Meta events", not adv_reports(quiet), f"{len(adv_reports(quiet))} reports")
        ev, _ = host.command(hci.HCI_LE_Set_Scan_Parameters_Command(
            le_scan_type=1, le_scan_interval=0x0010, le_scan_window=0x0010, own_address_type=0, scanning_filter_policy=0))
        check("LE Set Scan Parameters while scanning -> Command Disallowed (0x0C)",
              status_of(ev) == hci.HCI_COMMAND_DISALLOWED_ERROR)
        host.command(hci.HCI_LE_Set_Scan_Enable_Command(le_scan_enable=0, filter_duplicates=0))

        ev, _ = host.command(hci.HCI_Set_Event_Mask_Command(event_mask=bytes.fromhex("ffffffffffffff3f")))
        check("Set Event Mask with LE Meta -> Success", status_of(ev) == 0)
        ev, _ = host.command(hci.HCI_LE_Set_Scan_Parameters_Command(
            le_scan_type=1, le_scan_interval=0x0010, le_scan_window=0x0010, own_address_type=0, scanning_filter_policy=0))
        check("LE Set Scan Parameters (active, 10 ms / 10 ms) -> Success", status_of(ev) == 0)
        ev, early = host.command(hci.HCI_LE_Set_Scan_Enable_Command(le_scan_enable=1, filter_duplicates=0))
        t0 = time.time()
        packets = early + host.collect(4.0)
        elapsed = time.time() - t0
        host.command(hci.HCI_LE_Set_Scan_Enable_Command(le_scan_enable=0, filter_duplicates=0))
        reports = adv_reports(packets)

        by_device = {}
        for r in reports:
            by_device.setdefault(str(r.address).split("/")[0], []).append(r)
        for d in config["devices"]:
            got = [r for r in by_device.get(d["address"], []) if r.event_type != 4]
            expected = elapsed * 1000 / (d["intervalMs"] + 5)
            check(f"{d['name']}: ADV reports at its {d['intervalMs']} ms interval",
                  0.8 * expected <= len(got) <= 1.2 * expected + 1, f"{len(got)} in {elapsed:.1f} s, ~{expected:.0f} expected")
            is_random = d.get("addressType") == "random"
            check(f"{d['name']}: address type {'random' if is_random else 'public'}",
                  got and all(r.address.address_type == (1 if is_random else 0) for r in got))
        relay = [r for r in by_device.get("24:0A:C4:00:00:06", [])]
        check("connectable GATT device: ADV_IND (0x00), and SCAN_RSP (0x04) to active scanning",
              {r.event_type for r in relay} == {0, 4})
        cellar = by_device.get("A4:C1:38:00:00:12", [])
        check("non-connectable device with scan response data: ADV_SCAN_IND (0x02) + SCAN_RSP with its name",
              {r.event_type for r in cellar} == {2, 4} and any(r.event_type == 4 and b"Cellar" in bytes(r.data) for r in cellar))
        beacon = by_device.get("F0:12:34:56:78:9A", [])
        check("beacon without scan response: ADV_NONCONN_IND (0x03) only", {r.event_type for r in beacon} == {3})
        check("RSSI within the configured level ± 3 dB (default -60)",
              all(-63 <= r.rssi <= -57 for r in reports), f"{sorted({r.rssi for r in reports})}")

        # Duplicate filtering: one report per device and PDU kind until scanning stops.
        host.command(hci.HCI_LE_Set_Scan_Enable_Command(le_scan_enable=1, filter_duplicates=1))
        dup_packets = host.collect(1.5)
        host.command(hci.HCI_LE_Set_Scan_Enable_Command(le_scan_enable=0, filter_duplicates=0))
        keys = [(str(r.address), r.event_type == 4) for r in adv_reports(dup_packets)]
        check("Filter_Duplicates=1: each device (and its SCAN_RSP) reported once",
              len(keys) == len(set(keys)) and len({k[0] for k in keys}) == len(config["devices"]),
              f"{len(keys)} reports, {len(set(keys))} distinct")

        # Create Connection to a device that is not there, then cancel.
        ev, _ = host.command(hci.HCI_LE_Create_Connection_Command(
            le_scan_interval=0x0010, le_scan_window=0x0010, initiator_filter_policy=0, peer_address_type=0,
            peer_address=hci.Address("00:00:00:00:00:99"), own_address_type=0, connection_interval_min=0x0018,
            connection_interval_max=0x0028, max_latency=0, supervision_timeout=0x01F4, min_ce_length=0, max_ce_length=0))
        check("LE Create Connection -> Command Status Success", isinstance(ev, hci.HCI_Command_Status_Event) and ev.status == 0)
        ev, _ = host.command(hci.HCI_LE_Create_Connection_Command(
            le_scan_interval=0x0010, le_scan_window=0x0010, initiator_filter_policy=0, peer_address_type=0,
            peer_address=hci.Address("00:00:00:00:00:99"), own_address_type=0, connection_interval_min=0x0018,
            connection_interval_max=0x0028, max_latency=0, supervision_timeout=0x01F4, min_ce_length=0, max_ce_length=0))
        check("second LE Create Connection while one is pending -> Command Disallowed",
              status_of(ev) == hci.HCI_COMMAND_DISALLOWED_ERROR)
        ev, others = host.command(hci.HCI_LE_Create_Connection_Cancel_Command())
        more = others + host.collect(0.3)
        cc = [p for p in more if isinstance(p, hci.HCI_LE_Connection_Complete_Event)]
        check("LE Create Connection Cancel -> Success, then LE Connection Complete 0x02",
              status_of(ev) == 0 and len(cc) == 1 and cc[0].status == hci.HCI_UNKNOWN_CONNECTION_IDENTIFIER_ERROR)
        ev, _ = host.command(hci.HCI_Disconnect_Command(connection_handle=0x0123, reason=0x13))
        check("Disconnect of an unknown handle -> Command Status 0x02",
              isinstance(ev, hci.HCI_Command_Status_Event) and ev.status == hci.HCI_UNKNOWN_CONNECTION_IDENTIFIER_ERROR)
        ev, _ = host.command(hci.HCI_LE_Create_Connection_Command(
            le_scan_interval=0x0010, le_scan_window=0x0010, initiator_filter_policy=0, peer_address_type=0,
            peer_address=hci.Address("24:0A:C4:00:00:06"), own_address_type=0, connection_interval_min=0x0018,
            connection_interval_max=0x0028, max_latency=0, supervision_timeout=0x000A, min_ce_length=0, max_ce_length=0))
        check("LE Create Connection with a supervision timeout too short for the interval -> 0x12",
              status_of(ev) == hci.HCI_INVALID_HCI_COMMAND_PARAMETERS_ERROR)
    finally:
        host.close()
    return reports, host.capture


# ---------------------------------------------------------------------------
# Phase 2: the advertisements, decoded by their formats' own libraries


def service_info(report, scan_response=None, name=""):
    datas = [bytes(report.data)] + ([bytes(scan_response.data)] if scan_response else [])
    adv = parse_advertisement_data(datas)
    address = str(report.address).split("/")[0]
    return BluetoothServiceInfoBleak(name=adv.local_name or name or address, address=address, rssi=report.rssi,
                                     manufacturer_data=dict(adv.manufacturer_data), service_data=dict(adv.service_data),
                                     service_uuids=list(adv.service_uuids), source="kinglet-sim",
                                     device=BLEDevice(address, adv.local_name, None), advertisement=None,
                                     connectable=report.event_type == 0, time=time.monotonic(), tx_power=adv.tx_power,
                                     raw=bytes(report.data))


def sensor_values(update):
    return {key.key: v.native_value for key, v in update.entity_values.items()}


def binary_values(update):
    return {key.key: v.native_value for key, v in update.binary_entity_values.items()}


def phase_payloads(reports, config):
    devices = {d["name"]: d for d in config["devices"]}
    by_addr = {}
    for r in reports:
        by_addr.setdefault(str(r.address).split("/")[0], []).append(r)

    # BTHome, plain.
    d = devices["bthome-plain"]
    r = [x for x in by_addr[d["address"]] if x.event_type != 4]
    parser = BTHomeBluetoothDeviceData()
    values = sensor_values(parser.update(service_info(r[0])))
    binaries = binary_values(parser.update(service_info(r[0])))
    want = {m["type"]: m["value"] for m in d["bthome"]["measurements"]}
    check("bthome-ble decodes plain BTHome v2: temperature 21.5 °C, humidity 48.2 %, battery 93 %",
          close_to(values.get("temperature"), want["temperature"]) and close_to(values.get("humidity"), want["humidity"])
          and close_to(values.get("battery"), want["battery"]), str(values))
    check("bthome-ble decodes pressure 1013.25 hPa, illuminance 1234.56 lx, voltage 3.012 V",
          close_to(values.get("pressure"), want["pressure"]) and close_to(values.get("illuminance"), want["illuminance"])
          and close_to(values.get("voltage"), want["voltage"]), str(values))
    check("bthome-ble decodes the binary power sensor as on", binaries.get("power") is True, str(binaries))
    pids = {sensor_values(BTHomeBluetoothDeviceData().update(service_info(x))).get("packet_id") for x in r}
    check("BTHome packet id advances with each new measurement", len(pids) >= 3, f"ids {sorted(p for p in pids if p is not None)}")

    # BTHome, encrypted.
    d = devices["bthome-encrypted"]
    r = [x for x in by_addr[d["address"]] if x.event_type != 4]
    rsp = [x for x in by_addr[d["address"]] if x.event_type == 4]
    key = bytes.fromhex(d["bthome"]["bindKey"])
    parser = BTHomeBluetoothDeviceData(bindkey=key)
    values = sensor_values(parser.update(service_info(r[0], rsp[0] if rsp else None)))
    want = {m["type"]: m["value"] for m in d["bthome"]["measurements"]}
    check("bthome-ble decrypts BTHome v2 (AES-CCM, bind key) to temperature -12.34, humidity 81, battery 77",
          parser.bindkey_verified and close_to(values.get("temperature"), want["temperature"])
          and close_to(values.get("humidity"), want["humidity"]) and close_to(values.get("battery"), want["battery"]),
          f"verified={parser.bindkey_verified} {values}")
    wrong = BTHomeBluetoothDeviceData(bindkey=bytes(16))
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):  # bthome-ble reports the failure
        wrong_values = sensor_values(wrong.update(service_info(r[0])))
    check("a wrong bind key does not decrypt", not wrong.bindkey_verified and "temperature" not in wrong_values)
    counters = {bytes(x.data)[-8:-4] for x in r}
    check("encryption counter changes with each measurement (no nonce reuse)", len(counters) >= 3, f"{len(counters)} counters")

    # BTHome, drifting: within bounds, and not constant.
    d = devices["bthome-drifting"]
    r = [x for x in by_addr[d["address"]] if x.event_type != 4]
    seen = {"temperature": set(), "humidity": set(), "carbon_dioxide": set()}
    for x in r:
        v = sensor_values(BTHomeBluetoothDeviceData().update(service_info(x)))
        for k in seen:
            if k in v:
                seen[k].add(v[k])
    ok = (seen["temperature"] and all(19.5 - 1e-9 <= t <= 20.5 + 1e-9 for t in seen["temperature"])
          and all(48 - 1e-9 <= h <= 52 + 1e-9 for h in seen["humidity"])
          and all(760 <= c <= 840 for c in seen["carbon_dioxide"]))
    check("drifting BTHome values stay within value ± drift", ok,
          f"T {min(seen['temperature'], default=None)}..{max(seen['temperature'], default=None)}")
    check("drifting BTHome values do change", len(seen["temperature"]) >= 3 and len(seen["humidity"]) >= 3)

    # Ruuvi RAWv2.
    d = devices["ruuvi"]
    r = by_addr[d["address"]]
    values = sensor_values(RuuvitagBluetoothDeviceData().update(service_info(r[0])))
    want = d["ruuvi"]
    check("ruuvitag-ble decodes RAWv2: temperature -18.25, humidity 60.5, pressure 1008.5 hPa",
          close_to(values.get("temperature"), want["temperature"]) and close_to(values.get("humidity"), want["humidity"])
          and close_to(values.get("pressure"), want["pressure"]), str(values))
    check("ruuvitag-ble decodes battery 2.977 V and movement counter 66",
          (close_to(values.get("voltage"), want["batteryVoltage"] * 1000, 0.5) or close_to(values.get("voltage"), want["batteryVoltage"]))
          and values.get("movement_counter") == 66,
          str({k: values.get(k) for k in ("voltage", "movement_counter")}))
    g = 9.80665  # ruuvitag-ble reports m/s², rounded to 0.01
    check("ruuvitag-ble decodes acceleration x 12 mG, y -4 mG, z 1036 mG (in m/s²)",
          close_to(values.get("acceleration_x"), 0.012 * g, 0.006) and close_to(values.get("acceleration_y"), -0.004 * g, 0.006)
          and close_to(values.get("acceleration_z"), 1.036 * g, 0.006),
          str({k: values.get(k) for k in ("acceleration_x", "acceleration_y", "acceleration_z")}))
    raw = service_info(r[0]).manufacturer_data[0x0499]
    check("RAWv2 octets: format 5, power info = (2977-1600)<<5 | (4+40)/2, movement 66, MAC at the end",
          raw[0] == 5 and struct.unpack(">H", raw[13:15])[0] == ((2977 - 1600) << 5 | 22) and raw[15] == 66
          and raw[18:24] == bytes.fromhex(d["address"].replace(":", "")), raw.hex())

    # iBeacon.
    d = devices["ibeacon"]
    r = by_addr[d["address"]]
    info = service_info(r[0])
    ib = iBeaconParser()
    asyncio.run(ib.async_setup())  # loads the OUI table the package ships; no network
    beacon = ib.parse(info)
    want = d["ibeacon"]
    check("ibeacon-ble decodes UUID, major 1, minor 42, power -59",
          beacon is not None and beacon.uuid == uuidlib.UUID(want["uuid"]) and beacon.major == want["major"]
          and beacon.minor == want["minor"] and beacon.power == want["measuredPower"], str(beacon))
    bt = beacontools.parse_packet(bytes(r[0].data))
    check("beacontools decodes the same iBeacon",
          bt is not None and str(bt.uuid) == want["uuid"] and bt.major == 1 and bt.minor == 42 and bt.tx_power == -59, str(bt))

    # Eddystone: the frames rotate.
    d = devices["eddystone"]
    r = by_addr[d["address"]]
    frames = {}
    for x in r:
        f = beacontools.parse_packet(bytes(x.data))
        if f is not None:
            frames.setdefault(type(f).__name__, f)
    want = d["eddystone"]
    uid = frames.get("EddystoneUIDFrame")
    check("beacontools decodes Eddystone-UID: namespace, instance, Tx power -20",
          uid is not None and uid.namespace == want["uid"]["namespace"] and uid.instance == want["uid"]["instance"]
          and uid.tx_power == -20, str(uid))
    url = frames.get("EddystoneURLFrame")
    check("beacontools decodes Eddystone-URL https://kinglet.dev/hall", url is not None and url.url == want["url"],
          str(url and url.url))
    tlm = frames.get("EddystoneTLMFrame")
    check("beacontools decodes Eddystone-TLM: 3012 mV, 20.5 °C, counters running",
          tlm is not None and tlm.voltage == 3012 and close_to(tlm.temperature, 20.5) and tlm.advertising_count > 0
          and tlm.seconds_since_boot > 0, str(tlm))
    for x in r:
        ad = parse_advertisement_data([bytes(x.data)])
        sd = ad.service_data.get("0000feaa-0000-1000-8000-00805f9b34fb")
        if sd and sd[0] == 0x20:
            check("Eddystone-TLM service data length octet is 0x11 (spec: fixed length)", bytes(x.data)[7] == 0x11,
                  bytes(x.data).hex())
            break


# ---------------------------------------------------------------------------
# Phase 3: bumble's host stack: scan, connect, GATT


async def phase_bumble(sim, config, snoop_path):
    relay = next(d for d in config["devices"] if d["name"] == "relay")
    async with await open_transport(f"file:{sim.link}") as (source, sink):
        device = Device.with_hci("kinglet-check", hci.Address("F0:F1:F2:F3:F4:F5"), source, sink)
        snoop_file = open(snoop_path, "wb")
        device.host.snooper = BtSnooper(snoop_file)
        try:
            await asyncio.wait_for(device.power_on(), 10)
            check("bumble powers the controller on (its whole init sequence)", True)

            found = {}
            device.on("advertisement", lambda adv: found.setdefault(str(adv.address).split("/")[0], adv))
            await device.start_scanning(active=True, filter_duplicates=False)
            await asyncio.sleep(1.5)
            await device.stop_scanning()
            check("bumble's scanner sees every configured device", set(found) == {d["address"] for d in config["devices"]},
                  f"{sorted(found)}")
            relay_adv = found.get(relay["address"])
            check("bumble parses the relay's advertised name", relay_adv is not None
                  and relay_adv.data.get(AdvertisingData.COMPLETE_LOCAL_NAME) == relay["localName"])

            connection = await asyncio.wait_for(device.connect(hci.Address(relay["address"], hci.Address.PUBLIC_DEVICE_ADDRESS)), 10)
            check("bumble connects (LE Create Connection -> LE Connection Complete)", connection is not None,
                  f"handle 0x{connection.handle:04x}")
            peer = Peer(connection)
            mtu = await peer.request_mtu(247)
            check("Exchange MTU -> 247", mtu == 247, str(mtu))
            services = await peer.discover_services()
            uuids = [str(s.uuid) for s in services]
            check("primary services (Read By Group Type): GAP 0x1800 and the configured service",
                  len(services) == 2 and services[0].uuid == UUID.from_16_bits(0x1800)
                  and services[1].uuid == UUID(relay["gatt"]["service"]), str(uuids))
            only = await peer.discover_service(UUID(relay["gatt"]["service"]))
            check("discover service by UUID (Find By Type Value)", len(only) == 1 and only[0].handle == services[1].handle)
            none = await peer.discover_service(UUID("12345678-0000-1000-8000-00805f9b34fb"))
            check("discover an absent service -> none (Attribute Not Found ends the search)", none == [])
            for s in services:
                await peer.discover_characteristics(service=s)
                for c in s.characteristics:
                    await peer.discover_descriptors(characteristic=c)
            chars = {str(c.uuid).upper(): c for s in services for c in s.characteristics}
            gap_name = next(c for c in services[0].characteristics if c.uuid == UUID.from_16_bits(0x2A00))
            name = await peer.read_value(gap_name)
            check("read GAP Device Name", name == relay["localName"].encode(), repr(name))

            switch = next(c for c in services[1].characteristics if c.uuid == UUID(relay["gatt"]["characteristics"][0]["uuid"]))
            temp = next(c for c in services[1].characteristics if c.uuid == UUID.from_16_bits(0x2A6E))
            maker = next(c for c in services[1].characteristics if c.uuid == UUID.from_16_bits(0x2A29))
            command = next(c for c in services[1].characteristics if c.uuid == UUID(relay["gatt"]["characteristics"][3]["uuid"]))
            check("characteristic properties: switch read|write|write-without-response, temperature read|notify",
                  int(switch.properties) == 0x0E and int(temp.properties) == 0x12, f"{switch.properties} {temp.properties}")
            descriptors = [str(d.type) for d in temp.descriptors]
            check("Find Information lists the temperature's CCCD (0x2902)", any("2902" in x.upper() for x in descriptors),
                  str(descriptors))
            user = [d for d in switch.descriptors if d.type == UUID.from_16_bits(0x2901)]
            check("switch has a User Description 'Relay'", user and (await peer.read_value(user[0])) == b"Relay")

            check("read switch -> 0x00", await peer.read_value(switch) == b"\x00")
            await peer.write_value(switch, b"\x01", with_response=True)
            check("Write Request 0x01, read back -> 0x01", await peer.read_value(switch) == b"\x01")
            await peer.write_value(switch, b"\x00", with_response=False)
            await asyncio.sleep(0.2)
            check("Write Command 0x00, read back -> 0x00", await peer.read_value(switch) == b"\x00")

            async def att_error(coro):
                try:
                    await coro
                except ATT_Error as e:
                    return e.error_code
                return None

            code = await att_error(peer.write_value(switch, b"\x02", with_response=True))
            check("write 0x02 to the switch -> Value Not Allowed (0x13)", code == 0x13, str(code))
            code = await att_error(peer.write_value(switch, b"\x01\x00", with_response=True))
            check("write 2 octets to the switch -> Invalid Attribute Value Length (0x0D)", code == 0x0D, str(code))
            code = await att_error(peer.write_value(temp, b"\x00\x00", with_response=True))
            check("write to the read-only temperature -> Write Not Permitted (0x03)", code == 0x03, str(code))
            code = await att_error(peer.read_value(command))
            check("read the write-only characteristic -> Read Not Permitted (0x02)", code == 0x02, str(code))
            code = await att_error(peer.read_value(0x0FFF))
            check("read handle 0x0FFF -> Invalid Handle (0x01)", code == 0x01, str(code))

            rsp = await peer.gatt_client.send_request(ATT_Prepare_Write_Request(attribute_handle=switch.handle,
                                                                                value_offset=0, part_attribute_value=b"\x01"))
            check("Prepare Write Request -> Request Not Supported (0x06)", getattr(rsp, "error_code", None) == 0x06, getattr(rsp, "error_code", rsp))
            rsp = await peer.gatt_client.send_request(ATT_Read_Multiple_Request(set_of_handles=[switch.handle, temp.handle]))
            check("Read Multiple Request -> Request Not Supported (0x06)", getattr(rsp, "error_code", None) == 0x06, getattr(rsp, "error_code", rsp))
            rsp = await peer.gatt_client.send_request(ATT_Read_By_Type_Request(
                starting_handle=1, ending_handle=0xFFFF, attribute_type=UUID.from_16_bits(0x2A37)))
            check("Read By Type of an absent type -> Attribute Not Found (0x0A)", getattr(rsp, "error_code", None) == 0x0A,
                  getattr(rsp, "error_code", rsp))
            rsp = await peer.gatt_client.send_request(ATT_Read_By_Type_Request(
                starting_handle=5, ending_handle=4, attribute_type=UUID.from_16_bits(0x2803)))
            check("Read By Type with start > end -> Invalid Handle (0x01)", getattr(rsp, "error_code", None) == 0x01, getattr(rsp, "error_code", rsp))
            values = await peer.read_characteristics_by_uuid(UUID.from_16_bits(0x2A29))
            check("Read By Type for 0x2A29 -> 'Kinglet'", values == [b"Kinglet"], str(values))

            got = []
            done = asyncio.Event()

            def on_value(value):
                got.append(bytes(value))
                if len(got) >= 3:
                    done.set()

            await peer.subscribe(temp, on_value)
            try:
                await asyncio.wait_for(done.wait(), 5)
            except asyncio.TimeoutError:
                pass
            temps = [struct.unpack("<h", v)[0] / 100 for v in got]
            check("CCCD 0x0001 -> Handle Value Notifications of 23.00 °C every 500 ms",
                  len(temps) >= 3 and all(close_to(t, 23.0) for t in temps), str(temps))
            await peer.unsubscribe(temp, on_value)
            got.clear()
            await asyncio.sleep(1.2)
            check("CCCD 0x0000 -> notifications stop", not got, f"{len(got)} after unsubscribe")

            disconnected = asyncio.Event()
            reason = {}
            connection.on("disconnection", lambda r: (reason.setdefault("r", r), disconnected.set()))
            await connection.disconnect()
            await asyncio.wait_for(disconnected.wait(), 5)
            check("Disconnect -> Disconnection Complete, reason Connection Terminated By Local Host (0x16)",
                  reason.get("r") == hci.HCI_CONNECTION_TERMINATED_BY_LOCAL_HOST_ERROR, str(reason.get("r")))
        finally:
            snoop_file.close()


# ---------------------------------------------------------------------------
# Phase 4: fault flags, seen from the host side and in the simulator's log


def phase_faults(binary, workdir):
    reset = bytes(hci.HCI_Reset_Command())
    complete = bytes.fromhex("040e0401030c00")

    def run(flags, resets):
        d = tempfile.mkdtemp(dir=workdir)
        sim = Simulator(binary, d, extra=flags)
        try:
            host = RawHost(sim.link)
            raw = b""
            for _ in range(resets):
                os.write(host.fd, reset)
                time.sleep(0.15)
                while select.select([host.fd], [], [], 0.05)[0]:
                    raw += os.read(host.fd, 4096)
            host.close()
        finally:
            sim.stop()
        with open(sim.stderr_path) as f:
            return raw, f.read()

    raw, log = run(["--fault-garbage-every", "2"], 4)
    check("--fault-garbage-every 2: octets after every 2nd packet, logged twice",
          raw.startswith(complete * 2) and len(raw) > 4 * len(complete) and log.count("garbage octets after packet") == 2
          and "2 garbage insertions" in log, raw.hex())
    raw, log = run(["--fault-truncate-every", "2"], 2)
    check("--fault-truncate-every 2: the 2nd event arrives cut short, logged",
          raw == complete + complete[:3] and "truncated to 3 of 7 octets" in log and "1 truncated events" in log, raw.hex())
    raw, log = run(["--fault-silence-after", "2"], 4)
    check("--fault-silence-after 2: two answers, then silence, logged",
          raw == complete * 2 and "silent after 2 packets" in log and "2 packets silenced" in log, raw.hex())


# ---------------------------------------------------------------------------
# Phase 5: Wireshark


def write_pcap(path, capture):
    # LINKTYPE_BLUETOOTH_HCI_H4_WITH_PHDR (201): a 4-octet big-endian direction, then the H4 packet.
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 201))
        t = time.time()
        for i, (direction, packet) in enumerate(capture):
            body = struct.pack(">I", direction) + packet
            ts = t + i * 0.001
            f.write(struct.pack("<IIII", int(ts), int((ts % 1) * 1e6), len(body), len(body)))
            f.write(body)


def tshark_fields(path, fields, display_filter=None):
    cmd = ["tshark", "-r", path, "-T", "fields", "-E", "separator=|"]
    if display_filter:
        cmd += ["-Y", display_filter]
    for f in fields:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    return [line.split("|") for line in out.stdout.splitlines() if line.strip()]


def phase_wireshark(pcap_path, snoop_path):
    if shutil.which("tshark") is None:
        print("SKIP  Wireshark cross-check: tshark is not installed (apt-get install tshark)")
        return
    for label, path in (("raw HCI capture (pcap, H4 with direction)", pcap_path), ("bumble session (btsnoop)", snoop_path)):
        total = tshark_fields(path, ["frame.number"])
        bad = tshark_fields(path, ["frame.number", "_ws.expert.message"],
                            "_ws.malformed || _ws.expert.severity >= \"Warning\"")
        check(f"tshark dissects the {label}: {len(total)} packets, none malformed or warned", total and not bad,
              "; ".join("|".join(b) for b in bad[:5]))
    events = tshark_fields(pcap_path, ["bthci_evt.code"], "bthci_evt")
    check("tshark sees Command Complete, Command Status and LE Meta events",
          {"0x0e", "0x0f", "0x3e"} <= {e[0] for e in events}, str(sorted({e[0] for e in events})))
    # Wireshark 4.0 does not dissect iBeacon by default (its "ibeacon" dissector is Decode As
    # only); it does split the AD structures and name the company.
    apple = tshark_fields(pcap_path, ["btcommon.eir_ad.entry.data"], "btcommon.eir_ad.entry.company_id == 0x004c")
    check("tshark reads Apple (0x004C) manufacturer data 02 15 + UUID + major 1 + minor 42 + power -59",
          apple and apple[0][0].replace(":", "").lower() == "0215e2c56db5dffb48d2b060d0f5a71096e00001002ac5",
          str(apple[:1]))
    service = tshark_fields(pcap_path, ["btcommon.eir_ad.entry.uuid_16"], "btcommon.eir_ad.entry.uuid_16")
    seen = {v for row in service for v in row[0].split(",")}
    check("tshark decodes the 16-bit service UUIDs 0xFCD2 (BTHome) and 0xFEAA (Eddystone)",
          {"0xfcd2", "0xfeaa"} <= seen, str(sorted(seen)))
    att = tshark_fields(snoop_path, ["btatt.opcode", "btatt.error_code"], "btatt.error_code")
    codes = {row[1] for row in att}
    check("tshark decodes the ATT Error Responses (0x01, 0x02, 0x03, 0x06, 0x0a, 0x0d, 0x13)",
          {"0x01", "0x02", "0x03", "0x06", "0x0a", "0x0d", "0x13"} <= codes, str(sorted(codes)))


# ---------------------------------------------------------------------------


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--binary", default=os.path.join(PACKAGE, ".build", "debug", "kinglet-sim-ble"))
    parser.add_argument("--keep", help="keep the captures in this folder")
    args = parser.parse_args()
    if not os.access(args.binary, os.X_OK):
        sys.exit(f"{args.binary} not found: run `swift build` in {PACKAGE} first")
    with open(DEVICES_FILE) as f:
        config = json.load(f)

    workdir = args.keep or tempfile.mkdtemp(prefix="blesim-fidelity-")
    os.makedirs(workdir, exist_ok=True)
    try:
        sim = Simulator(args.binary, workdir)
        try:
            reports, capture = phase_raw(sim, config)
            phase_payloads(reports, config)
            pcap_path = os.path.join(workdir, "raw-hci.pcap")
            write_pcap(pcap_path, capture)
            snoop_path = os.path.join(workdir, "bumble.btsnoop")
            asyncio.run(asyncio.wait_for(phase_bumble(sim, config, snoop_path), 90))
        finally:
            code = sim.stop()
            check("the simulator exits 0 on SIGTERM and removes its link", code == 0 and not os.path.lexists(sim.link),
                  f"exit {code}")
        phase_faults(args.binary, workdir)
        phase_wireshark(pcap_path, snoop_path)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)

    passed = sum(1 for _, ok in RESULTS if ok)
    failed = len(RESULTS) - passed
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
