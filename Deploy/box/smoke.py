#!/usr/bin/python3
"""Smoke test of the emulated box (Deploy/emulated-box.sh): boots the image under
qemu-system-aarch64 and checks, with a time for each step:
  a. the guest boots to its login prompt;
  b. the agent reaches ready (systemd: active/running after READY=1; box-status.sh);
  c. vitals reach the guest's broker and a subscriber on the host (forwarded port);
  d. under the desaturation scenario the buzzer line toggles (box-gpio-probe.sh, debugfs);
  e. SIGSTOP of the agent (test hook, MQTT box/cmd) lets the i6300esb reset the machine:
     the kernel boots a second time on the serial console.
Exits 0 on success, 1 naming the failed step otherwise. qemu is always shut down."""
import argparse, os, re, signal, subprocess, sys, threading, time

p = argparse.ArgumentParser()
p.add_argument("--box-dir", required=True)
p.add_argument("--port", type=int, required=True, help="host 127.0.0.1 port forwarded to the guest's 1883")
p.add_argument("--cpu", default="cortex-a57")
p.add_argument("--site", default="emulated-clinic")
p.add_argument("--box", default="qemu-box")
p.add_argument("--boot-timeout", type=float, default=420)
p.add_argument("--ready-timeout", type=float, default=240)
p.add_argument("--vitals-timeout", type=float, default=120)
p.add_argument("--buzzer-timeout", type=float, default=240)
p.add_argument("--buzzer-transitions", type=int, default=6)
p.add_argument("--reset-timeout", type=float, default=120)
p.add_argument("--no-after-reset", dest="after_reset", action="store_false",
               help="do not wait for the agent to be ready again after the reset")
p.add_argument("--keep-running", action="store_true", help="leave qemu running after the checks (Ctrl-C stops it)")
args = p.parse_args()

BOX = args.box_dir
LOG = os.path.join(BOX, "console.log")
MQTTLOG = os.path.join(BOX, "mqtt.log")
QMP = os.path.join(BOX, "qmp.sock")
T0 = time.monotonic()
results = []  # (step, seconds, note)


def now():
    return time.monotonic() - T0


def say(msg):
    print(f"[smoke {now():7.1f}s] {msg}", flush=True)


class Failed(Exception):
    pass


# --- qemu -------------------------------------------------------------------------------------
for f in (LOG, MQTTLOG, QMP):
    if os.path.exists(f):
        os.remove(f)
qemu_cmd = [
    "qemu-system-aarch64", "-M", "virt", "-cpu", args.cpu, "-smp", "2", "-m", "1024",
    "-nodefaults", "-display", "none", "-monitor", "none",
    "-chardev", f"file,id=con,path={LOG}", "-serial", "chardev:con",
    "-kernel", os.path.join(BOX, "vmlinuz"), "-initrd", os.path.join(BOX, "initrd.img"),
    "-append", "root=/dev/vda rw console=ttyAMA0 panic=10",
    "-drive", f"if=none,id=hd,file={os.path.join(BOX, 'image.raw')},format=raw",
    "-device", "virtio-blk-pci,drive=hd",
    "-netdev", f"user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:{args.port}-:1883",
    "-device", "virtio-net-pci,netdev=n0,romfile=",
    "-device", "i6300esb", "-action", "watchdog=reset",
    "-qmp", f"unix:{QMP},server=on,wait=off",
]
say("qemu: " + " ".join(qemu_cmd))
qemu = subprocess.Popen(qemu_cmd, stdin=subprocess.DEVNULL, stderr=open(os.path.join(BOX, "qemu.stderr"), "w"))
with open(os.path.join(BOX, "qemu.pid"), "w") as f:
    f.write(str(qemu.pid))

# --- QMP: qemu's own events (WATCHDOG fires when the i6300esb expires) ----------------------
qmp_events = []  # (host time, event dict)
qmp_sock = [None]


def read_qmp():
    import json, socket
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    for _ in range(200):
        try:
            s.connect(QMP)
            break
        except OSError:
            time.sleep(0.1)
    else:
        return
    f = s.makefile("rwb", buffering=0)
    f.readline()  # greeting
    f.write(b'{"execute": "qmp_capabilities"}\n')
    qmp_sock[0] = f
    while True:
        try:
            line = f.readline()
        except OSError:
            return  # qemu quit
        if not line:
            return
        try:
            msg = json.loads(line)
        except ValueError:
            continue
        if "event" in msg:
            qmp_events.append((now(), msg))


threading.Thread(target=read_qmp, daemon=True).start()

# --- the serial console log -------------------------------------------------------------------
console_lines = []  # (host time, line)
console_lock = threading.Lock()


