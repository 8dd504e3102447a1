#!/usr/bin/env python3
"""Driver of Deploy/bench-throughput.sh and Deploy/bench-idle.sh (Python standard library only;
the shell scripts set up the tools, binaries and the Python reference's virtual environment).

What one run is: a fresh gateway (the agent, mqmgateway or the Python reference) pinned to CPU 1
samples the simulator's devices and publishes to the broker; the broker, the simulator and the
subscriber are pinned to CPU 0. After a warm-up, a window: CPU ticks of the whole process
(/proc/PID/stat), context switches summed over its threads (/proc/PID/task/*/status), CPU per
thread, the device side's TCP byte counters (requests), then peak RSS (VmHWM) at the end. The
subscriber is mosquitto_sub printing each message with its receipt time (%U, CLOCK_REALTIME in
ns); the simulator stamps register 1 of every device with the time of each reply
(--reply-time-register), so receipt - stamp (mod 65536 units of 100 us) is read -> subscriber.

Modes:
  throughput: for each workload, REPS interleaved pairs (agent, reference, agent, reference...),
              then one agent run with the allocation counter (LD_PRELOAD) on the first workload.
  idle:       the agent alone on 4 chairs (a patient monitor and an infusion pump each) at 1 s.
"""
import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")
STAMP_UNIT_NS = 100_000
STAMP_POINT = "reply_time"
REGISTERS = 16
INFRA_CPU = "0"
GATEWAY_CPU = "1"
REQUEST_BYTES = 12  # a Modbus TCP read request ADU: MBAP header 7 + function 1 + start 2 + count 2


