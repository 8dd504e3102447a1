#!/bin/bash
# Emulated box test hook: commands on MQTT box/cmd (from the host's smoke test).
#   sigstop  SIGSTOP the agent (its hardware watchdog then resets the box)
#   diag     publish the agent's journal and the GPIO/watchdog facts to box/diag
mosquitto_sub -h 127.0.0.1 -q 1 -t box/cmd | while read -r cmd; do
  read -r up _ < /proc/uptime
  case "$cmd" in
    sigstop)
      pid="$(systemctl show -p MainPID --value bedside-gateway)"
      if [ -n "$pid" ] && [ "$pid" != 0 ] && kill -STOP "$pid"; then
        echo "BOXHOOK sigstop pid=$pid uptime=$up"
        mosquitto_pub -h 127.0.0.1 -q 1 -t box/hook -m "sigstop pid=$pid uptime=$up"
      else
        echo "BOXHOOK sigstop failed pid=$pid uptime=$up"
        mosquitto_pub -h 127.0.0.1 -q 1 -t box/hook -m "sigstop failed pid=$pid"
      fi ;;
    diag)
      { journalctl -b -u bedside-gateway --no-pager -o short-monotonic | tail -n 60
        cat /sys/kernel/debug/gpio; ls -l /dev/gpiochip* /dev/watchdog*; } > /run/box-diag.txt 2>&1
      mosquitto_pub -h 127.0.0.1 -q 1 -t box/diag -f /run/box-diag.txt ;;
    *) echo "BOXHOOK unknown command: $cmd" ;;
  esac
done
