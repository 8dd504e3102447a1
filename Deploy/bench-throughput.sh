#!/usr/bin/env bash
# Benchmark: the agent (the x86_64 Embedded Swift firmware, the binary that ships for this
# machine) sampling 32 simulated devices x 16 points at 10 Hz over Modbus TCP on loopback and
# publishing to a local mosquitto broker, beside a reference Python gateway
# (Deploy/bench/reference_gateway.py: pymodbus + paho-mqtt) doing the same work against the
# same simulator and broker in the same run, one after the other.
#
# For each: CPU time per 1,000 points and CPU as % of one core (utime+stime of the process from
# /proc/PID/stat over a steady window after a warm-up), peak RSS (VmHWM), Modbus requests per
# cycle counted at the device side, messages per second received by a subscriber, and a check
# that no sample was comm-loss. Exits non-zero if something is clearly broken.
#
# Usage: Deploy/bench-throughput.sh [window-s (30)] [warm-up-s (5)]
# Environment:
#   FIRMWARE=PATH   agent binary to measure (default .build-firmware/x86_64/bedside-gateway,
#                   built with Deploy/build-firmware.sh x86_64 if missing; that build is not
#                   part of the 2-minute run)
#   REF_MODE=sequential|threads   how the reference polls (default sequential, see its header)
#   KEEP=1          keep the work directory (logs, configs, received messages)
set -euo pipefail
export LC_ALL=C
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
WINDOW_S="${1:-30}"
WARMUP_S="${2:-5}"
REF_MODE="${REF_MODE:-sequential}"
DEVICES=32
POINTS=16
HZ=10
INTERVAL_MS=$((1000 / HZ))
PROFILE="$ROOT/Deploy/bench/bench-16-points.yaml"
REFERENCE="$ROOT/Deploy/bench/reference_gateway.py"
# A Modbus TCP "read input registers" request ADU is always 12 bytes: MBAP header (transaction,
# protocol, length, unit: 7) + function (1) + start address (2) + count (2).
REQUEST_BYTES=12
T_START="$(date +%s%N)"
LOAD_START="$(cut -d' ' -f1-3 /proc/loadavg)"

fail() { echo "bench-throughput: $*${WORK:+ (KEEP=1 keeps the logs)}" >&2; exit 1; }
case "$WINDOW_S$WARMUP_S" in *[!0-9]*) fail "usage: $0 [window-s] [warm-up-s] (whole seconds)" ;; esac
[ "$WINDOW_S" -ge 5 ] || fail "the window must be at least 5 s"
case "$REF_MODE" in sequential|threads) ;; *) fail "REF_MODE must be sequential or threads" ;; esac

# --- What it needs -------------------------------------------------------------------------
[ -d /opt/swift/usr/bin ] && export PATH="/opt/swift/usr/bin:$PATH"
bash Deploy/install-deps.sh >/dev/null
for tool in mosquitto mosquitto_sub ss ps python3; do
  command -v "$tool" >/dev/null || fail "$tool not found"
done

FIRMWARE="${FIRMWARE:-$ROOT/.build-firmware/x86_64/bedside-gateway}"
if [ ! -x "$FIRMWARE" ]; then
  [ "$FIRMWARE" = "$ROOT/.build-firmware/x86_64/bedside-gateway" ] || fail "FIRMWARE=$FIRMWARE is not executable"
  echo "building the x86_64 firmware first (not part of the benchmark's time)..."
  bash Deploy/build-firmware.sh x86_64 >/dev/null
  T_START="$(date +%s%N)"
fi