def log(*parts):
    print(time.strftime("%H:%M:%S"), *parts, file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_is_free(port):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def free_port_range(count, avoid):
    for _ in range(200):
        base = 20000 + int.from_bytes(os.urandom(2), "little") % 10000
        ports = range(base, base + count)
        if avoid not in ports and all(port_is_free(p) for p in ports):
            return base
    raise SystemExit(f"bench: no {count} free consecutive ports found")


def listening(port):
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def wait_for(condition, seconds, what):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise SystemExit(f"bench: {what} within {seconds} s")


# ------------------------------------------------------------------------------ /proc readings
def stat_fields(path):
    with open(path) as f:
        text = f.read()
    return text[text.rindex(")") + 2:].split()


def cpu_ticks(pid):
    fields = stat_fields(f"/proc/{pid}/stat")
    return int(fields[11]) + int(fields[12])  # utime + stime of every thread


def status_of(path):
    out = {}
    with open(path) as f:
        for line in f:
            key, _, value = line.partition(":")
            out[key] = value.strip()
    return out


def threads_of(pid):
    """{tid: (name, cpu ticks, context switches, on-CPU ns from schedstat)}"""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                name = f.read().strip()
            fields = stat_fields(f"/proc/{pid}/task/{tid}/stat")
            st = status_of(f"/proc/{pid}/task/{tid}/status")
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                on_cpu_ns = int(f.read().split()[0])
        except (OSError, ValueError):
            continue
        switches = int(st["voluntary_ctxt_switches"]) + int(st["nonvoluntary_ctxt_switches"])
        out[tid] = (name, int(fields[11]) + int(fields[12]), switches, on_cpu_ns)
    return out


def group_name(name):
    return "bus threads" if name.startswith("bus ") else name


def device_bytes(first_port, last_port):
    """bytes the simulator received on its accepted connections, by connection"""
    text = subprocess.run(["ss", "-Htin", "state", "established",
                           f"( sport >= :{first_port} and sport <= :{last_port} )"],
                          capture_output=True, text=True).stdout
    out, key = {}, None
    for line in text.splitlines():
        if line and not line[0].isspace():
            parts = line.split()
            key = parts[2] + ">" + parts[3]
        elif key:
            for item in line.split():
                if item.startswith("bytes_received:"):
                    out[key] = int(item.split(":")[1])
    return out


def kib(value):
    return int(value.split()[0]) if value else 0


# ------------------------------------------------------------------------------ configurations
# An MLLP receiver for BENCH_CHARTING's `hl7:` (PCD-01): acknowledges every message with AA and
# counts them; it plays the charting system's interface engine, pinned beside the broker.
MLLP_ACK_RECEIVER = r"""
import signal, socket, sys
server = socket.socket(); server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", int(sys.argv[1]))); server.listen(4)
received = 0
def report(*_):
    print(f"received {received} HL7 messages", flush=True); sys.exit(0)
signal.signal(signal.SIGTERM, report)
while True:
    connection, _ = server.accept()
    buffer = b""
    while True:
        data = connection.recv(1 << 16)
        if not data: break
        buffer += data
        while b"\x1c\r" in buffer:
            frame, buffer = buffer.split(b"\x1c\r", 1)
            control = frame[frame.index(b"\x0b") + 1:].split(b"\r", 1)[0].split(b"|")[9]
            received += 1
            connection.sendall(b"\x0bMSH|^~\\&|BENCH||||20261203||ACK|a|P|2.6\rMSA|AA|" + control + b"\r\x1c\r")
"""


def agent_config(path, work, devices, topology, base_port, broker_port, profile, interval_ms, chairs=False):
    lines = ["site: bench", "box: bench",
             f"mqtt: {{host: 127.0.0.1, port: {broker_port}, topic_prefix: bench/agent}}",
             # sampling.priority left at its default: SCHED_FIFO 80 for every bus thread
             f"sampling: {{interval_ms: {interval_ms}}}",
             f"queue: {{directory: {work}/queue}}",  # QoS 1 through the disk queue, fsync: interval
             "health: {listen: 127.0.0.1, port: 0, require_clock_sync: false}"]
    if os.environ.get("BENCH_CHARTING"):  # e.g. "{interval_s: 1}"; without it a row a minute, FHIR on
        lines.append("charting: " + os.environ["BENCH_CHARTING"])
    if profile:
        lines += ["device_profiles:", f"  - {profile}"]
    lines.append("beds:")
    if chairs:  # monitors on the first `devices` ports, pumps on the next `devices`
        for n in range(1, devices + 1):
            lines += [f"  - id: chair-{n}", "    devices:",
                      f"      - {{id: monitor-{n}, profile: patient-monitor, tcp: {{host: 127.0.0.1, port: {base_port + n - 1}}}}}",
                      f"      - {{id: pump-{n}, profile: infusion-pump, tcp: {{host: 127.0.0.1, port: {base_port + devices + n - 1}}}}}"]
    else:
        for n in range(1, devices + 1):
            port, unit = (base_port, n) if topology == "unit" else (base_port + n - 1, 1)
            lines += [f"  - id: bed-{n:03d}", "    devices:",
                      f"      - {{id: dev-{n:03d}, profile: bench-16-holding, tcp: {{host: 127.0.0.1, port: {port}}}, unit_id: {unit}}}"]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def mqm_config(path, mqm, devices, topology, base_port, broker_port, interval_ms):
    """mqmgateway's YAML for the same work: one poll of holding registers 0-15 per device per
    cycle, one JSON object per device per poll (publish_mode every_poll), QoS 0 (its default).
    mqmgateway numbers registers from 1: register N is Modbus address N - 1."""
    converters = os.path.join(os.path.dirname(os.path.dirname(mqm)), "stdconv")
    out = ["modmqttd:", "  log_level: warning"]
    if os.path.isdir(converters):
        out += ["  converter_search_path:", f"    - {converters}", "  converter_plugins:", "    - stdconv.so"]
    out += ["modbus:", "  networks:"]
    endpoints = [(f"port{base_port}", base_port, f"1-{devices}")] if topology == "unit" else \
        [(f"port{base_port + i}", base_port + i, "1") for i in range(devices)]
    for name, port, slaves in endpoints:
        out += [f"    - name: {name}", "      address: 127.0.0.1", f"      port: {port}",
                "      response_timeout: 500ms", "      slaves:", f"        - address: {slaves}",
                "          poll_groups:", "            - register: 1", "              register_type: holding",
                f"              count: {REGISTERS}"]
    out += ["mqtt:", "  client_id: bench-mqmgateway", f"  refresh: {interval_ms}ms", "  publish_mode: every_poll",
            "  broker:", "    host: 127.0.0.1", f"    port: {broker_port}", "  objects:"]
    names = ["r00", STAMP_POINT] + [f"r{i:02d}" for i in range(2, REGISTERS)]
    if topology == "unit":
        objects = [("bench/mqm/dev${slave_address}", endpoints[0][0], endpoints[0][2])]
    else:
        objects = [(f"bench/mqm/{name}", name, "1") for name, _, _ in endpoints]
    for topic, network, slave in objects:
        out += [f"    - topic: {topic}", f"      network: {network}", f"      slave: {slave}",
                "      retain: false", "      state:"]
        for i, name in enumerate(names):
            out += [f"        - name: {name}", f"          register: {i + 1}", "          register_type: holding"]
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


# ------------------------------------------------------------------------------ what the subscriber got
def percentile(values, fraction):
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def analyse(path, t0, t1):
    """Messages received in [t0, t1] (wall clock, s): latencies (ms), sizes, sequence gaps,
    comm-loss samples."""
    latencies, sizes, seqs = [], [], {}
    messages = gaps = commloss = not_ok = stale = undecodable = 0
    with open(path, "rb") as f:
        for raw in f:
            parts = raw.rstrip(b"\n").split(b" ", 2)
            if len(parts) < 3:
                continue
            try:
                received, topic, payload = float(parts[0]), parts[1].decode(errors="replace"), parts[2]
            except ValueError:  # a line of mosquitto_sub's own (an error message)
                undecodable += 1
                continue
            if received < t0 or received > t1:
                continue
            if topic.endswith("/availability"):  # mqmgateway's per-device "1", or "0" when it stops answering
                commloss += payload.strip() == b"0"
                continue
            try:
                message = json.loads(payload)
            except ValueError:
                undecodable += 1
                continue
            if not isinstance(message, dict):
                continue
            stamp = None
            if "vitals" in message:  # the agent's and the Python reference's layout
                bed = message.get("bed")
                seq = message.get("seq")
                if bed in seqs and seq != seqs[bed] + 1:
                    gaps += 1
                seqs[bed] = seq
                for entry in message["vitals"]:
                    quality = entry.get("quality", "ok")
                    if quality == "comm-loss":
                        commloss += 1
                    elif quality != "ok":
                        not_ok += 1
                    if entry.get("name") == STAMP_POINT:
                        stamp = entry.get("value")
            elif STAMP_POINT in message:  # mqmgateway: {"r00": .., "reply_time": .., ...}
                stamp = message[STAMP_POINT]
                commloss += sum(1 for v in message.values() if v is None)
            else:
                continue
            messages += 1
            sizes.append(len(payload))
            if isinstance(stamp, (int, float)):
                now16 = int(received * 1e9) // STAMP_UNIT_NS & 0xFFFF
                units = (now16 - int(stamp)) & 0xFFFF
                if units > 60000:  # a stamp from the future: clocks or garbage, not a latency
                    stale += 1
                else:
                    latencies.append(units * STAMP_UNIT_NS / 1e6)
    return {"messages": messages, "latencies": latencies, "sizes": sizes, "gaps": gaps, "commloss": commloss,
            "not_ok": not_ok, "stale_stamps": stale, "undecodable": undecodable, "beds": len(seqs)}


# ------------------------------------------------------------------------------ one run
class Bench:
    def __init__(self, args):
        self.args = args
        self.work = args.work
        self.procs = []
        self.broker_port = free_port()
        with open(f"{self.work}/mosquitto.conf", "w") as f:
            f.write(f"listener {self.broker_port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
                    "set_tcp_nodelay true\n")
        self.broker = self.spawn(["taskset", "-c", INFRA_CPU, "mosquitto", "-c", f"{self.work}/mosquitto.conf"],
                                 "mosquitto.log")
        wait_for(lambda: listening(self.broker_port), 5, "the broker did not start")
        self.simulator = None
        charting = os.environ.get("BENCH_CHARTING", "")
        if "MLLP_PORT" in charting:  # e.g. "{interval_s: 1, hl7: {host: 127.0.0.1, port: MLLP_PORT}}"
            port = free_port()
            self.spawn(["taskset", "-c", INFRA_CPU, sys.executable, "-c", MLLP_ACK_RECEIVER, str(port)], "mllp-receiver.log")
            wait_for(lambda: listening(port), 5, "the MLLP receiver did not start")
            os.environ["BENCH_CHARTING"] = charting.replace("MLLP_PORT", str(port))

    def spawn(self, command, logname, env=None):
        proc = subprocess.Popen(command, stdout=open(f"{self.work}/{logname}", "w"), stderr=subprocess.STDOUT,
                                env=env)
        self.procs.append(proc)
        return proc

    def stop(self, proc, seconds=15):
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(seconds)
            except subprocess.TimeoutExpired:
                log(f"pid {proc.pid} did not stop within {seconds} s of SIGTERM: SIGKILL")
                proc.kill()
                proc.wait()
        return proc.returncode

    def stop_all(self):
        for proc in reversed(self.procs):
            self.stop(proc, 5)

    def start_devices(self, devices, topology, chairs=False):
        if self.simulator:
            self.stop(self.simulator)
        ports = 2 * devices if chairs else (1 if topology == "unit" else devices)
        self.base_port = free_port_range(ports, self.broker_port)
        self.last_port = self.base_port + ports - 1
        if chairs:
            kinds = ["--devices", f"monitor:{devices},pump:{devices}"]
        else:
            kinds = ["--devices", f"pattern:{ports}", "--pattern-profile", self.args.profile,
                     "--reply-time-register", "holding:1"]
        self.simulator = self.spawn(["taskset", "-c", INFRA_CPU, self.args.simulator, "--host", "127.0.0.1",
                                     "--port", str(self.base_port)] + kinds, f"simulator-{devices}-{topology}.log")
        wait_for(lambda: all(listening(p) for p in (self.base_port, self.last_port)), 10,
                 "the simulator did not listen")

    def gateway_command(self, peer, devices, topology, tag, interval_ms, chairs):
        run_dir = f"{self.work}/{tag}"
        os.makedirs(run_dir)
        if peer == "agent":
            config = f"{run_dir}/agent.yaml"
            agent_config(config, run_dir, devices, topology, self.base_port, self.broker_port,
                         None if chairs else self.args.profile, interval_ms, chairs)
            check = subprocess.run([self.args.agent, "check", config], capture_output=True, text=True)
            if check.returncode != 0:
                raise SystemExit(f"bench: the generated configuration does not check:\n{check.stdout}{check.stderr}")
            return [self.args.agent, "run", "--config", config], "bench/agent/beds/+/vitals"
        if peer == "mqmgateway":
            config = f"{run_dir}/mqm.yaml"
            mqm_config(config, self.args.mqm, devices, topology, self.base_port, self.broker_port, interval_ms)
            return [self.args.mqm, f"--config={config}"], "bench/mqm/#"
        return [self.args.reference_python, self.args.reference, "--first-port", str(self.base_port),
                "--devices", str(devices), "--topology", topology, "--profile", self.args.profile,
                "--interval-ms", str(interval_ms), "--mqtt-port", str(self.broker_port),
                "--topic-prefix", "bench/reference", "--stats", f"{run_dir}/reference.stats"], \
            "bench/reference/beds/+/vitals"

    def run(self, peer, devices, topology, rep, window, interval_ms=100, chairs=False, count_allocations=False):
        tag = f"{peer}-{devices}-{topology}-{rep}{'-alloc' if count_allocations else ''}"
        command, topic = self.gateway_command(peer, devices, topology, tag, interval_ms, chairs)
        env = dict(os.environ)
        trigger = out = None
        if count_allocations:
            trigger, out = f"{self.work}/{tag}/malloc.trigger", f"{self.work}/{tag}/malloc.counts"
            os.mkfifo(trigger)
            env.update(LD_PRELOAD=self.args.malloc_so, MALLOC_COUNT_TRIGGER=trigger, MALLOC_COUNT_OUT=out)
        log(f"run {tag}: warm-up {self.args.warmup} s, window {window} s")
        gateway = self.spawn(["taskset", "-c", GATEWAY_CPU] + command, f"{tag}/gateway.log", env)
        time.sleep(self.args.warmup)
        if gateway.poll() is not None:
            raise SystemExit(f"bench: {peer} exited during the warm-up (see {self.work}/{tag}/gateway.log)")
        pid = gateway.pid
        received = f"{self.work}/{tag}/received.txt"
        subscriber = self.spawn(["taskset", "-c", INFRA_CPU, "mosquitto_sub", "-h", "127.0.0.1",
                                 "-p", str(self.broker_port), "-q", "0", "-t", topic, "-F", "%U %t %p"],
                                f"{tag}/received.txt")
        time.sleep(0.3)  # subscribed before the window opens

        def snapshot():
            if count_allocations:
                before = os.stat(out).st_mtime_ns if os.path.exists(out) else 0
                with open(trigger, "w") as f:
                    f.write("x")
                wait_for(lambda: os.path.exists(out) and os.stat(out).st_mtime_ns != before, 5,
                         "the allocation counter did not write its snapshot")
                with open(out) as f:
                    counts = [line.split() for line in f]
            else:
                counts = None
            return {"wall": time.time(), "mono": time.monotonic(), "cpu": cpu_ticks(pid), "threads": threads_of(pid),
                    "device_bytes": device_bytes(self.base_port, self.last_port), "allocations": counts}

        s0 = snapshot()
        time.sleep(window)
        alive = gateway.poll() is None
        s1 = snapshot()
        status = status_of(f"/proc/{pid}/status") if alive else {}
        rollup = {}
        if alive:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    key, _, value = line.partition(":")
                    if value.strip().endswith("kB"):
                        rollup[key] = int(value.split()[0])
        time.sleep(0.3)  # the last messages of the window reach the subscriber
        exit_code = self.stop(gateway)
        self.stop(subscriber, 5)
        if not alive:
            raise SystemExit(f"bench: {peer} died during the window (see {self.work}/{tag}/gateway.log)")

        elapsed = s1["mono"] - s0["mono"]
        got = analyse(received, s0["wall"], s1["wall"])
        if not self.args.keep:
            os.remove(received)
        groups = {}
        switches = on_cpu_ns = 0
        for tid, (name, ticks, ctx, ns) in s1["threads"].items():
            if tid in s0["threads"]:
                group = groups.setdefault(group_name(name), [0, 0, 0])
                group[0] += ticks - s0["threads"][tid][1]
                group[1] += 1
                group[2] += ctx - s0["threads"][tid][2]
                switches += ctx - s0["threads"][tid][2]
                on_cpu_ns += ns - s0["threads"][tid][3]
        both = set(s0["device_bytes"]) & set(s1["device_bytes"])
        request_bytes = sum(s1["device_bytes"][k] - s0["device_bytes"][k] for k in both)
        cpu_ms = (s1["cpu"] - s0["cpu"]) * 1000 / CLK_TCK
        points = got["messages"] * (REGISTERS if not chairs else 1)
        result = {
            "peer": peer, "devices": devices, "topology": topology, "rep": rep, "window_s": round(elapsed, 2),
            "cpu_pct": cpu_ms / 10 / elapsed,
            # The same from the scheduler's per-thread nanoseconds: finer than 10 ms ticks, for
            # the idle figure (threads present at both ends only).
            "cpu_pct_schedstat": on_cpu_ns / 1e7 / elapsed,
            "cpu_ms_per_1000_points": cpu_ms / (points / 1000) if points else None,
            "wakeups_per_s": switches / elapsed,
            "vmhwm_mib": kib(status.get("VmHWM")) / 1024, "rss_anon_mib": kib(status.get("RssAnon")) / 1024,
            "pss_mib": rollup.get("Pss", 0) / 1024, "threads": int(status.get("Threads", 0)),
            "messages_per_s": got["messages"] / elapsed,
            "bytes_per_message": statistics.mean(got["sizes"]) if got["sizes"] else None,
            "requests_per_s": request_bytes / REQUEST_BYTES / elapsed, "connections": len(both),
            "latencies": got["latencies"], "gaps": got["gaps"], "commloss": got["commloss"], "not_ok": got["not_ok"],
            "stale_stamps": got["stale_stamps"], "undecodable": got["undecodable"], "exit_code": exit_code,
            "thread_cpu": sorted(((name, ticks * 1000 / CLK_TCK / elapsed / 10, n) for name, (ticks, n, _) in groups.items()),
                                 key=lambda x: -x[1]),
            "thread_wakeups": {name: ctx / elapsed for name, (_, _, ctx) in groups.items()},
        }
        if count_allocations:
            result["allocations"] = allocation_deltas(s0["allocations"], s1["allocations"])
        lat = result["latencies"]
        log(f"  cpu {result['cpu_pct']:.2f} %  hwm {result['vmhwm_mib']:.2f} MiB  msgs/s {result['messages_per_s']:.1f}"
            f"  read->sub p50 {fmt(percentile(lat, 0.5))} p99 {fmt(percentile(lat, 0.99))} max {fmt(max(lat) if lat else None)} ms")
        return result


def allocation_deltas(before, after):
    """{thread group: [allocations, frees, threads]} over the window, threads present at both ends"""
    start = {row[0]: row for row in before}
    groups = {}
    for row in after:
        tid, name, allocations, frees = row[0], row[1], int(row[2]), int(row[3])
        if tid == "0" or tid not in start:
            continue
        group = groups.setdefault(group_name(name.replace("_", " ")), [0, 0, 0])
        group[0] += allocations - int(start[tid][2])
        group[1] += frees - int(start[tid][3])
        group[2] += 1
    return groups


def fmt(value, digits=2):
    return "-" if value is None else f"{value:.{digits}f}"


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


# ------------------------------------------------------------------------------ reports
def report_throughput(results, args, reference_name):
    print()
    print(f"read -> subscriber and cost, {args.window} s windows after {args.warmup} s warm-up, {args.reps} interleaved "
          f"pair(s) per workload; the agent's vitals QoS 1 through its disk queue, "
          + ("mqmgateway QoS 0 publishing every poll" if reference_name == "mqmgateway"
             else "the Python reference QoS 1 without a queue")
          + "; gateways on CPU 1, broker/simulator/subscriber on CPU 0")
    head = (f"{'workload':<11} {'gateway':<11} {'CPU %':>6} {'ms/1k pts':>9} {'wake/s':>7} {'VmHWM':>6} {'anon':>5} "
            f"{'B/msg':>6} {'msg/s':>6} {'req/s':>6} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} {'gaps':>4} {'loss':>4}")
    for workload in args.workloads.split(","):
        devices, topology = workload.split(":")
        rows = [r for r in results if f"{r['devices']}:{r['topology']}" == workload and "allocations" not in r]
        if not rows:
            continue
        print()
        print(head)
        for r in rows:
            lat = r["latencies"]
            print(f"{workload:<11} {short(r['peer']):<11} {r['cpu_pct']:>6.2f} {fmt(r['cpu_ms_per_1000_points']):>9} "
                  f"{r['wakeups_per_s']:>7.0f} {r['vmhwm_mib']:>6.2f} {r['rss_anon_mib']:>5.2f} "
                  f"{fmt(r['bytes_per_message'], 0):>6} {r['messages_per_s']:>6.1f} {r['requests_per_s']:>6.0f} "
                  f"{fmt(percentile(lat, 0.5)):>7} {fmt(percentile(lat, 0.99)):>7} {fmt(max(lat) if lat else None):>7} "
                  f"{r['gaps']:>4} {r['commloss']:>4}")
        agent = [r for r in rows if r["peer"] == "agent"]
        other = [r for r in rows if r["peer"] != "agent"]
        pairs = list(zip(agent, other))
        ratios = {key: [a[key] / b[key] for a, b in pairs if a[key] and b[key]]
                  for key in ("cpu_pct", "cpu_ms_per_1000_points", "vmhwm_mib", "bytes_per_message")}
        print(f"  per pair, agent / {short(reference_name)}: CPU " + ", ".join(f"{x:.2f}" for x in ratios["cpu_pct"])
              + f"; median CPU ratio {fmt(median(ratios['cpu_pct']))}, CPU/1000 points {fmt(median(ratios['cpu_ms_per_1000_points']))},"
              f" VmHWM {fmt(median(ratios['vmhwm_mib']))}, bytes/message {fmt(median(ratios['bytes_per_message']))}")
        for name, group in (("agent", agent), (short(reference_name), other)):
            lat = [x for r in group for x in r["latencies"]]
            print(f"  {name}: medians CPU {fmt(median([r['cpu_pct'] for r in group]))} %, "
                  f"{fmt(median([r['cpu_ms_per_1000_points'] for r in group]))} ms/1000 points, "
                  f"VmHWM {fmt(median([r['vmhwm_mib'] for r in group]))} MiB; read->sub over all its runs "
                  f"({len(lat)} messages) p50 {fmt(percentile(lat, 0.5))} / p99 {fmt(percentile(lat, 0.99))} / "
                  f"max {fmt(max(lat) if lat else None)} ms; stamps rejected {sum(r['stale_stamps'] for r in group)}")
        if agent:
            print("  agent CPU by thread (% of a core, median run): "
                  + "; ".join(f"{n} ({k}) {p:.2f}" for n, p, k in sorted(agent, key=lambda r: r['cpu_pct'])[len(agent) // 2]['thread_cpu']))
    report_targets(results, reference_name)
    for r in results:
        if "allocations" in r:
            report_allocations(r, args)


def report_targets(results, reference_name):
    """Issue 11's targets, each against what this run measured (only those it measured)."""
    pairs = [r for r in results if "allocations" not in r]

    def runs(peer, workload):
        return [r for r in pairs if r["peer"] == peer and f"{r['devices']}:{r['topology']}" == workload]

    lines = []
    agent32 = runs("agent", "32:unit")
    if agent32:
        lat = [x for r in agent32 for x in r["latencies"]]
        p50, p99, worst = percentile(lat, 0.5), percentile(lat, 0.99), max(lat) if lat else None
        ok = lat and p50 <= 0.3 and p99 <= 1 and worst <= 5
        lines.append(f"read -> subscriber at 32 devices p50 <= 0.3 / p99 <= 1 / max <= 5 ms: {fmt(p50)} / {fmt(p99)} / "
                     f"{fmt(worst)} ms: {'met' if ok else 'NOT met'}")
    for workload in ("8:unit", "32:unit"):
        a, b = runs("agent", workload), runs(reference_name, workload)
        ratios = [x["cpu_pct"] / y["cpu_pct"] for x, y in zip(a, b) if y["cpu_pct"]]
        if ratios and reference_name == "mqmgateway":
            ratio = median(ratios)
            lines.append(f"CPU <= 0.5 x mqmgateway at {workload}: median of {len(ratios)} pair ratio(s) {ratio:.2f}: "
                         f"{'met' if ratio <= 0.5 else 'NOT met'}")
    agents = [r for r in pairs if r["peer"] == "agent"]
    if agents:
        hwm = max(r["vmhwm_mib"] for r in agents)
        lines.append(f"peak RSS <= 8 MiB (health, queue and alarms on), largest over the agent's runs: {hwm:.2f} MiB: "
                     f"{'met' if hwm <= 8 else 'NOT met'}")
    a128, a32 = runs("agent", "128:unit"), agent32
    if a128 and a32:
        c128 = median([r["cpu_ms_per_1000_points"] for r in a128])
        c32 = median([r["cpu_ms_per_1000_points"] for r in a32])
        lines.append(f"CPU per 1000 points at 128 devices no higher than at 32: {fmt(c128)} vs {fmt(c32)} ms: "
                     f"{'met' if c128 <= c32 else 'NOT met'}")
    if lines:
        print()
        print("issue 11's targets, from this run:")
        for line in lines:
            print("  " + line)


def short(name):
    return {"agent": "agent", "mqmgateway": "mqmgateway", "reference": "reference"}.get(name, name)


def report_allocations(r, args):
    print()
    interval_s = 0.1
    cycles_per_bus = r["window_s"] / interval_s
    messages = r["messages_per_s"] * r["window_s"]
    print(f"allocations (LD_PRELOAD Deploy/bench/malloc_count.c, malloc/calloc/realloc/aligned per thread) over a "
          f"{r['window_s']:.1f} s window, {r['devices']}:{r['topology']}, {messages:.0f} messages received:")
    for name, (allocations, frees, threads) in sorted(r["allocations"].items(), key=lambda kv: -kv[1][0]):
        if name == "bus threads":
            per = f"{allocations / (cycles_per_bus * threads):.3f} per cycle per bus thread ({threads} thread(s), target 0)"
        elif name.startswith("bedside-gatewa"):
            per = f"{allocations / messages:.2f} per message received (the publisher runs on the main thread)" if messages else ""
        else:
            per = f"{allocations / r['window_s']:.1f} per second"
        print(f"  {name:<16} {allocations:>9} allocations {frees:>9} frees   {per}")
    print(f"  (the counter's own thread, malloc-count, and CPU figures of this run are not part of the tables above)")


def report_idle(results, args):
    print()
    print(f"idle: 4 chairs (a patient monitor and an infusion pump each, 8 devices on 8 TCP endpoints) at 1 s, "
          f"{args.window} s windows after {args.warmup} s warm-up, agent on CPU 1; target <= 0.2 % of a core")
    print(f"{'run':>3} {'CPU % (stat)':>12} {'(schedstat)':>11} {'wake-ups/s':>10} {'VmHWM MiB':>9} {'msgs/s':>6} "
          f"{'comm-loss':>9}  wake-ups/s by thread")
    for r in results:
        print(f"{r['rep']:>3} {r['cpu_pct']:>12.3f} {r['cpu_pct_schedstat']:>11.3f} {r['wakeups_per_s']:>10.1f} "
              f"{r['vmhwm_mib']:>9.2f} {r['messages_per_s']:>6.2f} {r['commloss']:>9}  "
              + "; ".join(f"{n} {w:.1f}" for n, w in sorted(r["thread_wakeups"].items(), key=lambda kv: -kv[1])))
    cpu = median([r["cpu_pct_schedstat"] for r in results])
    print(f"median CPU {fmt(cpu, 3)} % of a core from schedstat ({'met' if cpu <= 0.2 else 'NOT met'}), "
          f"median wake-ups {fmt(median([r['wakeups_per_s'] for r in results]), 1)}/s")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["throughput", "idle"])
    parser.add_argument("--agent", required=True)
    parser.add_argument("--simulator", required=True)
    parser.add_argument("--profile", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--mqm")
    parser.add_argument("--reference-python")
    parser.add_argument("--reference")
    parser.add_argument("--malloc-so")
    parser.add_argument("--workloads", default="32:unit")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--window", type=float, default=30)
    parser.add_argument("--warmup", type=float, default=5)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    for workload in args.workloads.split(","):
        parts = workload.split(":")
        if len(parts) != 2 or not parts[0].isdigit() or int(parts[0]) < 1 or parts[1] not in ("unit", "ports"):
            raise SystemExit(f"bench: workload '{workload}': expected DEVICES:unit or DEVICES:ports, e.g. 32:unit")
        if parts[1] == "unit" and int(parts[0]) > 247:
            raise SystemExit(f"bench: workload '{workload}': Modbus unit ids end at 247")
    bench = Bench(args)
    results = []
    broken = []
    try:
        if args.mode == "idle":
            bench.start_devices(4, "ports", chairs=True)
            for rep in range(args.reps):
                results.append(bench.run("agent", 4, "ports", rep, args.window, interval_ms=1000, chairs=True))
            report_idle(results, args)
        else:
            reference = "mqmgateway" if args.mqm else "reference"
            for workload in args.workloads.split(","):
                devices, topology = workload.split(":")
                bench.start_devices(int(devices), topology)
                for rep in range(args.reps):
                    for peer in ("agent", reference):
                        results.append(bench.run(peer, int(devices), topology, rep, args.window))
            if args.malloc_so:
                devices, topology = args.workloads.split(",")[0].split(":")
                bench.start_devices(int(devices), topology)
                results.append(bench.run("agent", int(devices), topology, 0, args.window, count_allocations=True))
            report_throughput(results, args, reference)
        for r in results:
            # One message per bed per cycle: 4 chairs at 1 s, or one bed per device at 10 Hz.
            expected = 4 if args.mode == "idle" else r["devices"] * 10
            tag = f"{r['peer']} {r['devices']}:{r['topology']} run {r['rep']}"
            if r["messages_per_s"] < 0.9 * expected:
                broken.append(f"{tag}: {r['messages_per_s']:.1f} messages/s, expected about {expected}")
            if r["commloss"]:
                broken.append(f"{tag}: {r['commloss']} comm-loss samples")
            if r["exit_code"] not in (0, None) and r["peer"] == "agent":
                broken.append(f"{tag}: the agent exited with {r['exit_code']} after SIGTERM")
            if args.mode == "throughput" and not r["latencies"]:
                broken.append(f"{tag}: no read stamps found in the messages")
    finally:
        bench.stop_all()
    with open(f"{args.work}/results.json", "w") as f:
        json.dump(results, f)
    # The reference falling behind on a loaded machine is a figure, not a broken harness.
    for problem in broken:
        print(f"{'BROKEN' if problem.startswith('agent') else 'NOTE'}: {problem}")
    sys.exit(1 if any(problem.startswith("agent") for problem in broken) else 0)


if __name__ == "__main__":
    main()
