#!/usr/bin/env bash
# Installs what building, testing and demoing bedside-gateway needs on Debian 12.
# Idempotent: safe to run again. Needs root (CI runs as root; otherwise sudo is used).
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive

HOST_PACKAGES=(
  pkg-config file binutils
  libmodbus-dev libmosquitto-dev libyaml-dev libmicrohttpd-dev libcrypt-dev
  mosquitto mosquitto-clients socat
  openssl python3-prometheus-client
  python3-yaml python3-hl7 python3-venv
  debhelper dpkg-dev fakeroot lintian systemd
  libxml2-utils librsvg2-bin tmux curl chromium chromium-driver
)
# The firmware is cross-built for aarch64 and run under qemu-user on this machine.
CROSS_PACKAGES=(
  gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user
  libmodbus-dev:arm64 libmosquitto-dev:arm64 libyaml-dev:arm64 libmicrohttpd-dev:arm64 libcrypt-dev:arm64
)

# Test-only Python tools from PyPI, in a virtual environment of their own: independent
# implementations of the standards the agent speaks (HL7 v2: hl7apy; FHIR R4 4.0.1:
# fhir.resources 6.4, the last release whose default models are R4, which needs pydantic 1);
# Selenium drives Debian's chromium (through chromium-driver) for the clinic view's browser test.
TEST_VENV=/opt/bedside-gateway-test-venv
TEST_PYPI=(hl7apy==1.3.5 fhir.resources==6.4.0 pydantic==1.10.27 selenium==4.27.1)
install_test_venv() {
  if [ -x "$TEST_VENV/bin/python" ] && "$TEST_VENV/bin/python" -c 'import hl7apy, fhir.resources, selenium' 2>/dev/null; then
    return 0
  fi
  $SUDO /usr/bin/python3 -m venv "$TEST_VENV"
  $SUDO "$TEST_VENV/bin/pip" install --quiet --disable-pip-version-check "${TEST_PYPI[@]}"
  echo "install-deps: test tools from PyPI in $TEST_VENV: ${TEST_PYPI[*]}"
}

missing=()
for p in "${HOST_PACKAGES[@]}" "${CROSS_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ "${#missing[@]}" -eq 0 ]; then
  install_test_venv
  echo "install-deps: everything is already installed"
  exit 0
fi

if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  $SUDO dpkg --add-architecture arm64
fi
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
# The broker is started by the tests and the demo on a port of their own; the
# distribution's service on 1883 is not needed and would only get in the way.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet mosquitto 2>/dev/null; then
  $SUDO systemctl stop mosquitto || true
fi
echo "install-deps: installed ${missing[*]}"
install_test_venv
