#!/usr/bin/env bash
# CLI tests of `kenyon bench cifar100` on a generated CIFAR-100-format set (100 classes, 3 train
# and 2 test images each) with stand-in 512-d features (tests/features/resnet18_reference.py):
# - without the data it stops before any work, naming the files and where they go;
# - feature files with the wrong row count are refused, naming the file and the CIFAR file;
# - --quick runs end to end with the paper's columns and settings: FlyModel's row equals
#   `kenyon run` with the paper's settings spelled out, a user's M:key=value overrides one key;
# - the combined --features FILE.npy gives the same numbers, other settings lose the columns;
# - with python3-torch, --model extracts ResNet-18 features of a few images, caches them, reuses
#   them, and extracts again only the part whose CIFAR file changed or whose cache is damaged.
. "$(dirname "${BASH_SOURCE[0]}")/../support/cli.sh" bench-cifar
SRC=${KENYON_SRC:?KENYON_SRC must point to the source tree}
PY=/usr/bin/python3
if ! "$PY" -c "import numpy" >/dev/null 2>&1; then
  echo "SKIP: $PY cannot import numpy (apt-get install python3-numpy; scripts/setup.sh does)"
  exit 77
fi
cd "$T" || exit 1
REF="$SRC/tests/features/resnet18_reference.py"
export OMP_NUM_THREADS=2

# 0. The help gives cifar100's own default for --features, not the other sets' pixels.
expect_rc "help" 0 "--features S .*\(default: ResNet-18 features" "$KENYON" bench cifar100 --help
grep -q -- "--features S .*(default pixels)" <<<"$LAST_OUT" && fail "help: cifar100's --features defaults to pixels"
expect_rc "mnist20 help" 0 "--features S .*\(default pixels\)" "$KENYON" bench mnist20 --help

# 1. No data at all: exit 1 before any work, every missing file named with where it goes.
mkdir empty
out=$("$KENYON" bench cifar100 --data-dir empty --out o_none --no-progress 2>&1); rc=$?
[ $rc -eq 1 ] || fail "no data: exit $rc, expected 1: $out"
for pat in "train.bin and test.bin" "in empty/cifar-100-binary/" "--cifar" \
           "at empty/resnet18.safetensors" "pth_to_safetensors.py" "--features-train"; do
  grep -q -- "$pat" <<<"$out" || fail "no data: message lacks '$pat': $out"
done
[ ! -e o_none ] || fail "no data: the output directory was created"

"$PY" "$REF" cifar "$T" 100 3 2 5 || { echo "FAIL: generating the CIFAR set"; exit 1; }
"$PY" - <<'PYEOF' || { echo "FAIL: writing the feature variants"; exit 1; }
import numpy as np
tr, te = np.load("f_train.npy"), np.load("f_test.npy")
np.save("f_all.npy", np.concatenate([tr, te]))
np.save("f_short.npy", tr[:-1])
np.save("f_wide.npy", np.concatenate([te, te[:, :3]], axis=1))
PYEOF

# 2. The images but no weights: only the weights are asked for.
out=$("$KENYON" bench cifar100 --data-dir "$T" --out o_now --no-progress 2>&1); rc=$?
[ $rc -eq 1 ] || fail "no weights: exit $rc: $out"
grep -q "ResNet-18 weights not found: put them at $T/resnet18.safetensors" <<<"$out" ||
  fail "no weights: message: $out"
grep -q "CIFAR-100 not found" <<<"$out" && fail "no weights: CIFAR-100 reported missing: $out"
[ ! -e o_now ] || fail "no weights: the output directory was created"

# 3. Feature files that do not fit the CIFAR files are refused, naming which; nothing written.
Q=(--data-dir "$T" --quick --no-progress)
expect_rc "short train features" 2 "--features-train f_short.npy has 299 rows, but $T/cifar-100-binary/train.bin has 300 images" \
  "$KENYON" bench cifar100 "${Q[@]}" --features-train f_short.npy --features-test f_test.npy --methods fly --out o_bad
expect_rc "train features as test" 2 "--features-test f_train.npy has 300 rows, but $T/cifar-100-binary/test.bin has 200 images" \
  "$KENYON" bench cifar100 "${Q[@]}" --features-train f_train.npy --features-test f_train.npy --methods fly --out o_bad
expect_rc "other widths" 2 "--features-test f_wide.npy has 515 columns, --features-train f_train.npy has 512" \
  "$KENYON" bench cifar100 "${Q[@]}" --features-train f_train.npy --features-test f_wide.npy --methods fly --out o_bad
expect_rc "combined file of the train rows" 2 "--features f_train.npy has 300 rows, but .* have 300 \+ 200 images" \
  "$KENYON" bench cifar100 "${Q[@]}" --features f_train.npy --methods fly --out o_bad
expect_rc "train features alone" 2 "go together \(missing --features-test\)" \
  "$KENYON" bench cifar100 "${Q[@]}" --features-train f_train.npy --out o_bad
