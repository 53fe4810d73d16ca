#!/usr/bin/env bash
# The installed library as a user meets it: `cmake --install` into a temporary prefix, then
# examples/embed_fly.c built there against the core alone with pkg-config (shared) and with
# find_package(kenyon) (kenyon::core shared and kenyon::core_static), and a program that uses the
# full library (kenyon.pc, kenyon::kenyon). Checks the sonames, that the core needs no library
# beyond BLAS/LAPACKE, zlib, cJSON and OpenMP, and that nothing installed points back at the build
# or source tree. Needs KENYON_BUILD (the build tree) and KENYON_SRC (the source tree).
set -u
: "${KENYON_BUILD:?KENYON_BUILD must name the build tree}" "${KENYON_SRC:?KENYON_SRC must name the source tree}"
CC=${KENYON_CC:-cc}
mkdir -p "${KENYON_TEST_TMP:-/tmp}" || exit 1
T=$(mktemp -d "${KENYON_TEST_TMP:-/tmp}/install.XXXXXX") || exit 1
[ -n "$T" ] && [ -d "$T" ] || { echo "cannot create a scratch directory"; exit 1; }
trap 'rm -rf "$T"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
# A sanitizer build's libraries need the sanitizer runtime in the program too.
SAN_FLAGS=()
[ "${KENYON_SANITIZE:-OFF}" = ON ] && SAN_FLAGS=(-fsanitize=address,undefined)

P=$T/prefix
if ! cmake --install "$KENYON_BUILD" --prefix "$P" >"$T/install.log" 2>&1; then
  cat "$T/install.log"; echo "FAIL: cmake --install"; exit 1
fi
pc_core=$(find "$P" -name kenyon-core.pc | head -1)
[ -n "$pc_core" ] || { echo "FAIL: no kenyon-core.pc installed"; exit 1; }
pcdir=$(dirname "$pc_core")
libdir=$(dirname "$pcdir")
[ -f "$pcdir/kenyon.pc" ] || fail "no kenyon.pc beside kenyon-core.pc"
[ -f "$P/include/kenyon/core.h" ] && [ -f "$P/include/kenyon/kenyon.h" ] || fail "public headers missing"
[ -f "$libdir/cmake/kenyon/kenyonConfig.cmake" ] || fail "no CMake package config"
for a in libkenyon_core.a libkenyon.a; do [ -f "$libdir/$a" ] || fail "no $a"; done

