#!/usr/bin/env bash
# `mpirun -n N kenyon bench` (src/mpi/mpi_sweep.c): at 2 and 3 ranks the reports are those of a
# single process apart from the timing and memory fields; a resumed job runs only the item whose
# cache entry was deleted and leaves the other entries untouched; an item that fails on a worker,
# and a rank that fails before the sweep, fail the job with "rank R of N: reason" and no report.
# Skipped (exit 77) when kenyon was built without MPI or mpirun is missing.
. "$(dirname "${BASH_SOURCE[0]}")/../support/cli.sh" mpi-bench
"$KENYON" --version 2>/dev/null | grep -q '^MPI:' ||
  { echo "skipped: this kenyon was built without MPI (KENYON_MPI=OFF or no libopenmpi-dev)"; exit 77; }
MPIRUN=$(command -v mpirun) || { echo "skipped: mpirun is not installed (Debian package openmpi-bin)"; exit 77; }
cd "$T" || exit 1
# One thread per process, in the single-process run too (the reports name the thread count).
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1

# Under ASan the processes mpirun starts run without leak detection (Open MPI's plugins keep
# allocations until they are unloaded at MPI_Finalize); every other check stays on.
mpi() {
  local n=$1; shift
  ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
    "$MPIRUN" --oversubscribe --allow-run-as-root --timeout 120 -n "$n" "$@"
}

# Six classes in 24 dimensions (class c raised on features 4c..4c+3), 240 train / 90 test rows.
gen() { # gen SEED ROWS PREFIX
  awk -v seed="$1" -v n="$2" -v p="$3" 'BEGIN { srand(seed); for (i = 0; i < n; i++) { c = i % 6; row = "";
    for (j = 0; j < 24; j++) { v = rand(); if (int(j / 4) == c) v += 0.35; row = row (j ? "," : "") sprintf("%.5f", v) }
    print row > (p "x.csv"); print c > (p "y.csv") } }'
}
gen 11 240 tr; gen 12 90 te
F=(--train-x trx.csv --train-y try.csv --test-x tex.csv --test-y tey.csv)
B=(bench "${F[@]}" --methods fly,ncm,v1,fly-ridge:m=200 --seeds 1,2 --no-progress)

# The reports with the fields that measure this process (seconds, peak RSS, the minute it was
# written) masked; everything else must match byte for byte.
mask() { # mask DIR FILE
  case $2 in
    results.csv) awk -F, -v OFS=, 'NR > 1 { $7 = "T"; $12 = "T"; $13 = "T"; $14 = "T" } { print }' "$1/$2" ;;
    summary.json) awk '/"train_seconds"/ { skip = 3 } skip > 0 { skip--; print "T"; next }
                       /"eval_seconds_mean"|"peak_rss_mb_max"/ { print "T"; next } { print }' "$1/$2" ;;
    report.md) sed -E -e 's/ on [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2} UTC/ on DATE/' \
                      -e 's/\| [0-9.]+ ± [0-9.]+ \| [0-9.]+ \| [0-9]+ \|$/| T | T | T |/' "$1/$2" ;;
    report.html) sed -E -e 's/ on [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2} UTC/ on DATE/' \
                        -e 's#<td>[0-9.]+ ± [0-9.]+</td><td>[0-9.]+</td><td>[0-9]+</td></tr>#<td>T</td><td>T</td><td>T</td></tr>#' "$1/$2" ;;
  esac
}
same_reports() { # same_reports DESC DIR_A DIR_B
  local f
  for f in report.md report.html results.csv summary.json; do
    [ -s "$3/$f" ] || { fail "$1: $3/$f missing"; continue; }
    cmp -s <(mask "$2" "$f") <(mask "$3" "$f") ||
      fail "$1: $f differs from $2's: $(diff <(mask "$2" "$f") <(mask "$3" "$f") | head -6)"
  done
  for f in "$2"/*.svg "$2"/*.png; do
    cmp -s "$f" "$3/${f##*/}" || fail "$1: ${f##*/} differs from $2's"
  done
}

