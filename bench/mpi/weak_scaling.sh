#!/usr/bin/env bash
# Weak scaling of data-parallel `kenyon run` under mpirun: N ranks train on N times the samples
# (a fixed shard per rank), so with perfect scaling the training time stays flat as N grows.
# Writes synthetic data (python3 standard library only: per-class Gaussian bumps, 784 features,
# 10 classes), runs each rank count REPEATS times and prints the fastest training time reported
# by rank 0 (it includes the per-task reductions). Every rank runs one OpenMP thread.
#   bench/mpi/weak_scaling.sh KENYON_BINARY [SAMPLES_PER_RANK] [REPEATS] [METHOD ARGS...]
set -euo pipefail
K=${1:?usage: weak_scaling.sh KENYON [SAMPLES_PER_RANK] [REPEATS] [METHOD ARGS...]}
PER=${2:-6000}
REP=${3:-2}
shift $(( $# < 3 ? $# : 3 ))
METHOD=("$@")
[ ${#METHOD[@]} -gt 0 ] || METHOD=(--method fly --m 3200)
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
python3 - "$T" "$PER" <<'PY'
import array, random, struct, sys
out, per = sys.argv[1], int(sys.argv[2])
def npy(path, code, descr, shape, data):
    hdr = "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }" % (descr, ", ".join(map(str, shape)) + ("," if len(shape) == 1 else ""))
    hdr += " " * (63 - (len(hdr) + 10) % 64) + "\n"
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(hdr)) + hdr.encode())
        array.array(code, data).tofile(f)
rng = random.Random(5)
def rows(n):
    x, y = [], []
    for i in range(n):
        c = i % 10
        y.append(c)
        x.extend(rng.random() + (0.6 if j // 78 == c else 0.0) for j in range(784))
    return x, y
for n in (1, 2, 4):
    x, y = rows(per * n)
    npy(f"{out}/xtr{n}.npy", "f", "<f4", (per * n, 784), x)
    npy(f"{out}/ytr{n}.npy", "i", "<i4", (per * n,), y)
x, y = rows(1000)
npy(f"{out}/xte.npy", "f", "<f4", (1000, 784), x)
npy(f"{out}/yte.npy", "i", "<i4", (1000,), y)
PY
echo "# ${METHOD[*]}, $PER training samples per rank, fastest of $REP; load: $(uptime | sed 's/.*load/load/')"
printf "%-6s %-14s %-12s\n" ranks train_samples train_seconds
for n in 1 2 4; do
  best=""
  for ((r = 0; r < REP; r++)); do
    s=$(OMP_NUM_THREADS=1 mpirun --oversubscribe --allow-run-as-root --timeout 1200 -n $n "$K" run \
          "${METHOD[@]}" --train-x "$T/xtr$n.npy" --train-y "$T/ytr$n.npy" --test-x "$T/xte.npy" \
          --test-y "$T/yte.npy" --quiet | sed -n 's/.*train \([0-9.]*\) s.*/\1/p')
    [ -z "$best" ] || awk -v a="$s" -v b="$best" 'BEGIN{exit !(a < b)}' && best=$s
  done
  printf "%-6s %-14s %-12s\n" "$n" $((PER * n)) "$best"
done
echo "# load after: $(uptime | sed 's/.*load/load/')"
