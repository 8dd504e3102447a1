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
# with bedside-simulator in the same directory); MQM=PATH  mqmgateway's modmqttd, measured the
# same way after the agent, on the same devices and broker (its configuration as
# Deploy/bench-throughput.sh writes it: one poll of the 16 registers per device per cycle);
# KEEP=1 keeps the work directory (with each process's smaps at the end of its window).
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
[ -z "${MQM:-}" ] || [ -x "$MQM" ] || fail "MQM=$MQM is not an executable modmqttd"

# measure NAME PID: warm-up, then the window; NAME.status and NAME.smaps (at the end of the
# window) and NAME.window (ns, context switches, CPU ticks over the window) in $WORK.
switches() { cat /proc/"$1"/task/*/status 2>/dev/null | awk '/^(voluntary|nonvoluntary)_ctxt_switches/ { s += $2 } END { print s }'; }
cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }
# thread_stacks PID: per thread, the size of its stack mapping and how deep it has been touched
# (the lowest resident page, from /proc/PID/pagemap; the mapping holding the thread's stack
# pointer, from /proc/PID/task/TID/syscall).
thread_stacks() {
  python3 - "$1" <<'EOF'
import os, re, struct, sys
pid = sys.argv[1]
maps = [(int(m.group(1), 16), int(m.group(2), 16)) for m in
        (re.match(r"^([0-9a-f]+)-([0-9a-f]+) ", line) for line in open(f"/proc/{pid}/maps"))]
pagemap = open(f"/proc/{pid}/pagemap", "rb")
for tid in sorted(os.listdir(f"/proc/{pid}/task"), key=int):
    try:
        name = open(f"/proc/{pid}/task/{tid}/comm").read().strip()
        stack_pointer = int(open(f"/proc/{pid}/task/{tid}/syscall").read().split()[-2], 16)
    except (OSError, ValueError, IndexError):
        continue
    for start, end in maps:
        if start <= stack_pointer < end:
            pagemap.seek(start // 4096 * 8)
            entries = pagemap.read((end - start) // 4096 * 8)
            present = [struct.unpack_from("<Q", entries, i * 8)[0] >> 63 for i in range(len(entries) // 8)]
            lowest = next((i for i, bit in enumerate(present) if bit), len(present))
            print(f"{(end - start) // 1024} {(len(present) - lowest) * 4} {name}")
EOF
}
measure() {
  local name="$1" pid="$2" s0 c0 t0 s1 c1 t1
  sleep "$WARMUP_S"
  kill -0 "$pid" 2>/dev/null || { cat "$WORK/$name.log" >&2; fail "$name died during the warm-up"; }
  s0="$(switches "$pid")"; c0="$(cpu_ticks "$pid")"; t0="$(date +%s%N)"
  sleep "$WINDOW_S"
  kill -0 "$pid" 2>/dev/null || { cat "$WORK/$name.log" >&2; fail "$name died during the window"; }
  s1="$(switches "$pid")"; c1="$(cpu_ticks "$pid")"; t1="$(date +%s%N)"
  cp "/proc/$pid/smaps" "$WORK/$name.smaps"
  cp "/proc/$pid/status" "$WORK/$name.status"
  thread_stacks "$pid" > "$WORK/$name.stacks"
  echo "$((t1 - t0)) $((s1 - s0)) $((c1 - c0))" > "$WORK/$name.window"
  kill -TERM "$pid"
  wait "$pid" || true
}
bench_start_logged agent.log "$WORK/bedside-gateway" run --config "$WORK/agent.yaml"
measure agent "$STARTED_PID"
MEASURED=(agent)
if [ -n "${MQM:-}" ]; then
  python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); import throughput
throughput.mqm_config(sys.argv[2], sys.argv[3], int(sys.argv[4]), "ports", int(sys.argv[5]), int(sys.argv[6]), 100)' \
    "$ROOT/Deploy/bench" "$WORK/mqm.yaml" "$MQM" "$ENDPOINTS" "$SIMULATOR_BASE" "$BROKER_PORT"
  bench_start_logged mqmgateway.log "$MQM" "--config=$WORK/mqm.yaml"
  measure mqmgateway "$STARTED_PID"
  MEASURED+=(mqmgateway)
fi
python3 - "$WORK" "$(getconf CLK_TCK)" "${MEASURED[@]}" <<'EOF'
import collections, re, sys
work, hz, names = sys.argv[1], int(sys.argv[2]), sys.argv[3:]


def report(process):
    ns, switches, ticks = (int(v) for v in open(f"{work}/{process}.window").read().split())
    status = {}
    for line in open(f"{work}/{process}.status"):
        key, _, value = line.partition(":")
        status[key] = value.split()[0] if value.split() else ""
    kib = lambda key: int(status[key])
    seconds = ns / 1e9
    print(f"{process}: peak RSS (VmHWM) {kib('VmHWM') / 1024:.2f} MiB, anonymous {kib('RssAnon') / 1024:.2f} MiB, "
          f"file-backed {kib('RssFile') / 1024:.2f} MiB, locked {kib('VmLck') / 1024:.2f} MiB, "
          f"{status['Threads']} threads; {switches / seconds:.1f} wake-ups/s, "
          f"CPU {ticks / hz / seconds * 100:.2f} % of a core over {seconds:.1f} s")
    # Resident memory by mapping. A thread stack is the read-write mapping right above its
    # guard page; a malloc arena is a read-write mapping followed by its reserved rest (64 MiB
    # together).
    maps, current = [], None
    for line in open(f"{work}/{process}.smaps"):
        match = re.match(r"^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$", line)
        if match:
            current = {"size": (int(match.group(2), 16) - int(match.group(1), 16)) // 1024, "perm": match.group(3),
                       "name": match.group(4), "Rss": 0, "Anonymous": 0}
            maps.append(current)
        elif line.split(":")[0] in ("Rss", "Anonymous"):
            current[line.split(":")[0]] = int(line.split()[1])
    where = collections.defaultdict(collections.Counter)
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
                name = "other anonymous mappings"
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


def stacks(process):
    deepest, sizes, counts = collections.Counter(), collections.Counter(), collections.Counter()
    for line in open(f"{work}/{process}.stacks"):
        size, touched, name = line.rstrip("\n").split(" ", 2)
        kind = "bus" if name.startswith("bus ") else re.sub(r"[0-9]+$", "#", name)
        counts[kind] += 1
        deepest[kind] = max(deepest[kind], int(touched))
        sizes[kind] = max(sizes[kind], int(size))
    print("  thread stacks, deepest touch / mapping KiB (touched includes the thread's TLS and control block at the top): " +
          ", ".join(f"{kind}{f' x{counts[kind]}' if counts[kind] > 1 else ''} {deepest[kind]}/{sizes[kind]}"
                    for kind in sorted(counts)))


for process in names:
    report(process)
    stacks(process)
EOF
