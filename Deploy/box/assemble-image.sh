#!/usr/bin/env bash
# Assembles the emulated box's disk image from the cached base root filesystem: a fresh
# copy, our arm64 packages (or, without them, the bare firmware binaries), the box
# configuration and test units (guest/), then vmlinuz/initrd out and an ext4 image made
# with mkfs.ext4 -d (no loop devices).
# Environment: BOX_DIR, ROOT, BOX_DEBS (space-separated .deb paths, empty: bare binaries),
# BOX_HARDWARE (auto|board|explicit), BOX_DESAT_AFTER_S, BOX_IMAGE_SIZE, BOX_KERNEL (rt: Debian's
# linux-image-rt-arm64 instead of linux-image-arm64).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BOX_DIR="${BOX_DIR:?}"; ROOT="${ROOT:?}"
BOX_DEBS="${BOX_DEBS:-}"
BOX_HARDWARE="${BOX_HARDWARE:-auto}"
DESAT_AFTER_S="${BOX_DESAT_AFTER_S:-20}"
IMAGE_SIZE="${BOX_IMAGE_SIZE:-3G}"
BOARD_FILE=/usr/share/bedside-gateway/boards/qemu-virt-aarch64.yaml
BUZZER_LINE=0
R="$BOX_DIR/rootfs"
G="$HERE/guest"

mounted_under() { awk -v d="$1" '$2 == d || index($2, d "/") == 1 {print $2}' /proc/mounts; }
cleanup_mounts() {
  local m
  for m in $(mounted_under "$R" | sort -r); do umount -l "$m" 2>/dev/null || true; done
}
trap cleanup_mounts EXIT

cleanup_mounts
if [ -n "$(mounted_under "$R")" ]; then
  echo "assemble: something is still mounted under $R; refusing to delete it" >&2; exit 1
