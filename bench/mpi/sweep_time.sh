#!/usr/bin/env bash
# Wall time of a `kenyon bench` sweep in one process and spread over MPI ranks, interleaved (each
# repeat runs every configuration once, in turn, into a fresh output directory, so nothing comes
# from the cache). Prints one line per run with its wall time and the 1-minute load average
# before and after. The configurations (every run at the bench's default 1 BLAS/OpenMP thread):
# j1 (one process, --jobs 1), j2 (a local pool of 2 worker processes, --jobs 2), n2 and n3
# (mpirun -n 2 / -n 3, --oversubscribe).
#   bench/mpi/sweep_time.sh KENYON_BINARY REPEATS BENCH_ARGS...
# e.g. bench/mpi/sweep_time.sh build/kenyon 2 mnist20 --quick --data-dir DATA
set -uo pipefail
K=${1:?usage: sweep_time.sh KENYON REPEATS BENCH_ARGS...}
REP=${2:?usage: sweep_time.sh KENYON REPEATS BENCH_ARGS...}
shift 2
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
MPI=(mpirun --oversubscribe --allow-run-as-root)
load() { cut -d' ' -f1 /proc/loadavg; }
for rep in $(seq "$REP"); do
  for cfg in j2 n3 j1 n2; do
    jobs=()
    case $cfg in
      j1) cmd=("$K"); jobs=(--jobs 1) ;;
      j2) cmd=("$K"); jobs=(--jobs 2) ;;
      n2) cmd=("${MPI[@]}" -n 2 "$K") ;;
      n3) cmd=("${MPI[@]}" -n 3 "$K") ;;
    esac
    before=$(load)
    s=$(date +%s.%N)
    "${cmd[@]}" bench "$@" "${jobs[@]}" --no-progress --out "$T/$cfg-$rep" >"$T/$cfg-$rep.log" 2>&1
    rc=$?
    e=$(date +%s.%N)
    printf '%s repeat %s: exit %d, %.1f s wall, load %s -> %s\n' "$cfg" "$rep" "$rc" \
      "$(echo "$e - $s" | bc)" "$before" "$(load)"
    [ $rc -eq 0 ] || tail -5 "$T/$cfg-$rep.log"
  done
done
