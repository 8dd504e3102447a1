#!/usr/bin/env bash
# Benchmark: what open clinic view pages cost the agent. 32 chairs (a patient monitor and an
# infusion pump each: 64 simulated devices) sampled every second, publishing to a local broker,
# the view on; the agent's CPU (% of a core, from /proc/PID/stat, every thread including the
# view's connection threads) over windows with no page open and with PAGES pages open (curl
# reading /events, as a browser's EventSource does), interleaved, REPS pairs. Prints each pair
# and the median of the differences. Target (issue 14): 5 pages add at most 0.5 % of a core.
#
# Usage: Deploy/bench-view.sh
# Environment: REPS=5 pairs, WINDOW=30 / WARMUP=5 seconds, PAGES=5; FIRMWARE=PATH (default the
# x86_64 firmware, .build-firmware/x86_64/bedside-gateway, the simulator beside it); KEEP=1.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bench/common.sh"
REPS="${REPS:-5}" WINDOW="${WINDOW:-30}" WARMUP="${WARMUP:-5}" PAGES="${PAGES:-5}"
bench_setup view
bench_need mosquitto ss curl python3
bench_copy_firmware
bench_start_broker
VIEW_PORT="$(bench_free_port)"
bench_start_simulator 64 --devices monitor:32,pump:32 --seed 5
CONFIG="$WORK/gateway.yaml"
{
  bench_agent_header view
  echo "sampling: {interval_ms: 1000}"
  echo "alarms: {log: $WORK/alarms.log}"
  echo "hardware: {buzzer: {record_to: $WORK/buzzer.edges}}"
  echo "view: {port: $VIEW_PORT}"
  echo "beds:"
  for bed in $(seq 0 31); do
    printf '  - id: chair-%d\n    devices:\n' $((bed + 1))
    printf '      - {id: monitor-%d, profile: patient-monitor, tcp: {host: 127.0.0.1, port: %d}}\n' $((bed + 1)) $((SIMULATOR_BASE + bed))
    printf '      - {id: pump-%d, profile: infusion-pump, tcp: {host: 127.0.0.1, port: %d}}\n' $((bed + 1)) $((SIMULATOR_BASE + 32 + bed))
  done
} > "$CONFIG"
bench_check_config "$CONFIG"
bench_start_logged agent.log "$WORK/bedside-gateway" run --config "$CONFIG"
AGENT=$STARTED_PID
bench_wait_listening "$VIEW_PORT" 1
sleep "$WARMUP"

ticks() { awk '{ print $14 + $15 }' "/proc/$AGENT/stat"; }
HZ="$(getconf CLK_TCK)"
# CPU % of a core over WINDOW seconds.
measure() {
  local before after start end
  before="$(ticks)"; start="$(date +%s.%N)"
  sleep "$WINDOW"
  after="$(ticks)"; end="$(date +%s.%N)"
  python3 -c "print(f'{($after - $before) / $HZ / ($end - $start) * 100:.3f}')"
}

echo "bench-view: 32 chairs every second, $PAGES pages against none, $REPS interleaved pairs of $WINDOW s ($(basename "${FIRMWARE:-x86_64 firmware}"))"
differences=()
for rep in $(seq "$REPS"); do
  none="$(measure)"
  pages=()
  for page in $(seq "$PAGES"); do
    curl -sN "http://127.0.0.1:$VIEW_PORT/events" > "$WORK/page-$rep-$page.txt" 2>/dev/null &
    pages+=($!)
  done
  sleep "$WARMUP"
  open="$(measure)"
  kill "${pages[@]}" 2>/dev/null || true
  wait "${pages[@]}" 2>/dev/null || true
  received="$(grep -c '^event: vitals' "$WORK/page-$rep-1.txt" || true)"
  difference="$(python3 -c "print(f'{$open - $none:.3f}')")"
  differences+=("$difference")
  echo "pair $rep: none open $none %, $PAGES open $open %, added $difference % of a core (page 1 got $received vitals messages)"
  sleep 2
done
median="$(printf '%s\n' "${differences[@]}" | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }')"
echo "median added CPU of $PAGES open pages: $median % of a core (target 0.5 %)"
grep -i 'clinic view' "$WORK/agent.log" | head -3
