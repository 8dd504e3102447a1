#!/usr/bin/env bash
# Benchmark: what the publisher thread does per vitals message, in instructions and heap
# allocations (valgrind's callgrind: instruction counts are repeatable on a shared machine,
# unlike times), and how many bytes a message is on the wire.
#
# Beds of one 16-point device each (Deploy/bench/bench-16-points.yaml, served by the
# simulator's test pattern) sampled every 100 ms, QoS 1 through the disk queue to a local
# mosquitto. The agent runs under callgrind with collection switched on only inside the
# publisher's `step` (everything it calls included: assembly, encoding, queue append,
# MQTT hand-over, PUBACK bookkeeping); a subscriber counts the messages and their bytes.
#
# COLLECT=drain narrows collection to the publisher's per-message path alone (`drainSamples`:
# ring records to bed messages, encoding, queue append, hand-over to libmosquitto), leaving
# out the once-a-second work of `step` (health summary, queue upkeep) and the PUBACKs.
#
# Usage: [COLLECT=step|drain] Deploy/bench-message-cost.sh [beds (8)] [seconds (20)]
# Environment: AGENT=PATH (default .build/release/bedside-gateway), SIMULATOR=PATH
#   (default .build/release/bedside-simulator); build both with `swift build -c release`.
set -euo pipefail
export LC_ALL=C
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BEDS="${1:-8}"
SECONDS_RUN="${2:-20}"
AGENT="${AGENT:-$ROOT/.build/release/bedside-gateway}"
SIMULATOR="${SIMULATOR:-$ROOT/.build/release/bedside-simulator}"
case "${COLLECT:-step}" in
  step) FUNCTION='*PublisherC4step*' ;;
  drain) FUNCTION='*PublisherC12drainSamples*' ;;
  *) echo "bench-message-cost: COLLECT must be step or drain" >&2; exit 1 ;;
esac
PROFILE="$ROOT/Deploy/bench/bench-16-points.yaml"
fail() { echo "bench-message-cost: $*" >&2; exit 1; }
for tool in valgrind objcopy mosquitto mosquitto_sub python3 ss; do
  command -v "$tool" >/dev/null || fail "$tool not found"
done
[ -x "$AGENT" ] || fail "no agent at $AGENT (swift build -c release)"
[ -x "$SIMULATOR" ] || fail "no simulator at $SIMULATOR (swift build -c release)"

WORK="$(mktemp -d /tmp/bedside-message-cost.XXXXXX)"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ "${KEEP:-0}" = 1 ]; then echo "work directory kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
BROKER_PORT="$(free_port)"
printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\n' "$BROKER_PORT" > "$WORK/mosquitto.conf"
mosquitto -c "$WORK/mosquitto.conf" > "$WORK/mosquitto.log" 2>&1 &
PIDS+=($!)
BASE=""
for _ in $(seq 50); do
  candidate=$((30000 + RANDOM % 20000))
  if [ -z "$(ss -Htan "( sport >= :$candidate and sport <= :$((candidate + BEDS - 1)) )")" ]; then BASE=$candidate; break; fi
done
[ -n "$BASE" ] || fail "no $BEDS free consecutive ports"
"$SIMULATOR" --host 127.0.0.1 --port "$BASE" --devices "pattern:$BEDS" --pattern-profile "$PROFILE" > "$WORK/simulator.log" 2>&1 &
PIDS+=($!)
{
  echo "site: bench"
  echo "box: message-cost"
  echo "mqtt: {host: 127.0.0.1, port: $BROKER_PORT, topic_prefix: bench/agent}"
  echo "sampling: {interval_ms: 100}"
  echo "queue: {directory: $WORK/queue}"
  echo "health: {port: 0}"
  echo "device_profiles:"
  echo "  - $PROFILE"
  echo "beds:"
  for n in $(seq 1 "$BEDS"); do
    printf '  - id: bed-%02d\n    devices:\n' "$n"
    printf '      - {id: dev-%02d, profile: bench-16-points, tcp: {host: 127.0.0.1, port: %d}}\n' "$n" $((BASE + n - 1))
  done
} > "$WORK/agent.yaml"
sleep 1
mosquitto_sub -p "$BROKER_PORT" -t 'bench/agent/beds/+/vitals' -q 1 -F '%l %p' > "$WORK/messages.txt" 2>/dev/null &
SUB=$!
PIDS+=("$SUB")
mosquitto_sub -p "$BROKER_PORT" -t 'bench/agent/beds/bed-01/vitals' -C 1 -W "$((SECONDS_RUN + 30))" > "$WORK/sample.json" 2>/dev/null &
PIDS+=($!)
# Valgrind 3.19 cannot read the toolchain's DWARF 5: a copy without debug information, whose
# symbol table still names every function.
objcopy --strip-debug "$AGENT" "$WORK/agent"
valgrind --tool=callgrind --callgrind-out-file="$WORK/callgrind.out" \
  --toggle-collect="$FUNCTION" "$WORK/agent" run --config "$WORK/agent.yaml" > "$WORK/agent.log" 2>&1 &
AGENT_PID=$!
PIDS+=("$AGENT_PID")
sleep "$SECONDS_RUN"
kill -TERM "$AGENT_PID" 2>/dev/null || { cat "$WORK/agent.log" >&2; fail "the agent stopped early"; }
wait "$AGENT_PID" || true
sleep 0.5
kill -TERM "$SUB" 2>/dev/null || true
MESSAGES="$(wc -l < "$WORK/messages.txt")"
[ "$MESSAGES" -gt 0 ] || { cat "$WORK/agent.log" >&2; fail "no vitals message arrived"; }
# Under valgrind a bed's message may hold fewer or more than the 16 values of one cycle, so
# the figures are also given per value ("quality" occurs once per value in either format).
BYTES="$(awk '{ s += $1 } END { print s }' "$WORK/messages.txt")"
VALUES="$(grep -o '"quality"' "$WORK/messages.txt" | wc -l)"
# Instructions inside the publisher's step, and the calls it made to malloc (callgrind
# records call counts on its call edges: the "calls=" line after each "cfn=" to malloc).
python3 - "$WORK/callgrind.out" "$MESSAGES" "$BYTES" "$BEDS" "$VALUES" "${COLLECT:-step}" <<'PY'
import re, sys
path, messages, size, beds, values, collect = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], int(sys.argv[5]), sys.argv[6]
total = 0
mallocs = 0
names = {}
target = None
with open(path) as f:
    for line in f:
        if line.startswith("summary:") or line.startswith("totals:"):
            total = max(total, int(line.split()[1]))
        m = re.match(r"cfn=\((\d+)\)(?: (.*))?", line)
        if m:
            if m.group(2): names[m.group(1)] = m.group(2).strip()
            target = names.get(m.group(1))
            continue
        if line.startswith("calls=") and target in ("malloc", "calloc", "realloc", "posix_memalign", "aligned_alloc"):
            mallocs += int(line.split("=")[1].split()[0])
print(f"beds {beds}, messages received {messages} holding {values} values ({values / messages:.1f} per message)")
print(f"bytes: {size / messages:,.0f} per message, {size / values:.1f} per value, {16 * size / values:,.0f} per 16 values")
print(f"publisher {collect}: {total / messages:,.0f} instructions and {mallocs / messages:.1f} heap allocations per message; "
      f"per 16 values {total / values * 16:,.0f} instructions, {mallocs / values * 16:.1f} allocations")
PY
echo "one message:"; head -c 600 "$WORK/sample.json"; echo
