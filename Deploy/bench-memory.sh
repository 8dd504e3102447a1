#!/usr/bin/env bash
# Benchmark: where the agent's memory goes.
#
#   bash Deploy/bench-memory.sh [window-s (10)]
#       32 beds x one 16-point device (Deploy/bench/bench-16-holding.yaml) every 100 ms, one
#       Modbus TCP endpoint each, health server, disk queue and alarms (buzzer to a file) on.
#       Prints peak RSS (VmHWM), anonymous and file-backed RSS, what mlockall locked, and
#       resident memory by mapping: heap, thread stacks, malloc arenas, other anonymous
#       mappings, and each library split into its code and read-only data (file-backed,
#       shared with other processes) and its written pages (anonymous copies).
#
# It runs the x86_64 firmware with the simulator built beside it and a local mosquitto, all
# on loopback, on free ports and in a temporary directory. The idle figure (wake-ups and CPU
# at rest) is Deploy/bench-idle.sh.
# Environment: FIRMWARE=PATH  agent binary (default .build-firmware/x86_64/bedside-gateway,
# with bedside-simulator in the same directory); KEEP=1 keeps the work directory (with the
# agent's smaps at the end of the window).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bench/common.sh"
bench_setup memory
WINDOW_S="${1:-10}"
case "$WINDOW_S" in ''|*[!0-9]*) fail "the window is whole seconds" ;; esac
WARMUP_S=5
ENDPOINTS=32
PROFILE="$ROOT/Deploy/bench/bench-16-holding.yaml"
bench_need mosquitto ss python3
bench_copy_firmware

bench_start_broker
HEALTH_PORT="$(bench_free_port)"
bench_start_simulator "$ENDPOINTS" --devices "pattern:$ENDPOINTS" --pattern-profile "$PROFILE"
{
  bench_agent_header memory
  echo "alarms: {log: $WORK/alarms.log}"
  echo "hardware: {buzzer: {record_to: $WORK/buzzer.edges}}"
  echo "sampling: {interval_ms: 100}"
  echo "device_profiles: [$PROFILE]"
  bench_beds "$ENDPOINTS" 1 bench-16-holding
} > "$WORK/agent.yaml"
bench_check_config "$WORK/agent.yaml"
bench_start_logged agent.log "$WORK/bedside-gateway" run --config "$WORK/agent.yaml"
PID=$STARTED_PID

switches() { cat /proc/"$PID"/task/*/status 2>/dev/null | awk '/^(voluntary|nonvoluntary)_ctxt_switches/ { s += $2 } END { print s }'; }
cpu_ticks() { sed 's/.*) //' "/proc/$PID/stat" | awk '{ print $12 + $13 }'; }
sleep "$WARMUP_S"
kill -0 "$PID" 2>/dev/null || { cat "$WORK/agent.log" >&2; fail "the agent died during the warm-up"; }
s0="$(switches)"; c0="$(cpu_ticks)"; t0="$(date +%s%N)"
sleep "$WINDOW_S"
kill -0 "$PID" 2>/dev/null || { cat "$WORK/agent.log" >&2; fail "the agent died during the window"; }
s1="$(switches)"; c1="$(cpu_ticks)"; t1="$(date +%s%N)"
cp "/proc/$PID/smaps" "$WORK/smaps"
cp "/proc/$PID/status" "$WORK/status"
python3 - "$WORK" "$((t1 - t0))" "$((s1 - s0))" "$((c1 - c0))" "$(getconf CLK_TCK)" <<'EOF'
import collections, re, sys
work, ns, switches, ticks, hz = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
status = {}
for line in open(f"{work}/status"):
    key, _, value = line.partition(":")
    status[key] = value.split()[0] if value.split() else ""
kib = lambda key: int(status[key])
seconds = ns / 1e9
print(f"peak RSS (VmHWM) {kib('VmHWM') / 1024:.2f} MiB, anonymous {kib('RssAnon') / 1024:.2f} MiB, "
      f"file-backed {kib('RssFile') / 1024:.2f} MiB, locked {kib('VmLck') / 1024:.2f} MiB, "
      f"{status['Threads']} threads; {switches / seconds:.1f} wake-ups/s, "
      f"CPU {ticks / hz / seconds * 100:.2f} % of a core over {seconds:.1f} s")
# Resident memory by mapping. A thread stack is the read-write mapping right above its guard
# page; a malloc arena is a read-write mapping followed by its reserved rest (64 MiB together).
maps, current = [], None
for line in open(f"{work}/smaps"):
    match = re.match(r"^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$", line)
    if match:
        current = {"size": (int(match.group(2), 16) - int(match.group(1), 16)) // 1024, "perm": match.group(3),
                   "name": match.group(4), "Rss": 0, "Anonymous": 0}
        maps.append(current)
    elif line.split(":")[0] in ("Rss", "Anonymous"):
        current[line.split(":")[0]] = int(line.split()[1])
where = collections.defaultdict(lambda: collections.Counter())
stacks = 0
for index, mapping in enumerate(maps):
    name, part = mapping["name"], None
    if not name:
        previous = maps[index - 1] if index else None
        following = maps[index + 1] if index + 1 < len(maps) else None
        if previous and previous["perm"] == "---p" and not previous["name"] and previous["size"] <= 64:
            name = "thread stacks"
            stacks += 1
        elif following and following["perm"] == "---p" and not following["name"] and \
                following["size"] + mapping["size"] in (65536, 131072):
            name = "malloc arenas"
        else:
            name = "other anonymous (latency histograms)"
    elif name.startswith("/"):
        name = name.rsplit("/", 1)[1]
        part = "code" if "x" in mapping["perm"] else "read-only" if "w" not in mapping["perm"] else "data"
    entry = where[name]
    entry["rss"] += mapping["Rss"]
    entry["anonymous"] += mapping["Anonymous"]
    if part:
        entry[part] += mapping["Rss"] - mapping["Anonymous"]
print(f"  {'KiB':>6}  {'anon':>6}  {'code':>6}  {'ro':>6}  {'data':>6}  where (anon: written pages; code, ro, data: file-backed)")
for name, entry in sorted(where.items(), key=lambda item: -item[1]["rss"]):
    if entry["rss"] > 0:
        label = f"{name} ({stacks})" if name == "thread stacks" else name
        print(f"  {entry['rss']:6d}  {entry['anonymous']:6d}  {entry['code']:6d}  {entry['read-only']:6d}  {entry['data']:6d}  {label}")
EOF
