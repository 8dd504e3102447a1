#!/usr/bin/env python3
"""Reference Modbus-to-MQTT poller for Deploy/bench-throughput.sh.

A REFERENCE FOR SCALE, NOT A PRODUCT: it exists only so the throughput benchmark can put the
agent's figures beside those of an ordinary Python gateway doing the same work, measured in the
same run, on the same simulator, broker and machine. It has no store-and-forward, no alarms, no
real-time scheduling, no backoff and no configuration checking, and must never be deployed.

The work, the same as the agent's in the benchmark:
  - N devices on consecutive Modbus TCP ports (one connection each, pymodbus's sync client), or
    with `--topology unit` all behind the first port with unit ids 1..N (one shared connection);
  - every cycle (100 ms by default, to absolute monotonic deadlines), ONE read per register
    table the profile uses (the benchmark's profile: one read of holding registers 0-15 per device);
  - decode every point of the same profile file the agent uses (Deploy/bench/bench-16-holding.yaml:
    type, word order, scale, offset, decimals, valid range -> quality);
  - publish one JSON message per device per cycle, QoS 1 (paho-mqtt, its network thread started
    with loop_start), in the agent's message layout.

Concurrency: `--mode sequential` (default) polls every device in turn from one thread; `--mode
threads` runs one polling thread per device, like the agent's one sampling thread per TCP endpoint.
pymodbus's sync client keeps up with 32 devices at 10 Hz sequentially on loopback (a cycle of 32
reads and publishes takes a few tens of ms), and sequential used less CPU than threads here, so the
benchmark uses sequential; the stats report cycles that overran their deadline and the longest cycle.

At exit (SIGTERM or SIGINT) it writes one JSON line of counters to --stats.
"""

import argparse
import datetime
import json
import math
import signal
import struct
import sys
import threading
import time

import paho.mqtt.client as mqtt
import yaml
from pymodbus.client import ModbusTcpClient

WIDTH = {"bool": 1, "int16": 1, "uint16": 1, "int32": 2, "uint32": 2, "float32": 2,
         "int64": 4, "uint64": 4, "float64": 4}
# How the big-endian value bytes are read, once they are in most-significant-first order.
UNPACK = {"bool": ">H", "int16": ">h", "uint16": ">H", "int32": ">i", "uint32": ">I", "float32": ">f",
          "int64": ">q", "uint64": ">Q", "float64": ">d"}
RAW_RANGE = {"bool": (0, 1), "int16": (-32768, 32767), "uint16": (0, 65535),
             "int32": (-2 ** 31, 2 ** 31 - 1), "uint32": (0, 2 ** 32 - 1),
             "int64": (-2 ** 63, 2 ** 63 - 1), "uint64": (0, 2 ** 64 - 1),
             "float32": (-3.4028234663852886e38, 3.4028234663852886e38),
             "float64": (-sys.float_info.max, sys.float_info.max)}


class Point:
    def __init__(self, spec):
        self.name = spec["name"]
        self.function = spec["function"]
        self.address = int(spec["address"])
        self.type = spec.get("type", "uint16")
        order = spec.get("word_order", "abcd")
        self.reverse_registers = order in ("cdab", "dcba")
        self.swap_bytes = order in ("badc", "dcba")
        self.width = WIDTH[self.type]
        self.unpack = struct.Struct(UNPACK[self.type]).unpack
        self.scale = float(spec.get("scale", 1))
        self.offset = float(spec.get("offset", 0))
        self.decimals = int(spec.get("decimals", 0))
        self.unit = str(spec["unit"])
        self.mdc = spec.get("mdc")
        self.mdc_code = spec.get("mdc_code")
        if "range" in spec:
            self.low, self.high = (float(x) for x in spec["range"])
        else:
            a, b = (x * self.scale + self.offset for x in RAW_RANGE[self.type])
            self.low, self.high = min(a, b), max(a, b)

    def decode(self, registers, start):
        words = registers[start:start + self.width]
        if self.reverse_registers:
            words = words[::-1]
        if self.swap_bytes:
            words = [((w & 0xFF) << 8) | (w >> 8) for w in words]
        raw = self.unpack(struct.pack(">%dH" % self.width, *words))[0]
        if self.type == "bool":
            raw = 1 if raw else 0
        value = raw * self.scale + self.offset
        if not math.isfinite(value):
            return None, "out-of-range"
        quality = "ok" if self.low <= value <= self.high else "out-of-range"
        return (round(value, self.decimals) if self.decimals else round(value)), quality


class Profile:
    def __init__(self, path):
        with open(path, encoding="utf-8") as f:
            spec = yaml.safe_load(f)
        self.name = spec["name"]
        self.points = [Point(p) for p in spec["points"]]
        # One read per register table: the span from its first to its last register.
        self.reads = []
        for function in ("input-registers", "holding-registers"):
            mine = [p for p in self.points if p.function == function]
            if not mine:
                continue
            start = min(p.address for p in mine)
            end = max(p.address + p.width for p in mine)
            if end - start > 125:
                sys.exit("reference_gateway: %s spans %d registers; more than one read" % (function, end - start))
            self.reads.append((function, start, end - start, [(p, p.address - start) for p in mine]))
        if any(p.function not in ("input-registers", "holding-registers") for p in self.points):
            sys.exit("reference_gateway: only register points are supported")


def utc(ms):
    t = datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (ms % 1000)


