#!/usr/bin/env python3
"""Driver of Deploy/soak.sh (issue 16, part 6); Python standard library only.

One run: 32 chairs (a patient monitor and an infusion pump each, served by one bedside-simulator)
sampled every 100 ms by the agent, publishing to a local mosquitto through its disk queue. While it
runs, on a schedule spread over the run (see `schedule`):
  broker     mosquitto stopped (SIGTERM, its persistence saved) and started again 10 s later
  kill       the agent killed with SIGKILL and started again at once, as systemd's Restart= would
  silent     a monitor stops answering for 20 s (its requests are swallowed: the agent times out)
  garbage    a monitor answers with malformed replies for 15 s (a byte count 2 short of the
             registers asked for)
  desat      a monitor's SpO2 reads 88 % for 20 s (spo2-low, high priority, latches); 3 s after it
             ends the room's button is pressed (FIFO) to acknowledge it
The monitors of those chairs reach the simulator through FaultProxy below, which forwards Modbus TCP
frames and applies the fault of the moment; every other device is served directly.

A recorder (mosquitto_sub, persistent session, QoS 1) takes every vitals message and alarm event.
mosquitto keeps its sessions across its restarts (persistence on, unlimited queued messages), so a
message the broker acknowledged to the agent reaches the recorder even when the broker restarts in
between: a missing number is the agent's loss, not the broker's.

How gaps are counted: `seq` counts up by one per bed and continues across restarts (the queue's
checkpoint keeps each bed's last number), so the numbers of one bed received over the whole run,
whatever the number of agent processes, must be every integer from 1 (a fresh queue) to the last
received; each number missing is a lost message. Duplicates (a message sent again after a kill or a
dropped connection, flagged `replayed`) are counted and must carry the same `time` as the first copy
(otherwise a number was given to two different messages). Before the final stop the driver waits for
the queue to be empty (/metrics), so the tail is covered as well.
"""
import argparse
import array
import asyncio
import calendar
import errno
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import zlib

from throughput import free_port, log  # the throughput harness's, beside this file

MONITOR_ROLES = {"silent": (3, 27), "garbage": (11, 19), "desat": (7, 23), "range": (15, 31)}
PROXIED_CHAIRS = sorted(c for chairs in MONITOR_ROLES.values() for c in chairs)
DESAT_SPO2 = 88
OUT_OF_RANGE_SPO2 = 300  # the profile's range is 0...100
VITALS_HEAD = re.compile(rb'"bed":"([^"]+)","seq":(\d+),"time":"([^"]+)"')




class FaultProxy:
    """Modbus TCP between the agent and one simulated monitor, frame by frame; `mode` is
    "pass", "silent", "garbage" or "spo2=N" (input register 0 of each reply that holds it)."""

    def __init__(self, upstream_port):
        self.upstream_port = upstream_port
        self.mode = "pass"
        self.port = None

    async def start(self):
        server = await asyncio.start_server(self.serve, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]

    async def serve(self, reader, writer):
        upstream_writer = None
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
            while True:
                header = await reader.readexactly(7)
                body = await reader.readexactly(int.from_bytes(header[4:6], "big") - 1)
                mode = self.mode
                if mode == "silent":
                    continue
                upstream_writer.write(header + body)
                await upstream_writer.drain()
                reply_header = await upstream_reader.readexactly(7)
                reply_body = bytearray(await upstream_reader.readexactly(int.from_bytes(reply_header[4:6], "big") - 1))
                reads_register_0 = body[0] == 4 and body[1:3] == b"\x00\x00" and reply_body[0] == 4 and reply_body[1] >= 2
                if mode == "garbage" and reply_body[0] in (3, 4) and reply_body[1] >= 2:
                    reply_body = bytearray([reply_body[0], reply_body[1] - 2]) + reply_body[2:-2]
                    reply_header = reply_header[:4] + (len(reply_body) + 1).to_bytes(2, "big") + reply_header[6:]
                elif mode.startswith("spo2=") and reads_register_0:
                    reply_body[2:4] = int(mode[5:]).to_bytes(2, "big")
                writer.write(reply_header + bytes(reply_body))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            pass
        finally:
            for w in (writer, upstream_writer):
                if w is not None:
                    w.close()


