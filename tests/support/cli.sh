# Set-up shared by kenyon's shell tests, sourced first with a tag for the scratch directory:
#   . "$(dirname "${BASH_SOURCE[0]}")/../support/cli.sh" data-cli
# It checks $KENYON (the binary CTest passes), makes a fresh scratch directory $T that is removed
# at exit, counts failures with fail() and the expect_* helpers instead of stopping at the first,
# and kt_finish ends the test with the count.
set -u
KENYON=${KENYON:?KENYON must point to the kenyon binary}
mkdir -p "${KENYON_TEST_TMP:-/tmp}" || exit 1
T=$(mktemp -d "${KENYON_TEST_TMP:-/tmp}/${1:?cli.sh wants a tag}.XXXXXX") || exit 1
[ -n "$T" ] && [ -d "$T" ] || { echo "cannot create a scratch directory"; exit 1; }
trap 'rm -rf "$T"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# expect_rc DESC RC PATTERN CMD...: exit status RC and output matching PATTERN (grep -E); the
# output is left in LAST_OUT.
expect_rc() {
  local desc=$1 want=$2 pat=$3; shift 3
  local out rc
  out=$("$@" 2>&1); rc=$?
  LAST_OUT=$out
  [ $rc -eq "$want" ] || { fail "$desc: exit $rc, expected $want: $out"; return; }
  grep -Eq -- "$pat" <<<"$out" || fail "$desc: output lacks /$pat/: $out"
}
# expect_ok DESC PATTERN CMD...: exit status 0 and output matching PATTERN.
expect_ok() {
  local desc=$1 pat=$2; shift 2
  local out rc
  out=$("$@" 2>&1); rc=$?
  [ $rc -eq 0 ] || { fail "$desc: exit $rc: $out"; return; }
  grep -Eq -- "$pat" <<<"$out" || fail "$desc: output lacks /$pat/: $out"
}
# expect_err DESC PATTERN CMD...: a non-zero exit status and a message matching PATTERN.
expect_err() {
  local desc=$1 pat=$2; shift 2
  local out rc
  out=$("$@" 2>&1); rc=$?
  [ $rc -ne 0 ] || fail "$desc: exit 0, expected failure: $out"
  grep -Eq -- "$pat" <<<"$out" || fail "$desc: message lacks /$pat/: $out"
}

# kt_finish MESSAGE: exit 1 naming the failure count, or print MESSAGE and exit 0.
kt_finish() {
  if [ $failures -ne 0 ]; then echo "$failures failure(s)"; exit 1; fi
  echo "$1"
  exit 0
}
