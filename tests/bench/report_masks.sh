# Helpers shared by the shell tests that compare whole benchmark reports (sourced, not run):
# test_bench_jobs.sh (--jobs N) and tests/mpi/test_mpi_bench.sh (mpirun -n N). They expect
# fail() to be defined by the test.

# Six classes in 24 dimensions (class c raised on features 4c..4c+3).
gen() { # gen SEED ROWS PREFIX: writes PREFIXx.csv and PREFIXy.csv
  awk -v seed="$1" -v n="$2" -v p="$3" 'BEGIN { srand(seed); for (i = 0; i < n; i++) { c = i % 6; row = "";
    for (j = 0; j < 24; j++) { v = rand(); if (int(j / 4) == c) v += 0.35; row = row (j ? "," : "") sprintf("%.5f", v) }
    print row > (p "x.csv"); print c > (p "y.csv") } }'
}

# The reports with the fields that measure this process (seconds, peak RSS, the minute it was
# written) masked; everything else must match byte for byte.
mask() { # mask DIR FILE
  case $2 in
    results.csv) awk -F, -v OFS=, 'NR > 1 { $7 = "T"; $12 = "T"; $13 = "T"; $14 = "T" } { print }' "$1/$2" ;;
    summary.json) awk '/"train_seconds"/ { skip = 3 } skip > 0 { skip--; print "T"; next }
                       /"eval_seconds_mean"|"peak_rss_mb_max"|"job_peak_rss_mb"/ { print "T"; next } { print }' "$1/$2" ;;
    report.md) sed -E -e 's/ on [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2} UTC/ on DATE/' \
                      -e 's/\| [0-9.]+ ± [0-9.]+ \| [0-9.]+ \| [0-9]+ \|$/| T | T | T |/' "$1/$2" ;;
    report.html) sed -E -e 's/ on [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2} UTC/ on DATE/' \
                        -e 's#<td>[0-9.]+ ± [0-9.]+</td><td>[0-9.]+</td><td>[0-9]+</td></tr>#<td>T</td><td>T</td><td>T</td></tr>#' "$1/$2" ;;
  esac
}

same_reports() { # same_reports DESC DIR_A DIR_B
  local f
  for f in report.md report.html results.csv summary.json; do
    [ -s "$3/$f" ] || { fail "$1: $3/$f missing"; continue; }
    cmp -s <(mask "$2" "$f") <(mask "$3" "$f") ||
      fail "$1: $f differs from $2's: $(diff <(mask "$2" "$f") <(mask "$3" "$f") | head -6)"
  done
  for f in "$2"/*.svg "$2"/*.png; do
    cmp -s "$f" "$3/${f##*/}" || fail "$1: ${f##*/} differs from $2's"
  done
}
