#!/usr/bin/env bash
# CLI tests of `kenyon data kana` and `kenyon features train|extract` on a small rendered set:
# reproducible output for a seed, training for one epoch, extraction to .npy (shape checked from
# the header), and the errors users meet (exit code and the culprit named).
. "$(dirname "${BASH_SOURCE[0]}")/../support/cli.sh" features-cli

expect_ok "features help" "train" "$KENYON" features --help
expect_ok "kana help" "held out" "$KENYON" data kana --help
expect_err "kana without --out" "--out" "$KENYON" data kana
expect_err "kana without fonts" "install" "$KENYON" data kana --out "$T/x" --fonts "$T/nofonts"
expect_err "train without --pretrain" "--pretrain" "$KENYON" features train --out "$T/m.st"
expect_err "train on a missing set" "train-images-idx3-ubyte.*kenyon data kana" \
  "$KENYON" features train --pretrain "$T/none" --out "$T/m.st"

if "$KENYON" data kana --out "$T/probe" --train 10 --test 10 >/dev/null 2>&1; then
  expect_ok "kana render" "rendered 300 train \+ 100 test" \
    "$KENYON" data kana --out "$T/k1" --train 300 --test 100 --seed 3
  "$KENYON" data kana --out "$T/k2" --train 300 --test 100 --seed 3 --plain >/dev/null 2>&1 ||
    fail "kana --plain"
  for f in train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz t10k-images-idx3-ubyte.gz \
           t10k-labels-idx1-ubyte.gz fonts.txt; do
    [ -s "$T/k1/$f" ] || fail "kana did not write $f"
  done
  # Same seed, same images (compressed or not).
  if [ -s "$T/k1/train-images-idx3-ubyte.gz" ] && [ -s "$T/k2/train-images-idx3-ubyte" ]; then
    cmp -s <(gzip -dc "$T/k1/train-images-idx3-ubyte.gz") "$T/k2/train-images-idx3-ubyte" ||
      fail "kana: same seed gave different images"
  fi
  grep -q "^test" "$T/k1/fonts.txt" || fail "fonts.txt lists no test face"

  expect_ok "features train" "best test accuracy" \
    "$KENYON" features train --pretrain "$T/k1" --out "$T/lenet.safetensors" --epochs 1 --quiet
  expect_ok "features extract --images" "wrote 100 x 84" \
    "$KENYON" features extract --model "$T/lenet.safetensors" \
    --images "$T/k1/t10k-images-idx3-ubyte.gz" --out "$T/f.npy"
  head -c 128 "$T/f.npy" | grep -aq "'shape': (100, 84)" || fail "f.npy header lacks shape (100, 84)"
  expect_err "extract a non-image file" "784" \
    "$KENYON" features extract --model "$T/lenet.safetensors" \
    --images "$T/k1/t10k-labels-idx1-ubyte.gz" --out "$T/g.npy"
  expect_err "extract with a bad model" "fonts.txt" \
    "$KENYON" features extract --model "$T/k1/fonts.txt" --images "$T/k1/t10k-images-idx3-ubyte.gz" \
    --out "$T/g.npy" 2>/dev/null
  [ -e "$T/g.npy" ] && fail "a failed extract left g.npy behind"
else
  echo "no Japanese fonts installed: skipping the rendering and training checks"
fi

kt_finish "all features CLI checks passed"
