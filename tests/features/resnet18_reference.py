#!/usr/bin/python3
"""Reference side of the ResNet-18 test (test_resnet18_torch.sh), run with Debian's python3-torch.

make DIR SEED N: writes into DIR
  r18.pth          torchvision resnet18() with random weights (torch.manual_seed(SEED)) whose
                   BatchNorm affine parameters and running statistics are also randomised, so a
                   mistake in the BatchNorm folding cannot hide behind the identity statistics of
                   a fresh network;
  cifar-100-binary/train.bin, test.bin
                   N and 2 random uint8 images in CIFAR-100's binary format (coarse, fine, 3072
                   bytes of R, G, B planes);
  wide.npy         one uint8 image of 3 x 30 x 41 (not square: the resize of the longer edge
                   and the centre crop's offset are exercised);
  ref_dataset.npy  torchvision's features of the train images then the test images;
  ref_wide.npy     the same for wide.npy.
  The features are resnet18 in eval mode with fc replaced by Identity, on
  Normalize(ImageNet)(CenterCrop(299)(Resize(299)(uint8 / 255))) with tensor inputs.
weights DIR SEED: writes only r18.pth (as make does).
cifar DIR CLASSES TRAIN TEST SEED: writes DIR/cifar-100-binary/train.bin and test.bin with TRAIN
  and TEST random images of each of the first CLASSES classes (interleaved by class, so the file
  order is not the label order), and DIR/f_train.npy, DIR/f_test.npy: 512-d float32 stand-in
  features, one row per image in file order, each class's own non-negative mean plus noise so
  that a learner can tell the classes apart (numpy only: no network is run).
compare A B TOL: fails unless for every row max|a - b| <= TOL * max|b| (relative to the row's
  largest feature), and prints the worst ratio.
"""
import os
import sys

import numpy as np


def write_cifar(path, x, fine):
    """CIFAR-100 binary records: coarse label (stand-in: fine // 5), fine label, 3072 bytes."""
    with open(path, "wb") as f:
        for i in range(len(fine)):
            f.write(bytes([int(fine[i]) // 5, int(fine[i])]))
            f.write(x[i].tobytes())


def random_resnet18(seed):
    import torch
    import torchvision
    torch.manual_seed(seed)
    model = torchvision.models.resnet18()
    with torch.no_grad():
        for mod in model.modules():
            if isinstance(mod, torch.nn.BatchNorm2d):
                c = mod.num_features
                mod.weight.copy_(torch.rand(c) + 0.5)
                mod.bias.copy_(torch.randn(c) * 0.1)
                mod.running_mean.copy_(torch.randn(c) * 0.1)
                mod.running_var.copy_(torch.rand(c) * 1.5 + 0.5)
    return model


def weights(out, seed):
    import torch
    torch.save(random_resnet18(seed).state_dict(), os.path.join(out, "r18.pth"))


def cifar(out, classes, n_train, n_test, seed):
    rng = np.random.default_rng(seed)
    cdir = os.path.join(out, "cifar-100-binary")
    os.makedirs(cdir, exist_ok=True)
    means = np.abs(rng.normal(size=(classes, 512))).astype(np.float32)
    for name, per in (("train", n_train), ("test", n_test)):
        fine = np.tile(np.arange(classes), per)
        x = rng.integers(0, 256, size=(len(fine), 3, 32, 32), dtype=np.uint8)
        write_cifar(os.path.join(cdir, f"{name}.bin"), x, fine)
        noise = rng.normal(scale=1.0, size=(len(fine), 512)).astype(np.float32)
        np.save(os.path.join(out, f"f_{name}.npy"), np.abs(means[fine] + noise))


def make(out, seed, n):
    import torch
    from torchvision import transforms as T
    model = random_resnet18(seed)
    torch.save(model.state_dict(), os.path.join(out, "r18.pth"))
    model.fc = torch.nn.Identity()
    model.eval()
    rng = np.random.default_rng(seed)
    cdir = os.path.join(out, "cifar-100-binary")
    os.makedirs(cdir, exist_ok=True)
    imgs = []
    for name, count in (("train.bin", n), ("test.bin", 2)):
        x = rng.integers(0, 256, size=(count, 3, 32, 32), dtype=np.uint8)
        fine = rng.integers(0, 100, size=count, dtype=np.uint8)
        write_cifar(os.path.join(cdir, name), x, fine)
        imgs.append(x)
    wide = rng.integers(0, 256, size=(1, 3, 30, 41), dtype=np.uint8)
    np.save(os.path.join(out, "wide.npy"), wide)
    pre = T.Compose([T.Resize(299), T.CenterCrop(299),
                     T.Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))])

    def feats(u8):
        x = torch.from_numpy(u8.astype(np.float32) / 255.0)
        with torch.no_grad():
            return model(torch.stack([pre(img) for img in x])).numpy()

    np.save(os.path.join(out, "ref_dataset.npy"), np.concatenate([feats(x) for x in imgs]))
    np.save(os.path.join(out, "ref_wide.npy"), feats(wide))


def compare(a_path, b_path, tol):
    a, b = np.load(a_path), np.load(b_path)
    if a.shape != b.shape:
        sys.exit(f"shapes differ: {a_path} {a.shape}, {b_path} {b.shape}")
    scale = np.abs(b).max(axis=1, keepdims=True)
    if not np.all(scale > 0):
        sys.exit(f"{b_path} has an all-zero row: nothing to compare against")
    worst = float((np.abs(a - b) / scale).max())
    print(f"worst relative difference {worst:.3g} (tolerance {tol:g})")
    if not worst <= tol:
        sys.exit(1)


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "make":
        make(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    elif len(sys.argv) == 4 and sys.argv[1] == "weights":
        weights(sys.argv[2], int(sys.argv[3]))
    elif len(sys.argv) == 7 and sys.argv[1] == "cifar":
        cifar(sys.argv[2], *(int(v) for v in sys.argv[3:7]))
    elif len(sys.argv) == 5 and sys.argv[1] == "compare":
        compare(sys.argv[2], sys.argv[3], float(sys.argv[4]))
    else:
        sys.exit(__doc__)
