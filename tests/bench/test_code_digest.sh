#!/usr/bin/env bash
# Test of cmake/code_digest.cmake, the source digest in the benchmark's cache key: the digest
# changes when a source changes (so results cached by other code are not reused under the same
# version string), stays the same when nothing changed, and the header is not rewritten then (so
# nothing is recompiled).
set -u
KENYON_SRC=${KENYON_SRC:?KENYON_SRC must point to the source tree}
mkdir -p "${KENYON_TEST_TMP:-/tmp}" || exit 1
T=$(mktemp -d "${KENYON_TEST_TMP:-/tmp}/digest.XXXXXX") || exit 1
[ -n "$T" ] && [ -d "$T" ] || { echo "cannot create a scratch directory"; exit 1; }
trap 'rm -rf "$T"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
digest() { cmake -DSRC="$T/tree" -DOUT="$T/d.h" -P "$KENYON_SRC/cmake/code_digest.cmake" && grep -o '"[0-9a-f]*"' "$T/d.h"; }

mkdir -p "$T/tree/src/cl" "$T/tree/include/kenyon"
echo 'int a(void) { return 1; }' >"$T/tree/src/cl/a.c"
echo '/* b */' >"$T/tree/include/kenyon/b.h"
d1=$(digest) || fail "the script failed"
[ ${#d1} -eq 18 ] || fail "digest '$d1' is not 16 hex digits"
before=$(stat -c %Y.%s "$T/d.h"); sleep 1
d2=$(digest)
[ "$d1" = "$d2" ] || fail "digest changed without a source change: $d1 $d2"
[ "$(stat -c %Y.%s "$T/d.h")" = "$before" ] || fail "the header was rewritten without a change"
echo 'int a(void) { return 2; }' >"$T/tree/src/cl/a.c"
d3=$(digest)
[ "$d3" != "$d1" ] || fail "digest did not change when a source changed"
echo 'int c(void) { return 0; }' >"$T/tree/src/cl/c.c"
d4=$(digest)
[ "$d4" != "$d3" ] || fail "digest did not change when a source was added"
if [ $failures -ne 0 ]; then echo "$failures failure(s)"; exit 1; fi
echo "code digest tests passed"
