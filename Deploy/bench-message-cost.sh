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
source "$(dirname "${BASH_SOURCE[0]}")/bench/common.sh"
bench_setup message-cost
BEDS="${1:-8}"
SECONDS_RUN="${2:-20}"
AGENT="${AGENT:-$ROOT/.build/release/bedside-gateway}"
SIMULATOR="${SIMULATOR:-$ROOT/.build/release/bedside-simulator}"
case "${COLLECT:-step}" in
  step) FUNCTION='*PublisherC4step*' ;;
  drain) FUNCTION='*PublisherC12drainSamples*' ;;
  *) fail "COLLECT must be step or drain" ;;
esac
PROFILE="$ROOT/Deploy/bench/bench-16-points.yaml"
bench_need valgrind objcopy mosquitto mosquitto_sub python3 ss
[ -x "$AGENT" ] || fail "no agent at $AGENT (swift build -c release)"
[ -x "$SIMULATOR" ] || fail "no simulator at $SIMULATOR (swift build -c release)"
cp "$SIMULATOR" "$WORK/bedside-simulator"

bench_start_broker
bench_start_simulator "$BEDS" --devices "pattern:$BEDS" --pattern-profile "$PROFILE"
{
  bench_agent_header agent queue
  echo "sampling: {interval_ms: 100}"
  echo "device_profiles:"
  echo "  - $PROFILE"
  bench_beds "$BEDS" 1 bench-16-points
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
