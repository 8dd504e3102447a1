#!/bin/bash
# Emulated box: polls the buzzer line's level in /sys/kernel/debug/gpio every ~15 ms (bash
# builtins only, no fork per poll) and prints each change: "BOXBUZZER <n> <hi|lo> <uptime>".
# Lines in debugfs look like " gpio-512 (   |bedside-gateway) out hi"; the line's global
# number is the PL061 chip's base (its "GPIOs A-B" header) plus the configured offset.
LINE="${1:-0}"
mkfifo -m 600 /run/box-gpio-probe.fifo 2>/dev/null || true
exec 9<>/run/box-gpio-probe.fifo
prev=""; n=0
while :; do
  level=""; base=""; inpl061=""
  while IFS= read -r l; do
    case "$l" in
      gpiochip*)
        inpl061=""
        if [[ "$l" == *pl061* && -z "$base" && "$l" =~ GPIOs\ ([0-9]+)- ]]; then
          base="${BASH_REMATCH[1]}"; inpl061=1
        fi ;;
      *)
        if [ -n "$inpl061" ] && [[ "$l" =~ ^\ *gpio-([0-9]+)\ .*\)\ (in|out)\ +(hi|lo) ]] \
           && [ "${BASH_REMATCH[1]}" = "$((base + LINE))" ]; then
          level="${BASH_REMATCH[3]}"
        fi ;;
    esac
  done < /sys/kernel/debug/gpio
  if [ -n "$level" ] && [ "$level" != "$prev" ]; then
    read -r up _ < /proc/uptime
    n=$((n + 1))
    echo "BOXBUZZER $n $level $up"
    echo "BOXBUZZER $n $level $up" >&2
    prev="$level"
  fi
  read -r -t 0.015 -u 9 _ || true
done
