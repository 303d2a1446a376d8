#!/usr/bin/env python3
"""Fidelity check of `kinglet-sim modbus` against an independent master: pymodbus's serial
RTU client (framer RTU, pyserial) on the --link path.

    python3 -m venv /tmp/venv-mb && /tmp/venv-mb/bin/pip install pymodbus pyserial
    /tmp/venv-mb/bin/python check/modbus_fidelity.py [--sim PATH-TO-kinglet-sim]

Each check prints PASS or FAIL; the exit status is the number of failures (0 = all pass).
Every simulator started here is stopped with SIGTERM (SIGKILL after 5 s) and reaped.
"""
import argparse
import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import time

import serial
from pymodbus import FramerType, __version__ as pymodbus_version
from pymodbus.client import ModbusSerialClient
from pymodbus.exceptions import ModbusIOException
from pymodbus.framer import FramerRTU
from pymodbus.pdu import ExceptionResponse

MAP = {
    "slave": 7,
    "coils": {"start": 0, "count": 16, "values": [1, 0, 1, 1]},
    "discreteInputs": {"start": 20, "values": [True, False, False, True, True]},
    "holdingRegisters": {"start": 100, "count": 10, "values": [500, 1200, 65535]},
    "inputRegisters": {"start": 0, "count": 4, "values": [215, 480]},
    "dynamic": [{"table": "input", "address": 3, "wave": "ramp", "period": 0.5, "max": 60000}],
}
SLAVE = 7
ILLEGAL_DATA_ADDRESS = 0x02
SERVER_DEVICE_FAILURE = 0x04

failures = []


def check(name, condition, detail=""):
    print(("PASS " if condition else "FAIL ") + name + (f"  [{detail}]" if detail and not condition else ""))
    if not condition:
        failures.append(name)


class PymodbusLog(logging.Handler):
    """Keeps pymodbus's own log lines, to see what its RTU framer made of a response."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


class Simulator:
    def __init__(self, binary, folder, *flags):
        self.folder = folder
        self.link = os.path.join(folder, "ttyMB")
        self.state = os.path.join(folder, "state.json")
        self.log_path = os.path.join(folder, f"sim-{len(os.listdir(folder))}.log")
        map_path = os.path.join(folder, "map.json")
        with open(map_path, "w") as handle:
            json.dump(MAP, handle)
        self.log = open(self.log_path, "w")
        self.process = subprocess.Popen(
            [binary, "modbus", "--link", self.link, "--map", map_path, "--state", self.state, *flags],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + 10
        while not os.path.exists(self.link):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"simulator did not create {self.link}:\n{self.output()}")
            time.sleep(0.01)

    def output(self):
        with open(self.log_path) as handle:
            return handle.read()

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
        return self.process.returncode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def client(link, timeout=1.0):
    c = ModbusSerialClient(link, framer=FramerType.RTU, baudrate=9600, bytesize=8, parity="N", stopbits=1,
                           timeout=timeout, retries=0)
    if not c.connect():
        raise RuntimeError(f"pymodbus cannot open {link}")
    return c


def attempt(call):
    """The response, or the exception pymodbus raised."""
    try:
        return call()
    except ModbusIOException as error:
        return error


def state(path):
    with open(path) as handle:
        return json.load(handle)


def raw_exchange(link, pdu, wait=0.5):
    """Sends one RTU frame framed by pymodbus's own CRC and returns the raw reply bytes."""
    frame = bytes([SLAVE]) + pdu
    frame += FramerRTU.compute_CRC(frame).to_bytes(2, "big")
    with serial.Serial(link, 9600, timeout=wait) as port:
        port.reset_input_buffer()
        port.write(frame)
        reply = port.read(256)
    return reply


def crc_ok(frame):
    return len(frame) >= 4 and FramerRTU.check_CRC(frame[:-2], int.from_bytes(frame[-2:], "big"))