# The reference's Python packages, in a virtual environment kept between runs (git-ignored).
VENV="$ROOT/.build-bench-venv"
REQUIREMENTS="pymodbus==3.16.1 paho-mqtt==2.2.0 PyYAML==6.0.3"
if [ "$(cat "$VENV/requirements.txt" 2>/dev/null)" != "$REQUIREMENTS" ]; then
  rm -rf "$VENV"
  if ! python3 -m venv "$VENV" >/dev/null 2>&1; then
    apt-get install -y -qq python3-venv >/dev/null
    rm -rf "$VENV"
    python3 -m venv "$VENV" >/dev/null
  fi
  # shellcheck disable=SC2086
  "$VENV/bin/pip" install -q --disable-pip-version-check $REQUIREMENTS >/dev/null
  echo "$REQUIREMENTS" > "$VENV/requirements.txt"
fi
PY="$VENV/bin/python"

WORK="$(mktemp -d /tmp/bedside-throughput.XXXXXX)"
# A private copy: a concurrent firmware build cannot replace the binary under this run.
cp "$FIRMWARE" "$WORK/bedside-gateway"
BIN="$WORK/bedside-gateway"
# The simulator built beside the agent (a program of its own).
cp "$(dirname "$FIRMWARE")/bedside-simulator" "$WORK/bedside-simulator" \
  || fail "no bedside-simulator next to $FIRMWARE: run Deploy/build-firmware.sh x86_64"
SIMULATOR="$WORK/bedside-simulator"
file -b "$BIN" | grep -q 'x86-64' || fail "$FIRMWARE is not an x86-64 binary: $(file -b "$BIN")"
FLAVOR="$("$BIN" --version)"
[[ "$FLAVOR" == *"embedded firmware"* ]] || fail "$FIRMWARE is not the firmware build: $FLAVOR"

# --- Every process started here is stopped on exit ----------------------------------------
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for _ in $(seq 30); do
    local any=0
    for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && any=1; done
    [ "$any" -eq 0 ] && break
    sleep 0.1
  done
  for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ "${KEEP:-0}" = 1 ]; then echo "work directory kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

alive() { [ -r "/proc/$1/stat" ] && [ "$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)" != Z ]; }
listening() { [ -n "$(ss -Hltn "sport = :$1")" ]; }
# utime+stime in clock ticks (fields 14 and 15, counted after the command name).
cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | awk '{ print $12 + $13 }'; }
# Per-thread on-CPU nanoseconds from schedstat, summed: a finer cross-check of cpu_ticks.
sched_ns() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { printf "%.0f", s }'; }
# Per-thread on-CPU nanoseconds: "tid ns group", the group being the thread's name with the
# agent's per-bus names ("bus tcp://127.0") folded together.
task_times() {
  local task comm
  for task in /proc/"$1"/task/*; do
    comm="$(cat "$task/comm" 2>/dev/null)" || continue
    case "$comm" in "bus "*) comm="bus threads" ;; esac
    printf '%s %s %s\n' "${task##*/}" "$(cut -d' ' -f1 "$task/schedstat" 2>/dev/null || echo 0)" "${comm// /_}"
  done | sort
}
status_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
now_ns() { date +%s%N; }
TICK_HZ="$(getconf CLK_TCK)"

# --- Ports: a free one for the broker, 32 free consecutive ones below the ephemeral range --
BROKER_PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
BASE=""
for _ in $(seq 50); do
  candidate=$((20000 + RANDOM % 10000))
  if [ -z "$(ss -Htan "( sport >= :$candidate and sport <= :$((candidate + DEVICES - 1)) )")" ] &&
     [ "$BROKER_PORT" -lt "$candidate" -o "$BROKER_PORT" -gt $((candidate + DEVICES - 1)) ]; then
    BASE=$candidate
    break
  fi
done
[ -n "$BASE" ] || fail "no $DEVICES free consecutive ports found"
LAST=$((BASE + DEVICES - 1))

# --- Broker and simulator --------------------------------------------------------------------
cat > "$WORK/mosquitto.conf" <<EOF
listener $BROKER_PORT 127.0.0.1
allow_anonymous true
persistence false
EOF
mosquitto -c "$WORK/mosquitto.conf" > "$WORK/mosquitto.log" 2>&1 &
BROKER=$!
PIDS+=("$BROKER")
"$SIMULATOR" --host 127.0.0.1 --port "$BASE" --devices "pattern:$DEVICES" --pattern-profile "$PROFILE" \
  > "$WORK/simulator.log" 2>&1 &
