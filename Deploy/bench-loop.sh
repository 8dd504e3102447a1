#!/usr/bin/env bash
# Benchmark: the agent's sampling loop beside cyclictest, at the same period and priority,
# running at the same time on this machine, so both see the same load and the same VM noise.
# Prints both wake-up latency distributions and their ratios at p50, p99 and p99.9.
# Usage: Deploy/bench-loop.sh [seconds (10)] [period-ms (1)] [priority (80)]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
[ -d /opt/swift/usr/bin ] && export PATH="/opt/swift/usr/bin:$PATH"
SECONDS_TO_RUN="${1:-10}"
PERIOD_MS="${2:-1}"
PRIORITY="${3:-80}"
CYCLES=$((SECONDS_TO_RUN * 1000 / PERIOD_MS))

bash Deploy/install-deps.sh >/dev/null
command -v cyclictest >/dev/null || { apt-get install -y -qq rt-tests >/dev/null; }
# The binary that ships: the Embedded Swift firmware for this machine's architecture.
BIN="$ROOT/.build-firmware/x86_64/bedside-gateway"
[ -x "$BIN" ] && [ -x "$ROOT/.build-firmware/x86_64/bedside-simulator" ] || bash Deploy/build-firmware.sh x86_64 >/dev/null

WORK="$(mktemp -d /tmp/bedside-bench.XXXXXX)"
PORT=$((20000 + RANDOM % 20000))
"$ROOT/.build-firmware/x86_64/bedside-simulator" --port "$PORT" > "$WORK/simulator.log" 2>&1 &
SIM=$!
trap 'kill $SIM 2>/dev/null || true' EXIT
for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.1; done

echo "running both for ${SECONDS_TO_RUN} s: period ${PERIOD_MS} ms, SCHED_FIFO priority ${PRIORITY}, memory locked"
cyclictest -t1 -p "$PRIORITY" -i $((PERIOD_MS * 1000)) -l "$CYCLES" -m -q -h 100000 > "$WORK/cyclictest.txt" 2>&1 &
CYC=$!
"$BIN" bench-loop --port "$PORT" --period-ms "$PERIOD_MS" --cycles "$CYCLES" --priority "$PRIORITY" > "$WORK/loop.txt"
wait $CYC

# cyclictest's histogram: "latency_us count" lines (1 µs buckets), plus an overflow count.
read -r C50 C99 C999 CMAX < <(awk '
  /^[0-9]+[ \t]+[0-9]+/ { n[$1 + 0] = $2; total += $2 }
  /^# Max Latencies/ { max = $4 + 0 }
  END {
    split("0.5 0.99 0.999", fractions, " ")
    for (i = 1; i <= 3; i++) {
      need = total * fractions[i]; seen = 0; result[i] = max
      for (us = 0; us <= 100000; us++) { seen += n[us]; if (seen >= need) { result[i] = us; break } }
    }
    print result[1], result[2], result[3], max
  }' "$WORK/cyclictest.txt")
read -r O50 O99 O999 OMAX < <(sed -n 's/^wakeup_us p50=\([0-9.]*\) p99=\([0-9.]*\) p99.9=\([0-9.]*\) max=\([0-9.]*\)/\1 \2 \3 \4/p' "$WORK/loop.txt")

cat "$WORK/loop.txt"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else printf "n/a" }'; }
printf '\n%-28s %10s %10s %10s %10s\n' "wake-up latency (µs)" p50 p99 p99.9 max
printf '%-28s %10s %10s %10s %10s\n' "cyclictest" "$C50" "$C99" "$C999" "$CMAX"
printf '%-28s %10s %10s %10s %10s\n' "bedside-gateway loop" "$O50" "$O99" "$O999" "$OMAX"
printf '%-28s %10s %10s %10s %10s\n' "ratio (loop / cyclictest)" "$(ratio "$O50" "$C50")" "$(ratio "$O99" "$C99")" \
  "$(ratio "$O999" "$C999")" "$(ratio "$OMAX" "$CMAX")"
echo "(cyclictest reports whole microseconds; the loop's figures are histogram bucket upper bounds, within 3 %)"
