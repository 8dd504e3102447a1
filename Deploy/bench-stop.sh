#!/usr/bin/env bash
# Benchmark: how long a stop and a restart take (issue 16, part 8). 32 simulated monitors on
# 32 Modbus TCP endpoints (a bus thread each) at 1 s, a local mosquitto, the agent as x86_64
# firmware with its buzzer recorded to a file (the development backend, one line per level
# set, stamped with CLOCK_MONOTONIC). Each run restarts the agent the way systemd does:
# SIGTERM, wait for the exit, start the next one at once. Per run:
#   stop    SIGTERM -> process exit
#   gap     the old process's last buzzer control -> the new process's first (stop of the
#           publisher and MQTT, exec, start-up until the buzzer thread runs)
#   silent  SIGTERM -> the new process's first buzzer control: the whole time the box could not
#           sound a new alarm (sampling stops at the SIGTERM)
# Before each SIGTERM the agent has run a random 1.5-3.5 s, so the loops' phases differ.
#
# Usage: Deploy/bench-stop.sh [runs (9)]
# Environment: FIRMWARE=PATH (default .build-firmware/x86_64/bedside-gateway; the simulator is
# taken from the same directory), KEEP=1 keeps the work directory.
set -euo pipefail
export LC_ALL=C
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUNS="${1:-9}"
BUSES=32
fail() { echo "bench-stop: $*" >&2; exit 1; }
case "$RUNS" in ''|*[!0-9]*) fail "usage: $0 [runs]" ;; esac
for tool in mosquitto ss python3; do command -v "$tool" >/dev/null || fail "$tool not found"; done
FIRMWARE="${FIRMWARE:-$ROOT/.build-firmware/x86_64/bedside-gateway}"
[ -x "$FIRMWARE" ] || fail "no firmware at $FIRMWARE (bash Deploy/build-firmware.sh x86_64)"

WORK="$(mktemp -d /tmp/bedside-stop.XXXXXX)"
cp "$FIRMWARE" "$WORK/bedside-gateway"
cp "$(dirname "$FIRMWARE")/bedside-simulator" "$WORK/bedside-simulator"
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  sleep 0.3
  for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ "${KEEP:-0}" = 1 ]; then echo "work directory kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

BROKER_PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
BASE=""
for _ in $(seq 50); do
  candidate=$((20000 + RANDOM % 10000))
  if [ -z "$(ss -Htan "( sport >= :$candidate and sport <= :$((candidate + BUSES - 1)) )")" ]; then BASE=$candidate; break; fi
done
[ -n "$BASE" ] || fail "no $BUSES free consecutive ports"
printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\n' "$BROKER_PORT" > "$WORK/mosquitto.conf"
mosquitto -c "$WORK/mosquitto.conf" > "$WORK/mosquitto.log" 2>&1 &
PIDS+=("$!")
"$WORK/bedside-simulator" --host 127.0.0.1 --port "$BASE" --count "$BUSES" > "$WORK/simulator.log" 2>&1 &
PIDS+=("$!")
for _ in $(seq 200); do
  [ "$(ss -Hltn "( sport >= :$BASE and sport <= :$((BASE + BUSES - 1)) )" | wc -l)" -eq "$BUSES" ] && \
    [ -n "$(ss -Hltn "sport = :$BROKER_PORT")" ] && break
  sleep 0.05
done

{
  echo "site: bench"
  echo "box: stop"
  echo "mqtt: {host: 127.0.0.1, port: $BROKER_PORT}"
  echo "sampling: {interval_ms: 1000}"
  echo "queue: {directory: $WORK/queue}"
  echo "health: {port: 0}"
  echo "hardware:"
  echo "  buzzer: {record_to: $WORK/buzzer.txt}"
  echo "beds:"
  for n in $(seq 1 "$BUSES"); do
    printf '  - id: chair-%d\n    devices:\n' "$n"
    printf '      - {id: monitor-%d, profile: patient-monitor, tcp: {host: 127.0.0.1, port: %d}}\n' "$n" $((BASE + n - 1))
  done
} > "$WORK/agent.yaml"
"$WORK/bedside-gateway" check "$WORK/agent.yaml" > "$WORK/check.txt" 2>&1 || { cat "$WORK/check.txt" >&2; fail "config does not check"; }

echo "bench-stop: $RUNS restart(s), $BUSES buses at 1 s, $(nproc) CPU(s), load $(cut -d' ' -f1-3 /proc/loadavg)," \
  "$("$WORK/bedside-gateway" --version)" >&2
python3 - "$WORK" "$RUNS" "$BUSES" <<'EOF'
import os, random, signal, statistics, subprocess, sys, time
work, runs, buses = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
buzzer = os.path.join(work, "buzzer.txt")

def buzzer_lines():
    try:
        with open(buzzer) as f:
            return [int(line.split()[0]) for line in f if line.strip()]
    except FileNotFoundError:
        return []

def start(n):
    log = open(os.path.join(work, f"agent-{n}.log"), "w")
    return subprocess.Popen([os.path.join(work, "bedside-gateway"), "run", "--config", os.path.join(work, "agent.yaml")],
                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL), log

def wait_until(condition, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition(): return True
        time.sleep(0.005)
    return condition()

def answering(n):
    with open(os.path.join(work, f"agent-{n}.log")) as f:
        return f.read().count("is answering") >= buses

stops, gaps, silences = [], [], []
agent, log = start(0)
if not wait_until(lambda: answering(0), 30): sys.exit("bench-stop: the first agent did not sample every device")
for n in range(1, runs + 1):
    time.sleep(random.uniform(1.5, 3.5))
    signalled = time.monotonic_ns()
    agent.send_signal(signal.SIGTERM)
    code = agent.wait(timeout=60)
    exited = time.monotonic_ns()
    log.close()
    if code != 0: sys.exit(f"bench-stop: run {n}: exit status {code}")
    last_old = buzzer_lines()[-1]
    count_old = len(buzzer_lines())
    agent, log = start(n)
    if not wait_until(lambda: len(buzzer_lines()) > count_old, 30): sys.exit(f"bench-stop: run {n}: no buzzer control")
    first_new = buzzer_lines()[count_old]
    stop_ms, gap_ms, silent_ms = (exited - signalled) / 1e6, (first_new - last_old) / 1e6, (first_new - signalled) / 1e6
    stops.append(stop_ms); gaps.append(gap_ms); silences.append(silent_ms)
    print(f"run {n}: SIGTERM -> exit {stop_ms:7.1f} ms   buzzer gap {gap_ms:6.1f} ms   SIGTERM -> new buzzer {silent_ms:7.1f} ms",
          file=sys.stderr)
    if not wait_until(lambda: answering(n), 30): sys.exit(f"bench-stop: run {n}: the new agent did not sample every device")
agent.send_signal(signal.SIGTERM); agent.wait(timeout=60); log.close()
print(f"SIGTERM -> exit, {buses} buses at 1 s: median {statistics.median(stops):.0f} ms, max {max(stops):.0f} ms ({runs} runs)")
print(f"restart gap, old process's last buzzer control -> new one's first: median {statistics.median(gaps):.0f} ms, max {max(gaps):.0f} ms")
print(f"restart, SIGTERM -> new process's first buzzer control: median {statistics.median(silences):.0f} ms, max {max(silences):.0f} ms")
EOF