SIM=$!
PIDS+=("$SIM")
for _ in $(seq 100); do
  listening "$BROKER_PORT" &&
    [ "$(ss -Hltn "( sport >= :$BASE and sport <= :$LAST )" | wc -l)" -eq "$DEVICES" ] && break
  sleep 0.05
done
listening "$BROKER_PORT" || { cat "$WORK/mosquitto.log" >&2; fail "the broker did not start"; }
[ "$(ss -Hltn "( sport >= :$BASE and sport <= :$LAST )" | wc -l)" -eq "$DEVICES" ] ||
  { cat "$WORK/simulator.log" >&2; fail "the simulator is not listening on $DEVICES ports"; }

# --- The agent's configuration: 32 beds with one 16-point device each ---------------------
{
  echo "site: bench"
  echo "box: throughput"
  echo "mqtt: {host: 127.0.0.1, port: $BROKER_PORT, topic_prefix: bench/agent}"
  echo "# sampling.priority is left at its default: SCHED_FIFO 80 for every bus thread."
  echo "sampling: {interval_ms: $INTERVAL_MS}"
  echo "queue: {directory: $WORK/queue}"
  echo "health: {port: 0}"
  echo "device_profiles:"
  echo "  - $PROFILE"
  echo "beds:"
  for n in $(seq 1 "$DEVICES"); do
    printf '  - id: bed-%02d\n    devices:\n' "$n"
    printf '      - {id: dev-%02d, profile: bench-16-points, tcp: {host: 127.0.0.1, port: %d}}\n' "$n" $((BASE + n - 1))
  done
} > "$WORK/agent.yaml"
"$BIN" check "$WORK/agent.yaml" > "$WORK/check.txt" 2>&1 || { cat "$WORK/check.txt" >&2; fail "the generated configuration does not check"; }

# --- Measuring one gateway ---------------------------------------------------------------
# Device-side request counter: the kernel's TCP counters of the simulator's accepted sockets
# (local port = a device port). Prints "local>peer bytes_received data_segs_in" per socket; the
# key is the pair, since the kernel may give two client connections to different device ports
# the same ephemeral port.
device_sockets() {
  ss -Htin state established "( sport >= :$BASE and sport <= :$LAST )" | awk '
    /^[0-9]/ { peer = $3 ">" $4; next }
    { b = 0; s = 0
      for (i = 1; i <= NF; i++) {
        if ($i ~ /^bytes_received:/) { sub(/^bytes_received:/, "", $i); b = $i }
        if ($i ~ /^data_segs_in:/) { sub(/^data_segs_in:/, "", $i); s = $i }
      }
      print peer, b, s }' | sort
}

# snapshot NAME PID: everything read at one end of the window, into variables NAME_*.
snapshot() {
  local name="$1" pid="$2"
  printf -v "${name}_t" '%s' "$(now_ns)"
  printf -v "${name}_cpu" '%s' "$(cpu_ticks "$pid")"
  printf -v "${name}_sched" '%s' "$(sched_ns "$pid")"
  printf -v "${name}_sim" '%s' "$(cpu_ticks "$SIM")"
  printf -v "${name}_broker" '%s' "$(cpu_ticks "$BROKER")"
  printf -v "${name}_lines" '%s' "$(wc -l < "$SUBFILE")"
  device_sockets > "$WORK/$PHASE.sockets.$name"
  task_times "$pid" > "$WORK/$PHASE.tasks.$name"
}

