#!/usr/bin/env bash
# The emulated flashed box: an arm64 Debian 12 image with our packages, booted
# under qemu-system-aarch64 (virt, PL061 GPIO, i6300esb watchdog), and a smoke test from the
# host: boot, agent ready, vitals over MQTT, buzzer toggling on a desaturation, and the
# hardware watchdog resetting the box when the agent is SIGSTOPped.
#   bash Deploy/emulated-box.sh            (root; Debian 12 host; ~12 min the first time, ~2 min cached)
# Environment: BOX_MQTT_PORT (host port forwarded to the guest's broker, default 18883),
# BOX_CPU (default cortex-a57), BOX_HARDWARE (auto|board|explicit), BOX_NO_AFTER_RESET=1 (do
# not wait for the agent to come back after the watchdog reset), BOX_KEEP_RUNNING=1, BOX_BARE_BINARIES=1 (skip the
# packages: bare firmware binaries, development only), BOX_KERNEL=rt (Debian's PREEMPT_RT kernel,
# installed into the image's copy, not cached), BOX_TIMEOUT_S (whole run, default 5400).
# Everything lands in .build-box/ (the base root filesystem is cached there).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export ROOT BOX_DIR="$ROOT/.build-box"
mkdir -p "$BOX_DIR"
PORT="${BOX_MQTT_PORT:-18883}"
TIMINGS="$BOX_DIR/timings.txt"
: > "$TIMINGS"
[ "$(id -u)" = 0 ] || { echo "emulated-box: run as root (debootstrap, chroot)" >&2; exit 1; }

# A guard on the whole run: a stuck step ends it instead of hanging.
if [ -z "${BOX_GUARDED:-}" ]; then
  export BOX_GUARDED=1
  exec timeout -k 30 "${BOX_TIMEOUT_S:-5400}" bash "$ROOT/Deploy/emulated-box.sh" "$@"
fi

STEP=""; STEP_T0=0
step() { STEP="$1"; STEP_T0=$SECONDS; echo; echo "=== emulated-box: $STEP"; }
done_step() { local d=$((SECONDS - STEP_T0)); echo "=== emulated-box: $STEP: ${d} s"; printf '%-40s %6d s\n' "$STEP" "$d" >> "$TIMINGS"; }
trap 'rc=$?; if [ $rc -ne 0 ]; then echo "emulated-box: FAILED in step: $STEP (exit $rc)" >&2; fi' EXIT

step "1. host tools"
bash Deploy/box/install-host-deps.sh
done_step

step "2. arm64 base root filesystem"
bash Deploy/box/build-rootfs.sh
done_step

step "3. packages"
FW="$ROOT/.build-firmware/aarch64"
DEBS=("$ROOT/.build-packages/bedside-gateway_0.2.0_arm64.deb" "$ROOT/.build-packages/bedside-simulator_0.2.0_arm64.deb")
BOX_DEBS=""
if [ -n "${BOX_BARE_BINARIES:-}" ]; then
  echo "packages: BOX_BARE_BINARIES set: the bare firmware binaries, not the packages"
else
  stale=""
  for d in "${DEBS[@]}"; do
    if [ ! -f "$d" ] || [ "$FW/bedside-gateway" -nt "$d" ] || [ "$FW/bedside-simulator" -nt "$d" ]; then stale=1; fi
  done
  if [ -n "$stale" ]; then
    [ -f Deploy/build-packages.sh ] || { echo "packages: Deploy/build-packages.sh is missing (set BOX_BARE_BINARIES=1 to boot the bare binaries)" >&2; exit 1; }
    echo "packages: missing or older than the firmware: bash Deploy/build-packages.sh arm64"
    bash Deploy/build-packages.sh arm64
  fi
  for d in "${DEBS[@]}"; do [ -f "$d" ] || { echo "packages: $d was not built" >&2; exit 1; }; done
  BOX_DEBS="${DEBS[*]}"
  echo "packages: ${DEBS[*]##*/}"
fi
export BOX_DEBS
done_step

step "4. disk image"
bash Deploy/box/assemble-image.sh
done_step

step "5. boot and smoke test"
if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
  echo "emulated-box: port $PORT on 127.0.0.1 is in use; set BOX_MQTT_PORT" >&2; exit 1
fi
smoke=(--box-dir "$BOX_DIR" --port "$PORT" --cpu "${BOX_CPU:-cortex-a57}")
[ -n "${BOX_NO_AFTER_RESET:-}" ] && smoke+=(--no-after-reset)
[ -n "${BOX_KEEP_RUNNING:-}" ] && smoke+=(--keep-running)
/usr/bin/python3 Deploy/box/smoke.py "${smoke[@]}"
done_step

echo
echo "==== emulated-box: times ===="
cat "$TIMINGS"
echo "emulated-box: PASS (console log $BOX_DIR/console.log, MQTT seen by the host $BOX_DIR/mqtt.log)"