def main():
    parser = argparse.ArgumentParser()
    here = os.path.dirname(os.path.abspath(__file__))
    parser.add_argument("--sim", default=os.path.join(here, "..", ".build", "debug", "kinglet-sim"))
    binary = os.path.abspath(parser.parse_args().sim)
    print(f"pymodbus {pymodbus_version}, pyserial {serial.__version__}, simulator {binary}")

    pylog = PymodbusLog()
    logger = logging.getLogger("pymodbus.logging")
    logger.addHandler(pylog)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False

    check("protocols.md CRC example: 01 03 00 00 00 01 -> 84 0A (pymodbus's CRC)",
          FramerRTU.compute_CRC(bytes.fromhex("010300000001")).to_bytes(2, "big") == bytes.fromhex("840A"))

    with tempfile.TemporaryDirectory(prefix="kinglet-modbus-fidelity-") as folder:
        # Reads, writes, state file, exceptions.
        with Simulator(binary, folder) as sim:
            c = client(sim.link)
            r = c.read_coils(0, count=6, device_id=SLAVE)
            check("FC01 read coils 0..5 = 1,0,1,1,0,0", not r.isError() and r.bits[:6] == [True, False, True, True, False, False], r)
            r = c.read_discrete_inputs(20, count=5, device_id=SLAVE)
            check("FC02 read discrete inputs 20..24 = 1,0,0,1,1", not r.isError() and r.bits[:5] == [True, False, False, True, True], r)
            r = c.read_holding_registers(100, count=4, device_id=SLAVE)
            check("FC03 read holding 100..103 = 500,1200,65535,0", not r.isError() and r.registers == [500, 1200, 65535, 0], r)
            r = c.read_input_registers(0, count=2, device_id=SLAVE)
            check("FC04 read input 0..1 = 215,480", not r.isError() and r.registers == [215, 480], r)
            ramp = set()
            for _ in range(5):
                ramp.add(c.read_input_registers(3, count=1, device_id=SLAVE).registers[0])
                time.sleep(0.06)
            check("dynamic input register 3 (0.5 s ramp) moves between reads", len(ramp) >= 3, ramp)

            r = c.write_register(101, 4242, device_id=SLAVE)
            check("FC06 write single register 101 = 4242 (echo)", not r.isError() and r.registers == [4242], r)
            check("  state file shows holding 101 = 4242 when the response is in",
                  state(sim.state)["holdingRegisters"]["values"][1] == 4242, state(sim.state))
            r = c.write_registers(105, [1, 2, 3], device_id=SLAVE)
            check("FC16 write multiple registers 105..107 = 1,2,3", not r.isError() and r.count == 3, r)
            r = c.write_coil(1, True, device_id=SLAVE)
            check("FC05 write single coil 1 = on", not r.isError() and r.bits[:1] == [True], r)
            r = c.write_coils(8, [True, False, True], device_id=SLAVE)
            check("FC15 write multiple coils 8..10 = 1,0,1", not r.isError() and r.count == 3, r)
            r = c.read_holding_registers(100, count=8, device_id=SLAVE)
            check("FC03 reads the writes back: 500,4242,65535,0,0,1,2,3",
                  not r.isError() and r.registers == [500, 4242, 65535, 0, 0, 1, 2, 3], r)
            r = c.read_coils(0, count=11, device_id=SLAVE)
            check("FC01 reads the coil writes back", not r.isError() and r.bits[:11] ==
                  [True, True, True, True, False, False, False, False, True, False, True], r)
            s = state(sim.state)
            check("state file: holding registers and coils after 4 writes, writeRequests = 4",
                  s["writeRequests"] == 4 and s["holdingRegisters"] == {"start": 100, "values": [500, 4242, 65535, 0, 0, 1, 2, 3, 0, 0]}
                  and s["coils"]["values"][:11] == [1, 1, 1, 1, 0, 0, 0, 0, 1, 0, 1] and s["slave"] == SLAVE, s)

            r = c.read_holding_registers(200, count=1, device_id=SLAVE)
            check("FC03 at unmapped 200 -> exception 0x83 code 2 ILLEGAL DATA ADDRESS",
                  isinstance(r, ExceptionResponse) and r.function_code == 0x83 and r.exception_code == ILLEGAL_DATA_ADDRESS, r)
            r = c.read_holding_registers(108, count=4, device_id=SLAVE)
            check("FC03 straddling the end of the table (108..111) -> ILLEGAL DATA ADDRESS",
                  isinstance(r, ExceptionResponse) and r.exception_code == ILLEGAL_DATA_ADDRESS, r)
            r = c.write_coil(16, True, device_id=SLAVE)
            check("FC05 at unmapped coil 16 -> exception 0x85 code 2",
                  isinstance(r, ExceptionResponse) and r.function_code == 0x85 and r.exception_code == ILLEGAL_DATA_ADDRESS, r)
            c.close()

            reply = raw_exchange(sim.link, bytes.fromhex("03006400 02".replace(" ", "")))
            check("raw FC03 reply is 07 03 04 01 F4 10 92 + a CRC pymodbus accepts",
                  reply[:-2] == bytes.fromhex("07030401F41092") and crc_ok(reply), reply.hex(" "))
            code = sim.stop()
            check("SIGTERM: exit 0 and the link removed", code == 0 and not os.path.lexists(sim.link), f"exit {code}")

        # Silence: pymodbus times out.
        with Simulator(binary, folder, "--fault-silence-every", "1") as sim:
            c = client(sim.link, timeout=0.3)
            started = time.monotonic()
            r = attempt(lambda: c.read_holding_registers(100, count=1, device_id=SLAVE))
            elapsed = time.monotonic() - started
            check("--fault-silence-every 1: pymodbus gets no response (timeout)",
                  isinstance(r, ModbusIOException) and "No response" in str(r) and elapsed >= 0.25, f"{r!r} after {elapsed:.2f} s")
            c.close()
            check("  simulator logged the silence", "fault silence (1): response 1 dropped" in sim.output())

        # Bad CRC: pymodbus's framer rejects the frame; the raw frame is the right one with its CRC inverted.
        with Simulator(binary, folder, "--fault-bad-crc-every", "1") as sim:
            c = client(sim.link, timeout=0.3)
            pylog.lines.clear()
            r = attempt(lambda: c.read_holding_registers(100, count=1, device_id=SLAVE))
            check("--fault-bad-crc-every 1: pymodbus returns no response",
                  isinstance(r, ModbusIOException), repr(r))
            check("  pymodbus's RTU framer logged the CRC failure",
                  any("CRC check failed" in line for line in pylog.lines), pylog.lines[-5:])
            c.close()
            reply = raw_exchange(sim.link, bytes.fromhex("0300640001"))
            fixed = reply[:-2] + bytes(b ^ 0xFF for b in reply[-2:])
            check("  raw reply fails pymodbus's CRC check, and inverting its CRC bytes makes it valid",
                  len(reply) == 7 and not crc_ok(reply) and crc_ok(fixed) and fixed[:5] == bytes.fromhex("07030201F4"),
                  reply.hex(" "))

        # SERVER DEVICE FAILURE via modbus_reply_exception.
        with Simulator(binary, folder, "--fault-exception-every", "1") as sim:
            c = client(sim.link)
            r = c.read_input_registers(0, count=1, device_id=SLAVE)
            check("--fault-exception-every 1: exception 0x84 code 4 SERVER DEVICE FAILURE",
                  isinstance(r, ExceptionResponse) and r.function_code == 0x84 and r.exception_code == SERVER_DEVICE_FAILURE, r)
            c.close()

    print(f"{len(failures)} failed" if failures else "all checks passed")
    return len(failures)


if __name__ == "__main__":
    sys.exit(main())