# measure PHASE PREFIX COMMAND...: starts a subscriber on PREFIX/#, then the gateway; warms
# up; measures over the window; stops the gateway. Leaves results in R_<PHASE>_* variables.
measure() {
  PHASE="$1"
  local prefix="$2"
  shift 2
  SUBFILE="$WORK/$PHASE.messages"
  mosquitto_sub -h 127.0.0.1 -p "$BROKER_PORT" -q 1 -t "$prefix/#" > "$SUBFILE" 2> "$WORK/$PHASE.sub.log" &
  local sub=$!
  PIDS+=("$sub")
  sleep 0.3
  "$@" > "$WORK/$PHASE.log" 2>&1 &
  local pid=$!
  PIDS+=("$pid")
  echo "  $PHASE: pid $pid, warming up ${WARMUP_S} s, then measuring ${WINDOW_S} s..." >&2
  sleep "$WARMUP_S"
  alive "$pid" || { cat "$WORK/$PHASE.log" >&2; fail "$PHASE died during the warm-up"; }
  snapshot s0 "$pid"
  sleep "$WINDOW_S"
  alive "$pid" || { cat "$WORK/$PHASE.log" >&2; fail "$PHASE died during the window"; }
  snapshot s1 "$pid"

  local hwm anon filerss threads policies
  hwm="$(status_kb "$pid" VmHWM)"
  anon="$(status_kb "$pid" RssAnon)"
  filerss="$(status_kb "$pid" RssFile)"
  threads="$(status_kb "$pid" Threads)"
  policies="$(ps -L -o cls=,rtprio= -p "$pid" | awk '{ n[$1 ($2 == "-" ? "" : " " $2)]++ } END { for (k in n) printf "%s%d x %s", (c++ ? ", " : ""), n[k], k }')"
  # Resident memory by mapping, largest first (anonymous mappings, stacks and heap together).
  awk '/^[0-9a-f]+-[0-9a-f]+ / { name = ($6 == "" ? "[anon]" : $6); sub(/.*\//, "", name); next }
       /^Rss:/ { rss[name] += $2 }
       END { for (k in rss) if (rss[k] > 0) printf "%d %s\n", rss[k], k }' "/proc/$pid/smaps" |
    sort -rn | head -6 | awk '{ printf "%s%s %.2f", (NR > 1 ? ", " : ""), $2, $1 / 1024 }' > "$WORK/$PHASE.smaps"
  # Proportional set size: shared library pages divided among the processes that map them.
  awk '$1 == "Pss:" { p = $2 } $1 == "Pss_Anon:" { a = $2 } $1 == "Pss_File:" { f = $2 }
       END { printf "PSS %.2f MiB (anon %.2f, file %.2f)", p / 1024, a / 1024, f / 1024 }' \
    "/proc/$pid/smaps_rollup" > "$WORK/$PHASE.pss"

  kill -TERM "$pid"
  local code=0
  for _ in $(seq 50); do alive "$pid" || break; sleep 0.1; done
  if alive "$pid"; then kill -KILL "$pid"; fail "$PHASE did not stop within 5 s of SIGTERM"; fi
  wait "$pid" || code=$?
  sleep 0.3
  kill -TERM "$sub" 2>/dev/null || true
  wait "$sub" 2>/dev/null || true

  local elapsed_ns=$((s1_t - s0_t))
  printf -v "R_${PHASE}_elapsed" '%s' "$(awk -v n="$elapsed_ns" 'BEGIN { printf "%.3f", n / 1e9 }')"
  printf -v "R_${PHASE}_cpu_ms" '%s' "$(( (s1_cpu - s0_cpu) * 1000 / TICK_HZ ))"
  printf -v "R_${PHASE}_sched_ms" '%s' "$(awk -v a="$s0_sched" -v b="$s1_sched" 'BEGIN { printf "%.1f", (b - a) / 1e6 }')"
  printf -v "R_${PHASE}_sim_ms" '%s' "$(( (s1_sim - s0_sim) * 1000 / TICK_HZ ))"
  printf -v "R_${PHASE}_broker_ms" '%s' "$(( (s1_broker - s0_broker) * 1000 / TICK_HZ ))"
  printf -v "R_${PHASE}_lines0" '%s' "$s0_lines"
  printf -v "R_${PHASE}_lines1" '%s' "$s1_lines"
  printf -v "R_${PHASE}_hwm_kb" '%s' "$hwm"
  printf -v "R_${PHASE}_anon_kb" '%s' "$anon"
  printf -v "R_${PHASE}_file_kb" '%s' "$filerss"
  printf -v "R_${PHASE}_threads" '%s' "$threads"
  printf -v "R_${PHASE}_policies" '%s' "$policies"
  printf -v "R_${PHASE}_exit" '%s' "$code"
  # CPU by thread group over the window (threads present at both ends).
  printf -v "R_${PHASE}_groups" '%s' "$(join "$WORK/$PHASE.tasks.s0" "$WORK/$PHASE.tasks.s1" | awk '
    { g = $3; gsub(/_/, " ", g); ms[g] += ($4 - $2) / 1e6; n[g]++ }
    END { for (g in ms) printf "%.1f|%s (%d thread%s) %.0f ms\n", ms[g], g, n[g], (n[g] > 1 ? "s" : ""), ms[g] }' |
    sort -t'|' -k1,1 -rn | cut -d'|' -f2 | paste -sd';' | sed 's/;/; /g')"
  # Requests: the same sockets (same peers) at both ends of the window, one per device.
  local joined
  joined="$(join "$WORK/$PHASE.sockets.s0" "$WORK/$PHASE.sockets.s1" | awk -v rb="$REQUEST_BYTES" '
    { n++; bytes += $4 - $2; segs += $5 - $3 }
    END { printf "%d %d %d %d", n, bytes, bytes / rb, segs }')"
  read -r sockets bytes requests segments <<< "$joined"
  printf -v "R_${PHASE}_sockets" '%s' "$sockets"
  printf -v "R_${PHASE}_sockets0" '%s' "$(wc -l < "$WORK/$PHASE.sockets.s0")"
  printf -v "R_${PHASE}_sockets1" '%s' "$(wc -l < "$WORK/$PHASE.sockets.s1")"
  printf -v "R_${PHASE}_req_bytes" '%s' "$bytes"
  printf -v "R_${PHASE}_requests" '%s' "$requests"
  printf -v "R_${PHASE}_segments" '%s' "$segments"
}

