#!/usr/bin/env bash
# `kenyon bench --jobs N` (src/bench/bench_pool.c): at 1, 2 and 3 jobs the reports are the same
# apart from the timing and memory fields (every run at one BLAS/OpenMP thread, whatever N);
# the thread count per run is part of the back-prop methods' cache keys; a run that fails
# (training diverged) is listed in the reports while the others go on, exit status 3; bad
# --jobs / --threads-per-run values and a misused --pool-worker are clear errors.
. "$(dirname "${BASH_SOURCE[0]}")/../support/cli.sh" bench-jobs
. "$(cd "$(dirname "$0")" && pwd)/report_masks.sh" || exit 1
cd "$T" || exit 1
# The thread count of the environment must not matter: the bench sets its own per run.
export OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2

gen 11 240 tr; gen 12 90 te
F=(--train-x trx.csv --train-y try.csv --test-x tex.csv --test-y tey.csv)
# Cheap methods and one back-prop method (vanilla: its sums depend on the thread count).
B=(bench "${F[@]}" --methods fly,ncm,vanilla,fly-ridge:m=200 --seeds 1,2 --no-progress)

# 1. --jobs 1 (one process), 2 and 3 (worker processes): the same reports.
out=$("$KENYON" "${B[@]}" --jobs 1 --out j1 2>&1) || fail "--jobs 1 failed: $out"
grep -q '(worker' <<<"$out" && fail "--jobs 1 started workers: $out"
grep -Eq '^\| vanilla \| 2 \| 0\.[0-9]{3} ± ' j1/report.md || fail "report.md lacks the vanilla row: $(cat j1/report.md)"
[ "$(mask j1 report.md | grep -c '| T | T | T |$')" -eq 4 ] || fail "the timing mask does not match the 4 metric rows"
grep -q '"threads_per_run":[[:space:]]*1,' j1/summary.json || fail "summary.json does not record 1 thread per run"
for n in 2 3; do
  out=$("$KENYON" "${B[@]}" --jobs $n --out j$n 2>&1) || { fail "--jobs $n failed: $out"; continue; }
  same_reports "--jobs $n" j1 j$n
  grep -q "8 runs to do on $n worker processes, 1 BLAS/OpenMP thread each" <<<"$out" || fail "--jobs $n: no pool line: $out"
  # Every run ran once, in a worker, and was logged once (which worker gets which run depends
  # on which is ready first: with runs this short one worker may do them all).
  [ "$(grep -c '(worker [1-9])$' <<<"$out")" -eq 8 ] || fail "--jobs $n: not 8 runs in workers: $out"
  [ "$(ls j$n/cache/*.json | wc -l)" -eq 8 ] || fail "--jobs $n: not 8 cache entries"
  # The parent's peak counts itself and its workers: more than the largest single run.
  awk -F'[:,]' '/"job_peak_rss_mb"/ { job = $2 } /"peak_rss_mb_max"/ { if ($2 > run) run = $2 }
                END { exit !(job > run) }' j$n/summary.json ||
    fail "--jobs $n: job_peak_rss_mb is not above every run's peak: $(grep -E 'peak_rss' j$n/summary.json)"
done

# 2. A second start finds every run in the cache, whichever --jobs stored it.
out=$("$KENYON" "${B[@]}" --jobs 2 --out j1 2>&1) || fail "resumed --jobs 2 failed: $out"
[ "$(grep -c '(cached)$' <<<"$out")" -eq 8 ] || fail "resume did not find 8 cached runs: $out"
grep -q 'worker processes' <<<"$out" && fail "resume started workers with nothing to do: $out"

# 3. Two threads per run: a new key for vanilla (its numbers may differ), the same for the rest.
out=$("$KENYON" "${B[@]}" --jobs 2 --threads-per-run 2 --out j1 2>&1) || fail "--threads-per-run 2 failed: $out"
[ "$(grep -c '(cached)$' <<<"$out")" -eq 6 ] || fail "--threads-per-run 2: not 6 cached runs: $out"
[ "$(grep -c '^vanilla .*(worker [12])$' <<<"$out")" -eq 2 ] || fail "--threads-per-run 2 did not run vanilla again: $out"
grep -q '"threads_per_run":[[:space:]]*2,' j1/summary.json || fail "summary.json does not record 2 threads per run"

# 4. A run that diverges fails alone: listed in report.md and summary.json, absent from the
#    tables and results.csv; the other runs and every output are there; exit status 3.
D=(bench "${F[@]}" --methods fly,vanilla:lr=1e30,ncm --seeds 1,2 --no-progress)
for n in 1 2; do
  out=$("$KENYON" "${D[@]}" --jobs $n --out d$n 2>&1)
  rc=$?
  [ $rc -eq 3 ] || fail "--jobs $n: a diverged run gave exit $rc, not 3: $out"
  grep -q '2 of 6 runs failed' <<<"$out" || fail "--jobs $n: the failure count is not said: $out"
  grep -Eq '^- vanilla:lr=1e30 seed 1: task 0, .*training diverged' d$n/report.md ||
    fail "--jobs $n: report.md does not list the failed run: $(cat d$n/report.md)"
  grep -q '^| vanilla' d$n/report.md && fail "--jobs $n: the failed method has a table row"
  grep -q '^vanilla' d$n/results.csv && fail "--jobs $n: results.csv has rows of the failed runs"
  [ "$(grep -c '^ncm,' d$n/results.csv)" -eq 6 ] || fail "--jobs $n: ncm, listed after the failed method, did not run"
  [ "$(grep -c '"error":' d$n/summary.json)" -eq 2 ] || fail "--jobs $n: summary.json does not list 2 failed runs"
  [ "$(ls d$n/cache | wc -l)" -eq 4 ] || fail "--jobs $n: a failed run was cached: $(ls d$n/cache)"
done
same_reports "failed runs at --jobs 2" d1 d2
# Every run of the benchmark failed: no report, exit 1.
out=$("$KENYON" bench "${F[@]}" --methods vanilla:lr=1e30 --seeds 1,2 --no-progress --out dall 2>&1)
rc=$?
[ $rc -eq 1 ] || fail "all runs failed gave exit $rc, not 1: $out"
grep -q 'all 2 runs failed' <<<"$out" || fail "all runs failed: not said: $out"
[ -e dall/report.md ] && fail "all runs failed, yet a report was written"

# 5. Bad values name the option; nothing is written.
for bad in "--jobs -1" "--threads-per-run 0"; do
  out=$("$KENYON" "${B[@]}" $bad --out bad 2>&1)
  rc=$?
  [ $rc -eq 2 ] || fail "$bad gave exit $rc, not 2: $out"
  grep -q -- "${bad%% *}: " <<<"$out" || fail "$bad: the message does not name the option: $out"
  [ -e bad ] && fail "$bad wrote bad/"
done
# --pool-worker is for kenyon's own workers: without its answer channel it says so.
out=$("$KENYON" "${B[@]}" --pool-worker --out pw 2>&1 </dev/null 3>&-)
rc=$?
[ $rc -ne 0 ] || fail "--pool-worker without file descriptor 3 left exit 0: $out"
grep -q 'file descriptor 3 is not open' <<<"$out" || fail "--pool-worker: unclear message: $out"
[ -e pw/report.md ] && fail "--pool-worker wrote a report"

kt_finish "bench jobs: all checks passed"
