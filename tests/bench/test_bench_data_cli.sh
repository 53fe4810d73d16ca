#!/usr/bin/env bash
# CLI tests of `kenyon bench` on any data: the user's own train/test files (with and without the
# `files` verb), classes per task, label or seeded class orders, method options; the numbers agree
# with `kenyon run` on the same files; the paper's columns stay out of a setting the paper never
# measured; bad options are refused before any work (exit 2, nothing written).
. "$(dirname "${BASH_SOURCE[0]}")/../support/cli.sh" bench-data
cd "$T" || exit 1

# Six classes in 8 dimensions, 240 rows: class c is strong in feature c, with noise.
awk 'BEGIN { srand(3); for (i = 0; i < 240; i++) { c = i % 6; row = "";
       for (j = 0; j < 8; j++) { v = rand() * 0.3; if (j == c) v += 1; row = row (j ? "," : "") sprintf("%.4f", v) }
       print row > "x.csv"; print c > "y.csv" } }'
F=(--train-x x.csv --train-y y.csv --test-x x.csv --test-y y.csv)
M=fly:m=200:c=3,fly-ridge:m=200:c=3,vanilla:hidden=32

# 1. Own files, no verb: every output, one results row per method x seed x task.
expect_rc "bench on files" 0 "wrote out1/report.md" "$KENYON" bench "${F[@]}" --methods "$M" --seeds 1,2 --out out1 --no-progress
for f in report.md report.html results.csv summary.json accuracy_vs_classes.svg memory_loss.png; do
  [ -s "out1/$f" ] || fail "bench on files: out1/$f missing"
done
rows=$(($(wc -l <out1/results.csv) - 1))
[ "$rows" -eq $((3 * 2 * 3)) ] || fail "results.csv has $rows rows, expected 18 (3 methods x 2 seeds x 3 tasks)"
grep -Eq '"benchmark":[[:space:]]*"files"' out1/summary.json || fail "summary.json does not name the files source"
grep -q '\*paper\*' out1/report.md && fail "report.md on user files carries the paper's columns"
# A method keeps its colour whatever its place in --methods: the bars of memory_loss.svg (filled
# in bar order) swap colours when the methods swap places.
bar_fills() { grep -o 'fill-rule:nonzero;fill:rgb([^)]*)' "$1/memory_loss.svg"; }
expect_rc "colours, one order" 0 "wrote" "$KENYON" bench "${F[@]}" --methods vanilla:hidden=32,fly:m=200:c=3 --seeds 1 --out col1 --no-progress
expect_rc "colours, the other" 0 "wrote" "$KENYON" bench "${F[@]}" --methods fly:m=200:c=3,vanilla:hidden=32 --seeds 1 --out col2 --no-progress
[ "$(bar_fills col1 | wc -l)" -eq 2 ] && [ "$(bar_fills col1 | sed -n 1p)" != "$(bar_fills col1 | sed -n 2p)" ] ||
  fail "memory_loss.svg: expected two bars of different colours: $(bar_fills col1)"
[ "$(bar_fills col1)" = "$(bar_fills col2 | tac)" ] ||
  fail "a method's colour follows its place in --methods: $(bar_fills col1) vs $(bar_fills col2)"

# Absolute data paths reach the report relative to the output directory (or, when the data
# set's source shortened them, as their file names): no machine path.
expect_rc "bench on absolute paths" 0 "wrote" "$KENYON" bench --train-x "$T/x.csv" --train-y "$T/y.csv" \
  --test-x "$T/x.csv" --test-y "$T/y.csv" --methods ncm --seeds 1 --out "$T/abs/out" --no-progress
grep -Eq "train (\.\./\.\./)?x\.csv \+ (\.\./\.\./)?y\.csv, test (\.\./\.\./)?x\.csv" abs/out/report.md ||
  fail "report.md does not give the data relative to the output: $(grep Data: abs/out/report.md)"
grep -q -- "${T#/}\|${T##*/}/" abs/out/report.md abs/out/report.html &&
  fail "the report names the machine path $T: $(grep Data: abs/out/report.md)"
grep -q '"paper"' out1/summary.json && fail "summary.json on user files carries the paper's numbers"
grep -q "x.csv" out1/report.md || fail "report.md does not name the data source"

# 2. The same numbers as `kenyon run` on the same files, method options and seed.
want=$("$KENYON" run "${F[@]}" --method fly --m 200 --c 3 --seed 2 | sed -n 's/^final accuracy \([0-9.]*\).*/\1/p')
got=$(awk -F, '$1 == "fly:m=200:c=3" && $2 == 2 && $3 == 3 { printf "%.4f", $8 }' out1/results.csv)
[ -n "$want" ] && [ "$want" = "$got" ] || fail "bench fly seed 2 final $got, kenyon run says $want"