echo "$DEVICES devices on 127.0.0.1:$BASE-$LAST (simulator, pattern devices on $(basename "$PROFILE")), broker on 127.0.0.1:$BROKER_PORT" >&2
measure agent bench/agent "$BIN" run --config "$WORK/agent.yaml"
measure reference bench/reference "$PY" "$REFERENCE" --first-port "$BASE" --devices "$DEVICES" \
  --profile "$PROFILE" --interval-ms "$INTERVAL_MS" --mqtt-port "$BROKER_PORT" \
  --topic-prefix bench/reference --mode "$REF_MODE" --stats "$WORK/reference.stats"

# --- What the subscriber received ---------------------------------------------------------
# Per gateway: messages and points in the window, comm-loss and other non-ok samples over the
# whole run, beds seen, sequence gaps, and the first value of every point of every bed in the
# window (to check that both gateways decoded the same registers to the same values).
analyse() {
  "$PY" - "$@" <<'EOF'
import json, sys
path, first, last, values_out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
messages = points = total = commloss = other = bad = gaps = 0
beds, seqs, values = set(), {}, {}
with open(path, encoding="utf-8") as f:
    for number, line in enumerate(f):
        try:
            message = json.loads(line)
        except ValueError:
            bad += 1
            continue
        # Status, device-state and health messages share the prefix; count vitals only.
        if "vitals" not in message:
            continue
        vitals = message["vitals"]
        total += 1
        for v in vitals:
            if v.get("quality") == "comm-loss":
                commloss += 1
            elif v.get("quality") != "ok":
                other += 1
        if not first <= number < last:
            continue
        messages += 1
        points += len(vitals)
        bed = message.get("bed")
        beds.add(bed)
        if bed in seqs and message.get("seq") != seqs[bed] + 1:
            gaps += 1
        seqs[bed] = message.get("seq")
        if bed not in values:
            values[bed] = {v["name"]: v.get("value") for v in vitals}
json.dump(values, open(values_out, "w"))
print(messages, points, total, commloss, other, bad, len(beds), gaps)
EOF
}
read -r A_MSGS A_PTS A_TOTAL A_COMMLOSS A_OTHER A_BAD A_BEDS A_GAPS < <(analyse "$WORK/agent.messages" \
  "$R_agent_lines0" "$R_agent_lines1" "$WORK/agent.values")
