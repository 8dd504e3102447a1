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
source "$(dirname "${BASH_SOURCE[0]}")/bench/common.sh"
bench_setup stop
RUNS="${1:-9}"
BUSES=32
case "$RUNS" in ''|*[!0-9]*) fail "usage: $0 [runs]" ;; esac
bench_need mosquitto ss python3
bench_copy_firmware
bench_start_broker
bench_start_simulator "$BUSES" --count "$BUSES"
{
  bench_agent_header stop queue
  echo "sampling: {interval_ms: 1000}"
  echo "hardware:"
  echo "  buzzer: {record_to: $WORK/buzzer.txt}"
  bench_beds "$BUSES" 1 patient-monitor
} > "$WORK/agent.yaml"
bench_check_config "$WORK/agent.yaml"

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
