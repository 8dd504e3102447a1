#!/usr/bin/env bash
# Coverage-guided fuzzing of every input path (issue 16): libFuzzer with AddressSanitizer.
#
#   bash Deploy/fuzz.sh [TARGET|all] [SECONDS]
#
# Builds every fuzz target once (Tests/Fuzz, one `swift build` with BEDSIDE_FUZZ=1 and
# -sanitize=fuzzer,address into .build-fuzz), then for each target: replays the committed
# reproducers (Tests/Fuzz/Inputs/<target>/reproducers) and the seeds (the real files of
# Deploy/ and Boards/, the target's built-in seeds, Tests/Fuzz/Inputs/<target>/seeds), then
# fuzzes for SECONDS (default 10; 0 replays only) with a dictionary of the decoders' own keys.
# The corpus grows in .build-fuzz/runs/<target>/corpus (kept between runs, never committed).
# Prints executions, coverage (cov/ft) and findings per target; exits 1 on any crash, leak or
# timeout, naming the input that causes it.
# BEDSIDE_FUZZ_RUNS=N stops a target after N executions if SECONDS have not passed first.
# BEDSIDE_FUZZ_CONFIGURATION=release builds with -O (into .build-fuzz-release): a slower
# build of faster code, for long runs. CI uses the debug build.
#
# A finding: fix it in Sources with a unit test, then commit the input (small) as
# Tests/Fuzz/Inputs/<target>/reproducers/<what-it-is>, which every run replays from then on.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
[ -d /opt/swift/usr/bin ] && export PATH="/opt/swift/usr/bin:$PATH"

TARGETS=(config device-profile board-profile command-payload command-tokens json bed-description register-words
         queue-segment queue-checkpoint queue-directory alarm-log modbus-tcp rtu-request timestamp mllp-ack session-state)
WHICH="${1:-all}"
SECONDS_EACH="${2:-10}"
if [ "$WHICH" = all ]; then
  selected=("${TARGETS[@]}")
elif [[ " ${TARGETS[*]} " == *" $WHICH "* ]]; then
  selected=("$WHICH")
else
  echo "fuzz.sh: unknown target '$WHICH'; one of: all ${TARGETS[*]}" >&2
  exit 2
fi
[[ "$SECONDS_EACH" =~ ^[0-9]+$ ]] || { echo "fuzz.sh: SECONDS must be a whole number, not '$SECONDS_EACH'" >&2; exit 2; }

CONFIGURATION="${BEDSIDE_FUZZ_CONFIGURATION:-debug}"
# -enable-testing in release too: a target may check a module's internal state (@testable).
case "$CONFIGURATION" in
  debug) BUILD="$ROOT/.build-fuzz"; FLAGS=() ;;
  release) BUILD="$ROOT/.build-fuzz-release"; FLAGS=(-Xswiftc -enable-testing) ;;
  *) echo "fuzz.sh: BEDSIDE_FUZZ_CONFIGURATION is debug or release, not '$CONFIGURATION'" >&2; exit 2 ;;
esac
# One corpus per target whichever build runs it.
RUNS="$ROOT/.build-fuzz/runs"
INPUTS="$ROOT/Tests/Fuzz/Inputs"

started=$SECONDS
echo "== building the fuzz targets ($CONFIGURATION, -sanitize=fuzzer,address, $BUILD)"
set +e
BEDSIDE_FUZZ=1 swift build -c "$CONFIGURATION" --scratch-path "$BUILD" -Xswiftc -sanitize=fuzzer,address -Xswiftc -use-ld=lld \
  ${FLAGS[@]+"${FLAGS[@]}"} 2>&1 | grep -v -E '^\[[0-9]+/[0-9]+\] '
build_status=${PIPESTATUS[0]}
set -e
[ "$build_status" -eq 0 ] || { echo "fuzz.sh: the build of the fuzz targets failed" >&2; exit 1; }
for target in "${selected[@]}"; do
  [ -x "$BUILD/$CONFIGURATION/fuzz-$target" ] || { echo "fuzz.sh: the build did not produce fuzz-$target" >&2; exit 1; }
