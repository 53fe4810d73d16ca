#!/usr/bin/env bash
# CLI test of `kenyon dynamics linreg`: runs checks 4 and 5 on short runs, expects PASS verdicts,
# the outputs, and clear errors for bad options.
set -u
tmp="${KENYON_TEST_TMP:-/tmp}/dynamics_cli.$$"
mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

out=$("$KENYON" dynamics linreg --check 4,5 --steps 262144 --quiet --out "$tmp/run" 2>&1) ||
    fail "linreg exited $?: $out"
echo "$out" | grep -q "\[check 4\]" || fail "no check 4 in: $out"
[ "$(echo "$out" | grep -c 'verdict: PASS')" = 2 ] || fail "expected 2 PASS: $out"
for f in summary.json check5_density.csv check4_phase_k1.25.csv check4_phase_k0.8.csv toy2d_density.png \
         phase_portraits.png spectra.png; do
    [ -s "$tmp/run/$f" ] || fail "missing $f"
done
grep -q '"all_passed":	true' "$tmp/run/summary.json" || fail "summary.json: $(cat "$tmp/run/summary.json" | head -40)"

# checks 4 and 5 run at the given --lr and --momentum
out=$("$KENYON" dynamics linreg --check 4,5 --lr 0.005 --momentum 0.99 --steps 262144 --quiet 2>&1) ||
    fail "linreg --lr 0.005 --momentum 0.99 exited $?: $out"
echo "$out" | grep -q "eta 0.005, beta 0.99: onset" || fail "check 4 ignores --lr/--momentum: $out"
echo "$out" | grep -q "eta 0.005, beta 0.99, S 1" || fail "check 5 ignores --lr/--momentum: $out"

"$KENYON" dynamics linreg --check 9 >"$tmp/err" 2>&1
[ $? = 2 ] || fail "--check 9 should exit 2"
grep -q -- "--check '9'" "$tmp/err" || fail "error should name --check: $(cat "$tmp/err")"
"$KENYON" dynamics linreg --momentum 1.5 --check 1 >"$tmp/err" 2>&1
[ $? = 2 ] || fail "--momentum 1.5 should exit 2"
grep -q "momentum" "$tmp/err" || fail "error should name momentum: $(cat "$tmp/err")"
"$KENYON" dynamics linreg --spectrum zipf >"$tmp/err" 2>&1
[ $? = 2 ] || fail "--spectrum zipf should exit 2"
grep -q "zipf" "$tmp/err" || fail "error should name the spectrum: $(cat "$tmp/err")"
"$KENYON" dynamics linreg --help | grep -q -- "--non-commuting" || fail "help lacks --non-commuting"

# train: option errors come before any data is read; missing data points at `kenyon data fetch`
"$KENYON" dynamics train --sweep lr >"$tmp/err" 2>&1
[ $? = 2 ] || fail "--sweep lr should exit 2"
grep -q -- "--sweep 'lr'" "$tmp/err" || fail "error should name --sweep: $(cat "$tmp/err")"
"$KENYON" dynamics train --quiet --data-dir "$tmp/nodata" >"$tmp/err" 2>&1
[ $? = 1 ] || fail "missing data should exit 1"
grep -q "data fetch" "$tmp/err" || fail "missing data should mention kenyon data fetch: $(cat "$tmp/err")"
"$KENYON" dynamics train --help | grep -q -- "--pre-epochs" || fail "train help lacks --pre-epochs"
echo ok
