#!/usr/bin/env bash
# Builds the bedside-gateway agent as Embedded Swift firmware from the same sources as the
# host (`swift build`) build: each library module compiled on its own (whole-module,
# Embedded), in dependency order, then linked with --gc-sections. README.md's "Firmware"
# section explains the recipe and what Embedded Swift leaves out.
#
# Usage: Deploy/build-firmware.sh [--smoke] [aarch64] [x86_64]
#   targets   aarch64 and/or x86_64 (default: both)
#   --smoke   after building, run `qemu-aarch64 <binary> --version` on the aarch64 firmware
#
# Needs what Deploy/install-deps.sh installs (cross gcc, qemu-user, arm64 libmodbus/
# libmosquitto/libyaml via multiarch) and Swift 6.3 at /opt/swift (or swiftc on PATH).
# Output: .build-firmware/<arch>/bedside-gateway (stripped) under the repository root.
set -euo pipefail

# Swift library modules, compiled in this order. This list MUST follow Package.swift's
# dependency order: every module comes after all the modules it imports. Add new agent
# modules here when they are added to Package.swift.
MODULES=(Platform JSON Metrics RegisterMaps Vitals Charting FHIR SessionPicture WatchBoard Modbus MQTT Acquisition StoreAndForward Commands Health
         ClinicView Alarms Sessions HL7 MLLP Hardware Supervision Simulator YAMLReader Profiles Config Gateway)
# The executable target (directory Sources/bedside-gateway, module name bedside_gateway).
EXECUTABLE_DIR="bedside-gateway"
EXECUTABLE_MODULE="bedside_gateway"
PRODUCT="bedside-gateway"
# Which library modules each program links: the modules it imports, directly or through
# another module (Package.swift), and no others. Embedded Swift emits the metadata of generic
# types (e.g. a dictionary's storage) as weak symbols in each module's one .data section; the
# linker takes the first definition on the command line and keeps that module's whole .data,
# and with it whatever that refers to, so linking a module a program does not use can carry
# that module's code into the program past --gc-sections.
AGENT_MODULES=(Platform JSON Metrics RegisterMaps Vitals Charting FHIR SessionPicture WatchBoard Modbus MQTT Acquisition StoreAndForward Commands Health
               ClinicView Alarms Sessions HL7 MLLP Hardware Supervision YAMLReader Profiles Config Gateway)
SIMULATOR_MODULES=(Platform JSON RegisterMaps Modbus Alarms Hardware Supervision Simulator YAMLReader Profiles)
# The device simulator: a program of its own (tests, demos, the emulated box), not in the agent.
SIMULATOR_DIR="bedside-simulator"
SIMULATOR_MODULE="bedside_simulator"
SIMULATOR_PRODUCT="bedside-simulator"

ALL_TARGETS=(aarch64 x86_64)

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SOURCES="$ROOT/Sources"
# FIRMWARE_OUT lets parallel builds (helpers, experiments) keep out of each other's way.
OUT_ROOT="${FIRMWARE_OUT:-$ROOT/.build-firmware}"

SWIFTC="${SWIFTC:-}"
if [ -z "$SWIFTC" ]; then
  if [ -x /opt/swift/usr/bin/swiftc ]; then SWIFTC=/opt/swift/usr/bin/swiftc; else SWIFTC=swiftc; fi
fi
SWIFT_LIB_DIR="$(cd "$(dirname "$(command -v "$SWIFTC")")/../lib/swift" && pwd)"

usage() { sed -n '5,8s/^# \{0,1\}//p' "$0"; }

SMOKE=0
TARGETS=()
for arg in "$@"; do
  case "$arg" in
    --smoke) SMOKE=1 ;;
    aarch64|arm64) TARGETS+=(aarch64) ;;
    x86_64|amd64) TARGETS+=(x86_64) ;;
    -h|--help) usage; exit 0 ;;
    *) echo "build-firmware: unknown argument '$arg'" >&2; usage >&2; exit 2 ;;
  esac
done
if [ "${#TARGETS[@]}" -eq 0 ]; then
  TARGETS=("${ALL_TARGETS[@]}")
else # keep the usual order, each target once
  requested=" ${TARGETS[*]} "
  TARGETS=()
  for t in "${ALL_TARGETS[@]}"; do
    if [[ "$requested" == *" $t "* ]]; then TARGETS+=("$t"); fi
  done
fi

