#!/usr/bin/env bash
# Benchmark: the agent (the x86_64 Embedded Swift firmware, the binary that ships for this
# machine) beside a reference gateway doing the same Modbus TCP -> MQTT work in the same run:
# mqmgateway (C++, libmodbus + libmosquitto) when MQM= names a built modmqttd, otherwise the
# Python reference (Deploy/bench/reference_gateway.py: pymodbus + paho-mqtt).
#
# The work: N devices, each 16 uint16 holding registers read in one request every 100 ms, one
# MQTT message per device per cycle, on loopback. Topologies: `unit` puts every device behind
# ONE Modbus TCP endpoint (unit ids 1..N, one connection), `ports` gives each device a port of
# its own. The simulator stamps register 1 with the wall-clock time of each reply; the
# subscriber (mosquitto_sub, receipt time %U) computes read -> subscriber for every message.
# Per run: CPU % of a core and CPU ms per 1000 points (whole process, /proc/PID/stat), wake-ups
# (context switches over all threads), peak RSS (VmHWM), bytes per message, messages/s,
# Modbus requests/s (device side, kernel TCP counters), sequence gaps and comm-loss samples.
# Runs alternate agent, reference, agent, reference... (REPS pairs per workload); the gateway
# under test is pinned to CPU 1, broker, simulator and subscriber to CPU 0. Then one more agent
# run on the first workload with an LD_PRELOAD allocation counter (Deploy/bench/malloc_count.c):
# allocations per cycle on the bus threads and per message on the publisher.
#
# Usage: Deploy/bench-throughput.sh
# Environment:
#   WORKLOADS=32:unit,8:unit,128:unit,32:ports   DEVICES:unit|ports,... (default 32:unit, the
#                   workload issue 11's targets are stated in)
#   REPS=3          interleaved pairs per workload     WINDOW=30 / WARMUP=5   seconds per run
#   MQM=PATH        mqmgateway's modmqttd (e.g. /tmp/peers/mqm/build/modmqttd/modmqttd); its
#                   converters are looked up in ../stdconv beside it
#   FIRMWARE=PATH   agent binary (default .build-firmware/x86_64/bedside-gateway, built if missing)
#   SIMULATOR=PATH  bedside-simulator (default: the one beside FIRMWARE)
#   ALLOCATIONS=0   skip the allocation-counting run
#   KEEP=1          keep the work directory (configurations, logs, received messages)
#   BENCH_CHARTING  the agent's `charting:` value, e.g. '{interval_s: 1}' (default: a row a minute);
#                   MLLP_PORT in it starts an MLLP receiver that ACKs every PCD-01, e.g.
#                   '{interval_s: 1, fhir: false, hl7: {host: 127.0.0.1, port: MLLP_PORT}}'
set -euo pipefail
export LC_ALL=C
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
MODE="${BENCH_MODE:-throughput}"  # bench-idle.sh runs this script with BENCH_MODE=idle
fail() { echo "bench-$MODE: $*" >&2; exit 1; }

[ -d /opt/swift/usr/bin ] && export PATH="/opt/swift/usr/bin:$PATH"
bash Deploy/install-deps.sh >/dev/null
for tool in mosquitto mosquitto_sub ss taskset gcc python3; do
  command -v "$tool" >/dev/null || fail "$tool not found"
done
[ "$(nproc)" -ge 2 ] || fail "needs 2 CPUs: the gateway on CPU 1, everything else on CPU 0"

FIRMWARE="${FIRMWARE:-$ROOT/.build-firmware/x86_64/bedside-gateway}"
if [ ! -x "$FIRMWARE" ]; then
  [ "$FIRMWARE" = "$ROOT/.build-firmware/x86_64/bedside-gateway" ] || fail "FIRMWARE=$FIRMWARE is not executable"
  echo "building the x86_64 firmware first (not part of the benchmark)..." >&2
  bash Deploy/build-firmware.sh x86_64 >/dev/null
fi
SIMULATOR="${SIMULATOR:-$(dirname "$FIRMWARE")/bedside-simulator}"
[ -x "$SIMULATOR" ] || fail "no bedside-simulator at $SIMULATOR (SIMULATOR=PATH, or Deploy/build-firmware.sh x86_64)"
"$SIMULATOR" --help | grep -q -- --reply-time-register ||
  fail "$SIMULATOR has no --reply-time-register (built from an older commit): rebuild it"
if [ -n "${MQM:-}" ]; then
  [ -x "$MQM" ] || fail "MQM=$MQM is not an executable modmqttd (README, "Benchmarks", says how to build one)"
fi

WORK="$(mktemp -d "/tmp/bedside-bench-$MODE.XXXXXX")"
cleanup() { if [ "${KEEP:-0}" = 1 ]; then echo "work directory kept: $WORK" >&2; else rm -rf "$WORK"; fi; }
trap cleanup EXIT
# Private copies: a concurrent build cannot replace the binaries under this run.
cp "$FIRMWARE" "$WORK/bedside-gateway"
cp "$SIMULATOR" "$WORK/bedside-simulator"
FLAVOR="$("$WORK/bedside-gateway" --version)"

ARGS=(--agent "$WORK/bedside-gateway" --simulator "$WORK/bedside-simulator" --work "$WORK"
      --profile "$ROOT/Deploy/bench/bench-16-holding.yaml" --reps "${REPS:-3}"
      --window "${WINDOW:-30}" --warmup "${WARMUP:-5}")
[ "${KEEP:-0}" = 1 ] && ARGS+=(--keep)
PY=python3
if [ "$MODE" = throughput ]; then
  ARGS+=(--workloads "${WORKLOADS:-32:unit}")
  if [ -n "${MQM:-}" ]; then
    ARGS+=(--mqm "$MQM")
  else
    # The Python reference's packages, in a virtual environment kept between runs (git-ignored).
    VENV="$ROOT/.build-bench-venv"
    REQUIREMENTS="pymodbus==3.16.1 paho-mqtt==2.2.0 PyYAML==6.0.3"
    if [ "$(cat "$VENV/requirements.txt" 2>/dev/null)" != "$REQUIREMENTS" ]; then
      rm -rf "$VENV"
      python3 -m venv "$VENV" >/dev/null 2>&1 || { apt-get install -y -qq python3-venv >/dev/null; python3 -m venv "$VENV"; }
      # shellcheck disable=SC2086
      "$VENV/bin/pip" install -q --disable-pip-version-check $REQUIREMENTS >/dev/null
      echo "$REQUIREMENTS" > "$VENV/requirements.txt"
    fi
    ARGS+=(--reference-python "$VENV/bin/python" --reference "$ROOT/Deploy/bench/reference_gateway.py")
  fi
  if [ "${ALLOCATIONS:-1}" != 0 ]; then
    gcc -O2 -Wall -Wextra -Werror -shared -fPIC -o "$WORK/malloc_count.so" Deploy/bench/malloc_count.c -lpthread
    ARGS+=(--malloc-so "$WORK/malloc_count.so")
  fi
fi

echo "bench-$MODE: $FIRMWARE ($FLAVOR, $(stat -c %s "$FIRMWARE") bytes)${MQM:+, reference mqmgateway $MQM}" >&2
echo "$(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- Sources || echo '+changes'), $(nproc) CPUs, load average at the start $(cut -d' ' -f1-3 /proc/loadavg)"
status=0
"$PY" Deploy/bench/throughput.py "$MODE" "${ARGS[@]}" || status=$?
echo "load average at the end $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine skews absolute figures; compare the ratios)"
exit "$status"
