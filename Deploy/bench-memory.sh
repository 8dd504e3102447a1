#!/usr/bin/env bash
# Benchmark: where the agent's memory goes.
#
#   bash Deploy/bench-memory.sh [window-s (10)]
#       32 beds x one 16-point device (Deploy/bench/bench-16-holding.yaml) every 100 ms, one
#       Modbus TCP endpoint each, health server, disk queue and alarms (buzzer to a file) on.
#       Prints peak RSS (VmHWM), anonymous and file-backed RSS, and resident memory by
#       mapping: heap, thread stacks, other anonymous mappings, each library.
#
# It runs the x86_64 firmware with the simulator built beside it and a local mosquitto, all
# on loopback, on free ports and in a temporary directory. The idle figure (wake-ups and CPU
# at rest) is Deploy/bench-idle.sh.
# Environment: FIRMWARE=PATH  agent binary (default .build-firmware/x86_64/bedside-gateway,
# with bedside-simulator in the same directory).
set -euo pipefail
export LC_ALL=C
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WINDOW_S="${1:-10}"
case "$WINDOW_S" in ''|*[!0-9]*) echo "bench-memory: the window is whole seconds" >&2; exit 2 ;; esac
WARMUP_S=5
FIRMWARE="${FIRMWARE:-$ROOT/.build-firmware/x86_64/bedside-gateway}"
PROFILE="$ROOT/Deploy/bench/bench-16-holding.yaml"
fail() { echo "bench-memory: $*" >&2; exit 1; }
[ -x "$FIRMWARE" ] || fail "no agent at $FIRMWARE: run bash Deploy/build-firmware.sh x86_64"
[ -x "$(dirname "$FIRMWARE")/bedside-simulator" ] || fail "no bedside-simulator next to $FIRMWARE"
for tool in mosquitto ss python3; do command -v "$tool" >/dev/null || fail "$tool not found"; done

WORK="$(mktemp -d /tmp/bedside-memory.XXXXXX)"
# Private copies: a concurrent firmware build cannot replace the binaries under this run.
cp "$FIRMWARE" "$WORK/bedside-gateway"
cp "$(dirname "$FIRMWARE")/bedside-simulator" "$WORK/bedside-simulator"
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  sleep 0.5
  for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
BROKER_PORT="$(free_port)"
HEALTH_PORT="$(free_port)"
ENDPOINTS=32
BASE=""
for _ in $(seq 50); do
  candidate=$((20000 + RANDOM % 10000))
  if [ -z "$(ss -Htan "( sport >= :$candidate and sport <= :$((candidate + ENDPOINTS - 1)) )")" ] &&
     { [ "$BROKER_PORT" -lt "$candidate" ] || [ "$BROKER_PORT" -gt $((candidate + ENDPOINTS - 1)) ]; } &&
     { [ "$HEALTH_PORT" -lt "$candidate" ] || [ "$HEALTH_PORT" -gt $((candidate + ENDPOINTS - 1)) ]; }; then
    BASE=$candidate
    break
  fi
done
[ -n "$BASE" ] || fail "no $ENDPOINTS free consecutive ports found"

printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\n' "$BROKER_PORT" > "$WORK/mosquitto.conf"
mosquitto -c "$WORK/mosquitto.conf" > "$WORK/mosquitto.log" 2>&1 &
PIDS+=($!)
{
  echo "site: bench"
  echo "box: memory"
  echo "mqtt: {host: 127.0.0.1, port: $BROKER_PORT, topic_prefix: bench/memory}"
  echo "queue: {directory: $WORK/queue}"
  echo "health: {port: $HEALTH_PORT, require_clock_sync: false}"
  echo "alarms: {log: $WORK/alarms.log}"
  echo "hardware: {buzzer: {record_to: $WORK/buzzer.edges}}"
} > "$WORK/agent.yaml"
"$WORK/bedside-simulator" --host 127.0.0.1 --port "$BASE" --devices "pattern:$ENDPOINTS" \
  --pattern-profile "$PROFILE" > "$WORK/simulator.log" 2>&1 &