read -r F_MSGS F_PTS F_TOTAL F_COMMLOSS F_OTHER F_BAD F_BEDS F_GAPS < <(analyse "$WORK/reference.messages" \
  "$R_reference_lines0" "$R_reference_lines1" "$WORK/reference.values")
read -r AGREE COMPARED < <("$PY" - "$WORK/agent.values" "$WORK/reference.values" "$PROFILE" <<'EOF'
import json, sys, yaml
a, b = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
decimals = {p["name"]: int(p.get("decimals", 0)) for p in yaml.safe_load(open(sys.argv[3]))["points"]}
agree = compared = 0
for bed in sorted(set(a) | set(b)):
    for name in decimals:
        compared += 1
        x, y = a.get(bed, {}).get(name), b.get(bed, {}).get(name)
        if x is not None and y is not None and abs(x - y) <= 0.5 * 10 ** -decimals[name] + 1e-9:
            agree += 1
print(agree, compared)
EOF
)

# --- The table ------------------------------------------------------------------------------
calc() { awk "BEGIN { $1 }"; }
row_values() { # PHASE MSGS PTS -> "pct ms_per_1000 rss_mib req_per_cycle msgs_per_s"
  local p="$1" msgs="$2" pts="$3" elapsed cpu hwm req
  eval "elapsed=\$R_${p}_elapsed cpu=\$R_${p}_cpu_ms hwm=\$R_${p}_hwm_kb req=\$R_${p}_requests"
  calc "printf \"%.2f %.3f %.2f %.2f %.1f\", $cpu / 10 / $elapsed, ($pts > 0 ? $cpu / ($pts / 1000) : 0), \
    $hwm / 1024, $req / ($elapsed * $HZ), $msgs / $elapsed"
}
read -r A_PCT A_MSPK A_RSS A_RPC A_MPS <<< "$(row_values agent "$A_MSGS" "$A_PTS")"
read -r F_PCT F_MSPK F_RSS F_RPC F_MPS <<< "$(row_values reference "$F_MSGS" "$F_PTS")"
ratio() { calc "if ($2 > 0) printf \"%.2f\", $1 / $2; else printf \"n/a\""; }
POINTS_PER_S=$((DEVICES * POINTS * HZ))
REF_STATS="$(cat "$WORK/reference.stats" 2>/dev/null || echo '{}')"

echo
printf '%d devices x %d points at %d Hz over Modbus TCP (%s points/s), %d s window after a %d s warm-up\n' \
  "$DEVICES" "$POINTS" "$HZ" "$(printf '%d' "$POINTS_PER_S" | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta')" "$WINDOW_S" "$WARMUP_S"
printf '%-24s %9s %16s %13s %15s %8s\n' "" "CPU %core" "CPU ms/1000 pts" "peak RSS MiB" "requests/cycle" "msgs/s"
printf '%-24s %9s %16s %13s %15s %8s\n' "bedside-gateway (fw)" "$A_PCT" "$A_MSPK" "$A_RSS" "$A_RPC" "$A_MPS"
printf '%-24s %9s %16s %13s %15s %8s\n' "reference (Python)" "$F_PCT" "$F_MSPK" "$F_RSS" "$F_RPC" "$F_MPS"
printf '%-24s %9s %16s %13s %15s %8s\n' "ratio (ours / ref)" "$(ratio "$A_PCT" "$F_PCT")" "$(ratio "$A_MSPK" "$F_MSPK")" \
  "$(ratio "$A_RSS" "$F_RSS")" "$(ratio "$A_RPC" "$F_RPC")" "$(ratio "$A_MPS" "$F_MPS")"