fi
rm -rf "$R"
cp -a "$BOX_DIR/rootfs-base" "$R"
mount -t proc proc "$R/proc"
in_root() { chroot "$R" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"; }

# No service starts inside the chroot while packages install.
printf '#!/bin/sh\nexit 101\n' > "$R/usr/sbin/policy-rc.d"; chmod +x "$R/usr/sbin/policy-rc.d"

if [ -n "$BOX_DEBS" ]; then
  mkdir -p "$R/tmp/box-debs"
  names=()
  for deb in $BOX_DEBS; do cp "$deb" "$R/tmp/box-debs/"; names+=("/tmp/box-debs/$(basename "$deb")"); done
  echo "assemble: dpkg -i ${names[*]}"
  if ! in_root dpkg -i "${names[@]}"; then
    echo "assemble: dpkg -i failed; fetching missing dependencies with apt" >&2
    in_root apt-get update -q
    in_root apt-get -y -f install
  fi
  rm -rf "$R/tmp/box-debs"
  GATEWAY_BIN="$(in_root dpkg -L bedside-gateway | grep -E '/bin/bedside-gateway$' | head -n1)"
  SIMULATOR_BIN="$(in_root dpkg -L bedside-simulator | grep -E '/bin/bedside-simulator$' | head -n1)"
else
  echo "assemble: WARNING: no .deb packages: installing the bare firmware binaries with a minimal unit (development only)" >&2
  install -m 0755 "$ROOT/.build-firmware/aarch64/bedside-gateway" "$R/usr/local/bin/bedside-gateway"
  install -m 0755 "$ROOT/.build-firmware/aarch64/bedside-simulator" "$R/usr/local/bin/bedside-simulator"
  install -m 0644 "$G/dev-bedside-gateway.service" "$R/etc/systemd/system/bedside-gateway.service"
  GATEWAY_BIN=/usr/local/bin/bedside-gateway
  SIMULATOR_BIN=/usr/local/bin/bedside-simulator
fi
# BOX_KERNEL=rt: Debian's PREEMPT_RT kernel instead (not cached: apt-get inside the copy).
if [ "${BOX_KERNEL:-}" = rt ]; then
  echo "assemble: BOX_KERNEL=rt: installing linux-image-rt-arm64 (an initramfs under qemu-user: minutes)"
  had_resolv=""; [ -e "$R/etc/resolv.conf" ] && had_resolv=1
  [ -n "$had_resolv" ] || cp /etc/resolv.conf "$R/etc/resolv.conf"
  in_root apt-get update -q
  in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends linux-image-rt-arm64
  in_root apt-get clean
  [ -n "$had_resolv" ] || rm -f "$R/etc/resolv.conf"
fi
[ -n "$GATEWAY_BIN" ] && [ -n "$SIMULATOR_BIN" ] || { echo "assemble: agent or simulator binary not found in the image" >&2; exit 1; }
echo "assemble: agent $GATEWAY_BIN, simulator $SIMULATOR_BIN"

# --- The box configuration ------------------------------------------------------------------
install -d -m 0755 "$R/etc/bedside-gateway"
write_config() { # $1: board|explicit
  if [ "$1" = board ]; then
    sed "s|^@BOARD@\$|board: $BOARD_FILE|" "$G/bedside-gateway.yaml"
  else
    sed '/^@BOARD@$/d' "$G/bedside-gateway.yaml"; cat "$G/hardware-explicit.yaml"
  fi > "$R/etc/bedside-gateway/bedside-gateway.yaml"
  chmod 0644 "$R/etc/bedside-gateway/bedside-gateway.yaml"
}
mode="$BOX_HARDWARE"
if [ "$mode" = auto ]; then
  mode=explicit
  if [ -f "$R$BOARD_FILE" ]; then
    write_config board
    if in_root "$GATEWAY_BIN" check /etc/bedside-gateway/bedside-gateway.yaml >/dev/null 2>&1; then
      mode=board
    else
      echo "assemble: WARNING: the agent does not accept 'board: $BOARD_FILE' yet; explicit hardware keys instead" >&2
    fi
  else
    echo "assemble: no board profile $BOARD_FILE in the package yet; explicit hardware keys" >&2
  fi
fi
write_config "$mode"
if [ "$mode" = board ]; then
  # The probe watches the buzzer line the board profile names.
  BUZZER_LINE="$(sed -n 's/.*buzzer:.*line: *\([0-9]*\).*/\1/p' "$R$BOARD_FILE" | head -n1 || true)"
  BUZZER_LINE="${BUZZER_LINE:-0}"
fi
echo "assemble: configuration ($mode hardware keys, buzzer line $BUZZER_LINE):"
echo "assemble: $GATEWAY_BIN check (under qemu-user):"
in_root "$GATEWAY_BIN" check /etc/bedside-gateway/bedside-gateway.yaml

# mosquitto reachable through qemu's forwarded port (anonymous: emulated box only).
install -m 0644 "$G/box-mosquitto.conf" "$R/etc/mosquitto/conf.d/box.conf"
# Network: only qemu's user network (restrict=on), by DHCP; do not wait for it at boot.
install -D -m 0644 "$G/10-box.network" "$R/etc/systemd/network/10-box.network"
install -D -m 0644 "$G/journald-box.conf" "$R/etc/systemd/journald.conf.d/box-console.conf"
echo "/dev/vda / ext4 rw,errors=remount-ro 0 1" > "$R/etc/fstab"

install -d "$R/usr/local/lib/box"
install -m 0755 "$G"/box-*.sh "$R/usr/local/lib/box/"
sed -e "s|@SIMULATOR@|$SIMULATOR_BIN|" -e "s|@DESAT_AFTER_S@|$DESAT_AFTER_S|" \
  "$G/box-simulator.service" > "$R/etc/systemd/system/box-simulator.service"
sed "s|@BUZZER_LINE@|$BUZZER_LINE|" "$G/box-gpio-probe.service" > "$R/etc/systemd/system/box-gpio-probe.service"
install -m 0644 "$G/box-status.service" "$G/box-testhook.service" "$R/etc/systemd/system/"
in_root systemctl enable systemd-networkd.service mosquitto.service bedside-gateway.service \
  box-simulator.service box-status.service box-gpio-probe.service box-testhook.service
in_root systemctl mask systemd-networkd-wait-online.service
rm -f "$R/usr/sbin/policy-rc.d"
cleanup_mounts

# --- Kernel, initrd, image ------------------------------------------------------------------
if [ "${BOX_KERNEL:-}" = rt ]; then flavour='-rt-arm64$'; else flavour='[0-9]-arm64$'; fi
kernel="$(ls "$R"/boot/vmlinuz-* | grep -E -- "$flavour" | sort -V | tail -n1)"
initrd="$R/boot/initrd.img-${kernel##*/vmlinuz-}"
[ -f "$kernel" ] && [ -f "$initrd" ] || { echo "assemble: no kernel/initrd matching $flavour in $R/boot" >&2; exit 1; }
cp "$kernel" "$BOX_DIR/vmlinuz"; cp "$initrd" "$BOX_DIR/initrd.img"
echo "assemble: kernel $(basename "$kernel"), initrd $(basename "$initrd")"
rm -f "$BOX_DIR/image.raw"
mkfs.ext4 -q -F -L boxroot -d "$R" "$BOX_DIR/image.raw" "$IMAGE_SIZE"
echo "assemble: $BOX_DIR/image.raw ($(du -h "$BOX_DIR/image.raw" | cut -f1) used of $IMAGE_SIZE)"