# Per-target toolchain settings.
configure_target() {
  case "$1" in
    aarch64)
      TRIPLE=aarch64-none-none-elf
      CC=aarch64-linux-gnu-gcc
      STRIP=aarch64-linux-gnu-strip
      FILE_EXPECT="ARM aarch64"
      # libc headers from libc6-dev-arm64-cross; the clang importer does not find them by itself.
      # Its stdint.h redefines __INT64_C against clang's builtin: harmless, so not reported.
      TARGET_XCC=(-Xcc -I/usr/aarch64-linux-gnu/include -Xcc -I/usr/include
                  -Xcc -D__linux__ -Xcc -D__unix__ -Xcc -Wno-macro-redefined)
      ;;
    x86_64)
      TRIPLE=x86_64-unknown-linux-gnu
      CC=gcc
      STRIP=strip
      FILE_EXPECT="x86-64"
      # A linux triple: the clang importer finds the host's libc headers and defines
      # __linux__/__unix__ on its own; no extra -Xcc flags are needed.
      TARGET_XCC=()
      ;;
  esac
  EMBEDDED_LIB_DIR="$SWIFT_LIB_DIR/embedded/$TRIPLE"
}

now_ms() { date +%s%3N; }
seconds() { printf '%d.%01d' $(( $1 / 1000 )) $(( $1 % 1000 / 100 )); }

# run STEP CMD...: prints the step with how long it took, running CMD quietly and keeping its
# output in <builddir>/logs/STEP.log. On failure prints that output and the command line,
# then exits. On success says nothing more, except how many warnings the step had.
LOG_DIR=""
run() {
  local step="$1" log t0 warnings
  shift
  log="$LOG_DIR/$step.log"
  printf '   %-24s' "$step"
  t0="$(now_ms)"
  if ! "$@" >"$log" 2>&1; then
    echo "FAILED"
    echo "build-firmware: FAILED ($step): $*" >&2
    cat "$log" >&2
    exit 1
  fi
  printf '%6ss\n' "$(seconds $(( $(now_ms) - t0 )))"
  warnings="$(grep -c ': warning: ' "$log" || true)"
  if [ "$warnings" -gt 0 ]; then
    echo "     $warnings warning(s), see ${log#"$ROOT/"}"
  fi
  # Embedded Swift only warns when a file uses a member of a module it does not import itself
  # (the host build accepts it through another file's import); Swift 6 mode makes it an error,
  # so it is one here already.
  if grep -q "this is an error in the Swift 6 language mode" "$log"; then
    echo "build-firmware: FAILED ($step): a warning that Swift 6 makes an error:" >&2
    grep -A2 "this is an error in the Swift 6 language mode" "$log" | grep ': warning: ' >&2 || true
    exit 1
  fi
}

# sorted_files VAR DIR FIND-ARGS...: sorted list of files under DIR into array VAR; fails if none.
sorted_files() {
  local -n into="$1"
  local dir="$2"
  shift 2
  [ -d "$dir" ] || { echo "build-firmware: no directory ${dir#"$ROOT/"}" >&2; exit 1; }
  mapfile -t into < <(find "$dir" "$@" -print | LC_ALL=C sort)
  [ "${#into[@]}" -gt 0 ] || { echo "build-firmware: no sources in ${dir#"$ROOT/"}" >&2; exit 1; }
}

declare -A RESULT_SIZE RESULT_TIME RESULT_FILE RESULT_SIMULATOR_SIZE