echo
echo "how it was measured:"
echo "- bedside-gateway: $FIRMWARE ($(stat -c %s "$BIN") bytes, $FLAVOR), x86_64, run natively."
echo "  The aarch64 firmware is not measured: under qemu-user every instruction is translated, which is"
echo "  not a fair CPU measurement (CPU time and RSS there describe qemu, not the box)."
echo "- agent: sampling.priority left at its default (SCHED_FIFO 80), run as root so it applies, mlockall;"
echo "  threads seen: $R_agent_threads ($R_agent_policies). The reference runs at normal priority (SCHED_OTHER)."
echo "- reference: Deploy/bench/reference_gateway.py, pymodbus 3.16.1 sync client + paho-mqtt 2.2.0, $REF_MODE"
echo "  polling (sequential: one thread polls every device in turn; REF_MODE=threads: one thread per device),"
echo "  one read + one QoS 1 message per device per cycle;"
echo "  $R_reference_threads threads; its counters: $REF_STATS"
echo "- CPU: utime+stime of the process from /proc/PID/stat (${TICK_HZ} ticks/s) over the window"
echo "  (agent ${R_agent_elapsed} s, reference ${R_reference_elapsed} s). Cross-check, per-thread schedstat:"
echo "  agent ${R_agent_sched_ms} ms vs stat ${R_agent_cpu_ms} ms; reference ${R_reference_sched_ms} ms vs stat ${R_reference_cpu_ms} ms."
echo "  By thread: agent: $R_agent_groups"
echo "             reference: $R_reference_groups"
echo "  ms/1000 pts divides by the points the subscriber received in the window (agent $A_PTS, reference $F_PTS)."
echo "- peak RSS: VmHWM from /proc/PID/status at the end of the window."
echo "  agent at the end: anon $(calc "printf \"%.2f\", $R_agent_anon_kb / 1024") MiB, file-backed $(calc "printf \"%.2f\", $R_agent_file_kb / 1024") MiB, $(cat "$WORK/agent.pss");"
echo "    largest mappings by RSS (MiB): $(cat "$WORK/agent.smaps")"
echo "  reference at the end: anon $(calc "printf \"%.2f\", $R_reference_anon_kb / 1024") MiB, file-backed $(calc "printf \"%.2f\", $R_reference_file_kb / 1024") MiB, $(cat "$WORK/reference.pss");"
echo "    largest mappings by RSS (MiB): $(cat "$WORK/reference.smaps")"
echo "- requests/cycle: counted at the device side, from the kernel's TCP counters of the simulator's"
echo "  $DEVICES accepted connections (ss -ti, local ports $BASE-$LAST): bytes received over the window /"
echo "  $REQUEST_BYTES bytes per read-input-registers request, divided by window x $HZ cycles/s (all $DEVICES devices)."
echo "  agent: $R_agent_requests requests ($R_agent_segments data segments in) on $R_agent_sockets connections;"
echo "  reference: $R_reference_requests requests ($R_reference_segments data segments in) on $R_reference_sockets connections."
echo "- msgs/s: lines mosquitto_sub (QoS 1) received in the window; expected $((DEVICES * HZ)) ($DEVICES beds x $HZ Hz)."
echo "  agent: $A_MSGS messages from $A_BEDS beds, $A_GAPS sequence gaps; reference: $F_MSGS from $F_BEDS beds, $F_GAPS gaps."
echo "- samples over the whole run: agent $((A_TOTAL * POINTS)) in $A_TOTAL messages, comm-loss $A_COMMLOSS, other non-ok $A_OTHER;"
echo "  reference $((F_TOTAL * POINTS)) in $F_TOTAL messages, comm-loss $F_COMMLOSS, other non-ok $F_OTHER."
echo "  Values of the first message per bed in the window agree between the two: $AGREE of $COMPARED points."
echo "- load the gateway put on the others in its window: simulator $(calc "printf \"%.2f\", $R_agent_sim_ms / 10 / $R_agent_elapsed") % core (agent)"
echo "  vs $(calc "printf \"%.2f\", $R_reference_sim_ms / 10 / $R_reference_elapsed") % (reference); broker $(calc "printf \"%.2f\", $R_agent_broker_ms / 10 / $R_agent_elapsed") % vs $(calc "printf \"%.2f\", $R_reference_broker_ms / 10 / $R_reference_elapsed") %."
echo "- aims: under 1.5 % of one core: $(calc "print ($A_PCT < 1.5 ? \"met\" : \"NOT met\")"); under 4 MiB peak RSS: $(calc "print ($A_RSS < 4 ? \"met\" : \"NOT met\")")."
echo "  For scale only (figures quoted from elsewhere, not measured here): a C++ gateway on the same libraries 2.4-3.2 %"
echo "  of a core and 8.4 MB RSS, a Python one 7-9 % and 35 MB, at this load on this kind of machine."
echo "  The ratios above are against the reference measured in this run."
echo "- machine: $(nproc) cores; load average $LOAD_START at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end"
echo "  (other work on the machine during the run skews both figures)."
echo "total run time $(calc "printf \"%.0f\", ($(now_ns) - $T_START) / 1e9") s (2-core VM; both gateways measured one after the other)"

