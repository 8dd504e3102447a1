#!/usr/bin/env bash
# Builds (once) the arm64 Debian 12 base root filesystem of the emulated box with mmdebstrap
# and qemu-user-static, into $BOX_DIR/rootfs-base. A stamp keyed on packages.txt and this
# script lets later runs skip it.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BOX_DIR="${BOX_DIR:?}"
MIRROR="${BOX_MIRROR:-http://deb.debian.org/debian}"
BASE="$BOX_DIR/rootfs-base"
STAMP="$BOX_DIR/rootfs-base.stamp"
KEY="$(cat "$HERE/packages.txt" "$HERE/build-rootfs.sh" | sha256sum | cut -d' ' -f1)"

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$KEY" ] && [ -d "$BASE" ]; then
  echo "rootfs: cached base root filesystem is up to date ($BASE)"
  exit 0
fi
rm -rf "$BASE" "$STAMP" "$BASE.tmp"
# update-initramfs is diverted to /bin/true while the packages install: under qemu-user each
# initramfs takes minutes, and the kernel, udev and kmod would each trigger one. It runs once,
# at the end.
PKGS="$(grep -v '^\s*#' "$HERE/packages.txt" | xargs | tr ' ' ',')"
echo "rootfs: building the arm64 base root filesystem (several minutes under qemu-user)"
mmdebstrap --mode=root --architectures=arm64 --variant=apt \
  --include="$PKGS" \
  --aptopt='APT::Install-Recommends "false"' \
  --dpkgopt='path-exclude=/usr/share/man/*' \
  --dpkgopt='path-exclude=/usr/share/doc/*' \
  --dpkgopt='path-include=/usr/share/doc/*/copyright' \
  --dpkgopt='path-exclude=/usr/share/locale/*' \
  --essential-hook='chroot "$1" dpkg-divert --quiet --local --rename --add /usr/sbin/update-initramfs' \
  --essential-hook='ln -s /bin/true "$1/usr/sbin/update-initramfs"' \
  --customize-hook='rm "$1/usr/sbin/update-initramfs"' \
  --customize-hook='chroot "$1" dpkg-divert --quiet --local --rename --remove /usr/sbin/update-initramfs' \
  --customize-hook='chroot "$1" update-initramfs -c -k all' \
  --customize-hook='echo bedside-box > "$1/etc/hostname"' \
  --customize-hook='chroot "$1" passwd -d root' \
  bookworm "$BASE.tmp" \
  "deb $MIRROR bookworm main" "deb $MIRROR bookworm-updates main" \
  "deb http://deb.debian.org/debian-security bookworm-security main"
mv "$BASE.tmp" "$BASE"
echo "$KEY" > "$STAMP"
echo "rootfs: base root filesystem ready ($(du -sh "$BASE" | cut -f1))"