expect_rc "two sources" 2 "one source of features" \
  "$KENYON" bench cifar100 "${Q[@]}" --features-train f_train.npy --features-test f_test.npy --model x.safetensors --out o_bad
expect_rc "missing feature file" 1 "--features-test nope.npy: no such file" \
  "$KENYON" bench cifar100 "${Q[@]}" --features-train f_train.npy --features-test nope.npy --out o_bad
expect_rc "cifar options elsewhere" 2 "options of .kenyon bench cifar100" \
  "$KENYON" bench mnist20 --features-train f_train.npy --features-test f_test.npy --out o_bad --no-progress
[ ! -e o_bad ] || fail "a refused benchmark created its output directory"

# 4. --quick end to end on the feature files (cheap widths for the back-prop baselines).
M=fly,v2:lr=0.05,vanilla:hidden=64,ewc:hidden=64,gem:hidden=32
expect_rc "quick" 0 "25 tasks of 4 classes \(label order\), 300 train / 200 test" \
  "$KENYON" bench cifar100 "${Q[@]}" --features-train f_train.npy --features-test f_test.npy --methods "$M" --out q
for f in report.md report.html results.csv summary.json accuracy_vs_classes.png memory_loss.svg accuracy_matrix_fly.png; do
  [ -s "q/$f" ] || fail "quick: q/$f missing"
done
rows=$(($(wc -l <q/results.csv) - 1))
[ "$rows" -eq $((5 * 2 * 25)) ] || fail "results.csv has $rows rows, expected 250 (5 methods x 2 seeds x 25 tasks)"
grep -q '| \*paper\* 100 |' q/report.md || fail "report.md lacks the paper's 100-class column"
grep -Eq '^\| fly \|.*\| \*0\.414\* \|$' q/report.md || fail "fly's row lacks the paper's 0.414"
grep -Eq '^\| gem:hidden=32 \|.*\| \*0\.262\* \|$' q/report.md || fail "gem's row lacks the paper's 0.262"
grep -Eq '^\| vanilla:hidden=64 \|.*\| - \|$' q/report.md || fail "vanilla's row shows a paper number"
grep -q '"accuracy_at_classes_100"' q/summary.json || fail "summary.json lacks the paper's numbers"
grep -q "fly: m 20000, c 64, k-fraction 0.01, lr 0.2" q/report.md || fail "report.md does not state the fly settings"
# FlyModel's final accuracy, far above chance (0.01) on features that separate the classes.
awk -F, '$1 == "fly" && $3 == 25 && $8 < 0.2 { bad = 1 } END { exit bad }' q/results.csv ||
  fail "fly's final accuracy is under 0.2: $(grep '^fly,' q/results.csv | tail -1)"
# The preset reached the learners: the same numbers as `kenyon run` with the settings spelled out
# (with the defaults m 3200, c 10, 5% and lr 0.01 they differ).
R=(--dataset cifar100 --data-dir "$T" --features f_all.npy --classes-per-task 4 --seed 12 --quiet)
K=(--m 20000 --c 64 --k-fraction 0.01)
want=$("$KENYON" run "${R[@]}" --method fly "${K[@]}" --lr 0.2 | sed -n 's/^final accuracy \([0-9.]*\).*/\1/p')
got=$(awk -F, '$1 == "fly" && $2 == 12 && $3 == 25 { printf "%.4f", $8 }' q/results.csv)
[ -n "$want" ] && [ "$want" = "$got" ] || fail "bench fly seed 12 final $got, kenyon run with the paper's settings $want"
want=$("$KENYON" run "${R[@]}" --method v2 "${K[@]}" --lr 0.05 | sed -n 's/^final accuracy \([0-9.]*\).*/\1/p')
got=$(awk -F, '$1 == "v2:lr=0.05" && $2 == 12 && $3 == 25 { printf "%.4f", $8 }' q/results.csv)
[ -n "$want" ] && [ "$want" = "$got" ] || fail "bench v2:lr=0.05 seed 12 final $got, kenyon run $want"
other=$("$KENYON" run "${R[@]}" --method fly | sed -n 's/^final accuracy \([0-9.]*\).*/\1/p')
[ "$other" != "$(awk -F, '$1 == "fly" && $2 == 12 && $3 == 25 { printf "%.4f", $8 }' q/results.csv)" ] ||
  echo "note: fly with kenyon's defaults happens to give the same final accuracy"
# A second call finds every run in the cache.
expect_rc "quick again" 0 "\(cached\)" \
  "$KENYON" bench cifar100 "${Q[@]}" --features-train f_train.npy --features-test f_test.npy --methods "$M" --out q
[ "$(awk -F, 'NR > 1 && $15 != 1' q/results.csv | wc -l)" -eq 0 ] || fail "the second call did not take every run from the cache"

