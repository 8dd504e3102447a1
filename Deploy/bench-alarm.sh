#!/usr/bin/env bash
# Benchmark: alarm latency, from the simulator first serving an SpO2 below the alarm limit
# (90 %) to the agent's buzzer line going active, over N fresh trials on loopback, beside the
# issue's requirement: the high-priority pattern starts within one sampling period + the
# condition delay + 100 ms (here 250 ms + 0 ms, spo2-low's default delay, + 100 ms = 350 ms).
# Prints min, p50, p99, max and mean, each beside the bound and as a ratio to it. Each trial
# starts the agent after a random 0-250 ms pause (stratified over the trials) to vary its
# sampling phase against the simulator's value changes.
# The agent's own share is printed too: read -> edge, from the simulator sending the reply that
# carried the first SpO2 below 90 (its --reply-log) to the buzzer line going active; issue 11's
# targets: read -> edge p99 <= 2 ms, served -> edge mean about half a sampling period.
# The orchestration (one trial, step by step) is Deploy/bench/alarm_latency.py.
#
# Usage: Deploy/bench-alarm.sh [--trials N (20)] [--agent CMD] [--keep]
#   --agent CMD   the agent command, e.g. "qemu-aarch64 .build-firmware/aarch64/bedside-gateway"
#                 (default: $BEDSIDE_AGENT_COMMAND, else the host build .build/debug/bedside-gateway)
#   --keep        keep the work directory (per trial: config, served log, buzzer record, logs)
# Environment:
#   BEDSIDE_AGENT_COMMAND   as --agent
#   SIMULATOR=PATH          the simulator (default .build/debug/bedside-simulator, else the x86_64
#                           firmware's .build-firmware/x86_64/bedside-simulator)
# Exits non-zero only when the harness fails (e.g. a trial never sounds), not on exceeding the bound.
set -euo pipefail
export LC_ALL=C
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
[ -d /opt/swift/usr/bin ] && export PATH="/opt/swift/usr/bin:$PATH"
PY=/usr/bin/python3

fail() { echo "bench-alarm: $*" >&2; exit 1; }
TRIALS=20
AGENT="${BEDSIDE_AGENT_COMMAND:-}"
KEEP=()
while [ $# -gt 0 ]; do
  case "$1" in
    --trials) [ $# -ge 2 ] || fail "--trials needs a number"; TRIALS="$2"; shift 2 ;;
    --trials=*) TRIALS="${1#*=}"; shift ;;
    --agent) [ $# -ge 2 ] || fail "--agent needs a command"; AGENT="$2"; shift 2 ;;
    --agent=*) AGENT="${1#*=}"; shift ;;
    --keep) KEEP=(--keep); shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) fail "unknown argument $1 (see --help)" ;;
  esac
done
case "$TRIALS" in ''|*[!0-9]*) fail "--trials must be a whole number" ;; esac
[ "$TRIALS" -ge 1 ] || fail "--trials must be at least 1"
[ -x "$PY" ] || fail "$PY not found"

WORK="$(mktemp -d /tmp/bedside-alarm.XXXXXX)"
mkdir -p "$WORK/bin"

# Private copies of the binaries: a concurrent build cannot replace them under this run.
# (A host build finds its Swift runtime through its RUNPATH /opt/swift/usr/lib/swift/linux.)
if [ -z "$AGENT" ]; then
  [ -x "$ROOT/.build/debug/bedside-gateway" ] || fail "no host build: run swift build first"
  AGENT="$ROOT/.build/debug/bedside-gateway"
  LABEL="host build (.build/debug/bedside-gateway)"
else
  LABEL="$AGENT"
fi
read -r -a WORDS <<< "$AGENT"
COMMAND=()
for word in "${WORDS[@]}"; do
  if [[ "$word" == */* ]] && [ -f "$word" ] && [ -x "$word" ]; then
    copy="$WORK/bin/$(basename "$(dirname "$word")")-$(basename "$word")"
    cp "$word" "$copy"
    COMMAND+=("$copy")
  else
    COMMAND+=("$word")
  fi
done
command -v "${COMMAND[0]}" >/dev/null || fail "agent command not found: ${WORDS[0]}"
VERSION="$("${COMMAND[@]}" --version 2>&1 | head -1)" || fail "the agent does not run: $VERSION"

SIMULATOR="${SIMULATOR:-}"
if [ -z "$SIMULATOR" ]; then
  for candidate in "$ROOT/.build/debug/bedside-simulator" "$ROOT/.build-firmware/x86_64/bedside-simulator"; do
    [ -x "$candidate" ] && { SIMULATOR="$candidate"; break; }
  done
fi
[ -n "$SIMULATOR" ] && [ -x "$SIMULATOR" ] || fail "no bedside-simulator: run swift build first"
cp "$SIMULATOR" "$WORK/bin/bedside-simulator"
"$WORK/bin/bedside-simulator" --help 2>&1 | grep -q -- '--reply-log' || fail "$SIMULATOR has no --reply-log (built from an older commit): rebuild it"

echo "agent: $LABEL ($VERSION); simulator: $SIMULATOR" >&2
T0="$(date +%s%N)"
code=0
"$PY" "$ROOT/Deploy/bench/alarm_latency.py" --trials "$TRIALS" --agent "$(printf '%q ' "${COMMAND[@]}")" \
  --agent-label "$LABEL" --simulator "$WORK/bin/bedside-simulator" --work "$WORK/trials" "${KEEP[@]}" || code=$?
echo "  total run time $(( ($(date +%s%N) - T0) / 1000000 )) ms (agent: $VERSION)"
if [ "$code" -eq 0 ] && [ ${#KEEP[@]} -eq 0 ]; then rm -rf "$WORK"; else echo "work directory kept: $WORK" >&2; fi
exit "$code"
