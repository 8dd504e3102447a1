#!/usr/bin/env bash
# The host test suite under ThreadSanitizer and AddressSanitizer (issue 16, part 4).
#
# Each sanitizer gets its own build (.build-tsan, .build-asan) so that it never disturbs the
# normal .build. The end-to-end tests start the agent and the simulator built in the same
# scratch path, so those processes are instrumented too; their reports go to their own
# stderr, which the tests capture and do not read. So every instrumented process (the test
# runner, each agent, each simulator) writes its reports to files in one directory
# (log_path, with the program's name in the file name), and this script reads them all
# afterwards. halt_on_error=0: a run goes on after a finding, so one run shows them all.
#
# AddressSanitizer runs with LeakSanitizer: a process that exits with memory no longer
# reachable is a finding. Deploy/sanitize/leaks.supp names the few leaks inside the
# toolchain's Foundation and XCTest (test runner only), each with its reason.
#
# What is left out under a sanitizer, and why:
#   - the allocation-counting tests (Tests/AllocationCounter interposes malloc, which the
#     sanitizer must own): they skip themselves in a sanitizer build, with that reason;
#   - the timing suites, BuzzerPatternTests and AlarmEndToEndTests, are run alone after the
#     rest as in Deploy/test.sh, but their bounds (tens of milliseconds between buzzer edges)
#     are not met by code running 5-15 times slower: their failures are listed and do not
#     count, while the sanitizer reports from those runs (the alarm path in the agent) count
#     as any other. The normal runs keep their bounds.
#
# Usage: Deploy/sanitize.sh [thread|address|all]   (default all)
# Prints, per sanitizer: tests run, passed, failed, skipped; findings by kind, in the test
# runner and in agent and simulator processes. Exits non-zero on any finding or failure.
# Environment: KEEP_REPORTS=1 leaves the reports in .build-*/sanitizer-reports (they are
# kept anyway when there are findings).
set -euo pipefail
export LC_ALL=C
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
[ -d /opt/swift/usr/bin ] && export PATH="/opt/swift/usr/bin:$PATH"
# Swift's crash backtracer would attach to a process a sanitizer stops, and can hang there.
export SWIFT_BACKTRACE=enable=no

TIMED='BuzzerPatternTests|AlarmEndToEndTests'
started=$SECONDS
fail() { echo "sanitize: $*" >&2; exit 2; }

case "${1:-all}" in
    thread) KINDS=(thread) ;;
    address) KINDS=(address) ;;
    all) KINDS=(thread address) ;;
    *) fail "usage: $0 [thread|address|all]" ;;
esac

# Prints "run failed skipped" of one `swift test` output, from Swift Testing's own lines
# ("Test run with 450 tests in 75 suites ...", "Test f() failed after", "Test f() skipped").
count_tests() {
    local output="$1"
    local run failed skipped
    run=$(sed -nE 's/^[^ ]* Test run with ([0-9]+) tests? .*/\1/p' "$output" | tail -1)
    failed=$(grep -cE '^[^ ]* Test [^ ]+\(.*\) (with [0-9]+ test cases )?failed after' "$output" || true)
    skipped=$(grep -cE '^[^ ]* Test [^ ]+\(.*\) skipped' "$output" || true)
    echo "${run:-0} $failed $skipped"
}

# Lists the reports of one sanitizer run as "program<TAB>kind", one per finding. A report
# file with no line recognised here still counts, as "unrecognised report".
findings() {
    local reports="$1"
    local file program kinds
    for file in "$reports"/report.*; do
        [ -e "$file" ] || continue
        # report.<program>.<pid>
        program="${file#"$reports"/report.}"
        program="${program%.*}"
        kinds="$(grep -hoE '(WARNING: ThreadSanitizer: [^(]*[^ (]|ERROR: AddressSanitizer: [^ ]+|ERROR: LeakSanitizer: detected memory leaks)' "$file" \
            | sed -E 's/^(WARNING|ERROR): //' || true)"
        [ -n "$kinds" ] || { [ -s "$file" ] && kinds="unrecognised report"; }
        [ -n "$kinds" ] || continue
        printf '%s\n' "$kinds" | while read -r kind; do printf '%s\t%s\n' "$program" "$kind"; done
    done
}

