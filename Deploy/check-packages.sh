#!/usr/bin/env bash
# Checks the Debian packages that Deploy/build-packages.sh built (run it first), as root:
#   1. lintian on all four .debs: fails on any error
#   2. systemd-analyze security --offline on the unit: fails above 2.0
#   3. systemd-analyze verify on the installed unit (skipped, saying why, where it cannot work)
#   4. installs the amd64 bedside-gateway package with apt-get, checks the user, the files,
#      the conffile, the configuration check and the enable symlink; reinstalls it, upgrades it
#      to a higher version; purges it and proves that nothing is left (file system listing
#      before and after, user and group).
# Non-interactive; installs what it needs (lintian, systemd) when missing. Leaves the package
# purged, also when a check fails. Extra paths to leave out of the before/after listing (for
# a machine where other work goes on at the same time): CHECK_PACKAGES_EXCLUDE="/path /path".
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="$ROOT/.build-packages"
export DEBIAN_FRONTEND=noninteractive
started=$SECONDS
UNIT_SOURCE="$ROOT/Deploy/systemd/bedside-gateway.service"
MAX_EXPOSURE=2.0

failures=0
say() { echo "check-packages: [$((SECONDS - started)) s] $*"; }
pass() { echo "check-packages: PASS: $*"; }
fail() { echo "check-packages: FAIL: $*" >&2; failures=$((failures + 1)); }
die() { echo "check-packages: FAIL: $*" >&2; exit 1; }
# Checks a condition given as a command; PASS/FAIL with the description.
check() { local what="$1"; shift; if "$@"; then pass "$what"; else fail "$what"; fi; }

[ "$(id -u)" -eq 0 ] || die "must run as root (it installs and purges a package)"

VERSION="$(sed -n 's/^[[:space:]]*static let version = "\([^"]*\)".*/\1/p' \
  "$ROOT/Sources/bedside-gateway/BedsideGateway.swift")"
[ -n "$VERSION" ] || die "no version in Sources/bedside-gateway/BedsideGateway.swift"
DEBS=()
for p in bedside-gateway bedside-simulator; do
  for a in arm64 amd64; do
    f="$OUT/${p}_${VERSION}_${a}.deb"
    [ -f "$f" ] || die "$f is missing: run Deploy/build-packages.sh first"
    DEBS+=("$f")
  done
done
DEB="$OUT/bedside-gateway_${VERSION}_amd64.deb"

need=()
command -v lintian >/dev/null || need+=(lintian)
command -v systemd-analyze >/dev/null || need+=(systemd)
command -v file >/dev/null || need+=(file)
if [ "${#need[@]}" -gt 0 ]; then
  say "installing ${need[*]}"
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null \
    || { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null; }
fi

# --- 1. lintian -----------------------------------------------------------------------------
say "1. lintian --fail-on error on ${DEBS[*]##*/}"
# Root is what CI runs as; lintian's remark about it is noise.
if lintian --fail-on error "${DEBS[@]}" 2>&1 | grep -v "running with root privileges"; [ "${PIPESTATUS[0]}" -eq 0 ]; then
  pass "lintian: no errors (tags above, if any, are warnings or less)"
else
  fail "lintian reported errors (E: lines above)"
fi

# The binaries are those of each package's architecture (a mix-up would pass lintian).
for f in "${DEBS[@]}"; do
  arch="${f##*_}"; arch="${arch%.deb}"; pkg="${f##*/}"; pkg="${pkg%%_*}"
  case "$arch" in arm64) expect="ARM aarch64" ;; amd64) expect="x86-64" ;; esac
  what="$(dpkg-deb --fsys-tarfile "$f" | tar -xOf - "./usr/bin/$pkg" | file -b -)"
  check "${f##*/}: /usr/bin/$pkg is $expect" grep -q "$expect" <<<"$what"
done

