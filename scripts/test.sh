#!/usr/bin/env bash
# The whole test suite: set-up, normal build + tests, ASan/UBSan build + tests, and a short run of
# every fuzz target. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
jobs=$(nproc)

echo "== tests (release build)"
ctest --test-dir build --output-on-failure -j"$jobs"

echo "== tests (ASan + UBSan build)"
cmake -S . -B build-san -DCMAKE_BUILD_TYPE=Debug -DKENYON_SANITIZE=ON >/dev/null
cmake --build build-san -j"$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  LSAN_OPTIONS=suppressions="$PWD/scripts/lsan.supp" \
  ctest --test-dir build-san --output-on-failure -j"$jobs"

echo "== fuzz targets (${KENYON_FUZZ_SECONDS:-20} s each)"
CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DKENYON_FUZZ=ON >/dev/null
cmake --build build-fuzz -j"$jobs"
shopt -s nullglob
for f in build-fuzz/fuzz/fuzz_*; do
  [ -x "$f" ] || continue
  name=$(basename "$f")
  corpus="fuzz/corpus/${name#fuzz_}"
  work=$(mktemp -d)
  seeds=()
  [ -d "$corpus" ] && seeds=("$corpus")
  echo "-- $name"
  LSAN_OPTIONS=suppressions="$PWD/scripts/lsan.supp" "$f" -max_total_time="${KENYON_FUZZ_SECONDS:-20}" -rss_limit_mb=2048 -print_final_stats=0 \
    "$work" "${seeds[@]}" 2>"$work.log" || { tail -50 "$work.log"; exit 1; }
  rm -rf "$work" "$work.log"
done
echo "all test stages passed"