class Recorder:
    """Reads mosquitto_sub's output (`topic payload` lines): vitals numbers per bed, alarm events."""

    def __init__(self, command):
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, bufsize=1 << 16)
        self.first = {}       # bed -> first seq received
        self.times = {}       # bed -> array of crc32(time)|1 per seq - first (0: not received)
        self.messages = 0
        self.duplicates = 0
        self.replayed = 0
        self.reused = 0       # same bed + seq, different time: a number given twice
        self.events = []      # (receipt wall s, event dict)
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self.read, daemon=True)
        self.thread.start()

    def read(self):
        for line in self.process.stdout:
            topic, _, payload = line.partition(b" ")
            if topic.endswith(b"/vitals"):
                match = VITALS_HEAD.search(payload)
                if match:
                    self.vitals(match.group(1).decode(), int(match.group(2)), match.group(3), b'"replayed":true' in payload)
            elif topic.endswith(b"/alarms/events"):
                try:
                    event = json.loads(payload)
                except ValueError:
                    continue
                with self.lock:
                    self.events.append((time.time(), event))

    def vitals(self, bed, seq, stamp, replayed):
        with self.lock:
            self.messages += 1
            self.replayed += replayed
            if bed not in self.first:
                self.first[bed] = seq
                self.times[bed] = array.array("L")
            index = seq - self.first[bed]
            if index < 0:  # an older number than the first seen: shift the array
                self.times[bed] = array.array("L", [0] * -index) + self.times[bed]
                self.first[bed] = seq
                index = 0
            column = self.times[bed]
            if index >= len(column):
                column.extend([0] * (index + 1 - len(column) + 1024))
            mark = zlib.crc32(stamp) | 1
            if column[index]:
                self.duplicates += 1
                self.reused += column[index] != mark
            else:
                column[index] = mark

    def last(self, bed):
        column = self.times.get(bed)
        if not column:
            return 0
        top = len(column) - 1
        while top >= 0 and not column[top]:
            top -= 1
        return self.first[bed] + top

    def gaps(self, bed, last):
        """Numbers from 1 to `last` (the last the agent gave) never received."""
        with self.lock:
            column = self.times.get(bed)
            if not column:
                return last
            first = self.first[bed]
            return (first - 1) + sum(1 for i in range(last - first + 1) if i >= len(column) or not column[i])

    def stop(self):
        self.process.terminate()
        self.process.wait()
        self.thread.join(timeout=5)


