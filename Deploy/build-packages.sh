#!/usr/bin/env bash
# Builds the Debian packages of bedside-gateway from the Embedded Swift firmware:
#   .build-packages/bedside-gateway_<version>_{arm64,amd64}.deb    the agent, its systemd unit,
#       sysusers.d and udev files, default configuration, board profiles, broker templates
#   .build-packages/bedside-simulator_<version>_{arm64,amd64}.deb  the Modbus simulator
#
# Usage: Deploy/build-packages.sh [arm64] [amd64]     (default: both)
#
# The binaries come from .build-firmware/<arch>/ (Deploy/build-firmware.sh, which is run only
# for an architecture whose binaries are missing). The version is the agent's own
# (BedsideGateway.version in Sources/bedside-gateway/BedsideGateway.swift). Packaging sources:
# Deploy/debian/ (debhelper), Deploy/systemd/, Deploy/udev/; each architecture is built with
# dpkg-buildpackage in a staging copy under .build-packages/work/<arch>/, where its log is.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="$ROOT/.build-packages"
started=$SECONDS
say() { echo "build-packages: $*"; }
die() { echo "build-packages: error: $*" >&2; exit 1; }

ARCHS=()
for arg in "$@"; do
  case "$arg" in
    arm64|aarch64) ARCHS+=(arm64) ;;
    amd64|x86_64) ARCHS+=(amd64) ;;
    -h|--help) sed -n '2,13s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) die "unknown argument '$arg' (expected arm64 and/or amd64)" ;;
  esac
done
[ "${#ARCHS[@]}" -gt 0 ] || ARCHS=(arm64 amd64)
firmware_arch() { case "$1" in arm64) echo aarch64 ;; amd64) echo x86_64 ;; esac; }

