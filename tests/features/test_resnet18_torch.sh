#!/usr/bin/env bash
# kenyon's ResNet-18 features against torchvision's (Debian's python3-torch): random weights with
# randomised BatchNorm statistics reach kenyon through scripts/pth_to_safetensors.py, and
# `kenyon features extract` on a generated CIFAR-100-format set and on a non-square image must
# equal resnet18() in eval mode (fc removed) after Resize(299), CenterCrop(299) and ImageNet
# normalisation to 1e-4 of each row's largest feature. A model with one BatchNorm mean changed
# must fail that comparison (the check can fail), and bad weight files (missing tensor, wrong
# shape, NaN, negative variance) are refused with the tensor named and no output written; the
# converter refuses a file that is not a state dict.
# Skipped, with a message, when /usr/bin/python3 has no torch/torchvision.
. "$(dirname "${BASH_SOURCE[0]}")/../support/cli.sh" resnet18-torch
SRC=${KENYON_SRC:?KENYON_SRC must point to the source tree}
PY=/usr/bin/python3
if ! "$PY" -c "import torch, torchvision" >/dev/null 2>&1; then
  echo "SKIP: $PY cannot import torch and torchvision (apt-get install python3-torch python3-torchvision; scripts/setup.sh does)"
  exit 0
fi
REF="$SRC/tests/features/resnet18_reference.py"
CONV="$SRC/scripts/pth_to_safetensors.py"
export OMP_NUM_THREADS=2

"$PY" "$REF" make "$T" 7 2 || { echo "FAIL: reference generation"; exit 1; }
"$PY" "$CONV" "$T/r18.pth" "$T/r18.safetensors" >/dev/null || { echo "FAIL: converter"; exit 1; }

out=$("$KENYON" features extract --model "$T/r18.safetensors" --dataset cifar100 \
      --data-dir "$T" --out "$T/f_ds.npy" --labels-out "$T/y.npy" --batch 3 --quiet 2>&1) ||
  fail "extract cifar100: $out"
grep -q "wrote 4 x 512" <<<"$out" || fail "extract cifar100 said: $out"
"$PY" "$REF" compare "$T/f_ds.npy" "$T/ref_dataset.npy" 1e-4 || fail "cifar100 features differ"
"$PY" - "$T" <<'PYEOF' || fail "labels differ from the files' fine labels"
import sys, numpy as np
d = sys.argv[1]
want = [r[1] for name in ("train.bin", "test.bin")
        for r in np.fromfile(f"{d}/cifar-100-binary/{name}", np.uint8).reshape(-1, 3074)]
got = np.load(f"{d}/y.npy")
sys.exit(0 if list(got) == want else 1)
PYEOF

"$KENYON" features extract --model "$T/r18.safetensors" --images "$T/wide.npy" \
  --out "$T/f_w.npy" --quiet >/dev/null 2>&1 || fail "extract wide.npy"
"$PY" "$REF" compare "$T/f_w.npy" "$T/ref_wide.npy" 1e-4 || fail "non-square image features differ"

# Altered weight files, written with the converter's own writer.
"$PY" - "$T" "$SRC/scripts" <<'PYEOF' || fail "could not write the altered weight files"
import sys, math, torch
d = sys.argv[1]
sys.path.insert(0, sys.argv[2])
from pth_to_safetensors import write_safetensors
sd = torch.load(f"{d}/r18.pth")
def variant(name, edit):
    v = {k: t.clone() for k, t in sd.items()}
    edit(v)
    write_safetensors(v, f"{d}/{name}.safetensors")
variant("shifted", lambda v: v["layer4.1.bn2.running_mean"].add_(0.5))
variant("missing", lambda v: v.pop("layer3.1.bn1.running_var"))
variant("shape", lambda v: v.__setitem__("layer2.0.downsample.0.weight", torch.zeros(128, 64, 3, 3)))
variant("nan", lambda v: v["layer1.0.conv2.weight"].view(-1).__setitem__(5, math.nan))
variant("negvar", lambda v: v["bn1.running_var"].__setitem__(3, -1.0))
PYEOF
"$KENYON" features extract --model "$T/shifted.safetensors" --images "$T/wide.npy" \
  --out "$T/f_s.npy" --quiet >/dev/null 2>&1 || fail "extract with the shifted model"
if "$PY" "$REF" compare "$T/f_s.npy" "$T/ref_wide.npy" 1e-4 >/dev/null 2>&1; then
  fail "a changed BatchNorm mean in layer4.1.bn2 went unnoticed by the comparison"
fi
check_bad() {
  local file=$1 pat=$2 out rc
  out=$("$KENYON" features extract --model "$T/$file.safetensors" --images "$T/wide.npy" \
        --out "$T/bad.npy" --quiet 2>&1); rc=$?
  [ $rc -ne 0 ] || fail "$file: exit 0"
  grep -Eq -- "$pat" <<<"$out" || fail "$file: message lacks /$pat/: $out"
  [ ! -e "$T/bad.npy" ] || fail "$file: an output file was written"
}
check_bad missing "layer3.1.bn1.running_var.*missing"
check_bad shape "layer2.0.downsample.0.weight.*shape \[?128, ?64, ?3, ?3\]?.*expected"
check_bad nan "layer1.0.conv2.weight.*(NaN|finite)"
check_bad negvar "bn1.running_var.*negative"

# The converter refuses a file that is not a state dict, naming it, and writes nothing.
printf 'not a pickle\n' >"$T/junk.pth"
out=$("$PY" "$CONV" "$T/junk.pth" "$T/junk.safetensors" 2>&1) && fail "converter accepted junk.pth"
grep -q "junk.pth: not a readable PyTorch state dict" <<<"$out" || fail "converter said: $out"
[ ! -e "$T/junk.safetensors" ] || fail "converter wrote an output for junk.pth"

kt_finish "ok"