build_target() {
  local arch="$1" dir start name srcs objects=()
  configure_target "$arch"
  start="$(now_ms)"
  dir="$OUT_ROOT/$arch"
  rm -rf "$dir"
  LOG_DIR="$dir/logs"
  mkdir -p "$dir/obj" "$LOG_DIR"

  for tool in "$CC" "$STRIP"; do
    command -v "$tool" >/dev/null || { echo "build-firmware: $tool not found (run Deploy/install-deps.sh)" >&2; exit 1; }
  done
  [ -f "$EMBEDDED_LIB_DIR/libswiftUnicodeDataTables.a" ] ||
    { echo "build-firmware: no Embedded Swift runtime in $EMBEDDED_LIB_DIR" >&2; exit 1; }

  echo "== $arch ($TRIPLE)"

  # 1. C shims, plus a module map for them (SwiftPM writes one only for the host build).
  local c c_sources
  sorted_files c_sources "$SOURCES/CShims" -maxdepth 1 -type f -name '*.c'
  for c in "${c_sources[@]}"; do
    name="$(basename "$c" .c)"
    run "CShims_$name" "$CC" -O2 -ffunction-sections -fdata-sections -DBEDSIDE_EMBEDDED \
      -I "$SOURCES/CShims/include" -c "$c" -o "$dir/obj/CShims_$name.o"
    objects+=("$dir/obj/CShims_$name.o")
  done
  cat >"$dir/module.modulemap" <<EOF
module CShims {
    header "$SOURCES/CShims/include/CShims.h"
    export *
}
EOF

  # -function-sections (Swift) and -ffunction-sections/-fdata-sections (C) let the linker's
  # --gc-sections drop code nothing reaches: measured 843 -> 331 KiB for aarch64 and
  # 899 -> 355 KiB for x86_64. Either half alone gains nothing.
  local swift_flags=(
    -enable-experimental-feature Embedded -wmo -parse-as-library -Osize
    -target "$TRIPLE"
    -Xfrontend -function-sections
    -I "$dir"
    -I "$SOURCES/CModbus" -I "$SOURCES/CMosquitto" -I "$SOURCES/CYAML" -I "$SOURCES/CMicroHTTPD"
    -Xcc -I/usr/include/modbus
    ${TARGET_XCC[@]+"${TARGET_XCC[@]}"}
  )

  # 2. Library modules in dependency order; 3. the two executable modules.
  local module module_dir
  for module in "${MODULES[@]}" "$EXECUTABLE_MODULE" "$SIMULATOR_MODULE"; do
    module_dir="$module"
    [ "$module" = "$EXECUTABLE_MODULE" ] && module_dir="$EXECUTABLE_DIR"
    [ "$module" = "$SIMULATOR_MODULE" ] && module_dir="$SIMULATOR_DIR"
    # Every *.swift file under Sources/<dir>/, recursively, sorted.
    sorted_files srcs "$SOURCES/$module_dir" -type f -name '*.swift'
    run "$module" "$SWIFTC" "${swift_flags[@]}" -module-name "$module" \
      -emit-module -emit-module-path "$dir/$module.swiftmodule" \
      -c "${srcs[@]}" -o "$dir/obj/$module.o"
  done

  # 4. Link each program with the C shims and its own library modules, then strip.
  local program main linked
  for program in "$PRODUCT" "$SIMULATOR_PRODUCT"; do
    main="$EXECUTABLE_MODULE"
    linked=("${AGENT_MODULES[@]}")
    if [ "$program" = "$SIMULATOR_PRODUCT" ]; then
      main="$SIMULATOR_MODULE"
      linked=("${SIMULATOR_MODULES[@]}")
    fi
    local program_objects=("${objects[@]}")
    for module in "${linked[@]}"; do program_objects+=("$dir/obj/$module.o"); done
    run "link-$program" "$CC" -o "$dir/$program.unstripped" "${program_objects[@]}" "$dir/obj/$main.o" \
      "$EMBEDDED_LIB_DIR/libswiftUnicodeDataTables.a" \
      -Wl,--gc-sections -Wl,--as-needed \
      -lmodbus -lmosquitto -lyaml -lmicrohttpd -lcrypt -lpthread -lm
    run "strip-$program" "$STRIP" -o "$dir/$program" "$dir/$program.unstripped"
  done
  RESULT_SIMULATOR_SIZE[$arch]="$(stat -c %s "$dir/$SIMULATOR_PRODUCT")"

  local description
  description="$(file -b "$dir/$PRODUCT")"
  if [[ "$description" != *"$FILE_EXPECT"* ]]; then
    echo "build-firmware: $dir/$PRODUCT is not $FILE_EXPECT: $description" >&2
    exit 1
  fi
  RESULT_SIZE[$arch]="$(stat -c %s "$dir/$PRODUCT")"
  RESULT_FILE[$arch]="$description"
  RESULT_TIME[$arch]="$(( $(now_ms) - start ))"
  echo "   $arch done in $(seconds "${RESULT_TIME[$arch]}")s"
}

TOTAL_START="$(now_ms)"
for arch in "${TARGETS[@]}"; do
  build_target "$arch"
done
TOTAL_MS="$(( $(now_ms) - TOTAL_START ))"

echo
printf '%-8s %10s %9s %8s  %s\n' target bytes KiB time binary
for arch in "${TARGETS[@]}"; do
  printf '%-8s %10d %9s %7ss  %s\n' "$arch" "${RESULT_SIZE[$arch]}" \
    "$(awk -v b="${RESULT_SIZE[$arch]}" 'BEGIN { printf "%.1f", b / 1024 }')" \
    "$(seconds "${RESULT_TIME[$arch]}")" \
    "${OUT_ROOT#"$ROOT/"}/$arch/$PRODUCT"
done
for arch in "${TARGETS[@]}"; do
  printf '%-8s %10d %9s %8s  %s\n' "$arch" "${RESULT_SIMULATOR_SIZE[$arch]}" \
    "$(awk -v b="${RESULT_SIMULATOR_SIZE[$arch]}" 'BEGIN { printf "%.1f", b / 1024 }')" "" \
    "${OUT_ROOT#"$ROOT/"}/$arch/$SIMULATOR_PRODUCT"
done
echo "total $(seconds "$TOTAL_MS")s"
for arch in "${TARGETS[@]}"; do
  echo "$arch: ${RESULT_FILE[$arch]}"
done

# 5. Optional smoke check of the aarch64 firmware under qemu-user.
if [ "$SMOKE" -eq 1 ]; then
  if [[ " ${TARGETS[*]} " == *" aarch64 "* ]]; then
    echo
    echo "smoke: qemu-aarch64 ${OUT_ROOT#"$ROOT/"}/aarch64/$PRODUCT --version"
    qemu-aarch64 "$OUT_ROOT/aarch64/$PRODUCT" --version
  else
    echo "build-firmware: --smoke runs the aarch64 firmware, which was not built" >&2
    exit 2
  fi
fi