class Soak:
    def __init__(self, args):
        self.args = args
        self.work = args.work
        self.chairs = args.chairs
        self.broker_port = free_port()
        self.health_port = free_port()
        self.queue = os.path.join(self.work, "queue")
        self.buzzer = os.path.join(self.work, "buzzer.txt")
        self.button = os.path.join(self.work, "button.fifo")
        self.wall_minus_monotonic = time.time_ns() - time.monotonic_ns()
        self.episodes = []        # (kind, chair, start wall s, end wall s)
        self.kills = 0
        self.crashes = []         # (wall s, exit status)
        self.broker = None
        self.agent = None
        self.agent_started = 0.0
        self.agent_log = None
        self.rows = []
        self.unexpected_exit = None

    # --- processes ---

    def start_broker(self):
        self.broker = subprocess.Popen(["mosquitto", "-c", os.path.join(self.work, "mosquitto.conf")],
                                       stdout=open(os.path.join(self.work, "mosquitto.log"), "a"), stderr=subprocess.STDOUT)
        wait_until(lambda: port_open(self.broker_port), 10) or sys.exit("soak: mosquitto did not listen")

    def stop_broker(self):
        self.broker.terminate()
        self.broker.wait(timeout=30)

    def start_agent(self):
        self.agent_log = open(os.path.join(self.work, "agent.log"), "a")
        self.agent = subprocess.Popen([self.args.agent, "run", "--config", os.path.join(self.work, "agent.yaml")],
                                      stdout=self.agent_log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.agent_started = time.time()
        self.agent_started_monotonic = time.monotonic()

    def kill_agent(self):
        self.agent.send_signal(signal.SIGKILL)
        self.agent.wait()
        self.kills += 1
        self.start_agent()

    def check_agent(self):
        """An exit nobody asked for is a crash: counted, and the agent started again."""
        code = self.agent.poll()
        if code is not None:
            self.crashes.append((time.time(), code))
            log(f"CRASH: the agent exited with status {code}; starting it again")
            self.start_agent()

    def press_button(self):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                fd = os.open(self.button, os.O_WRONLY | os.O_NONBLOCK)
            except OSError as error:
                if error.errno != errno.ENXIO:
                    raise
                time.sleep(0.2)  # the agent is starting again: nobody reads the FIFO yet
                continue
            os.write(fd, b"1\n")
            time.sleep(0.15)
            os.write(fd, b"0\n")
            os.close(fd)
            return True
        return False

    # --- configuration ---

    def write_configs(self, simulator_port):
        with open(os.path.join(self.work, "mosquitto.conf"), "w") as f:
            f.write(f"listener {self.broker_port} 127.0.0.1\nallow_anonymous true\n"
                    f"persistence true\npersistence_location {self.work}/\nautosave_interval 3600\n"
                    "max_queued_messages 0\nmax_inflight_messages 0\n")
        lines = ["site: soak", "box: soak",
                 f"mqtt: {{host: 127.0.0.1, port: {self.broker_port}, topic_prefix: soak}}",
                 "sampling: {interval_ms: 100}",
                 f"queue: {{directory: {self.queue}}}",
                 f"health: {{port: {self.health_port}}}",
                 "hardware:",
                 f"  buzzer: {{record_to: {self.buzzer}}}",
                 f"  button: {{fifo: {self.button}}}",
                 "beds:"]
        for n in range(1, self.chairs + 1):
            monitor = self.proxies[n].port if n in self.proxies else simulator_port + n - 1
            lines += [f"  - id: chair-{n}", "    devices:",
                      f"      - {{id: monitor-{n}, profile: patient-monitor, tcp: {{host: 127.0.0.1, port: {monitor}}}}}",
                      f"      - {{id: pump-{n}, profile: infusion-pump, tcp: {{host: 127.0.0.1, port: {simulator_port + self.chairs + n - 1}}}}}"]
        with open(os.path.join(self.work, "agent.yaml"), "w") as f:
            f.write("\n".join(lines) + "\n")

    # --- the schedule ---

    def schedule(self, seconds):
        """(offset s, action, chair) for the whole run, after a 60 s start and before a 60 s quiet
        end. Periods are those of a 60-minute run, shortened for short runs so each fault happens at
        least twice."""
        span = seconds - 120
        plan = []
        # kind: (period s, phase as a share of the period)
        for kind, (period, phase) in {"broker": (270, 0.3), "kill": (540, 0.7), "silent": (360, 0.15),
                                      "garbage": (360, 0.55), "desat": (300, 0.8), "range": (600, 0.45)}.items():
            period = min(period, span / 2)
            t, k = period * phase, 0
            while t < span:
                chair = MONITOR_ROLES[kind][k % 2] if kind in MONITOR_ROLES else None
                plan.append((60 + t, kind, chair))
                t += period
                k += 1
        return sorted(plan)

    def episode(self, kind, chair):
        proxy = self.proxies.get(chair)
        now = time.time()
        if kind == "broker":
            log("broker: stopped for 10 s")
            self.stop_broker()
            self.sleep(10)
            self.start_broker()
        elif kind == "kill":
            log(f"kill -9 of the agent (pid {self.agent.pid}), started again at once")
            self.kill_agent()
        elif kind == "silent":
            log(f"monitor-{chair}: silent for 20 s")
            proxy.mode = "silent"
            self.sleep(20)
            proxy.mode = "pass"
        elif kind == "garbage":
            log(f"monitor-{chair}: malformed replies for 15 s")
            proxy.mode = "garbage"
            self.sleep(15)
            proxy.mode = "pass"
        elif kind == "range":
            log(f"monitor-{chair}: SpO2 register {OUT_OF_RANGE_SPO2} (out of range) for 20 s")
            proxy.mode = f"spo2={OUT_OF_RANGE_SPO2}"
            self.sleep(20)
            proxy.mode = "pass"
        elif kind == "desat":
            log(f"monitor-{chair}: SpO2 {DESAT_SPO2} % for 20 s, then the button")
            proxy.mode = f"spo2={DESAT_SPO2}"
            self.sleep(20)
            proxy.mode = "pass"
            end = time.time()
            self.sleep(3)
            pressed = time.time()
            if not self.press_button():
                log("the button FIFO had no reader for 10 s")
            self.episodes.append((kind, chair, now, end, pressed))
            return
        self.episodes.append((kind, chair, now, time.time(), None))

    # --- figures ---

    def sample(self, previous):
        pid = self.agent.pid
        try:
            status = open(f"/proc/{pid}/status").read()
            rss_kib = int(re.search(r"VmRSS:\s+(\d+)", status).group(1))
            threads = int(re.search(r"Threads:\s+(\d+)", status).group(1))
            fds = len(os.listdir(f"/proc/{pid}/fd"))
            fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
            ticks = int(fields[11]) + int(fields[12])
        except (OSError, AttributeError):
            return previous
        queue_bytes = 0
        for root, _, files in os.walk(self.queue):
            for name in files:
                try:
                    queue_bytes += os.path.getsize(os.path.join(root, name))
                except OSError:
                    pass
        now = time.monotonic()
        # CPU % of one core since the last row, or since the start of a process started in between.
        since, before = (previous["at"], previous["ticks"]) if previous and previous["pid"] == pid else (self.agent_started_monotonic, 0)
        cpu = 100 * (ticks - before) / os.sysconf("SC_CLK_TCK") / (now - since)
        return {"pid": pid, "ticks": ticks, "at": now, "rss_kib": rss_kib, "fds": fds, "threads": threads,
                "queue_bytes": queue_bytes, "cpu": cpu}

    def metric(self, name):
        try:
            text = urllib.request.urlopen(f"http://127.0.0.1:{self.health_port}/metrics", timeout=2).read().decode()
        except OSError:
            return None
        match = re.search(rf"^{name}(?:{{[^}}]*}})? (\S+)$", text, re.M)
        return float(match.group(1)) if match else None

    def sleep(self, seconds):
        """Sleeps while watching the agent and taking the minute's figures."""
        deadline = time.monotonic() + seconds
        while True:
            self.check_agent()
            now = time.monotonic()
            if now >= self.next_row:
                self.take_row()
            left = deadline - now
            if left <= 0:
                return
            time.sleep(min(left, 0.2, max(self.next_row - now, 0.01)))

    def take_row(self):
        self.last_sample = self.sample(self.last_sample)
        s = self.last_sample
        minute = round((time.monotonic() - self.began) / 60)
        row = dict(minute=minute, rss_kib=s["rss_kib"], fds=s["fds"], threads=s["threads"],
                   queue_bytes=s["queue_bytes"], cpu=s["cpu"], pid=s["pid"], messages=self.recorder.messages)
        self.rows.append(row)
        cpu = f"{row['cpu']:5.1f}"
        print(f"{minute:4d} {row['rss_kib'] / 1024:8.2f} {row['fds']:4d} {row['threads']:4d} "
              f"{row['queue_bytes'] / 1024:9.1f} {cpu} {row['pid']:8d} {row['messages']:10d}", flush=True)
        self.next_row += 60

    # --- the run ---

    def run(self):
        os.mkfifo(self.button)
        simulator_port = self.args.simulator_port
        self.simulator = subprocess.Popen(
            [self.args.simulator, "--host", "127.0.0.1", "--port", str(simulator_port),
             "--devices", f"monitor:{self.chairs},pump:{self.chairs}"],
            stdout=open(os.path.join(self.work, "simulator.log"), "w"), stderr=subprocess.STDOUT)
        loop = asyncio.new_event_loop()
        threading.Thread(target=loop.run_forever, daemon=True).start()
        self.proxies = {}
        for chair in PROXIED_CHAIRS:
            if chair <= self.chairs:
                proxy = FaultProxy(simulator_port + chair - 1)
                asyncio.run_coroutine_threadsafe(proxy.start(), loop).result()
                self.proxies[chair] = proxy
        self.write_configs(simulator_port)
        wait_until(lambda: all(port_open(simulator_port + i) for i in range(2 * self.chairs)), 20) \
            or sys.exit("soak: the simulator did not listen")
        self.start_broker()
        self.recorder = Recorder(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(self.broker_port), "-i", "soak-recorder",
                                  "-c", "-q", "1", "-F", "%t %p", "-t", "soak/beds/+/vitals", "-t", "soak/beds/+/alarms/events"])
        time.sleep(0.5)
        self.start_agent()
        seconds = self.args.minutes * 60
        plan = self.schedule(seconds)
        log(f"{self.chairs} chairs at 100 ms for {self.args.minutes} min; {len(plan)} episodes: " +
            ", ".join(f"{k} {sum(1 for _, kind, _ in plan if kind == k)}" for k in ("broker", "kill", "silent", "garbage", "desat", "range")))
        print("# min  RSS MiB  fds thr  queue KiB  CPU %      pid   messages", flush=True)
        self.began = time.monotonic()
        self.next_row = self.began + 60
        self.last_sample = None
        for offset, kind, chair in plan:
            self.sleep(self.began + offset - time.monotonic())
            self.episode(kind, chair)
        self.sleep(max(30, self.began + seconds - time.monotonic()))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and self.metric("bedside_queue_pending_messages") != 0:
            self.sleep(0.5)
        self.agent.send_signal(signal.SIGTERM)
        stop_status = self.agent.wait(timeout=30)
        time.sleep(2)
        self.recorder.stop()
        self.stop_broker()
        self.simulator.terminate()
        self.simulator.wait()
        return self.report(stop_status)

    def appended(self):
        """Each bed's last vitals number the agent ever gave, from the queue's checkpoint after the
        clean stop (layout in Sources/StoreAndForward/QueueCheckpoint.swift), and the segment
        files left (messages not acknowledged at the stop)."""
        data = open(os.path.join(self.queue, "checkpoint"), "rb").read()
        if data[:4] != b"BQC\x01" or int.from_bytes(data[4:8], "little") != len(data) \
                or zlib.crc32(data[12:]) != int.from_bytes(data[8:12], "little"):
            sys.exit("soak: the queue checkpoint is not intact")
        last, offset = {}, 24
        for _ in range(int.from_bytes(data[20:24], "little")):
            length = int.from_bytes(data[offset:offset + 2], "little")
            topic = data[offset + 2:offset + 2 + length].decode()
            last[topic] = int.from_bytes(data[offset + 2 + length:offset + 10 + length], "little", signed=True)
            offset += 10 + length
        segments = [name for name in os.listdir(self.queue) if name.endswith(".seg")]
        return last, segments

    def report(self, stop_status):
        failures = []
        r = self.recorder
        print()
        beds = [f"chair-{n}" for n in range(1, self.chairs + 1)]
        last, segments = self.appended()
        given = {bed: last.get(f"soak/beds/{bed}/vitals", 0) for bed in beds}
        gaps = {bed: r.gaps(bed, given[bed]) for bed in beds}
        total_gaps = sum(gaps.values())
        print(f"vitals: {sum(given.values())} numbered by the agent (queue checkpoint), {r.messages} received, "
              f"{r.duplicates} duplicates ({r.replayed} flagged replayed), {r.reused} numbers reused with another time, "
              f"{len(segments)} queue segment(s) left at the stop")
        print(f"sequence gaps (numbers given, never received): {total_gaps} over {self.chairs} beds" +
              "".join(f"; {bed}: {g}" for bed, g in gaps.items() if g))
        short = [bed for bed in beds if given[bed] < self.args.minutes * 60 * 10 * 0.5]
        if total_gaps or r.reused or short:
            failures.append(f"{total_gaps} gap(s), {r.reused} reused number(s), {len(short)} bed(s) with under half the cycles")
        print(f"agent: {self.kills} kill -9 sent, {len(self.crashes)} crash(es)"
              + "".join(f"; status {c} at {time.strftime('%H:%M:%S', time.gmtime(t))}" for t, c in self.crashes)
              + f"; final SIGTERM -> status {stop_status}")
        if self.crashes or stop_status != 0:
            failures.append(f"{len(self.crashes)} crash(es), final exit status {stop_status}")

        # Alarms: every provoked condition must start (an event) and, for the desaturations, sound.
        edges = []
        try:
            with open(self.buzzer) as f:
                for line in f:
                    parts = line.split()
                    if len(parts) == 2 and parts[1] == "1":
                        edges.append(int(parts[0]))
        except FileNotFoundError:
            pass
        events = [e for _, e in r.events]
        with open(os.path.join(self.work, "events.jsonl"), "w") as f:
            for received, e in r.events:
                f.write(json.dumps({"received": received, **e}) + "\n")
        with open(os.path.join(self.work, "episodes.json"), "w") as f:
            json.dump({"episodes": self.episodes, "crashes": self.crashes, "rows": self.rows}, f)
        starts = [e for e in events if e.get("event") == "start"]

        def wall_s(event):
            stamp = event["time"]
            return calendar.timegm(time.strptime(stamp[:19], "%Y-%m-%dT%H:%M:%S")) + float("0" + stamp[19:-1])

        expected = {"desat": "spo2-low", "silent": "comm-loss-monitor-{}", "garbage": "comm-loss-monitor-{}",
                    "range": "out-of-range-spo2"}
        provoked = raised = sounded = acknowledged = 0
        explained = set()
        for kind, chair, began, ended, pressed in self.episodes:
            if kind not in expected:
                continue
            provoked += 1
            bed, condition = f"chair-{chair}", expected[kind].format(chair)
            found = [e for e in starts if e["bed"] == bed and e["condition"] == condition
                     and began - 0.5 <= wall_s(e) <= ended + 3]
            explained.update(id(e) for e in starts if e["bed"] == bed and e["condition"] == condition
                             and began - 0.5 <= wall_s(e) <= ended + 40)
            if not found:
                failures.append(f"{kind} on {bed} at {time.strftime('%H:%M:%S', time.gmtime(began))}: no {condition} start event")
                continue
            raised += 1
            if kind == "desat":
                start_ns = int(wall_s(found[0]) * 1e9) - self.wall_minus_monotonic
                if any(start_ns - 50_000_000 <= edge <= start_ns + 3_000_000_000 for edge in edges):
                    sounded += 1
                else:
                    failures.append(f"desat on {bed}: the buzzer did not sound within 3 s of the start")
                if any(e["bed"] == bed and e["condition"] == condition and e.get("event") in ("acknowledge", "end")
                       and wall_s(e) >= pressed - 0.5 for e in events):
                    acknowledged += 1
                else:
                    failures.append(f"desat on {bed}: no acknowledge/end after the button")
        desats = sum(1 for e in self.episodes if e[0] == "desat")
        print(f"alarms: {provoked} provoked, {raised} raised as start events; desaturations {desats}: "
              f"{sounded} sounded within 3 s, {acknowledged} acknowledged by the button")
        others = {}
        for e in starts:
            if id(e) not in explained:
                key = f"{re.sub(r'-[0-9]+$', '-N', e['condition'])} ({e['priority']})"
                others.setdefault(key, []).append(time.strftime("%H:%M:%S", time.gmtime(wall_s(e))))
        # Reported, not gated: a loaded machine can make a loop overrun for real. What must not
        # happen is one silent monitor raising it on beds whose devices all answered.
        overrun_beds = sorted({e["bed"] for e in starts if id(e) not in explained and e["condition"] == "agent-loop-overrun"})
        print(f"agent-loop-overrun raised on {len(overrun_beds)} bed(s) without a provoked cause")
        print("other alarm starts (not provoked): " + ("; ".join(
            f"{k} x{len(v)} at {', '.join(sorted(set(v)))}" for k, v in sorted(others.items())) or "none"))
        event_gaps = 0
        by_bed = {}
        for e in events:
            by_bed.setdefault(e["bed"], set()).add(e["seq"])
        for numbers in by_bed.values():
            event_gaps += max(numbers) - min(numbers) + 1 - len(numbers)
        print(f"alarm events: {len(events)} received, {event_gaps} gap(s) in their per-bed numbers")
        if event_gaps:
            failures.append(f"{event_gaps} gap(s) in alarm event numbers")

        # Flatness after warm-up, within one process's life and across restarts.
        warm = max(1, round(self.args.minutes * self.args.warmup / 100))
        after = [row for row in self.rows if row["minute"] >= warm]
        if len(after) >= 2:
            # Flat: the highest RSS of the last quarter of the rows after warm-up against that of
            # the first quarter (a kill -9 starts a fresh process, so single rows jump either way).
            quarter = max(1, len(after) // 4)
            rss_early = max(row["rss_kib"] for row in after[:quarter]) / 1024
            rss_late = max(row["rss_kib"] for row in after[-quarter:]) / 1024
            fd_early = max(row["fds"] for row in after[:quarter])
            fd_growth = max(row["fds"] for row in after) - fd_early
            cpus = sorted(row["cpu"] for row in after)
            lives, rises = {}, []
            for row in after:
                lives.setdefault(row["pid"], []).append(row["rss_kib"])
            for values in lives.values():
                if len(values) >= 3:
                    rises.append((values[-1] - values[0]) / 1024)
            print(f"after warm-up (minute {warm} on): RSS max {rss_early:.2f} MiB in the first quarter, {rss_late:.2f} in the last "
                  f"({rss_late - rss_early:+.2f}, bound +{self.args.rss_bound_mib}), overall "
                  f"{min(row['rss_kib'] for row in after) / 1024:.2f}-{max(row['rss_kib'] for row in after) / 1024:.2f}; "
                  f"descriptors {min(row['fds'] for row in after)}-{max(row['fds'] for row in after)} "
                  f"(+{fd_growth} over the first quarter's max, bound +{self.args.fd_bound}); "
                  f"threads {min(row['threads'] for row in after)}-{max(row['threads'] for row in after)}; "
                  f"queue on disk max {max(row['queue_bytes'] for row in after) / 1024:.0f} KiB; "
                  f"CPU % of one core median {cpus[len(cpus) // 2]:.1f}, max {cpus[-1]:.1f}")
            if rises:
                print(f"RSS within one process's life (first -> last row, {len(rises)} process(es) of 3+ rows): "
                      + ", ".join(f"{rise:+.2f}" for rise in rises) + " MiB")
            if rss_late - rss_early > self.args.rss_bound_mib:
                failures.append(f"RSS grew {rss_late - rss_early:.2f} MiB after warm-up")
            if fd_growth > self.args.fd_bound:
                failures.append(f"descriptors grew by {fd_growth} after warm-up")
        print("PASS" if not failures else "FAIL:\n  " + "\n  ".join(failures))
        return 0 if not failures else 1


def port_open(port):
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def wait_until(condition, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=60)
    parser.add_argument("--chairs", type=int, default=32)
    parser.add_argument("--work", required=True)
    parser.add_argument("--agent", required=True)
    parser.add_argument("--simulator", required=True)
    parser.add_argument("--simulator-port", type=int, required=True)
    parser.add_argument("--warmup", type=float, default=10, help="share of the run, percent")
    parser.add_argument("--rss-bound-mib", type=float, default=1.0)
    parser.add_argument("--fd-bound", type=int, default=2)
    args = parser.parse_args()
    soak = Soak(args)
    try:
        code = soak.run()
    finally:
        recorder = getattr(soak, "recorder", None)
        for process in (soak.agent, soak.broker, getattr(soak, "simulator", None), recorder and recorder.process):
            if process is not None and process.poll() is None:
                process.kill()
    sys.exit(code)


if __name__ == "__main__":
    main()