PIDS+=($!)
{
  echo "sampling: {interval_ms: 100}"
  echo "device_profiles: [$PROFILE]"
  echo "beds:"
  for n in $(seq 1 "$ENDPOINTS"); do
    printf '  - id: bed-%02d\n    devices:\n' "$n"
    printf '      - {id: dev-%02d, profile: bench-16-holding, tcp: {host: 127.0.0.1, port: %d}}\n' "$n" $((BASE + n - 1))
  done
} >> "$WORK/agent.yaml"
for _ in $(seq 100); do
  [ -n "$(ss -Hltn "sport = :$BROKER_PORT")" ] &&
    [ "$(ss -Hltn "( sport >= :$BASE and sport <= :$((BASE + ENDPOINTS - 1)) )" | wc -l)" -eq "$ENDPOINTS" ] && break
  sleep 0.05
done
"$WORK/bedside-gateway" check "$WORK/agent.yaml" > "$WORK/check.txt" 2>&1 || { cat "$WORK/check.txt" >&2; fail "the configuration does not check"; }
"$WORK/bedside-gateway" run --config "$WORK/agent.yaml" > "$WORK/agent.log" 2>&1 &
PID=$!
PIDS+=("$PID")

switches() { cat /proc/"$PID"/task/*/status 2>/dev/null | awk '/^(voluntary|nonvoluntary)_ctxt_switches/ { s += $2 } END { print s }'; }
cpu_ticks() { sed 's/.*) //' "/proc/$PID/stat" | awk '{ print $12 + $13 }'; }
sleep "$WARMUP_S"
kill -0 "$PID" 2>/dev/null || { cat "$WORK/agent.log" >&2; fail "the agent died during the warm-up"; }
s0="$(switches)"; c0="$(cpu_ticks)"; t0="$(date +%s%N)"
sleep "$WINDOW_S"
kill -0 "$PID" 2>/dev/null || { cat "$WORK/agent.log" >&2; fail "the agent died during the window"; }
s1="$(switches)"; c1="$(cpu_ticks)"; t1="$(date +%s%N)"
status() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$PID/status"; }
python3 - "$PID" "$((t1 - t0))" "$((s1 - s0))" "$((c1 - c0))" "$(getconf CLK_TCK)" \
  "$(status VmHWM)" "$(status RssAnon)" "$(status RssFile)" "$(status Threads)"  <<'EOF'
import collections, re, sys
pid, ns, switches, ticks, hz = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
hwm, anon, file_rss, threads = (int(v) for v in sys.argv[6:10])
seconds = ns / 1e9
print(f"peak RSS (VmHWM) {hwm / 1024:.2f} MiB, anonymous {anon / 1024:.2f} MiB, file-backed {file_rss / 1024:.2f} MiB, "
      f"{threads} threads; {switches / seconds:.1f} wake-ups/s, CPU {ticks / hz / seconds * 100:.2f} % of a core "
      f"over {seconds:.1f} s")
# Resident memory by mapping. A thread stack is the read-write mapping right above its guard page.
maps, current = [], None
for line in open(f"/proc/{pid}/smaps"):
    match = re.match(r"^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$", line)
    if match:
        current = {"size": (int(match.group(2), 16) - int(match.group(1), 16)) // 1024, "perm": match.group(3),
                   "name": match.group(4), "Rss": 0}
        maps.append(current)
    elif line.startswith("Rss:"):
        current["Rss"] = int(line.split()[1])
where = collections.Counter()
for index, mapping in enumerate(maps):
    name = mapping["name"]
    if not name:
        previous = maps[index - 1] if index else None
        following = maps[index + 1] if index + 1 < len(maps) else None
        if previous and previous["perm"] == "---p" and not previous["name"] and previous["size"] <= 64:
            name = "thread stacks"
        elif following and following["perm"] == "---p" and not following["name"] and \
                following["size"] + mapping["size"] in (65536, 131072):
            name = "malloc arenas"
        else:
            name = "other anonymous (latency histograms)"
    elif name.startswith("/"):
        name = name.rsplit("/", 1)[1]
    where[name] += mapping["Rss"]
for name, kib in where.most_common():
    if kib > 0:
        print(f"  {kib:6d} KiB  {name}")
EOF