def read_console():
    pos, buf = 0, b""
    while True:
        try:
            with open(LOG, "rb") as f:
                f.seek(pos)
                data = f.read()
        except FileNotFoundError:
            data = b""
        if data:
            pos += len(data)
            buf += data
            *lines, buf = buf.split(b"\n")
            t = now()
            with console_lock:
                for line in lines:
                    console_lines.append((t, line.decode("utf-8", "replace").rstrip("\r")))
        if qemu.poll() is not None and not data:
            return
        time.sleep(0.05)


threading.Thread(target=read_console, daemon=True).start()

# --- MQTT: a host subscriber on the forwarded port, restarted until the broker answers ------
mqtt_msgs = []  # (host time, topic, payload)
mqtt_lock = threading.Lock()
sub_proc = [None]
stop_sub = threading.Event()


def subscribe():
    with open(MQTTLOG, "a") as log:
        while not stop_sub.is_set():
            proc = subprocess.Popen(
                ["mosquitto_sub", "-h", "127.0.0.1", "-p", str(args.port), "-v", "-q", "1",
                 "-t", "bedside/#", "-t", "box/#", "-i", f"box-smoke-{os.getpid()}"],
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, bufsize=1)
            sub_proc[0] = proc
            for line in proc.stdout:
                t = now()
                topic, _, payload = line.rstrip("\n").partition(" ")
                with mqtt_lock:
                    mqtt_msgs.append((t, topic, payload))
                log.write(f"{t:.3f} {line}")
                log.flush()
            proc.wait()
            time.sleep(1)