status=0
summary=""
for kind in "${KINDS[@]}"; do
    case "$kind" in
        thread) short=tsan; variable=TSAN_OPTIONS ;;
        address) short=asan; variable=ASAN_OPTIONS ;;
    esac
    scratch="$ROOT/.build-$short"
    reports="$scratch/sanitizer-reports"
    kind_started=$SECONDS

    echo "== $kind sanitizer: build ($((SECONDS - started)) s)"
    mkdir -p "$scratch"
    if ! swift build --build-tests --sanitize="$kind" --scratch-path "$scratch" >"$scratch/sanitize-build.log" 2>&1; then
        grep -E 'error:' "$scratch/sanitize-build.log" | head -20 >&2 || tail -20 "$scratch/sanitize-build.log" >&2
        fail "$kind build failed (swift build --build-tests --sanitize=$kind --scratch-path $scratch; log in $scratch/sanitize-build.log)"
    fi
    built=$((SECONDS - kind_started))

    rm -rf "$reports"
    mkdir -p "$reports"
    # Inherited by the test runner and by every agent and simulator it starts.
    options="log_path=$reports/report log_exe_name=1 halt_on_error=0"
    case "$kind" in
        thread) options="$options second_deadlock_stack=1 history_size=4" ;;
        address) options="$options detect_leaks=1" ;;
    esac
    export "$variable=$options"
    export LSAN_OPTIONS="suppressions=$ROOT/Deploy/sanitize/leaks.supp print_suppressions=0"

    run_started=$SECONDS
    echo "== $kind sanitizer: tests ($((SECONDS - started)) s)"
    main_output="$scratch/sanitize-tests.log"
    timed_output="$scratch/sanitize-timed.log"
    swift test --skip-build --sanitize="$kind" --scratch-path "$scratch" --skip "$TIMED" >"$main_output" 2>&1 || true
    echo "== $kind sanitizer: timing suites, alone ($((SECONDS - started)) s)"
    swift test --skip-build --sanitize="$kind" --scratch-path "$scratch" --filter "$TIMED" >"$timed_output" 2>&1 || true
    unset "$variable" LSAN_OPTIONS
    ran=$((SECONDS - run_started))

    read -r run failed skipped < <(count_tests "$main_output")
    read -r timed_run timed_failed timed_skipped < <(count_tests "$timed_output")
    for output in "$main_output" "$timed_output"; do
        if ! grep -qE '^[^ ]* Test run with [0-9]+ tests' "$output"; then
            echo "  the test run did not finish; the end of $output:"; tail -20 "$output" | sed 's/^/    /'
            status=1
        fi
    done

    list="$(findings "$reports")"
    in_tests=$(printf '%s' "$list" | awk -F'\t' '$1 ~ /PackageTests/' | grep -c . || true)
    in_agent=$(printf '%s' "$list" | awk -F'\t' '$1 == "bedside-gateway"' | grep -c . || true)
    in_simulator=$(printf '%s' "$list" | awk -F'\t' '$1 == "bedside-simulator"' | grep -c . || true)
    all_findings=$(printf '%s' "$list" | grep -c . || true)

    block="$kind sanitizer: built in ${built} s, tests ran in ${ran} s
  tests: $((run + timed_run)) run ($timed_run of them in the timing suites), $failed failed, $timed_failed timing tests failed (not counted), $((skipped + timed_skipped)) skipped
  findings: $all_findings (test runner $in_tests, agent processes $in_agent, simulator processes $in_simulator)"
    if [ "$all_findings" -gt 0 ]; then
        block="$block
$(printf '%s\n' "$list" | sort | uniq -c | sort -rn | awk -F'\t' '{ printf "    %s  %s\n", $1, $2 }')
  reports: $reports"
        status=1
    elif [ -z "${KEEP_REPORTS:-}" ]; then
        rm -rf "$reports"
    fi
    if [ "$failed" -gt 0 ]; then
        block="$block
  failed tests:
$(grep -E '^[^ ]* Test [^ ]+\(.*\) (with [0-9]+ test cases )?failed after' "$main_output" | sed -E 's/^[^ ]* Test /    /; s/ (with [0-9]+ test cases )?failed after.*//')
  output: $main_output"
        status=1
    fi
    if [ "$timed_failed" -gt 0 ]; then
        block="$block
  timing tests failed (bounds not held under the sanitizer, not counted):
$(grep -E '^[^ ]* Test [^ ]+\(.*\) (with [0-9]+ test cases )?failed after' "$timed_output" | sed -E 's/^[^ ]* Test /    /; s/ (with [0-9]+ test cases )?failed after.*//')
  output: $timed_output"
    fi
    summary="$summary$block
"
    echo "$block"
done

echo
echo "== summary ($((SECONDS - started)) s in all)"
printf '%s' "$summary"
[ "$status" -eq 0 ] && echo "clean" || echo "FINDINGS OR FAILURES"
exit "$status"