# --- Clearly broken? ------------------------------------------------------------------------
problems=()
expected_msgs=$((DEVICES * HZ))
[ "$R_agent_exit" -eq 0 ] || problems+=("the agent exited with $R_agent_exit after SIGTERM")
[ "$R_reference_exit" -eq 0 ] || problems+=("the reference exited with $R_reference_exit after SIGTERM")
[ "$A_MSGS" -gt 0 ] || problems+=("no messages from the agent")
[ "$F_MSGS" -gt 0 ] || problems+=("no messages from the reference")
[ "$A_COMMLOSS" -eq 0 ] || problems+=("$A_COMMLOSS comm-loss samples from the agent")
[ "$F_COMMLOSS" -eq 0 ] || problems+=("$F_COMMLOSS comm-loss samples from the reference")
[ "$A_OTHER" -eq 0 ] || problems+=("$A_OTHER samples from the agent were neither ok nor comm-loss")
[ "$A_BAD" -eq 0 ] || problems+=("$A_BAD lines from the agent were not JSON")
[ "$AGREE" -eq "$COMPARED" ] || problems+=("the two gateways disagree on $((COMPARED - AGREE)) of $COMPARED values")
for p in agent reference; do
  eval "n0=\$R_${p}_sockets0 n1=\$R_${p}_sockets1 n=\$R_${p}_sockets req=\$R_${p}_requests"
  # shellcheck disable=SC2154
  [ "$n0" -eq "$DEVICES" ] && [ "$n1" -eq "$DEVICES" ] && [ "$n" -eq "$DEVICES" ] ||
    problems+=("$p: expected the same $DEVICES device connections through the window, saw $n0 at the start, $n1 at the end, $n in both")
  [ "$req" -gt 0 ] || problems+=("$p: no requests reached the devices in the window")
done
calc "exit !($A_MPS >= 0.9 * $expected_msgs)" || problems+=("the agent delivered $A_MPS msgs/s, expected $expected_msgs")
calc "exit !($F_MPS >= 0.9 * $expected_msgs)" || problems+=("the reference delivered $F_MPS msgs/s, expected $expected_msgs")
if [ "${#problems[@]}" -gt 0 ]; then
  echo
  for p in "${problems[@]}"; do echo "BROKEN: $p"; done
  exit 1
fi