class Counters:
    def __init__(self):
        self.lock = threading.Lock()
        self.cycles = 0
        self.overruns = 0
        self.reads = 0
        self.read_failures = 0
        self.published = 0
        self.publish_errors = 0
        self.busy_seconds = 0.0
        self.longest_cycle_seconds = 0.0

    def add(self, **kw):
        with self.lock:
            for k, v in kw.items():
                setattr(self, k, getattr(self, k) + v)

    def cycle(self, seconds, overran):
        with self.lock:
            self.cycles += 1
            self.overruns += overran
            self.busy_seconds += seconds
            self.longest_cycle_seconds = max(self.longest_cycle_seconds, seconds)


class Device:
    def __init__(self, number, client, unit, profile, topic_prefix):
        self.id = "dev-%03d" % number
        self.bed = "bed-%03d" % number
        self.topic = "%s/beds/%s/vitals" % (topic_prefix, self.bed)
        self.client = client
        self.unit = unit
        self.profile = profile
        self.seq = 0

    def poll_and_publish(self, publisher, counters):
        samples = []
        failed = 0
        now_ms = int(time.time() * 1000)
        for function, start, count, placed in self.profile.reads:
            try:
                if function == "input-registers":
                    reply = self.client.read_input_registers(start, count=count, device_id=self.unit)
                else:
                    reply = self.client.read_holding_registers(start, count=count, device_id=self.unit)
                ok = not reply.isError()
            except Exception:  # noqa: BLE001 - a reference poller: any failure is comm-loss
                ok = False
            now_ms = int(time.time() * 1000)
            stamp = utc(now_ms)
            for point, offset in placed:
                if ok:
                    value, quality = point.decode(reply.registers, offset)
                else:
                    value, quality = None, "comm-loss"
                samples.append({"name": point.name, "value": value, "unit": point.unit, "mdc": point.mdc,
                                "mdc_code": point.mdc_code, "quality": quality, "device": self.id, "time": stamp})
            failed += 0 if ok else 1
        self.seq += 1
        payload = json.dumps({"bed": self.bed, "seq": self.seq, "time": utc(now_ms), "vitals": samples},
                             separators=(",", ":"))
        info = publisher.publish(self.topic, payload, qos=1)
        counters.add(reads=len(self.profile.reads), read_failures=failed, published=1,
                     publish_errors=0 if info.rc == mqtt.MQTT_ERR_SUCCESS else 1)


def run_loop(devices, interval, publisher, counters, stop):
    """Polls `devices` every `interval` seconds to absolute deadlines until `stop` is set."""
    deadline = time.monotonic()
    while not stop.is_set():
        woke = time.monotonic()
        for device in devices:
            device.poll_and_publish(publisher, counters)
        deadline += interval
        now = time.monotonic()
        overran = 0
        if deadline <= now:  # skip the deadlines already gone, as the agent does
            missed = int((now - deadline) // interval) + 1
            deadline += missed * interval
            overran = 1
        counters.cycle(now - woke, overran)
        stop.wait(max(0.0, deadline - time.monotonic()))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--first-port", type=int, required=True)
    parser.add_argument("--devices", type=int, default=32)
    parser.add_argument("--profile", required=True)
    parser.add_argument("--interval-ms", type=int, default=100)
    parser.add_argument("--mqtt-host", default="127.0.0.1")
    parser.add_argument("--mqtt-port", type=int, required=True)
    parser.add_argument("--topic-prefix", default="bench/reference")
    parser.add_argument("--topology", choices=("ports", "unit"), default="ports")
    parser.add_argument("--mode", choices=("sequential", "threads"), default="sequential")
    parser.add_argument("--stats", required=True)
    args = parser.parse_args()

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    profile = Profile(args.profile)
    publisher = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-reference-gateway")
    publisher.connect(args.mqtt_host, args.mqtt_port, keepalive=30)
    publisher.loop_start()
    if args.topology == "unit":
        if args.mode == "threads":
            parser.error("--mode threads needs --topology ports (one connection per device)")
        shared = ModbusTcpClient(args.host, port=args.first_port, timeout=0.5, retries=0)
        devices = [Device(n + 1, shared, n + 1, profile, args.topic_prefix) for n in range(args.devices)]
    else:
        devices = [Device(n + 1, ModbusTcpClient(args.host, port=args.first_port + n, timeout=0.5, retries=0), 1,
                          profile, args.topic_prefix) for n in range(args.devices)]
    for client in {id(d.client): d.client for d in devices}.values():
        client.connect()
    counters = Counters()
    interval = args.interval_ms / 1000
    if args.mode == "sequential":
        groups = [devices]
    else:
        groups = [[device] for device in devices]
    threads = [threading.Thread(target=run_loop, args=(group, interval, publisher, counters, stop), daemon=True)
               for group in groups]
    for thread in threads:
        thread.start()
    print("reference_gateway: %d device(s), %d read(s) each per %d ms cycle, %s, publishing to %s/beds/+/vitals"
          % (len(devices), len(profile.reads), args.interval_ms,
             "one thread per device" if args.mode == "threads" else "one thread for all devices",
             args.topic_prefix), flush=True)
    while not stop.is_set():
        stop.wait(0.5)
    for thread in threads:
        thread.join(timeout=2)
    publisher.loop_stop()
    publisher.disconnect()
    for client in {id(d.client): d.client for d in devices}.values():
        client.close()
    with open(args.stats, "w", encoding="utf-8") as f:
        stats = {k: getattr(counters, k) for k in ("cycles", "overruns", "reads", "read_failures", "published",
                                                   "publish_errors")}
        stats["mean_cycle_ms"] = round(1000 * counters.busy_seconds / max(1, counters.cycles), 2)
        stats["longest_cycle_ms"] = round(1000 * counters.longest_cycle_seconds, 2)
        stats["mode"] = args.mode
        stats["loops"] = len(threads)
        f.write(json.dumps(stats) + "\n")


if __name__ == "__main__":
    main()
