#!/usr/bin/env bash
# `mpirun -n N kenyon bench` (src/mpi/mpi_sweep.c): at 2 and 3 ranks the reports are those of a
# single process apart from the timing and memory fields; a resumed job runs only the item whose
# cache entry was deleted and leaves the other entries untouched; a run that fails on a worker is
# listed in the reports while the others go on (exit 3); a worker whose result rank 0 cannot
# read, and a rank that fails before the sweep, fail the job with "rank R of N: reason" and no
# report.
# Skipped (exit 77) when kenyon was built without MPI or mpirun is missing.
. "$(dirname "${BASH_SOURCE[0]}")/../support/cli.sh" mpi-bench
"$KENYON" --version 2>/dev/null | grep -q '^MPI:' ||
  { echo "skipped: this kenyon was built without MPI (KENYON_MPI=OFF or no libopenmpi-dev)"; exit 77; }
MPIRUN=$(command -v mpirun) || { echo "skipped: mpirun is not installed (Debian package openmpi-bin)"; exit 77; }
# gen, mask and same_reports (shared with tests/bench/test_bench_jobs.sh).
. "$(cd "$(dirname "$0")" && pwd)/../bench/report_masks.sh" || exit 1
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

gen 11 240 tr; gen 12 90 te
F=(--train-x trx.csv --train-y try.csv --test-x tex.csv --test-y tey.csv)
B=(bench "${F[@]}" --methods fly,ncm,v1,fly-ridge:m=200 --seeds 1,2 --no-progress)

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

# 3. A run that only the data refute (fly's c above the data's 24 dimensions) fails on its
#    worker: it is listed in the reports with its reason, the other runs go on, exit status 3.
out=$(mpi 3 "$KENYON" bench "${F[@]}" --methods ncm,fly:c=30 --seeds 1,2 --no-progress --out bad 2>&1)
rc=$?
[ $rc -eq 3 ] || fail "a failing run gave exit $rc, not 3: $out"
grep -Eq '^fly:c=30 +seed 1 +FAILED: .*cannot exceed the input dimension.*\(rank [12]\)$' <<<"$out" ||
  fail "the failed run is not logged with its reason and rank: $out"
grep -Eq '^- fly:c=30 seed 2: .*cannot exceed the input dimension' bad/report.md ||
  fail "report.md does not list the failed run: $(cat bad/report.md 2>&1)"
[ "$(grep -c '^ncm,' bad/results.csv)" -eq 6 ] || fail "the ncm runs are not in results.csv"
[ "$(grep -c '"error":' bad/summary.json)" -eq 2 ] || fail "summary.json does not list 2 failed runs"
out1=$("$KENYON" bench "${F[@]}" --methods ncm,fly:c=30 --seeds 1,2 --no-progress --jobs 1 --out bad1 2>&1)
same_reports "failed runs over 3 ranks" bad1 bad

# 3b. A failure outside a run (rank 1 stores its results where rank 0 does not look) stops the
#     job at once, runs in progress on other ranks included: no report.
out=$(mpi 1 "$KENYON" "${B[@]}" --out split0 : -n 1 "$KENYON" "${B[@]}" --out split1 : \
      -n 1 "$KENYON" "${B[@]}" --out split0 2>&1)
rc=$?
[ $rc -ne 0 ] || fail "a result rank 0 cannot read left exit 0: $out"
grep -q 'rank 0 of 3: the result of .* that rank 1 stored is not in' <<<"$out" || fail "the failure does not say what went wrong: $out"
[ -e split0/report.md ] && fail "a failed job wrote a report"

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
