#!/usr/bin/env bash
# Benchmark: what the publisher thread does per vitals message, in instructions and heap
# allocations (valgrind's callgrind: instruction counts are repeatable on a shared machine,
# unlike times), and how many bytes a message is on the wire.
#
# Beds of one 16-point device each (Deploy/bench/bench-16-points.yaml, served by the
# simulator's test pattern) sampled every 100 ms, QoS 1 through the disk queue to a local
# mosquitto. The agent runs twice: under callgrind with collection switched on only inside
# the publisher's `step` (everything it calls included: assembly, encoding, queue append,
# MQTT hand-over, PUBACK bookkeeping), and under dhat, whose allocation points with that
# function on their stack are counted; a subscriber counts the messages and their bytes.
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
# Valgrind 3.19 cannot read the toolchain's DWARF 5: a copy without debug information, whose
# symbol table still names every function.
objcopy --strip-debug "$AGENT" "$WORK/agent"

# run_agent TOOL: the agent under valgrind's TOOL for SECONDS_RUN, a subscriber beside it;
# leaves $WORK/TOOL.out, $WORK/TOOL.messages.
run_agent() {
  local tool="$1" sub agent
  mosquitto_sub -p "$BROKER_PORT" -t 'bench/agent/beds/+/vitals' -q 1 -F '%l %p' > "$WORK/$tool.messages" 2>/dev/null &
  sub=$!
  PIDS+=("$sub")
  rm -rf "$WORK/queue"
  case "$tool" in
    callgrind) valgrind --tool=callgrind --callgrind-out-file="$WORK/$tool.out" --toggle-collect="$FUNCTION" \
                 "$WORK/agent" run --config "$WORK/agent.yaml" > "$WORK/$tool.log" 2>&1 & ;;
    dhat) valgrind --tool=dhat --dhat-out-file="$WORK/$tool.out" \
            "$WORK/agent" run --config "$WORK/agent.yaml" > "$WORK/$tool.log" 2>&1 & ;;
  esac
  agent=$!
  PIDS+=("$agent")
  sleep "$SECONDS_RUN"
  kill -TERM "$agent" 2>/dev/null || { cat "$WORK/$tool.log" >&2; fail "the agent stopped early under $tool"; }
  wait "$agent" || true
  sleep 0.5
  kill -TERM "$sub" 2>/dev/null || true
  [ -s "$WORK/$tool.messages" ] || { cat "$WORK/$tool.log" >&2; fail "no vitals message arrived under $tool"; }
}
run_agent callgrind
run_agent dhat

# Instructions inside the collected function (callgrind's totals), and heap blocks allocated
# with that function on the stack (dhat's allocation points, whatever thread they ran on:
# only the publisher runs these functions). Under valgrind a bed's message may hold fewer or
# more than the 16 values of one cycle, so figures are also given per 16 values ("quality"
# occurs once per value in either format).
python3 - "$WORK" "$BEDS" "${COLLECT:-step}" "$FUNCTION" <<'PY'
import fnmatch, json, re, sys
work, beds, collect, pattern = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
def counted(tool):
    messages = size = values = 0
    with open(f"{work}/{tool}.messages", errors="replace") as f:
        for line in f:
            length, _, payload = line.partition(" ")
            messages += 1
            size += int(length)
            values += payload.count('"quality"')
    return messages, size, values
instructions = 0
with open(f"{work}/callgrind.out") as f:
    for line in f:
        if line.startswith("summary:") or line.startswith("totals:"):
            instructions = max(instructions, int(line.split()[1]))
dhat = json.load(open(f"{work}/dhat.out"))
frames = dhat["ftbl"]
inside = [fnmatch.fnmatch(frame, "*" + pattern.strip("*") + "*") for frame in frames]
blocks = sum(pp["tbk"] for pp in dhat["pps"] if any(inside[i] for i in pp["fs"]))
c_messages, c_size, c_values = counted("callgrind")
d_messages, d_size, d_values = counted("dhat")
print(f"beds {beds}; under callgrind {c_messages} messages holding {c_values / c_messages:.1f} values each, "
      f"under dhat {d_messages} holding {d_values / d_messages:.1f}")
print(f"bytes: {c_size / c_messages:,.0f} per message, {16 * c_size / c_values:,.0f} per 16 values")
print(f"publisher {collect}: {instructions / c_messages:,.0f} instructions per message ({16 * instructions / c_values:,.0f} per 16 values), "
      f"{blocks / d_messages:.1f} heap allocations per message ({16 * blocks / d_values:.1f} per 16 values)")
PY
echo "one message:"; head -n 1 "$WORK/callgrind.messages" | cut -d" " -f2- | head -c 600; echo
