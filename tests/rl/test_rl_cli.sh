#!/usr/bin/env bash
# CLI tests for `kenyon rl td` and `kenyon rl disttd`: outputs and verdicts on small runs, and
# bad options that must fail with a message naming the culprit.
set -u
: "${KENYON:?KENYON must point to the kenyon binary}"
tmp=$(mktemp -d "${KENYON_TEST_TMP:-/tmp}/rl_cli.XXXXXX" 2>/dev/null || mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# td: alpha 0.1 converges exactly; --strict exits 0 when every verdict passes
out=$("$KENYON" rl td --alpha 0.1 --trials 3000 --out "$tmp/td" --no-plots --strict) ||
  fail "rl td --strict failed: $out"
grep -q "PASS  error at cue" <<<"$out" || fail "no cue verdict: $out"
for f in summary.json td_trials.csv td_errors.csv td_values.csv; do
  [ -s "$tmp/td/$f" ] || fail "missing $f"
done
grep -q '"all_pass":[[:space:]]*true' "$tmp/td/summary.json" || fail "summary.json: all_pass"
[ "$(wc -l <"$tmp/td/td_trials.csv")" -eq 3001 ] || fail "td_trials.csv rows"
head -1 "$tmp/td/td_trials.csv" | grep -q '^trial,rewarded,cue_error,reward_error,peak_state$' ||
  fail "td_trials.csv header"

# td figures: the diverging heat map, the slices and Niv's three panels
"$KENYON" rl td --trials 500 --out "$tmp/tdplots" >/dev/null || fail "rl td with plots failed"
for f in td_error_heatmap.png td_error_slices.png td_error_panels.png; do
  [ -s "$tmp/tdplots/$f" ] || fail "missing $f"
done

# td with a reward probability: the three limits are judged
out=$("$KENYON" rl td --prob 0.5 --alpha 0.01 --average-last 10000 --seed 3) || fail "rl td --prob"
grep -q "unrewarded trials" <<<"$out" || fail "no unrewarded verdict: $out"

# td: bad values are named
out=$("$KENYON" rl td --cue 50 2>&1) && fail "--cue 50 accepted"
grep -q "cue_state" <<<"$out" || fail "cue error message: $out"
out=$("$KENYON" rl td --alpha abc 2>&1) && fail "--alpha abc accepted"
grep -q -- "--alpha" <<<"$out" || fail "alpha message: $out"

# disttd: a small custom task runs and writes its files (with plots)
out=$("$KENYON" rl disttd --task custom --sizes 1,2,4 --probs 0.25,0.5,0.25 --cells 20 \
  --steps 4000 --average-last 2000 --analyse --trials-per-size 6 --decode-cells 10 \
  --decode-samples 30 --decode-candidates 50 --decode-starts 2 --out "$tmp/dt") ||
  fail "rl disttd custom failed: $out"
for f in summary.json cells.csv decoded.csv analysis.csv utility.csv disttd_values_vs_tau.png \
  disttd_asymmetry_vs_reversal.png disttd_analysis.png disttd_decoded.png; do
  [ -s "$tmp/dt/$f" ] || fail "missing $f"
done
[ "$(wc -l <"$tmp/dt/cells.csv")" -eq 21 ] || fail "cells.csv rows"
grep -q '"decode_minimiser"' "$tmp/dt/summary.json" || fail "summary.json params"

# disttd: bad options
out=$("$KENYON" rl disttd --task nope 2>&1) && fail "--task nope accepted"
grep -q -- "--task" <<<"$out" || fail "task message: $out"
out=$("$KENYON" rl disttd --task custom --sizes 1,2 --probs 0.5 2>&1) && fail "size/prob mismatch"
grep -q "2 values but --probs has 1" <<<"$out" || fail "mismatch message: $out"
out=$("$KENYON" rl disttd --task custom --sizes 1,x --probs 0.5,0.5 2>&1) && fail "bad size"
grep -q "entry 2 ('x')" <<<"$out" || fail "bad size message: $out"
out=$("$KENYON" rl disttd --task custom --sizes 1,2 --probs 0.5,0.4 2>&1) && fail "bad sum"
grep -q "sum to 0.9" <<<"$out" || fail "sum message: $out"
out=$("$KENYON" rl disttd --task cues --analyse --cells 5 --steps 100 --average-last 50 2>&1) &&
  fail "analysis of a 2-size task accepted"
grep -q "at least 3 sizes" <<<"$out" || fail "analyse message: $out"
out=$("$KENYON" rl disttd --alpha-plus 0.1,0.2 --alpha-minus 0.1 2>&1) && fail "rate count"
grep -q -- "--alpha-plus has 2 values" <<<"$out" || fail "rate message: $out"
out=$("$KENYON" rl nope 2>&1) && fail "unknown verb accepted"
grep -q "unknown verb 'nope'" <<<"$out" || fail "verb message: $out"
echo "rl CLI tests passed"
