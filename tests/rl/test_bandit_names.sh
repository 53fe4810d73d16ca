#!/usr/bin/env bash
# Naming check: `kn_task_*` / `KN_TASK_*` belong to the continual-learning task stream
# (kenyon/tasks.h). The bandit tasks of meta-RL are `kn_bandit_task_*`; no RL header or source
# may declare or use the continual-learning prefix for them.
set -u
: "${KENYON_SRC:?KENYON_SRC must point to the source tree}"
fail() { echo "FAIL: $*"; exit 1; }
files=("$KENYON_SRC"/include/kenyon/bandit.h "$KENYON_SRC"/include/kenyon/metarl.h
  "$KENYON_SRC"/src/rl/*.c "$KENYON_SRC"/src/cli/cmd_rl_metarl.c)
hits=$(grep -nwE 'kn_task_[a-z_]+|KN_TASK_[A-Z_]+' "${files[@]}")
[ -z "$hits" ] || fail "continual-learning prefix used for bandit tasks: $hits"
grep -qw kn_bandit_task_params "$KENYON_SRC"/include/kenyon/bandit.h ||
  fail "bandit.h does not declare kn_bandit_task_params"
grep -qw KN_BANDIT_TASK_TWOSTEP "$KENYON_SRC"/include/kenyon/bandit.h ||
  fail "bandit.h does not declare KN_BANDIT_TASK_TWOSTEP"
echo "bandit naming test passed"