# Sonames carry the version (major.minor while 0.x), and the .so names are links to them.
version=$(sed -n 's/^Version: //p' "$pc_core")
abi=${version%.*}
for lib in kenyon_core kenyon; do
  so=$libdir/lib$lib.so
  [ -L "$so" ] || { fail "lib$lib.so is not installed as a link"; continue; }
  soname=$(readelf -d "$so" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
  [ "$soname" = "lib$lib.so.$abi" ] || fail "lib$lib.so has soname '$soname', want lib$lib.so.$abi"
  [ -f "$libdir/lib$lib.so.$version" ] || fail "no lib$lib.so.$version"
done
# The core's direct dependencies are the allowed ones (and the C runtime, sanitizer runtimes).
while read -r needed; do
  case $needed in
    libopenblas.so*|liblapacke.so*|libdnnl.so*|libz.so*|libcjson.so*|libgomp.so*|libm.so*|libc.so*|ld-linux*.so*) ;;
    libasan.so*|libubsan.so*) [ ${#SAN_FLAGS[@]} -gt 0 ] || fail "the core needs $needed" ;;
    *) fail "the core needs $needed" ;;
  esac
done < <(readelf -d "$libdir/libkenyon_core.so" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p')
readelf -d "$libdir/libkenyon.so" | grep -q 'Shared library: \[libkenyon_core.so' ||
  fail "libkenyon.so does not name libkenyon_core.so as a dependency"
if grep -rqsF -e "$KENYON_BUILD" -e "$KENYON_SRC" "$pcdir" "$libdir/cmake"; then
  fail "installed package files name the build or source tree"
fi

# 1. pkg-config, shared core.
export PKG_CONFIG_PATH=$pcdir
flags=$(pkg-config --cflags --libs kenyon-core) || fail "pkg-config kenyon-core"
# shellcheck disable=SC2086
if "$CC" "${SAN_FLAGS[@]}" -o "$T/embed_pc" "$KENYON_SRC/examples/embed_fly.c" $flags \
     -Wl,-rpath,"$libdir" 2>"$T/cc.log"; then
  out=$("$T/embed_pc" "$T/pc.safetensors" 2>&1) || fail "embed_fly (pkg-config) failed: $out"
  grep -q "^accuracy" <<<"$out" || fail "embed_fly (pkg-config) printed: $out"
  [ -s "$T/pc.safetensors" ] || fail "embed_fly (pkg-config) wrote no model"
  readelf -d "$T/embed_pc" | grep -q 'libkenyon_core.so' || fail "embed_pc does not use the shared core"
  readelf -d "$T/embed_pc" | grep -q 'libkenyon.so' && fail "embed_pc links the full library"
else
  cat "$T/cc.log"; fail "building embed_fly.c with pkg-config kenyon-core"
fi

# 2. pkg-config, full library: a program that uses both tiers.
cat >"$T/full.c" <<'C'
#include <stdio.h>
#include <string.h>
#include "kenyon/kenyon.h"
int main(void)
{
    char buf[32];
    kn_format_duration(125.0, buf, sizeof buf); /* full library */
    int best = kn_argmax_allowed((const float[]){1, 3, 2}, 3, NULL); /* core */
    printf("%s %d\n", buf, best);
    return strcmp(buf, "2m05s") == 0 && best == 1 ? 0 : 1;
}
C
flags=$(pkg-config --cflags --libs kenyon) || fail "pkg-config kenyon"
# shellcheck disable=SC2086
if "$CC" "${SAN_FLAGS[@]}" -o "$T/full_pc" "$T/full.c" $flags -Wl,-rpath,"$libdir" 2>"$T/cc.log"; then
  "$T/full_pc" >/dev/null 2>&1 || fail "full-library program (pkg-config) failed"
else
  cat "$T/cc.log"; fail "building against pkg-config kenyon"
fi

# 3. find_package(kenyon): the shared and the static core, and the full library.
mkdir -p "$T/proj"
cp "$KENYON_SRC/examples/embed_fly.c" "$T/full.c" "$T/proj/"
cat >"$T/proj/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.25)
project(use_kenyon C)
find_package(kenyon 0.1 REQUIRED)
add_executable(embed_shared embed_fly.c)
target_link_libraries(embed_shared PRIVATE kenyon::core)
add_executable(embed_static embed_fly.c)
target_link_libraries(embed_static PRIVATE kenyon::core_static)
add_executable(full full.c)
target_link_libraries(full PRIVATE kenyon::kenyon)
CM
san_cmake=()
[ ${#SAN_FLAGS[@]} -gt 0 ] && san_cmake=(-DCMAKE_C_FLAGS="${SAN_FLAGS[*]}")
if cmake -S "$T/proj" -B "$T/proj/build" -DCMAKE_PREFIX_PATH="$P" -DCMAKE_C_COMPILER="$CC" \
     "${san_cmake[@]}" >"$T/cmake.log" 2>&1 && cmake --build "$T/proj/build" >>"$T/cmake.log" 2>&1; then
  b=$T/proj/build
  out=$("$b/embed_shared" "$T/s.safetensors" 2>&1) || fail "embed_fly (kenyon::core) failed: $out"
  out=$("$b/embed_static" "$T/t.safetensors" 2>&1) || fail "embed_fly (kenyon::core_static) failed: $out"
  readelf -d "$b/embed_shared" | grep -q 'libkenyon_core.so' || fail "kenyon::core is not the shared core"
  readelf -d "$b/embed_static" | grep -q 'libkenyon' && fail "kenyon::core_static links a shared kenyon"
  cmp -s "$T/s.safetensors" "$T/t.safetensors" || fail "shared and static core saved different models"
  "$b/full" >/dev/null 2>&1 || fail "full-library program (kenyon::kenyon) failed"
else
  cat "$T/cmake.log"; fail "configuring or building with find_package(kenyon)"
fi

[ $failures -eq 0 ] && echo "install: all checks passed"
exit $((failures > 0))