# --- Tools (Deploy/install-deps.sh installs them; installed here too when missing) ----------
need=(debhelper dpkg-dev fakeroot binutils binutils-aarch64-linux-gnu)
missing=()
for p in "${need[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  say "installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- Version: the agent's, nowhere else ------------------------------------------------------
VERSION="$(sed -n 's/^[[:space:]]*static let version = "\([^"]*\)".*/\1/p' \
  "$ROOT/Sources/bedside-gateway/BedsideGateway.swift")"
[[ "$VERSION" =~ ^[0-9]+(\.[0-9]+)*([~+.][0-9A-Za-z.~+]*)?$ ]] \
  || die "no usable version in Sources/bedside-gateway/BedsideGateway.swift (found '$VERSION')"
say "version $VERSION, architectures ${ARCHS[*]}"

# --- Firmware: built only when missing -----------------------------------------------------
to_build=()
for arch in "${ARCHS[@]}"; do
  fw="$ROOT/.build-firmware/$(firmware_arch "$arch")"
  [ -x "$fw/bedside-gateway" ] && [ -x "$fw/bedside-simulator" ] || to_build+=("$(firmware_arch "$arch")")
done
if [ "${#to_build[@]}" -gt 0 ]; then
  say "firmware missing for ${to_build[*]}: running Deploy/build-firmware.sh ${to_build[*]}"
  bash "$ROOT/Deploy/build-firmware.sh" "${to_build[@]}"
fi
# A firmware older than the source's version would be packaged under the wrong version.
if [[ " ${ARCHS[*]} " == *" amd64 "* ]] && [ "$(uname -m)" = x86_64 ]; then
  reported="$("$ROOT/.build-firmware/x86_64/bedside-gateway" --version)"
  [[ "$reported" == "bedside-gateway $VERSION "* ]] \
    || die "the x86_64 firmware says '$reported', the source says $VERSION: run Deploy/build-firmware.sh"
fi

# --- The changelog: generated, so that the version is written only in the agent's source -----
commit="$(git -C "$ROOT" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)"
if [ "$commit" != unknown ] && [ -n "$(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null)" ]; then
  commit="$commit with local changes"
fi
# The commit's date, not now: the same tree gives the same packages (SOURCE_DATE_EPOCH).
date_r="$(LC_ALL=C date -R -d "@$(git -C "$ROOT" log -1 --format=%ct 2>/dev/null || date +%s)")"
maintainer="$(sed -n 's/^Maintainer: //p' "$ROOT/Deploy/debian/control")"

# --- One staging tree and one dpkg-buildpackage per architecture, in parallel ---------------
rm -rf "$OUT/work"
mkdir -p "$OUT/work"
for arch in "${ARCHS[@]}"; do rm -f "$OUT"/bedside-gateway_*_"$arch".deb "$OUT"/bedside-simulator_*_"$arch".deb; done
shopt -s nullglob
boards=("$ROOT"/Boards/*.yaml)
shopt -u nullglob
say "board profiles: ${#boards[@]} (${boards[*]##*/})"

stage() { # arch -> staging tree with debian/ and payload/
  local arch="$1" fw src
  fw="$ROOT/.build-firmware/$(firmware_arch "$arch")"
  src="$OUT/work/$arch/bedside-gateway-$VERSION"
  mkdir -p "$src/payload/config" "$src/payload/examples" "$src/payload/mqtt" "$src/payload/boards"
  cp -r "$ROOT/Deploy/debian" "$src/debian"
  cp "$ROOT/Deploy/systemd/bedside-gateway.service" "$src/debian/bedside-gateway.service"
  cp "$ROOT/Deploy/systemd/bedside-gateway.sysusers" "$src/debian/bedside-gateway.sysusers"
  cp "$ROOT/Deploy/udev/60-bedside-gateway.rules" "$src/debian/bedside-gateway.udev"
  cat > "$src/debian/changelog" <<CHANGELOG
bedside-gateway ($VERSION) bookworm; urgency=medium

  * bedside-gateway $VERSION, built from commit $commit.

 -- $maintainer  $date_r
CHANGELOG
  cp "$fw/bedside-gateway" "$fw/bedside-simulator" "$src/payload/"
  cp "$ROOT/Deploy/config/bedside-gateway.yaml" "$src/payload/config/"
  cp "$ROOT/Deploy/config/command-tokens.example" "$ROOT/Deploy/config/mqtt-credentials.example" \
     "$ROOT/Deploy/profiles/example-monitor.yaml" "$src/payload/examples/"
  cp "$ROOT/Deploy/mqtt/mosquitto-box.conf" "$ROOT/Deploy/mqtt/acl.example" \
     "$ROOT/Deploy/mqtt/asyncapi.yaml" "$src/payload/mqtt/"
  [ "${#boards[@]}" -eq 0 ] || cp "${boards[@]}" "$src/payload/boards/"
  echo "$src"
}

build_arch() { # arch; output in $OUT/work/<arch>.log
  local arch="$1" src cross=()
  src="$(stage "$arch")"
  # dpkg-shlibdeps reads the arm64 binary with the cross objdump; the multiarch libraries'
  # symbols files (libmodbus5:arm64 ...) give the Depends of that architecture.
  [ "$arch" = "$(dpkg --print-architecture)" ] || cross=(env CC="$(dpkg-architecture -a"$arch" -qDEB_HOST_GNU_TYPE 2>/dev/null)-gcc")
  (cd "$src" && "${cross[@]}" dpkg-buildpackage -a"$arch" -b -d --no-sign) > "$OUT/work/$arch.log" 2>&1
}

# Nothing is compiled, so nothing to test (and dh would warn about tests in cross builds).
export DEB_BUILD_OPTIONS="nocheck${DEB_BUILD_OPTIONS:+ $DEB_BUILD_OPTIONS}"
pids=()
for arch in "${ARCHS[@]}"; do
  build_arch "$arch" & pids+=($!)
done
failed=0
for i in "${!ARCHS[@]}"; do
  if ! wait "${pids[$i]}"; then
    echo "build-packages: dpkg-buildpackage failed for ${ARCHS[$i]}; end of $OUT/work/${ARCHS[$i]}.log:" >&2
    tail -n 30 "$OUT/work/${ARCHS[$i]}.log" >&2
    failed=1
  fi
done
[ "$failed" -eq 0 ] || exit 1
# dpkg-shlibdeps's remarks on the link (libraries linked but unused) are worth seeing.
cat "$OUT"/work/*.log | grep -E '^dpkg-shlibdeps: warning' | sed 's|debian/[^/]*/||' | sort -u | sed 's/^/build-packages: /' || true

for arch in "${ARCHS[@]}"; do
  for pkg in bedside-gateway bedside-simulator; do
    deb="$OUT/work/$arch/${pkg}_${VERSION}_${arch}.deb"
    [ -f "$deb" ] || die "$deb was not built (see $OUT/work/$arch.log)"
    mv "$deb" "$OUT/"
    say "$(basename "$deb"): Depends: $(dpkg-deb -f "$OUT/$(basename "$deb")" Depends)"
  done
done
say "done in $((SECONDS - started)) s: $(cd "$OUT" && ls bedside-*_"$VERSION"_*.deb | tr '\n' ' ')"