done
echo "   built in $((SECONDS - started)) s"

# Swift's backtracer can hang under ASan + libFuzzer; libFuzzer and ASan report crashes.
export SWIFT_BACKTRACE=enable=no
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}"

# The files of Deploy/ and Boards/ a target reads as it ships, as seeds.
repository_seeds() {
  case "$1" in
    config) ls Deploy/config/bedside-gateway.yaml Deploy/demo/gateway.yaml Deploy/box/guest/*.yaml ;;
    device-profile) ls Deploy/profiles/*.yaml ;;
    board-profile) ls Boards/*.yaml ;;
    command-tokens) ls Deploy/config/command-tokens.example ;;
  esac
}

# The payload examples of the topic contract (Deploy/mqtt/asyncapi.yaml) as JSON, one file
# each, for the targets that read such payloads.
contract_examples() { # target directory
  local kinds
  case "$1" in
    json) kinds="all" ;;
    command-payload) kinds="command" ;;
    bed-description) kinds="description" ;;
    timestamp) kinds="times" ;;
    *) return 0 ;;
  esac
  # Debian's python3 with python3-yaml (install-deps.sh), whatever python3 comes first on PATH.
  /usr/bin/python3 - "$kinds" "$2" <<'PYTHON'
import json, re, sys, yaml
kinds, directory = sys.argv[1], sys.argv[2]
contract = yaml.safe_load(open("Deploy/mqtt/asyncapi.yaml"))
count = 0
for name, message in contract["components"]["messages"].items():
    for example in message.get("examples", []):
        text = json.dumps(example["payload"], separators=(",", ":"))
        if kinds == "times":
            pieces = re.findall(r'"(\d{4}-\d\d-\d\dT[0-9:.]+Z)"', text)
        elif kinds in ("all", name):
            pieces = [text]
        else:
            pieces = []
        for piece in pieces:
            count += 1
            open(f"{directory}/contract-{count:03d}", "w").write(piece)
PYTHON
}

# A dictionary from the decoders' own keys: the identifier-like string literals of the
# modules that decode the target's input, plus the magic bytes of binary formats.
dictionary() { # target output
  local sources=()
  case "$1" in
    config) sources=(Sources/Config Sources/Profiles Sources/YAMLReader) ;;
    device-profile | board-profile) sources=(Sources/Profiles Sources/YAMLReader) ;;
    command-payload | command-tokens) sources=(Sources/Commands) ;;
    json | bed-description) sources=(Sources/Vitals Sources/JSON) ;;
    alarm-log) sources=(Sources/Alarms) ;;
    session-state) sources=(Sources/Sessions Sources/SessionPicture) ;;
  esac
  {
    if [ "${#sources[@]}" -gt 0 ]; then
      grep -rhoE '"[A-Za-z_][A-Za-z0-9_.-]{1,40}"' "${sources[@]}" | sort -u
    fi
    case "$1" in
      config | device-profile | board-profile) printf '%s\n' '": "' '"\x0a  - "' '"true"' '"0x"' '"&a"' '"*a"' '"!!str"' ;;
      json | bed-description | command-payload | alarm-log | session-state) printf '%s\n' '"\\u00"' '"null"' '"true"' '"1e308"' '"-0"' '"{\x22"' ;;
      queue-segment | queue-directory) printf '%s\n' '"BQR\x01"' '"BQC\x01"' '"\xff\xff\xff\xff\xff\xff\xff\xff"' '"\x00\x00\x00\x00\x00\x00\x00\x40"' ;;
      queue-checkpoint) printf '%s\n' '"BQC\x01"' '"\xff\xff\xff\xff\xff\xff\xff\xff"' '"\x00\x00\x00\x00\x00\x00\x00\x40"' ;;
      timestamp) printf '%s\n' '"T"' '"Z"' '":60"' '"-02-29"' '".999999999"' ;;
    esac
  } > "$2"
}

declare -A result_execs result_cov result_ft result_corpus result_finding result_seconds
failed=0
for target in "${selected[@]}"; do
  binary="$BUILD/$CONFIGURATION/fuzz-$target"
  work="$RUNS/$target"
  corpus="$work/corpus"
  seeds="$work/seeds"
  artifacts="$work/artifacts"
  mkdir -p "$corpus" "$artifacts"
  rm -rf "$seeds" && mkdir -p "$seeds"
  "$binary" --write-seeds "$seeds"
  for file in $(repository_seeds "$target"); do cp "$file" "$seeds/repo-$(echo "$file" | tr '/' '_')"; done
  contract_examples "$target" "$seeds"
  [ -d "$INPUTS/$target/seeds" ] && cp "$INPUTS/$target/seeds/"* "$seeds/" 2>/dev/null || true
  dictionary "$target" "$work/dictionary"
  reproducers=()
  [ -d "$INPUTS/$target/reproducers" ] && reproducers=("$INPUTS/$target/reproducers")
  log="$work/log"
  options=(-artifact_prefix="$artifacts/" -timeout=10 -rss_limit_mb=2560 -max_len=16384 -print_final_stats=1)
  [ -s "$work/dictionary" ] && options+=(-dict="$work/dictionary")

  # Every committed reproducer and seed, once (a crash here is a regression).
  echo "== $target: replaying $(ls "${reproducers[@]}" "$seeds" 2>/dev/null | grep -vc ':$\|^$') reproducers and seeds"
  status=0
  target_started=$SECONDS
  nice "$binary" "${options[@]}" -runs=0 "${reproducers[@]}" "$seeds" > "$log.replay" 2>&1 || status=$?
  if [ "$status" -eq 0 ] && [ "$SECONDS_EACH" -gt 0 ]; then
    echo "== $target: fuzzing for $SECONDS_EACH s"
    limit=()
    [ -n "${BEDSIDE_FUZZ_RUNS:-}" ] && limit=(-runs="$BEDSIDE_FUZZ_RUNS")
    nice "$binary" "${options[@]}" ${limit[@]+"${limit[@]}"} -max_total_time="$SECONDS_EACH" "$corpus" "$seeds" > "$log" 2>&1 \
      || status=$?
  else
    cp "$log.replay" "$log"
  fi
  result_seconds[$target]=$((SECONDS - target_started))
  result_execs[$target]=$(grep -oE 'stat::number_of_executed_units: [0-9]+' "$log" | grep -oE '[0-9]+$' | tail -1 || true)
  last=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -1 || true)
  result_cov[$target]=$(echo "$last" | grep -oE 'cov: [0-9]+' | grep -oE '[0-9]+' || true)
  result_ft[$target]=$(echo "$last" | grep -oE 'ft: [0-9]+' | grep -oE '[0-9]+' || true)
  result_corpus[$target]=$(ls "$corpus" | wc -l)
  if [ "$status" -ne 0 ]; then
    failed=1
    kind=$(grep -oE 'ERROR: (libFuzzer|AddressSanitizer|LeakSanitizer): [a-z -]+' "$log" | head -1 | sed 's/ERROR: //' || true)
    written=$(grep -oE 'Test unit written to .*' "$log" | sed 's/Test unit written to //' | tail -1 || true)
    result_finding[$target]="${kind:-exit $status}: ${written:-see $log}"
    echo "!! $target: ${result_finding[$target]}"
    grep -E 'property violated|Fatal error|SUMMARY' "$log" | head -5 | sed 's/^/   /' || true
    echo "   full report: $log"
  else
    result_finding[$target]=0
  fi
done

echo
echo "== fuzzing summary (${SECONDS_EACH} s per target, $((SECONDS - started)) s in all)"
printf '%-18s %12s %8s %7s %7s %8s  %s\n' target executions seconds cov ft corpus findings
for target in "${selected[@]}"; do
  printf '%-18s %12s %8s %7s %7s %8s  %s\n' "$target" "${result_execs[$target]:-?}" "${result_seconds[$target]}" "${result_cov[$target]:-?}" \
    "${result_ft[$target]:-?}" "${result_corpus[$target]}" "${result_finding[$target]}"
done
exit "$failed"
