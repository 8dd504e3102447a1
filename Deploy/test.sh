#!/usr/bin/env bash
# Every test: installs what is needed, runs the host test suite (unit tests and the
# end-to-end tests against a real mosquitto and the Modbus simulator), a short pass of every
# fuzz target (its reproducers, seeds and a few seconds of new inputs), builds the firmware
# for aarch64 and x86_64 with Embedded Swift, and runs the end-to-end tests again with the
# agent being the aarch64 firmware under qemu-aarch64 and the x86_64 firmware natively,
# then builds the Debian packages and checks them (lintian, the unit's security exposure,
# install, upgrade and purge on this machine). The clinic view is also tested in a real
# browser against the host build (screenshots in /tmp/view); the firmware builds serve the same
# page and run ClinicViewEndToEndTests (stream, authentication, TLS) with the other end-to-end tests.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
[ -d /opt/swift/usr/bin ] && export PATH="/opt/swift/usr/bin:$PATH"
started=$SECONDS
step() { echo "== $* ($((SECONDS - started)) s)"; }

step "installing dependencies"
bash Deploy/install-deps.sh

step "host build and tests"
swift build --build-tests
# The buzzer pattern and alarm tests measure timing (edges, alarm latency): they run on
# their own afterwards, not beside 30 other suites starting agents, brokers and simulators
# on 2 cores.
TIMED='BuzzerPatternTests|AlarmEndToEndTests'
swift test --skip-build --skip "$TIMED"

step "buzzer and alarm timing tests, alone"
swift test --skip-build --filter "$TIMED"

step "the clinic view in a real browser (chromium headless, Selenium)"
BIN_PATH="$(swift build --show-bin-path)"
/opt/bedside-gateway-test-venv/bin/python Tests/Browser/clinic_view.py \
  --agent "$BIN_PATH/bedside-gateway" --simulator "$BIN_PATH/bedside-simulator" --screenshots /tmp/view

step "fuzz targets: reproducers and seeds replayed, 2 s of new inputs each"
bash Deploy/fuzz.sh all 2

step "firmware build (Embedded Swift)"
bash Deploy/build-firmware.sh

step "end-to-end tests with the aarch64 firmware under qemu-aarch64"
BEDSIDE_AGENT_COMMAND="qemu-aarch64 $ROOT/.build-firmware/aarch64/bedside-gateway" \
  swift test --skip-build --filter EndToEndTests --skip AlarmEndToEndTests
BEDSIDE_AGENT_COMMAND="qemu-aarch64 $ROOT/.build-firmware/aarch64/bedside-gateway" \
  swift test --skip-build --filter AlarmEndToEndTests

step "end-to-end tests with the x86_64 firmware"
BEDSIDE_AGENT_COMMAND="$ROOT/.build-firmware/x86_64/bedside-gateway" \
  swift test --skip-build --filter EndToEndTests --skip AlarmEndToEndTests
BEDSIDE_AGENT_COMMAND="$ROOT/.build-firmware/x86_64/bedside-gateway" \
  swift test --skip-build --filter AlarmEndToEndTests

step "Debian packages: build, lintian, unit security, install/upgrade/purge"
bash Deploy/build-packages.sh
bash Deploy/check-packages.sh

step "all tests passed"