# 3. The `files` verb is the same command; a second call finds every run in the cache.
cp out1/results.csv first.csv
expect_rc "bench files verb" 0 "\(cached\)" "$KENYON" bench files "${F[@]}" --methods "$M" --seeds 1,2 --out out1 --no-progress
cmp -s <(cut -d, -f1-10 first.csv) <(cut -d, -f1-10 out1/results.csv) || fail "the files verb gives other numbers than the bare options"
[ "$(awk -F, 'NR > 1 && $15 != 1' out1/results.csv | wc -l)" -eq 0 ] || fail "the second call did not take every run from the cache"

# 4. Classes per task: 3 classes a task gives 2 tasks, at 3 and 6 classes.
expect_rc "classes per task 3" 0 "2 tasks of 3 classes" "$KENYON" bench "${F[@]}" --methods fly:m=200:c=3 --seeds 1 --classes-per-task 3 --out out3 --no-progress
[ "$(cut -d, -f4 out3/results.csv | tail -n +2 | tr '\n' ' ')" = "3 6 " ] || fail "classes_trained column is not 3 6: $(cut -d, -f4 out3/results.csv | tr '\n' ' ')"

# 5. Seeded class orders: each seed its own permutation of 0..5, listed in the report; the same
# seed gives the same order again; the runs are not the label-order runs of the cache.
expect_rc "class order random" 0 "seeded class order" "$KENYON" bench "${F[@]}" --methods "$M" --seeds 1,2 --class-order random --out out1 --no-progress
[ "$(awk -F, 'NR > 1 && $15 == 1' out1/results.csv | wc -l)" -eq 0 ] || fail "seeded-order runs were taken from the label-order cache"
grep -Eq '"class_order":[[:space:]]*"random"' out1/summary.json || fail "summary.json does not record the class order"
tr -d ' \t\n' <out1/summary.json | grep -q "\"class_order_per_seed\":{\"1\":\[$(tr ' ' ',' <<<"$(sed -n 's/^  - Seed 1: classes \(.*\)\.$/\1/p' out1/report.md)")\]" ||
  fail "summary.json does not hold seed 1's class order as the report lists it"
for s in 1 2; do
  order=$(sed -n "s/^  - Seed $s: classes \(.*\)\.$/\1/p" out1/report.md)
  [ "$(tr ' ' '\n' <<<"$order" | sort -n | tr '\n' ' ')" = "0 1 2 3 4 5 " ] || fail "seed $s order '$order' is not a permutation of 0..5"
  [ "$order" = "0 1 2 3 4 5" ] && fail "seed $s drew the label order"
done
o1=$(sed -n 's/^  - Seed 1: classes //p' out1/report.md)
o2=$(sed -n 's/^  - Seed 2: classes //p' out1/report.md)
[ "$o1" != "$o2" ] || fail "seeds 1 and 2 drew the same order"
expect_rc "class order random again" 0 "wrote" "$KENYON" bench "${F[@]}" --methods fly:m=200:c=3 --seeds 1 --class-order random --out out4 --no-progress
[ "$(sed -n 's/^  - Seed 1: classes //p' out4/report.md)" = "$o1" ] || fail "seed 1's order changed between runs"

# 6. Bad options: exit 2, a message naming the option, nothing written.
expect_rc "missing --test-y" 2 "--test-y" "$KENYON" bench --train-x x.csv --train-y y.csv --test-x x.csv --out bad1
expect_rc "bad class order" 2 "--class-order" "$KENYON" bench "${F[@]}" --class-order sideways --out bad2
expect_rc "features on files" 2 "--features" "$KENYON" bench "${F[@]}" --features lenet --out bad3
expect_rc "files with a named set" 2 "own data" "$KENYON" bench fashion "${F[@]}" --out bad4
expect_rc "unknown method" 2 "unknown method" "$KENYON" bench "${F[@]}" --methods nosuch --out bad5
expect_rc "classes per task 0" 2 "--classes-per-task" "$KENYON" bench "${F[@]}" --classes-per-task 0 --out bad6
expect_rc "unknown set" 2 "unknown verb" "$KENYON" bench mnist21 --out bad7
for d in bad1 bad2 bad3 bad4 bad5 bad6 bad7; do [ -e "$d" ] && fail "$d was written by a refused command"; done
# A missing file is a failure of the work (exit 1) that names the file.
expect_rc "missing file" 1 "nofile.csv" "$KENYON" bench --train-x nofile.csv --train-y y.csv --test-x x.csv --test-y y.csv --methods fly:m=200:c=3 --out bad8 --no-progress
# A named set that is not fetched names the set and where it was looked for.
expect_rc "set not fetched" 1 "fashion|Fashion" "$KENYON" bench fashion --quick --data "$T/nodata" --methods fly --out bad9 --no-progress
[ -e bad9/report.md ] && fail "a benchmark without data wrote a report"

kt_finish "all bench data CLI tests passed"
