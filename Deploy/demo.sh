#!/usr/bin/env bash
# The demo: installs what is needed, builds, then runs a broker, two simulated patient
# monitors and the agent on loopback, and shows the vitals arriving at the broker until Ctrl-C.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
[ -d /opt/swift/usr/bin ] && export PATH="/opt/swift/usr/bin:$PATH"

bash Deploy/install-deps.sh
swift build --product bedside-gateway
swift build --product bedside-simulator
BIN="$(swift build --show-bin-path)/bedside-gateway"
SIMULATOR="$(swift build --show-bin-path)/bedside-simulator"

BROKER_PORT=18830
RUN_DIR="$(mktemp -d /tmp/bedside-demo.XXXXXX)"
PIDS=()
SHOW_ADDRESSES_AT_EXIT=0
cleanup() {
  if [ "$SHOW_ADDRESSES_AT_EXIT" = 1 ]; then addresses; fi
  # Newest first: the agent stops before the devices and the broker it talks to.
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do kill "${PIDS[$i]}" 2>/dev/null || true; done
  wait 2>/dev/null || true
  echo "demo stopped; logs were in $RUN_DIR"
}
trap cleanup EXIT
trap 'exit 0' INT TERM

for port in "$BROKER_PORT" 15020 15021 15022 15023 18081; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "demo: port $port on 127.0.0.1 is already in use; stop whatever holds it and try again" >&2
    exit 1
  fi
done

printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\n' "$BROKER_PORT" > "$RUN_DIR/mosquitto.conf"
mosquitto -c "$RUN_DIR/mosquitto.conf" > "$RUN_DIR/mosquitto.log" 2>&1 &
PIDS+=($!)
# NIBP every 30 s rather than the clinical 3-5 minutes, so the demo shows the cuff cycle;
# chair-2's patient desaturates after 30 s, so the demo shows an alarm too.
"$SIMULATOR" --port 15020 --devices monitor:2,pump:2 --seed "$RANDOM" --nibp-interval-s 30 \
  --scenario desaturation@2 --scenario-after-s 30 \
  > "$RUN_DIR/simulator.log" 2>&1 &
PIDS+=($!)
"$BIN" check Deploy/demo/gateway.yaml
"$BIN" run --config Deploy/demo/gateway.yaml > "$RUN_DIR/agent.log" 2>&1 &
PIDS+=($!)

# What runs where: printed before the board and again after it, since the board takes the
# whole terminal while it runs.
addresses() {
  echo "demo: broker 127.0.0.1:$BROKER_PORT, monitors 127.0.0.1:15020-15021, pumps 15022-15023, agent log $RUN_DIR/agent.log"
  echo "demo: health on http://127.0.0.1:18081/healthz, /readyz and /metrics; the disk queue in .build/demo/queue"
  echo "demo: the clinic view (every chair live, in a browser on this machine) on http://127.0.0.1:18080/"
  echo "demo: chair-2 desaturates after 30 s (its row turns red on the board); the buzzer's edges go to .build/demo/buzzer.edges"
}
addresses
if [ -t 1 ]; then
  echo "demo: the board of every chair follows, redrawn in place (Ctrl-C to stop)"
  # Ctrl-C reaches the board too, which restores the screen as it ends; the cleanup then
  # prints the addresses again and stops the rest.
  SHOW_ADDRESSES_AT_EXIT=1
  "$BIN" watch --port "$BROKER_PORT" --prefix 'bedside/demo-clinic/edge-01'
else
  echo "demo: live vitals and alarm events as the broker delivers them, a line per message (Ctrl-C to stop)"
  "$BIN" watch --port "$BROKER_PORT" --prefix 'bedside/demo-clinic/edge-01'
fi
