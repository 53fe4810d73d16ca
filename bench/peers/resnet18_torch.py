#!/usr/bin/python3
"""Peer of bench/bench_resnet18: torchvision's resnet18 (fc removed, eval mode, no_grad) on the
same pipeline (uint8 32 x 32 -> /255 -> Resize(299) -> CenterCrop(299) -> ImageNet Normalize) for
N random images in batches, with the weights of a safetensors file written by
scripts/pth_to_safetensors.py (or a .pth). Prints the minimum time over repeats, images per
second and the peak resident set.

usage: /usr/bin/python3 bench/peers/resnet18_torch.py MODEL.pth [images 16] [batch 8] [repeats 3]
       [threads 2]
"""
import resource
import sys
import time

import numpy as np
import torch
import torchvision
from torchvision import transforms as T


def main():
    a = sys.argv[1:]
    if not 1 <= len(a) <= 5:
        sys.exit(__doc__)
    n = int(a[1]) if len(a) > 1 else 16
    batch = int(a[2]) if len(a) > 2 else 8
    repeats = int(a[3]) if len(a) > 3 else 3
    torch.set_num_threads(int(a[4]) if len(a) > 4 else 2)
    model = torchvision.models.resnet18()
    model.load_state_dict(torch.load(a[0]))
    model.fc = torch.nn.Identity()
    model.eval()
    pre = T.Compose([T.Resize(299), T.CenterCrop(299),
                     T.Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))])
    imgs = torch.from_numpy(np.random.default_rng(1).integers(0, 256, (n, 3, 32, 32),
                                                              dtype=np.uint8))
    best = float("inf")
    for r in range(repeats):
        t0 = time.perf_counter()
        with torch.no_grad():
            for i in range(0, n, batch):
                x = imgs[i:i + batch].float() / 255.0
                model(torch.stack([pre(im) for im in x]))
        t = time.perf_counter() - t0
        print(f"repeat {r + 1}: {n} images in {t:.3f} s ({n / t:.3f} images/s)")
        best = min(best, t)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"torch {torch.__version__} resnet18, {torch.get_num_threads()} threads: {n} images, "
          f"batch {batch}: best {best:.3f} s = {n / best:.3f} images/s; peak RSS {rss:.0f} MB")


if __name__ == "__main__":
    main()
