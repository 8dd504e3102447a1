#!/bin/bash
# Emulated box: reports the agent's systemd state (on change, to the console and retained on
# MQTT box/status/agent) and, once the agent runs, the GPIO and watchdog facts (box/status/hw).
pub() { mosquitto_pub -h 127.0.0.1 -q 1 "$@" 2>/dev/null || true; }
prev=""; hw_done=""
while :; do
  read -r up _ < /proc/uptime
  s="$(systemctl show -p ActiveState,SubState,MainPID,NRestarts,Result bedside-gateway | tr '\n' ' ')"
  if [ "$s" != "$prev" ]; then
    echo "BOXSTATUS agent ${s}uptime=$up"
    pub -r -t box/status/agent -m "${s}uptime=$up"
    prev="$s"
  fi
  if [ -z "$hw_done" ] && [[ "$s" == *ActiveState=active*SubState=running* ]]; then
    sleep 2
    {
      echo "== uname"; uname -a
      echo "== devices"; ls -l /dev/gpiochip* /dev/watchdog* 2>&1
      echo "== gpiodetect"; gpiodetect 2>&1
      echo "== gpioinfo gpiochip0"; gpioinfo gpiochip0 2>&1
      echo "== /sys/kernel/debug/gpio"; cat /sys/kernel/debug/gpio 2>&1
      for w in /sys/class/watchdog/watchdog*; do
        echo "== $w"; for f in identity timeout state status nowayout; do
          [ -r "$w/$f" ] && echo "$f: $(cat "$w/$f" 2>&1)"; done
      done
      echo "== lsmod (gpio/wdt)"; lsmod | grep -Ei 'gpio|wdt|6300|keys' 2>&1
      echo "== agent journal"; journalctl -b -u bedside-gateway --no-pager -o short-monotonic | tail -n 40
      # Which ioctls the agent really issues on the GPIO line and watchdog fds (7 s: one
      # watchdog kick at least), counted by distinct call.
      pid="$(systemctl show -p MainPID --value bedside-gateway)"
      echo "== strace -f -e trace=ioctl -p $pid for 7 s (count, call)"
      timeout -s INT 7 strace -f -qq -e trace=ioctl -p "$pid" 2>&1 \
        | sed -E 's/^\[pid +[0-9]+\] //' | sort | uniq -c | sort -rn | head -n 20
      echo "== threads of the agent (scheduling class, rt priority, cpu)"; ps -L -o tid,cls,rtprio,psr,comm -p "$pid" 2>&1
      echo "== memory lock"; grep -E 'VmLck|Cpus_allowed_list' "/proc/$pid/status" 2>&1
      # VmLck counts whole locked mappings; with MCL_ONFAULT only touched pages are resident.
      echo "== resident locked memory of the agent (smaps_rollup Locked, kB)"
      grep -E '^(Rss|Locked):' "/proc/$pid/smaps_rollup" 2>&1
      echo "== fds of the agent"; ls -l "/proc/$pid/fd" 2>&1 | grep -E 'gpio|watchdog|anon_inode'
    } > /run/box-hw.txt 2>&1
    sed 's/^/BOXHW /' /run/box-hw.txt
    pub -r -t box/status/hw -f /run/box-hw.txt
    hw_done=1
  fi
  sleep 1
done
