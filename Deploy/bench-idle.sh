#!/usr/bin/env bash
# Benchmark: the agent at rest. 4 chairs (a patient monitor and an infusion pump each: 8
# simulated devices on 8 TCP endpoints) sampled every second, publishing to a local broker
# through the disk queue, health endpoint and alarms on: CPU % of a core (whole process, from
# the scheduler's per-thread nanoseconds and from /proc/PID/stat ticks) and wake-ups per second
# (voluntary + involuntary context switches summed over /proc/PID/task/*/status) over each
# window. Target (issue 11): at most 0.2 % of a core. The agent runs pinned to CPU 1, the
# broker and the simulator to CPU 0.
#
# Usage: Deploy/bench-idle.sh
# Environment: REPS=3 runs, WINDOW=60 / WARMUP=5 seconds each; FIRMWARE, SIMULATOR and KEEP as
# for Deploy/bench-throughput.sh (the driver is the same, Deploy/bench/throughput.py).
set -euo pipefail
export BENCH_MODE=idle WINDOW="${WINDOW:-60}"
exec bash "$(dirname "${BASH_SOURCE[0]}")/bench-throughput.sh"
