#!/usr/bin/env bash
# Host tools of the emulated box (Debian 12 host, root): installed with apt-get when missing;
# binfmt_misc mounted and qemu-aarch64 registered when needed.
set -euo pipefail
need=(qemu-system-arm qemu-user-static binfmt-support debootstrap mmdebstrap arch-test e2fsprogs mosquitto-clients)
missing=()
for p in "${need[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "deps: installing ${missing[*]}"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
fi
if [ ! -e /proc/sys/fs/binfmt_misc/status ]; then
  echo "deps: mounting binfmt_misc"
  mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
fi
if [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
  echo "deps: registering qemu-aarch64 with binfmt_misc"
  update-binfmts --enable qemu-aarch64 || update-binfmts --import qemu-aarch64
fi
grep -q '^enabled' /proc/sys/fs/binfmt_misc/qemu-aarch64 || { echo "deps: qemu-aarch64 binfmt is disabled" >&2; exit 1; }
grep -q '^flags: .*F' /proc/sys/fs/binfmt_misc/qemu-aarch64 || \
  echo "deps: WARNING: qemu-aarch64 binfmt lacks the F flag; chroots need qemu-aarch64-static inside" >&2
echo "deps: ok"
