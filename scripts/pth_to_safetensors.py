#!/usr/bin/python3
"""Converts a PyTorch state dict (.pth) to a safetensors file kenyon can load.

kenyon reads model weights from safetensors files (a JSON header naming each tensor's dtype,
shape and byte range, then the little-endian bytes). Weights published for PyTorch, such as
torchvision's ImageNet ResNet-18 (resnet18-f37072fd.pth), come as pickled state dicts; this
script turns one into the file `kenyon features extract --model FILE` expects:

    /usr/bin/python3 scripts/pth_to_safetensors.py resnet18-f37072fd.pth resnet18.safetensors

Download the .pth yourself from wherever you get PyTorch weights; this script never touches the
network. Tensor names are kept as they are (conv1.weight, bn1.running_mean,
layer2.0.downsample.0.weight, ...). Floating tensors are written as F32, integer ones
(num_batches_tracked) as I64. A checkpoint that wraps the state dict under "state_dict" or
"model" is unwrapped, and a "module." prefix (from DataParallel) is removed.

    --random-resnet18 SEED   instead of reading a .pth, write torchvision's resnet18() with
                             random weights drawn with torch.manual_seed(SEED) (for tests).

Needs Debian's python3-torch (and python3-torchvision for --random-resnet18), which belong to
/usr/bin/python3. The safetensors layout is written here by hand (it is a few lines) so that no
package beyond torch is needed.
"""
import argparse
import json
import os
import struct
import sys
import tempfile


def load_state_dict(path):
    import torch
    if not os.path.isfile(path):
        raise ValueError(f"{path}: no such file")
    try:
        try:
            obj = torch.load(path, map_location="cpu", weights_only=True)
        except TypeError:  # torch before 1.13 has no weights_only
            obj = torch.load(path, map_location="cpu")
    except Exception as e:  # torch raises many kinds for a file that is not a state dict
        raise ValueError(f"{path}: not a readable PyTorch state dict "
                         f"({e.__class__.__name__}: {str(e).splitlines()[0][:200]})") from None
    for key in ("state_dict", "model"):
        if isinstance(obj, dict) and key in obj and isinstance(obj[key], dict):
            obj = obj[key]
    if not isinstance(obj, dict):
        raise ValueError(f"{path}: not a state dict (a mapping of names to tensors)")
    out = {}
    for name, value in obj.items():
        if not hasattr(value, "detach"):
            raise ValueError(f"{path}: entry '{name}' is not a tensor")
        if name.startswith("module."):
            name = name[len("module."):]
        out[name] = value
    return out


def write_safetensors(tensors, path, metadata=None):
    import torch
    header = {}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        if t.is_floating_point():
            data, dtype = t.to(torch.float32).numpy().astype("<f4").tobytes(), "F32"
        else:
            data, dtype = t.to(torch.int64).numpy().astype("<i8").tobytes(), "I64"
        header[name] = {"dtype": dtype, "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    head = json.dumps(header, separators=(",", ":")).encode()
    head += b" " * (-len(head) % 8)  # keep the tensor bytes 8-byte aligned
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".pth2st-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(struct.pack("<Q", len(head)))
            f.write(head)
            for b in blobs:
                f.write(b)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("input", nargs="?", help="state dict (.pth / .pt)")
    p.add_argument("output", help="safetensors file to write")
    p.add_argument("--random-resnet18", type=int, metavar="SEED",
                   help="write torchvision's resnet18() with random weights instead")
    a = p.parse_args()
    try:
        if a.random_resnet18 is not None:
            if a.input:
                p.error("give either an input .pth or --random-resnet18, not both")
            import torch
            import torchvision
            torch.manual_seed(a.random_resnet18)
            sd = torchvision.models.resnet18().state_dict()
            meta = {"source": "torchvision resnet18() random weights",
                    "seed": a.random_resnet18}
        else:
            if not a.input:
                p.error("an input .pth is required")
            sd = load_state_dict(a.input)
            meta = {"source": os.path.basename(a.input)}
        write_safetensors(sd, a.output, meta)
    except ImportError as e:
        sys.exit(f"pth_to_safetensors: {e}; install python3-torch (Debian) for /usr/bin/python3")
    except (OSError, ValueError, RuntimeError) as e:
        sys.exit(f"pth_to_safetensors: {e}")
    print(f"wrote {len(sd)} tensors to {a.output}")


if __name__ == "__main__":
    main()
