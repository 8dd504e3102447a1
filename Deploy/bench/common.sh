# Shared setup of the shell benchmarks (and of any script that runs the agent against a local
# broker and simulated devices): a work directory removed on exit, private copies of the
# binaries, free ports, mosquitto, the device simulator, the agent's configuration.
# Source it, then call bench_setup first:
#
#   source "$(dirname "${BASH_SOURCE[0]}")/bench/common.sh"
#   bench_setup memory                  # NAME: prefixes messages and the work directory
#   bench_need mosquitto ss python3     # fail unless each tool is on PATH
#   bench_copy_firmware                 # $WORK/bedside-gateway and $WORK/bedside-simulator
#   bench_start_broker                  # BROKER_PORT
#   bench_start_simulator 32 --devices pattern:32 --pattern-profile FILE
#                                       # SIMULATOR_BASE: 32 endpoints from there on
#   bench_agent_header BOX > FILE       # site, box, mqtt (topic prefix bench/BOX), queue, health
#   bench_beds 32 1 PROFILE_ID   >> FILE
#   bench_check_config FILE
#   bench_start CMD...                  # background, stopped on exit; its pid in STARTED_PID
#
# Set here: ROOT (repository), WORK (temporary directory; KEEP=1 keeps it), PIDS (what is
# stopped on exit: TERM, then KILL after half a second). FIRMWARE=PATH picks the agent
# (default .build-firmware/x86_64/bedside-gateway, the simulator beside it).

BENCH_NAME=bench
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PIDS=()

fail() { echo "bench-$BENCH_NAME: $*" >&2; exit 1; }

bench_setup() {
  BENCH_NAME="$1"
  export LC_ALL=C
  WORK="$(mktemp -d "/tmp/bedside-$BENCH_NAME.XXXXXX")"
  trap bench_cleanup EXIT
  trap 'exit 130' INT TERM
}

bench_cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  sleep 0.5
  for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ "${KEEP:-0}" = 1 ]; then echo "work directory kept: $WORK" >&2; else rm -rf "$WORK"; fi
}

bench_need() {
  local tool
  for tool in "$@"; do command -v "$tool" >/dev/null || fail "$tool not found"; done
}

# Private copies: a concurrent firmware build cannot replace the binaries under a run.
bench_copy_firmware() {
  local firmware="${FIRMWARE:-$ROOT/.build-firmware/x86_64/bedside-gateway}"
  [ -x "$firmware" ] || fail "no agent at $firmware: run bash Deploy/build-firmware.sh x86_64"
  [ -x "$(dirname "$firmware")/bedside-simulator" ] || fail "no bedside-simulator next to $firmware"
  cp "$firmware" "$WORK/bedside-gateway"
  cp "$(dirname "$firmware")/bedside-simulator" "$WORK/bedside-simulator"
}

# Runs CMD in the background with its output in $WORK/LOG; stopped on exit.
bench_start_logged() {
  local log="$1"; shift
  "$@" > "$WORK/$log" 2>&1 &
  STARTED_PID=$!
  PIDS+=("$STARTED_PID")
}

bench_start() {
  "$@" &
  STARTED_PID=$!
  PIDS+=("$STARTED_PID")
}

bench_free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# COUNT consecutive ports nobody uses, clear of the ports given as further arguments.
bench_free_ports() {
  local count="$1" candidate taken port; shift
  for _ in $(seq 50); do
    candidate=$((20000 + RANDOM % 30000))
    [ -z "$(ss -Htan "( sport >= :$candidate and sport <= :$((candidate + count - 1)) )")" ] || continue
    taken=0
    for port in "$@"; do
      [ "$port" -ge "$candidate" ] && [ "$port" -le $((candidate + count - 1)) ] && taken=1
    done
    [ "$taken" = 0 ] && { echo "$candidate"; return 0; }
  done
  fail "no $count free consecutive ports"
}

# Waits up to 10 s until COUNT ports from FIRST on are listening.
bench_wait_listening() {
  local first="$1" count="$2"
  for _ in $(seq 200); do
    [ "$(ss -Hltn "( sport >= :$first and sport <= :$((first + count - 1)) )" | wc -l)" -eq "$count" ] && return 0
    sleep 0.05
  done
  fail "ports $first..$((first + count - 1)) are not all listening after 10 s"
}

bench_start_broker() {
  BROKER_PORT="$(bench_free_port)"
  printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\n' "$BROKER_PORT" > "$WORK/mosquitto.conf"
  bench_start_logged mosquitto.log mosquitto -c "$WORK/mosquitto.conf"
  bench_wait_listening "$BROKER_PORT" 1
}

# bench_start_simulator ENDPOINTS [simulator options]: the simulator on ENDPOINTS consecutive
# ports from SIMULATOR_BASE on, clear of the broker's and of HEALTH_PORT.
bench_start_simulator() {
  local endpoints="$1"; shift
  SIMULATOR_BASE="$(bench_free_ports "$endpoints" ${BROKER_PORT:+"$BROKER_PORT"} ${HEALTH_PORT:+"$HEALTH_PORT"})"
  bench_start_logged simulator.log "$WORK/bedside-simulator" --host 127.0.0.1 --port "$SIMULATOR_BASE" "$@"
  bench_wait_listening "$SIMULATOR_BASE" "$endpoints"
}

# The agent's configuration up to the beds: broker, a queue in the work directory, no health
# server unless HEALTH_PORT is set. Add sampling:, device_profiles:, alarms:, hardware: after it.
# bench_agent_header BOX [QUEUE]: the queue in $WORK/QUEUE (default queue-BOX).
bench_agent_header() {
  echo "site: bench"
  echo "box: $1"
  echo "mqtt: {host: 127.0.0.1, port: $BROKER_PORT, topic_prefix: bench/$1}"
  echo "queue: {directory: $WORK/${2:-queue-$1}}"
  echo "health: {port: ${HEALTH_PORT:-0}, require_clock_sync: false}"
}

# bench_beds ENDPOINTS PER_ENDPOINT PROFILE: one bed per device, bed-E-U with device dev-E-U,
# unit id U (1..PER_ENDPOINT) behind endpoint E (0..ENDPOINTS-1) at SIMULATOR_BASE + E.
bench_beds() {
  local endpoints="$1" per="$2" profile="$3" e u
  echo "beds:"
  for e in $(seq 0 $((endpoints - 1))); do
    for u in $(seq 1 "$per"); do
      printf '  - id: bed-%d-%d\n    devices:\n' "$e" "$u"
      printf '      - {id: dev-%d-%d, profile: %s, unit_id: %d, tcp: {host: 127.0.0.1, port: %d}}\n' \
        "$e" "$u" "$profile" "$u" $((SIMULATOR_BASE + e))
    done
  done
}

bench_check_config() {
  "$WORK/bedside-gateway" check "$1" > "$WORK/check.txt" 2>&1 || { cat "$WORK/check.txt" >&2; fail "$1 does not check"; }
}
