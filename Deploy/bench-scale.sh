#!/usr/bin/env bash
# Benchmark: how the agent's CPU per point changes with the number of devices and of TCP
# endpoints (issue 11, part 4). Four topologies, 16 points per device every 100 ms, the agent
# as x86_64 firmware publishing to a local mosquitto through its disk queue:
#   1x8     8 devices behind one endpoint (unit ids 1..8: one bus thread)
#   1x32   32 devices behind one endpoint (one bus thread)
#   1x128 128 devices behind one endpoint (one bus thread)
#   32x1   32 devices on 32 endpoints (32 bus threads)
# The topologies run in rounds, each round in a rotated order, so the figures of one run are
# compared with each other on the same (shared, noisy) machine; the summary shows the median
# of the rounds. CPU is the agent's on-CPU time from /proc/PID/task/*/schedstat over the window.
#
# Usage: Deploy/bench-scale.sh [rounds (3)] [window-s (20)] [warm-up-s (4)]
# Environment: FIRMWARE=PATH (default .build-firmware/x86_64/bedside-gateway; the simulator is
# taken from the same directory), KEEP=1 keeps the work directory.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bench/common.sh"
bench_setup scale
ROUNDS="${1:-3}"
WINDOW_S="${2:-20}"
WARMUP_S="${3:-4}"
INTERVAL_MS=100
POINTS=16
PROFILE="$ROOT/Deploy/bench/bench-16-holding.yaml"
TOPOLOGIES=(1x8 1x32 1x128 32x1)

case "$ROUNDS$WINDOW_S$WARMUP_S" in *[!0-9]*) fail "usage: $0 [rounds] [window-s] [warm-up-s]" ;; esac
bench_need mosquitto mosquitto_sub ss python3
bench_copy_firmware
bench_start_broker
bench_start_simulator 32 --devices pattern:32 --pattern-profile "$PROFILE"

# config TOPOLOGY: one bed per device; "EndpointsxDevicesPerEndpoint".
config() {
  bench_agent_header scale "queue-$1"
  echo "sampling: {interval_ms: $INTERVAL_MS}"
  echo "device_profiles:"
  echo "  - $PROFILE"
  bench_beds "${1%x*}" "${1#*x}" bench-16-holding
}
sched_ns() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { printf "%.0f", s }'; }
# On-CPU ns per group of threads: "bus" (every sampling loop), "alarms", "publisher" (the main
# thread), "other" (supervisor, buzzer, libmosquitto, libmicrohttpd).
group_ns() {
  local task comm group
  for task in /proc/"$1"/task/*; do
    comm="$(cat "$task/comm" 2>/dev/null)" || continue
    case "$comm" in "bus "*) group=bus ;; alarms) group=alarms ;; *) group=other ;; esac
    [ "${task##*/}" = "$1" ] && group=publisher
    echo "$group $(cut -d' ' -f1 "$task/schedstat" 2>/dev/null || echo 0)"
  done | awk '{ s[$1] += $2 } END { printf "%.0f %.0f %.0f %.0f", s["bus"], s["alarms"], s["publisher"], s["other"] }'
}

# measure TOPOLOGY: prints "cpu_ms_per_1000_points cpu_percent threads".
measure() {
  local topology="$1" devices pid t0 t1 c0 c1 threads
  devices=$(( ${topology%x*} * ${topology#*x} ))
  config "$topology" > "$WORK/$topology.yaml"
  local messages="$WORK/$topology.$RANDOM.messages" sub m0 m1
  mosquitto_sub -h 127.0.0.1 -p "$BROKER_PORT" -q 1 -t "bench/scale/beds/+/vitals" > "$messages" 2>/dev/null &
  sub=$!
  PIDS+=("$sub")
  sleep 0.3
  "$WORK/bedside-gateway" run --config "$WORK/$topology.yaml" > "$WORK/$topology.log" 2>&1 &
  pid=$!
  PIDS+=("$pid")
  sleep "$WARMUP_S"
  kill -0 "$pid" 2>/dev/null || { cat "$WORK/$topology.log" >&2; fail "$topology: the agent died"; }
  t0="$(date +%s%N)"; c0="$(sched_ns "$pid")"; m0="$(wc -l < "$messages")"; local g0 g1
  g0="$(group_ns "$pid")"
  sleep "$WINDOW_S"
  t1="$(date +%s%N)"; c1="$(sched_ns "$pid")"; m1="$(wc -l < "$messages")"
  g1="$(group_ns "$pid")"
  threads="$(awk '$1 == "Threads:" { print $2 }' "/proc/$pid/status")"
  kill -TERM "$pid"; wait "$pid" || true
  kill -TERM "$sub"; wait "$sub" 2>/dev/null || true
  grep -q '"comm-loss"' "$messages" && echo "bench-scale: $topology: some samples were comm-loss" >&2
  # Points actually published in the window (one message per device per cycle), and the share
  # of the nominal rate, which shows a bus that cannot keep its period.
  awk -v c=$((c1 - c0)) -v t=$((t1 - t0)) -v m=$((m1 - m0)) -v d="$devices" -v p="$POINTS" -v i="$INTERVAL_MS" -v n="$threads" \
      -v g0="$g0" -v g1="$g1" 'BEGIN {
    points = m * p
    split(g0, a, " "); split(g1, b, " ")
    printf "%.3f %.2f %d %.0f", c / 1e6 / (points / 1000), 100 * c / t, n, 100 * m / (d * (t / 1e6) / i)
    for (k = 1; k <= 4; k++) printf " %.3f", (b[k] - a[k]) / 1e6 / (points / 1000)
    printf "\n" }'
}

echo "bench-scale: $ROUNDS round(s) of ${WINDOW_S} s per topology, $(nproc) CPU(s), load $(cut -d' ' -f1-3 /proc/loadavg)," \
  "$("$WORK/bedside-gateway" --version)" >&2
for round in $(seq 1 "$ROUNDS"); do
  for k in $(seq 0 $(( ${#TOPOLOGIES[@]} - 1 ))); do
    topology="${TOPOLOGIES[$(( (k + round - 1) % ${#TOPOLOGIES[@]} ))]}"
    result="$(measure "$topology")"
    echo "round $round $topology $result" | tee -a "$WORK/results" >&2
  done
done
echo
echo "CPU ms per 1000 points (median of the rounds), in total and by thread group; CPU % of one core"
printf '%-7s %7s %7s %7s %7s %9s %7s %7s %7s %10s\n' topology devices total bus alarms publisher other "CPU %" threads "rate kept"
for topology in "${TOPOLOGIES[@]}"; do
  awk -v t="$topology" '
    function median(column,   i, j, x, v) {
      for (i = 1; i <= n; i++) v[i] = value[i, column]
      for (i = 2; i <= n; i++) for (j = i; j > 1 && v[j-1] > v[j]; j--) { x = v[j]; v[j] = v[j-1]; v[j-1] = x }
      return v[int((n + 1) / 2)]
    }
    $3 == t { n++; for (k = 4; k <= NF; k++) value[n, k] = $k; th = $6; r = r (r == "" ? "" : "/") $7 "%" }
    END {
      split(t, e, "x")
      printf "%-7s %7d %7.2f %7.2f %7.2f %9.2f %7.2f %7.2f %7d %10s\n", t, e[1] * e[2], median(4), median(8), median(9),
        median(10), median(11), median(5), th, r }' "$WORK/results"
done