# 1. One process, then 2 and 3 ranks: the same reports.
out=$("$KENYON" "${B[@]}" --out one 2>&1) || fail "single-process bench failed: $out"
# The masks leave the accuracies: the table rows are there, timings masked, numbers kept.
grep -Eq '^\| fly \| 2 \| 0\.[0-9]{3} ± ' one/report.md || fail "report.md lacks the fly row: $(cat one/report.md)"
[ "$(mask one report.md | grep -c '| T | T | T |$')" -eq 4 ] || fail "the timing mask does not match the 4 metric rows"
for n in 2 3; do
  out=$(mpi $n "$KENYON" "${B[@]}" --out ranks$n 2>&1) || { fail "bench at $n ranks failed: $out"; continue; }
  same_reports "$n ranks" one ranks$n
  # Every item ran once, on a worker (rank 0 dispatches), and was logged once.
  [ "$(grep -c '(rank [1-9])$' <<<"$out")" -eq 8 ] || fail "$n ranks: not 8 runs on workers: $out"
  [ "$(ls ranks$n/cache/*.json | wc -l)" -eq 8 ] || fail "$n ranks: not 8 cache entries"
  # Most expensive first: at 2 ranks the one worker runs them in hand-out order, fly-ridge's
  # seeds (cost prior 12 fly seeds) before the others (1).
  [ $n -eq 2 ] && { [ "$(grep '(rank 1)$' <<<"$out" | head -2 | grep -c '^fly-ridge:m=200 ')" -eq 2 ] ||
    fail "2 ranks: fly-ridge was not handed out first: $out"; }
  # Each worker gets a job at the start: at 3 ranks both workers ran items.
  [ $n -eq 3 ] && { grep -q '(rank 1)$' <<<"$out" && grep -q '(rank 2)$' <<<"$out" ||
    fail "3 ranks: the items did not go to both workers: $out"; }
done

# 2. Resume: delete one entry; only that item runs again, the other entries are not rewritten.
gone=$(ls ranks3/cache/ncm-seed2-*.json)
stamp() { for f in ranks3/cache/*.json; do [ "$f" = "$gone" ] || stat -c '%n %i %y' "$f"; done; }
before=$(stamp)
rm -f "$gone"
out=$(mpi 3 "$KENYON" "${B[@]}" --out ranks3 2>&1) || fail "resumed bench failed: $out"
[ "$(grep -c '(rank [1-9])$' <<<"$out")" -eq 1 ] || fail "resume ran other than 1 item: $out"
grep -Eq '^ncm +seed 2 .*\(rank [12]\)$' <<<"$out" || fail "resume did not run ncm seed 2: $out"
[ "$(grep -c '(cached)$' <<<"$out")" -eq 7 ] || fail "resume did not find 7 cached items: $out"
[ -s "$gone" ] || fail "resume did not store $gone again"
[ "$before" = "$(stamp)" ] || fail "resume rewrote cache entries it did not run"
cmp -s <(mask one report.md) <(mask ranks3 report.md) || fail "the resumed report differs"

# 3. An item that only the data refute (fly's c above the data's 24 dimensions) fails on its
#    worker: the job fails naming that rank, and no report is written.
out=$(mpi 3 "$KENYON" bench "${F[@]}" --methods ncm,fly:c=30 --seeds 1,2 --no-progress --out bad 2>&1)
rc=$?
[ $rc -ne 0 ] || fail "a failing item left exit 0: $out"
grep -Eq 'rank [12] of 3: .*cannot exceed the input dimension' <<<"$out" || fail "the failure does not name its rank and reason: $out"
for f in report.md report.html results.csv summary.json; do
  [ -e "bad/$f" ] && fail "a failed job wrote bad/$f"
done

# 4. A rank that fails before the sweep (its copy of the data holds a NaN) fails the job too.
sed '8s/^[^,]*/nan/' trx.csv >badx.csv
out=$(mpi 1 "$KENYON" "${B[@]}" --out badrank : -n 1 "$KENYON" bench --train-x badx.csv \
      --train-y try.csv --test-x tex.csv --test-y tey.csv --methods fly,ncm,v1 --seeds 1,2 \
      --no-progress --out badrank 2>&1)
rc=$?
[ $rc -ne 0 ] || fail "a rank with bad data left exit 0: $out"
grep -q 'rank 1 of 2' <<<"$out" && grep -q 'badx.csv' <<<"$out" || fail "the message does not name rank 1 and its file: $out"
[ -e badrank/report.md ] && fail "a job with a failed rank wrote a report"
[ -z "$(ls badrank/cache 2>/dev/null)" ] || fail "a job with a failed rank ran items"

kt_finish "mpi bench: all checks passed"