# 5. One combined file gives the same numbers; 5 classes a task is not the paper's setting.
expect_rc "combined features" 0 "wrote" "$KENYON" bench cifar100 "${Q[@]}" --features f_all.npy --methods fly --seeds 12 --out c1
cmp -s <(awk -F, '$1 == "fly" && $2 == 12 { print $5 }' q/results.csv) <(awk -F, '$1 == "fly" { print $5 }' c1/results.csv) ||
  fail "the combined file gives other accuracies than the two files"
expect_rc "5 classes a task" 0 "20 tasks of 5 classes" \
  "$KENYON" bench cifar100 "${Q[@]}" --features f_all.npy --methods fly --seeds 12 --classes-per-task 5 --out c5
grep -q '\*paper\*' c5/report.md && fail "5 classes a task still shows the paper's columns"

# 6. --model: ResNet-18 features of 1 + 1 images, cached and reused (needs python3-torch).
if ! "$PY" -c "import torch, torchvision" >/dev/null 2>&1; then
  echo "note: $PY has no torch/torchvision; the --model part is skipped"
else
  mkdir m && "$PY" "$REF" cifar "$T/m" 1 1 1 9 && "$PY" "$REF" weights "$T/m" 3 &&
    "$PY" "$SRC/scripts/pth_to_safetensors.py" m/r18.pth m/r18.safetensors >/dev/null ||
    { echo "FAIL: making the model set"; exit 1; }
  B=(--cifar m/cifar-100-binary --model m/r18.safetensors --data-dir m --classes-per-task 1 --methods fly:m=200:c=8 --seeds 1 --no-progress)
  expect_rc "model, first run" 0 "extracting the train features \(1 image;.*" "$KENYON" bench cifar100 "${B[@]}" --out m1
  grep -q "ResNet-18 (m/r18.safetensors)" m1/report.md || fail "report.md does not name the ResNet-18 features"
  n=$(ls m/cache/resnet18-*-train.npy m/cache/resnet18-*-test.npy 2>/dev/null | wc -l)
  [ "$n" -eq 2 ] || fail "the cache holds $n ResNet-18 feature files, expected 2"
  "$KENYON" features extract --model m/r18.safetensors --dataset cifar100 --data-dir m --out m/ref.npy --quiet >/dev/null ||
    fail "features extract"
  "$PY" - m <<'PYEOF' || fail "the cached features differ from kenyon features extract's"
import glob, sys, numpy as np
d = sys.argv[1]
got = np.concatenate([np.load(glob.glob(f"{d}/cache/resnet18-*-{p}.npy")[0]) for p in ("train", "test")])
sys.exit(0 if np.array_equal(got, np.load(f"{d}/ref.npy")) else 1)
PYEOF
  out=$("$KENYON" bench cifar100 "${B[@]}" --out m2 2>&1) || fail "model, second run: $out"
  grep -q "reusing cached train features" <<<"$out" && grep -q "reusing cached test features" <<<"$out" ||
    fail "model, second run did not reuse the cache: $out"
  grep -q "extracting" <<<"$out" && fail "model, second run extracted again: $out"
  cmp -s <(cut -d, -f1-6,8-11 m1/results.csv) <(cut -d, -f1-6,8-11 m2/results.csv) || fail "cached features gave other numbers"
  # The same output directory again: the runs themselves come from the benchmark's cache.
  expect_rc "model, runs cached" 0 "\(cached\)" "$KENYON" bench cifar100 "${B[@]}" --out m1
  # A changed test.bin is a new key (its part only); a damaged cache file is extracted again.
  "$PY" - m <<'PYEOF' || { echo "FAIL: changing the files"; exit 1; }
import glob, sys
d = sys.argv[1]
b = bytearray(open(f"{d}/cifar-100-binary/test.bin", "rb").read()); b[100] ^= 0xFF
open(f"{d}/cifar-100-binary/test.bin", "wb").write(b)
p = glob.glob(f"{d}/cache/resnet18-*-train.npy")[0]
open(p, "r+b").truncate(200)
PYEOF
  out=$("$KENYON" bench cifar100 "${B[@]}" --out m3 2>&1) || fail "model, third run: $out"
  grep -q "extracting the test features (1 image;" <<<"$out" || fail "a changed test.bin did not cause a new extraction: $out"
  grep -q "unreadable.*extracting again" <<<"$out" || fail "a damaged cache file was not reported: $out"
  grep -q "extracting the train features (1 image;" <<<"$out" || fail "a damaged cache file was not replaced: $out"
  expect_rc "bad weights" 1 "m/cifar-100-binary/train.bin: " \
    "$KENYON" bench cifar100 --cifar m/cifar-100-binary --model m/cifar-100-binary/train.bin --data-dir m --classes-per-task 1 --methods fly --seeds 1 --no-progress --out m4
  [ ! -e m4 ] || fail "bad weights: the output directory was created"
fi

kt_finish "ok"