# --- 2. systemd-analyze security ------------------------------------------------------------
say "2. systemd-analyze security --offline=true on $UNIT_SOURCE"
security="$(cd / && systemd-analyze security --offline=true "$UNIT_SOURCE" 2>&1)" || true
line="$(grep -m1 "Overall exposure level" <<<"$security" || true)"
exposure="$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' <<<"$line")"
if [ -z "$exposure" ]; then
  echo "$security"
  fail "systemd-analyze security printed no exposure level"
else
  echo "$line"
  grep "✗" <<<"$security" | sed 's/  */ /g' | sed 's/^/    /' || true
  if awk -v e="$exposure" -v m="$MAX_EXPOSURE" 'BEGIN { exit !(e <= m) }'; then
    pass "exposure $exposure <= $MAX_EXPOSURE"
  else
    fail "exposure $exposure > $MAX_EXPOSURE"
  fi
fi

# --- 4. (and 3.) install, check, reinstall, upgrade, purge ----------------------------------
WORK="$(mktemp -d /tmp/check-packages.XXXXXX)"
chmod 0755 "$WORK" # apt's _apt user reads the .debs from here
cleanup() {
  if dpkg-query -W -f='${Status}' bedside-gateway 2>/dev/null | grep -qv "not-installed"; then
    say "cleanup: purging bedside-gateway"
    apt-get purge -y -qq bedside-gateway >/dev/null 2>&1 || dpkg --purge bedside-gateway >/dev/null 2>&1 || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
cp "$DEB" "$WORK/"
DEB="$WORK/${DEB##*/}"

if dpkg-query -W -f='${Status}' bedside-gateway 2>/dev/null | grep -qv "not-installed"; then
  say "bedside-gateway is installed already (an earlier run?): purging it first"
  apt-get purge -y -qq bedside-gateway >/dev/null
fi
getent passwd bedside-gateway >/dev/null && die "a user bedside-gateway exists before the install: the purge check would be meaningless"
getent group bedside-gateway >/dev/null && die "a group bedside-gateway exists before the install"

# What the package needs comes first, so that the listings before the install and after the
# purge differ only by what the package itself leaves behind.
deps="$(dpkg-deb -f "$DEB" Depends), $(dpkg-deb -f "$DEB" Recommends)"
say "installing the package's dependencies first: $deps"
apt-get satisfy -y -qq "$deps" >/dev/null \
  || { apt-get update -qq && apt-get satisfy -y -qq "$deps" >/dev/null; } \
  || die "cannot install the dependencies"

# The listing: every path on the root file system with its type, mode and owner; left out are
# places that change by themselves or by apt (logs, apt's caches and lists, dpkg's status
# database but not its per-package files in /var/lib/dpkg/info), the repository, and the
# shadow files' backups (passwd- ...) and lock that useradd/userdel and systemd-sysusers touch.
EXCLUDES=(/proc /sys /dev /run /tmp /var/tmp /var/log /var/cache /var/lib/apt "$ROOT")
for e in ${CHECK_PACKAGES_EXCLUDE:-}; do EXCLUDES+=("$e"); done
listing() {
  local prune=() e
  for e in "${EXCLUDES[@]}"; do prune+=(-path "$e" -o); done
  find / -xdev \( "${prune[@]}" -false \) -prune -o -printf '%y %M %u:%g %p\n' 2>/dev/null \
    | grep -Ev ' /var/lib/dpkg/(status|available|lock|lock-frontend|triggers/.*|triggers|updates/.*|updates|[^/]*-old)$' \
    | grep -Ev ' /etc/(passwd|group|shadow|gshadow)-$| /etc/\.pwd\.lock$' \
    | sort
}
listing > "$WORK/before"
say "listed $(wc -l < "$WORK/before") paths before the install"

say "4. apt-get install -y $DEB"
apt-get install -y -qq "$DEB" > "$WORK/install.log" 2>&1 || { cat "$WORK/install.log"; die "apt-get install failed"; }
check "package installed, version $VERSION" \
  test "$(dpkg-query -W -f='${Status} ${Version}' bedside-gateway)" = "install ok installed $VERSION"

installed_checks() { # what must hold after every install, reinstall or upgrade
  local when="$1" f
  check "$when: user bedside-gateway exists, system user, no login shell" \
    bash -c '[ "$(getent passwd bedside-gateway | cut -d: -f3)" -lt 1000 ] && getent passwd bedside-gateway | grep -q ":/usr/sbin/nologin$"'
  check "$when: group bedside-gateway exists" bash -c "getent group bedside-gateway >/dev/null"
  check "$when: bedside-gateway is in group dialout (serial ports)" \
    bash -c 'id -nG bedside-gateway | tr " " "\n" | grep -qx dialout'
  for f in /usr/bin/bedside-gateway /lib/systemd/system/bedside-gateway.service \
           /usr/lib/sysusers.d/bedside-gateway.conf /lib/udev/rules.d/60-bedside-gateway.rules \
           /etc/bedside-gateway/bedside-gateway.yaml \
           /usr/share/doc/bedside-gateway/examples/command-tokens.example \
           /usr/share/doc/bedside-gateway/examples/mqtt-credentials.example \
           /usr/share/bedside-gateway/mqtt/mosquitto-box.conf /usr/share/bedside-gateway/mqtt/acl.example \
           /usr/share/doc/bedside-gateway/copyright /usr/share/doc/bedside-gateway/changelog.gz; do
    check "$when: $f installed" test -s "$f"
  done
  local boards
  boards="$(dpkg -L bedside-gateway | grep -c '^/usr/share/bedside-gateway/boards/.*\.yaml$' || true)"
  check "$when: board profiles in /usr/share/bedside-gateway/boards ($boards)" test "$boards" -gt 0
  check "$when: /etc/bedside-gateway/bedside-gateway.yaml registered as a conffile" \
    bash -c "dpkg-query -W -f='\${Conffiles}\n' bedside-gateway | grep -q '^ /etc/bedside-gateway/bedside-gateway.yaml [0-9a-f]\{32\}'"
  check "$when: bedside-gateway --version says $VERSION" \
    bash -c "/usr/bin/bedside-gateway --version | grep -q '^bedside-gateway $VERSION '"
  # As the service's user: the configuration must be readable by it and valid.
  if setpriv --reuid=bedside-gateway --regid=bedside-gateway --init-groups \
       /usr/bin/bedside-gateway check /etc/bedside-gateway/bedside-gateway.yaml > "$WORK/check.out" 2>&1; then
    pass "$when: bedside-gateway check /etc/bedside-gateway/bedside-gateway.yaml (as user bedside-gateway): $(cat "$WORK/check.out")"
  else
    cat "$WORK/check.out" >&2
    fail "$when: bedside-gateway check /etc/bedside-gateway/bedside-gateway.yaml"
  fi
  check "$when: unit enabled (/etc/systemd/system/multi-user.target.wants/bedside-gateway.service)" \
    test "$(readlink /etc/systemd/system/multi-user.target.wants/bedside-gateway.service)" = /lib/systemd/system/bedside-gateway.service
}
installed_checks "install"

# --- 3. systemd-analyze verify (needs the installed binary: ExecStart= must exist) ----------
say "3. systemd-analyze verify /lib/systemd/system/bedside-gateway.service"
# Without systemd as PID 1 verify still loads units offline; whether it can here is tried on a
# trivial unit first, so that an environment that cannot run it is told apart from a bad unit.
printf '[Service]\nExecStart=/bin/true\n' > "$WORK/check-packages-probe.service"
if ! probe="$(systemd-analyze verify "$WORK/check-packages-probe.service" 2>&1)"; then
  say "SKIP: systemd-analyze verify fails here even on a trivial unit, so it cannot judge ours: $probe"
elif out="$(systemd-analyze verify /lib/systemd/system/bedside-gateway.service 2>&1)" && [ -z "$out" ]; then
  pass "systemd-analyze verify: no complaints"
else
  echo "$out" >&2
  fail "systemd-analyze verify complained about the unit"
fi

# State as a running agent and an administrator would leave it, which the purge must remove.
install -d -o bedside-gateway -g bedside-gateway -m 0750 /var/lib/bedside-gateway/queue
install -o bedside-gateway -g bedside-gateway -m 0600 /dev/null /var/lib/bedside-gateway/alarms.log
install -o bedside-gateway -g bedside-gateway -m 0600 /dev/null /var/lib/bedside-gateway/queue/00000001.seg
install -o root -g bedside-gateway -m 0640 /usr/share/doc/bedside-gateway/examples/mqtt-credentials.example \
  /etc/bedside-gateway/mqtt-credentials
echo "# changed by check-packages.sh" >> /etc/bedside-gateway/bedside-gateway.yaml

say "4. reinstall: apt-get install --reinstall -y $DEB"
apt-get install --reinstall -y -qq "$DEB" > "$WORK/install.log" 2>&1 || { cat "$WORK/install.log"; die "reinstall failed"; }
installed_checks "reinstall"
check "reinstall: the administrator's change to the conffile is kept" \
  grep -q "^# changed by check-packages.sh" /etc/bedside-gateway/bedside-gateway.yaml

# An upgrade: the same package with a higher version (postinst configure with the old
# version, prerm/postrm upgrade, a conffile that changed on one side only).
NEXT="$VERSION+check1"
dpkg-deb -R "$DEB" "$WORK/next"
sed -i "s/^Version: .*/Version: $NEXT/" "$WORK/next/DEBIAN/control"
dpkg-deb -b -Zgzip "$WORK/next" "$WORK/bedside-gateway_${NEXT}_amd64.deb" >/dev/null
say "4. upgrade to $NEXT: apt-get install -y $WORK/bedside-gateway_${NEXT}_amd64.deb"
apt-get install -y -qq "$WORK/bedside-gateway_${NEXT}_amd64.deb" > "$WORK/install.log" 2>&1 \
  || { cat "$WORK/install.log"; die "upgrade failed"; }
check "upgrade: version $NEXT installed" test "$(dpkg-query -W -f='${Version}' bedside-gateway)" = "$NEXT"
installed_checks "upgrade"
check "upgrade: the administrator's change to the conffile is kept" \
  grep -q "^# changed by check-packages.sh" /etc/bedside-gateway/bedside-gateway.yaml
check "upgrade: the state directory is kept" test -f /var/lib/bedside-gateway/queue/00000001.seg

say "4. apt-get purge -y bedside-gateway"
apt-get purge -y -qq bedside-gateway > "$WORK/install.log" 2>&1 || { cat "$WORK/install.log"; die "purge failed"; }
check "purge: package gone from dpkg's database (not even config-files)" \
  bash -c "! dpkg-query -W -f='\${Status}' bedside-gateway 2>/dev/null | grep -qv not-installed"
check "purge: user bedside-gateway gone" bash -c '! getent passwd bedside-gateway'
check "purge: group bedside-gateway gone" bash -c '! getent group bedside-gateway'
check "purge: nobody in group dialout is called bedside-gateway" \
  bash -c '! getent group dialout | cut -d: -f4 | tr , "\n" | grep -qx bedside-gateway'
listing > "$WORK/after"
if diff -u "$WORK/before" "$WORK/after" > "$WORK/diff"; then
  pass "purge: the file system listing after the purge equals the one before the install ($(wc -l < "$WORK/after") paths)"
else
  sed -n '3,$p' "$WORK/diff" | grep '^[-+]' | head -50 >&2
  fail "purge: the file system differs from before the install (- before, + after)"
fi

echo "check-packages: $failures failure(s) in $((SECONDS - started)) s"
[ "$failures" -eq 0 ]