def wait_for(what, timeout, check, step):
    """Polls check() (returning a value or None) every 0.1 s for timeout seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = check()
        if v is not None:
            return v
        if qemu.poll() is not None:
            raise Failed(f"step {step}: qemu exited (status {qemu.returncode}) while waiting for {what}")
        time.sleep(0.1)
    raise Failed(f"step {step}: timed out after {timeout:.0f} s waiting for {what}")


def console_find(pattern, start=0, count=1):
    rx = re.compile(pattern)
    with console_lock:
        hits = [(t, l) for t, l in console_lines[start:] if rx.search(l)]
    return hits[count - 1] if len(hits) >= count else None


def boots():
    with console_lock:
        return [t for t, l in console_lines if "Booting Linux on physical CPU" in l]


def mqtt_find(topic_rx, payload_rx=".", since=0.0):
    tr, pr = re.compile(topic_rx), re.compile(payload_rx)
    with mqtt_lock:
        return [(t, tp, pl) for t, tp, pl in mqtt_msgs if t >= since and tr.search(tp) and pr.search(pl)]


def record(step, secs, note=""):
    results.append((step, secs, note))
    say(f"OK  {step}: {secs:.1f} s {note}")


def diagnose():
    with console_lock:
        tail = [l for _, l in console_lines[-60:]]
    print("---- last console lines ----", file=sys.stderr)
    for l in tail:
        print("  " + l, file=sys.stderr)
    with console_lock:
        agent = [l for _, l in console_lines if "bedside-gateway" in l or "BOXHW" in l or "BOXSTATUS" in l]
    print("---- console lines of the agent / box status ----", file=sys.stderr)
    for l in agent[-60:]:
        print("  " + l, file=sys.stderr)
    print(f"(full console: {LOG}; MQTT seen on the host: {MQTTLOG})", file=sys.stderr)


rc = 0
threading.Thread(target=subscribe, daemon=True).start()  # retries until the guest's broker answers
try:
    # a. boot
    t, _ = wait_for("the login prompt on the serial console", args.boot_timeout,
                    lambda: console_find(r"\blogin: "), "a (boot)")
    kernel = boots()
    record("a. boot to login prompt", t, "since qemu start " + f"(kernel started at {kernel[0]:.1f} s)" if kernel else "")
    t_boot = t

    # b. agent ready
    def ready():
        hit = console_find(r"BOXSTATUS agent .*ActiveState=active SubState=running")
        if hit:
            return hit
        bad = console_find(r"BOXSTATUS agent .*ActiveState=failed")
        if bad:
            raise Failed(f"step b (agent ready): the agent's unit failed: {bad[1]}")
        return None
    t, line = wait_for("the agent's unit to become active (READY=1)", args.ready_timeout, ready, "b (agent ready)")
    record("b. agent ready (systemd active/running)", t, f"since qemu start ({t - t_boot:+.1f} s from the login prompt)")
    say("    " + line.strip())
    t_ready = t

    # c. vitals at the host
    vt = rf"^bedside/{re.escape(args.site)}/{re.escape(args.box)}/beds/[^/]+/vitals$"
    hits = wait_for("vitals on the host subscriber (127.0.0.1:%d)" % args.port, args.vitals_timeout,
                    lambda: mqtt_find(vt) or None, "c (vitals)")
    record("c. first vitals at the host subscriber", hits[0][0] - t_ready,
           f"after the ready marker (polled every 1 s, so it may be negative) ({hits[0][1]})")
    say("    " + hits[0][2][:200])
    beds = sorted({tp.split("/")[4] for _, tp, _ in mqtt_find(vt)})

    # d. buzzer toggles (box/buzzer payloads: "BOXBUZZER <n> <hi|lo> <guest uptime>")
    brx = re.compile(r"(\d+) (hi|lo) ([\d.]+)$")

    def buzzer_changes():
        out = []
        for t, _, pl in mqtt_find(r"^box/buzzer$"):
            m = brx.search(pl)
            if m:
                out.append((t, m.group(2), float(m.group(3))))
        return out

    def toggles():
        b = [c for c in buzzer_changes() if c[0] >= t_ready]
        his = [c for c in b if c[1] == "hi"]
        los = [c for c in b if c[1] == "lo" and his and c[0] >= his[0][0]]
        return b if len(his) + len(los) >= args.buzzer_transitions and his and los else None
    b = wait_for(f"{args.buzzer_transitions} buzzer level changes (box/buzzer)", args.buzzer_timeout, toggles,
                 "d (buzzer)")
    first_hi = next(c for c in b if c[1] == "hi")
    record("d. buzzer toggling", b[-1][0] - t_ready,
           f"after ready; first 'hi' {first_hi[0] - t_ready:.1f} s after ready (guest uptime {first_hi[2]:.2f} s)")
    time.sleep(6)  # one whole burst and its interburst gap, for the record
    burst = [c for c in buzzer_changes() if c[2] >= first_hi[2]][:24]
    say("    level durations in the guest (ms, h=hi l=lo, 10-20 ms polling): " +
        " ".join(f"{a[1][0]}{(b2[2] - a[2]) * 1000:.0f}" for a, b2 in zip(burst, burst[1:])))

    # e. SIGSTOP -> hardware watchdog reset
    n_console = len(console_lines)
    t_pub = now()
    subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(args.port), "-q", "1", "-t", "box/cmd",
                    "-m", "sigstop"], check=True, timeout=30)
    hit = wait_for("the guest's SIGSTOP acknowledgement (BOXHOOK)", 60,
                   lambda: console_find(r"BOXHOOK sigstop", n_console), "e (sigstop)")
    if "failed" in hit[1]:
        raise Failed("step e (sigstop): the guest could not stop the agent: " + hit[1])
    t_stop = hit[0]
    say("    " + hit[1].strip())
    t_reset = wait_for("the kernel to boot a second time (i6300esb reset)", args.reset_timeout,
                       lambda: (boots()[1] if len(boots()) >= 2 else None), "e (watchdog reset)")
    wd = [(t, e) for t, e in qmp_events if e.get("event") == "WATCHDOG" and t >= t_pub]
    if wd:
        record("e. SIGSTOP to i6300esb expiry (qemu WATCHDOG event)", wd[0][0] - t_stop,
               f"action {wd[0][1].get('data', {}).get('action')}; the kernel's first line "
               f"{t_reset - wd[0][0]:.1f} s later")
    record("e. SIGSTOP to the second kernel boot (console)", t_reset - t_stop,
           f"(from the host's publish: {t_reset - t_pub:.1f} s)")

    if args.after_reset:
        n = len(console_lines)
        t, _ = wait_for("the agent ready again after the reset", args.boot_timeout + args.ready_timeout,
                        lambda: console_find(r"BOXSTATUS agent .*ActiveState=active SubState=running", n),
                        "f (ready after reset)")
        record("f. agent ready again after the reset", t - t_reset, "after the second kernel boot")
except Failed as e:
    rc = 1
    print(f"\nSMOKE TEST FAILED: {e}", file=sys.stderr)
    diagnose()
except KeyboardInterrupt:
    rc = 130
finally:
    if args.keep_running and rc == 0:
        say("qemu keeps running (pid %d); Ctrl-C stops it" % qemu.pid)
        try:
            qemu.wait()
        except KeyboardInterrupt:
            pass
    stop_sub.set()
    if sub_proc[0] and sub_proc[0].poll() is None:
        sub_proc[0].terminate()
    if qemu.poll() is None and qmp_sock[0] is not None:
        try:
            qmp_sock[0].write(b'{"execute": "quit"}\n')
            qemu.wait(timeout=10)
        except Exception:
            pass
    if qemu.poll() is None:
        qemu.terminate()
        try:
            qemu.wait(timeout=15)
        except subprocess.TimeoutExpired:
            qemu.kill()
            qemu.wait()
    say("qemu stopped")

print("\n==== emulated box smoke test ====")
for step, secs, note in results:
    print(f"  {step:45s} {secs:7.1f} s  {note}")
print("  RESULT: " + ("PASS" if rc == 0 else "FAIL"))
sys.exit(rc)
