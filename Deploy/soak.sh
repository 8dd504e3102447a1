#!/usr/bin/env bash
# Soak (issue 16, part 6): 32 chairs (a monitor and a pump each) at 100 ms for MINUTES against a
# local mosquitto, with the broker restarted, monitors silent, malformed replies, provoked
# desaturations acknowledged by the button and kill -9 of the agent spread over the run
# (Deploy/bench/soak.py says what and how it counts). Prints a row per minute (RSS, open
# descriptors, threads, queue bytes on disk, CPU % of one core, pid, messages received), then
# sequence gaps, crashes, alarms raised vs provoked and flatness after warm-up; exits 1 on any gap,
# crash, missed alarm, or growth of RSS or descriptors after warm-up beyond the bounds.
#
# Usage: Deploy/soak.sh [MINUTES (60)]
# Environment: FIRMWARE=PATH (default .build-firmware/x86_64/bedside-gateway; the simulator is
# taken from the same directory), KEEP=1 keeps the work directory, SOAK_ARGS adds driver options
# (--warmup PERCENT, --rss-bound-mib, --fd-bound, --chairs).
set -euo pipefail
export LC_ALL=C
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MINUTES="${1:-60}"
CHAIRS=32
fail() { echo "soak: $*" >&2; exit 1; }
case "$MINUTES" in ''|*[!0-9]*) fail "usage: $0 [minutes]" ;; esac
[ "$MINUTES" -ge 3 ] || fail "a soak needs at least 3 minutes (1 to start, 1 quiet at the end)"
for tool in mosquitto mosquitto_sub ss python3; do command -v "$tool" >/dev/null || fail "$tool not found"; done
FIRMWARE="${FIRMWARE:-$ROOT/.build-firmware/x86_64/bedside-gateway}"
[ -x "$FIRMWARE" ] || fail "no firmware at $FIRMWARE (bash Deploy/build-firmware.sh x86_64)"

WORK="$(mktemp -d /tmp/bedside-soak.XXXXXX)"
cp "$FIRMWARE" "$WORK/bedside-gateway"
cp "$(dirname "$FIRMWARE")/bedside-simulator" "$WORK/bedside-simulator"
cleanup() { if [ "${KEEP:-0}" = 1 ]; then echo "work directory kept: $WORK" >&2; else rm -rf "$WORK"; fi; }
trap cleanup EXIT

# A monitor and a pump per chair, one port each: 2 x CHAIRS consecutive free ports.
PORTS=$((2 * CHAIRS))
BASE=""
for _ in $(seq 50); do
  candidate=$((20000 + RANDOM % 10000))
  if [ -z "$(ss -Htan "( sport >= :$candidate and sport <= :$((candidate + PORTS - 1)) )")" ]; then BASE=$candidate; break; fi
done
[ -n "$BASE" ] || fail "no $PORTS free consecutive ports"

echo "soak: $MINUTES min, $CHAIRS chairs at 100 ms, $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git -C "$ROOT" rev-parse --short HEAD)," \
  "$(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), $("$WORK/bedside-gateway" --version)" >&2
status=0
# shellcheck disable=SC2086
python3 "$ROOT/Deploy/bench/soak.py" --minutes "$MINUTES" --chairs "$CHAIRS" --work "$WORK" \
  --agent "$WORK/bedside-gateway" --simulator "$WORK/bedside-simulator" --simulator-port "$BASE" ${SOAK_ARGS:-} || status=$?
echo "load average at the end $(cut -d' ' -f1-3 /proc/loadavg)" >&2
exit "$status"
