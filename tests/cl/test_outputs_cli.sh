#!/usr/bin/env bash
# CLI tests of output safety: unusable output paths are refused before any work in every command
# that writes (exit 2, nothing written); a run's outputs appear all or nothing (a model save that
# fails on a full disk leaves no results files, and the message names the file and the reason);
# stale temporaries of a killed run are removed by the next; usage errors exit 2 whether the option
# is the command's or the method's, failures of the work exit 1; a learner too big for the
# machine's memory is refused with the estimate.
. "$(dirname "${BASH_SOURCE[0]}")/../support/cli.sh" outputs-cli
MOUNTED=""
cleanup() { [ -n "$MOUNTED" ] && umount "$MOUNTED" 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
cd "$T" || exit 1 # a mistaken output name lands here

# Four classes in 6 dimensions, 40 rows, as CSV.
for ((i = 0; i < 40; i++)); do
  c=$((i % 4)); row=""
  for ((j = 0; j < 6; j++)); do v="0.$(( (i * 7 + j * 3) % 10 ))"; [ $j -eq $c ] && v="1.$(( (i + j) % 10 ))"; row="$row${row:+,}$v"; done
  echo "$row" >>"$T/x.csv"; echo "$c" >>"$T/y.csv"
done
D=(--train-x "$T/x.csv" --train-y "$T/y.csv" --test-x "$T/x.csv" --test-y "$T/y.csv")
U=("${D[@]}" --m 200 --c 3)
BIG=("${D[@]}" --m 3000 --c 3) # a model of about 84 kB
"$KENYON" run "${U[@]}" --quiet >/dev/null 2>&1 || fail "baseline run fails"

# 1. Unusable output paths: an error before any work (no "final accuracy" line), nothing written.
echo keep >"$T/afile"
# (An empty --out once meant "/": the empty-path cases are given inputs that a build without the
# check fails on before writing anything, so this test never writes into / .)
expect_rc "run --out ''" 2 "--out: empty" "$KENYON" run --train-x "$T/missing.csv" --train-y "$T/y.csv" \
  --test-x "$T/x.csv" --test-y "$T/y.csv" --out ""
expect_rc "run --out FILE" 2 "not a directory" "$KENYON" run "${U[@]}" --out "$T/afile"
[ "$(cat "$T/afile")" = keep ] || fail "run --out FILE changed the file"
expect_rc "run --out FILE/sub" 2 "--out" "$KENYON" run "${U[@]}" --out "$T/afile/sub"
expect_rc "run --out --quiet" 2 "needs a value" "$KENYON" run "${U[@]}" --out --quiet
[ -e ./--quiet ] && fail "run --out --quiet created ./--quiet"
expect_rc "run --save ''" 2 "--save: empty" "$KENYON" run "${U[@]}" --save ""
grep -q "rename" <<<"$LAST_OUT" && fail "run --save '' still talks of a rename: $LAST_OUT"
expect_rc "run --save DIR" 2 "is a directory" "$KENYON" run "${U[@]}" --save "$T"
expect_rc "bench --out FILE" 2 "not a directory" "$KENYON" bench mnist20 --quick --out "$T/afile" --data "$T/nodata"
expect_rc "dynamics linreg --out FILE" 2 "not a directory" "$KENYON" dynamics linreg --out "$T/afile"
expect_rc "dynamics train --out ''" 2 "empty" "$KENYON" dynamics train --out "" --data-dir "$T/nodata"
expect_rc "rl td --out ''" 2 "empty" "$KENYON" rl td --states 1 --out ""
expect_rc "rl disttd --out FILE" 2 "not a directory" "$KENYON" rl disttd --out "$T/afile"
expect_rc "rl metarl train --out FILE" 2 "not a directory" "$KENYON" rl metarl train --out "$T/afile"
expect_rc "features extract --out DIR" 2 "is a directory" "$KENYON" features extract --out "$T" --model "$T/none.st"
expect_rc "features train --out ''" 2 "empty" "$KENYON" features train --out "" --pretrain "$T"
expect_rc "data kana --out FILE" 2 "not a directory" "$KENYON" data kana --out "$T/afile"
expect_rc "data fetch --dir FILE" 2 "not a directory" "$KENYON" data fetch --dir "$T/afile"

# A directory where nothing can be written: a read-only mount when we may mount (root can write
# anywhere else), else a directory without write permission.
RO="$T/ro"; mkdir -p "$RO"
if mount -t tmpfs -o size=64k,ro tmpfs "$RO" 2>/dev/null; then MOUNTED=$RO; else chmod 555 "$RO"; fi
if [ -n "$MOUNTED" ] || [ "$(id -u)" != 0 ]; then
  expect_rc "run --out read-only" 2 "cannot write there" "$KENYON" run "${U[@]}" --out "$RO/res"
  grep -q "final accuracy" <<<"$LAST_OUT" && fail "run --out read-only did the work first"
  expect_rc "run --save read-only" 2 "cannot write there" "$KENYON" run "${U[@]}" --save "$RO/m.st"
fi
[ -n "$MOUNTED" ] && { umount "$MOUNTED"; MOUNTED=""; }

# 4 + 5. All or nothing: the model goes to a full disk (a tiny tmpfs; else a file-size limit),
# the results directory must stay empty, and the message names the model file and the reason.
FULL="$T/full"; mkdir -p "$FULL"
if mount -t tmpfs -o size=16k tmpfs "$FULL" 2>/dev/null; then
  MOUNTED=$FULL
  expect_rc "save on a full disk" 1 "m\.st.*No space left on device" \
    "$KENYON" run "${BIG[@]}" --quiet --out "$T/res1" --save "$FULL/m.st"
  umount "$FULL"; MOUNTED=""
else
  expect_rc "save past the size limit" 1 "m\.st.*File too large" \
    bash -c 'trap "" XFSZ; ulimit -f 8; exec "$@"' _ "$KENYON" run "${BIG[@]}" --quiet --out "$T/res1" --save "$FULL/m.st"
fi
[ -e "$T/res1/summary.json" ] && fail "a failed save left summary.json"
[ -e "$T/res1/accuracy_matrix.csv" ] && fail "a failed save left accuracy_matrix.csv"
ls "$T/res1" 2>/dev/null | grep -q tmp && fail "a failed save left temporaries: $(ls "$T/res1")"
expect_rc "run --save in a missing directory" 2 "does not exist" "$KENYON" run "${U[@]}" --quiet --out "$T/res2" --save "$T/res2/m.st"
[ -e "$T/res2" ] && fail "a refused run created its --out directory"
mkdir -p "$T/res2"
expect_rc "run with --out and --save" 0 "saved the model" "$KENYON" run "${U[@]}" --quiet --out "$T/res2" --save "$T/res2/m.st"
for f in summary.json accuracy_matrix.csv m.st; do [ -s "$T/res2/$f" ] || fail "res2/$f missing"; done

# 3. Temporaries left by a killed run (a process now gone) are removed by the next run; those of
# a live process and files of other names are left alone.
sleep 0 & dead=$!; wait $dead
touch "$T/res2/summary.json.tmp.$dead.Xy12ab" "$T/res2/m.st.tmp.$dead" "$T/res2/m.st.tmp.$$.Xy12ab" "$T/res2/notes.tmp.$dead.Xy12ab"
"$KENYON" run "${U[@]}" --quiet --out "$T/res2" --save "$T/res2/m.st" >/dev/null 2>&1 || fail "rerun in res2 fails"
[ -e "$T/res2/summary.json.tmp.$dead.Xy12ab" ] && fail "stale summary temporary kept"
[ -e "$T/res2/m.st.tmp.$dead" ] && fail "stale model temporary kept"
[ -e "$T/res2/m.st.tmp.$$.Xy12ab" ] || fail "a live process's temporary was removed"
[ -e "$T/res2/notes.tmp.$dead.Xy12ab" ] || fail "another file's temporary was removed"

# 14. Usage errors exit 2, whoever owns the option; failures of the work exit 1.
expect_rc "unknown command option" 2 "unknown option" "$KENYON" run "${U[@]}" --nope 1
expect_rc "bad command value" 2 "seed" "$KENYON" run "${U[@]}" --seed x
expect_rc "bad method value type" 2 "--m: 'abc' is not an integer" "$KENYON" run "${D[@]}" --m abc
expect_rc "method value out of range" 2 "--m: -5 is out of range" "$KENYON" run "${D[@]}" --m -5
expect_rc "method option without value" 2 "needs a value" "$KENYON" run "${D[@]}" --m --quiet
expect_rc "back-prop option out of range" 2 "hidden" "$KENYON" run --method vanilla "${D[@]}" --hidden 0
expect_rc "unknown data set" 2 "not a named data set" "$KENYON" run --dataset nope
expect_rc "dynamics: unknown data set" 2 "unknown data set" "$KENYON" dynamics train --data nope
expect_rc "missing input file" 1 "missing.csv" "$KENYON" run --train-x "$T/missing.csv" --train-y "$T/y.csv" --test-x "$T/x.csv" --test-y "$T/y.csv"

# 12. A learner that cannot fit in memory is refused with the estimate, before it is built.
expect_rc "memory estimate" 1 "would need about .*Gram matrix.*available" "$KENYON" run --method fly-ridge "${D[@]}" --m 46000 --c 3
grep -q "final accuracy" <<<"$LAST_OUT" && fail "an oversized learner ran"
# (--m 500000000 is beyond the typed limit of m and refused as a usage error before any estimate)
expect_rc "fly m beyond its limit" 2 "--m: 500000000 is out of range" "$KENYON" run --method fly "${D[@]}" --m 500000000 --c 3
grep -q "final accuracy" <<<"$LAST_OUT" && fail "an oversized learner ran"

kt_finish "all output CLI tests passed"
