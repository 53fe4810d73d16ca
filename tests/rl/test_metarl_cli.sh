#!/usr/bin/env bash
# CLI tests of `kenyon rl metarl`: a tiny train + frozen-weight test on the bandit and the two-step
# task (files written, checksum unchanged, same result twice), help, and the errors users meet.
. "$(dirname "${BASH_SOURCE[0]}")/../support/cli.sh" metarl-cli

expect_ok "help lists the verbs" "train.*test|test" "$KENYON" rl metarl --help
expect_ok "train help shows defaults" "default 0.0007" "$KENYON" rl metarl train --help

for task in independent twostep; do
  expect_ok "train $task" "trained 24 episodes of $task" \
    "$KENYON" rl metarl train --task $task --episodes 24 --batch 4 --trials 10 --hidden 6 \
    --seed 5 --out "$T/$task" --quiet
  for f in model.safetensors train_curve.csv train_summary.json train_curve.png; do
    [ -s "$T/$task/$f" ] || fail "train $task did not write $f"
  done
  expect_ok "test $task" "checksum before ([0-9a-f]+) after \\1: unchanged" \
    "$KENYON" rl metarl test --model "$T/$task/model.safetensors" --episodes 30 --quiet
  for f in summary.json regret.csv episodes.csv p_best.csv regret.png p_best.png; do
    [ -s "$T/$task/test/$f" ] || fail "test $task did not write $f"
  done
  grep -q '"weights_unchanged":[[:space:]]*true' "$T/$task/test/summary.json" ||
    fail "summary.json of $task lacks weights_unchanged true"
done
[ -s "$T/twostep/test/stay.csv" ] || fail "two-step test did not write stay.csv"
[ -s "$T/twostep/test/stay.png" ] || fail "two-step test did not write stay.png"
[ -s "$T/twostep/test/stay_agents.png" ] || fail "two-step test did not write stay_agents.png"
grep -q "^network,1,1," "$T/twostep/test/stay.csv" || fail "stay.csv lacks the network rows"

# two-step verdict: the choice regression, not raw stay probabilities, judged against the tuned
# baselines: the model-free agent must get "no", the model-based agent "yes"
expect_ok "train twostep, 100 trials" "trained 24 episodes of twostep" \
  "$KENYON" rl metarl train --task twostep --episodes 24 --batch 4 --hidden 6 --seed 5 \
  --out "$T/ts100" --quiet
expect_ok "test twostep, 200 episodes" "model-free +regression \(5 lags, 19000 trials, 200 episodes\).*signature no" \
  "$KENYON" rl metarl test --model "$T/ts100/model.safetensors" --episodes 200 --quiet
python3 - "$T/ts100/test/summary.json" <<'PY' || fail "two-step summary.json verdicts"
import json, sys
d = json.load(open(sys.argv[1]))
mf = d["agents"]["model-free"]["choice_regression"]
mb = d["agents"]["model-based"]["choice_regression"]
assert mf["fitted"] and mb["fitted"], (mf, mb)
assert mf["model_based_signature"] is False, mf
assert mb["model_based_signature"] is True, mb
assert mf["baselines_separated"] is True, mf
lo, hi = mb["model_based_index_ci95"]
assert 0 < lo < mb["model_based_index"] < hi, mb
assert d["agents"]["model-based"]["parameters"]["tuning_episodes"] == 500
assert d["agents"]["model-based"]["regret_mean"] < d["agents"]["model-free"]["regret_mean"]
assert d["targets"]["model_based_signature"] == d["network"]["choice_regression"]["model_based_signature"]
PY
grep -q "^model-free,reward_x_transition,1," "$T/ts100/test/regression.csv" ||
  fail "regression.csv lacks the model-free rows"
for f in regression.png stay.png stay_agents.png; do
  [ -s "$T/ts100/test/$f" ] || fail "two-step test did not write $f"
done

# bandit references: each classical agent is compared with its reference regret in its own
# standard errors; eps-greedy differs (an untried arm's value is a matter of definition) and says so
expect_ok "train independent, 100 trials" "trained 24 episodes of independent" \
  "$KENYON" rl metarl train --task independent --episodes 24 --batch 4 --hidden 6 --seed 5 \
  --out "$T/ind100" --quiet
expect_ok "test independent, 1500 episodes" "eps-greedy +regret .*reference 4.23, -[0-9.]+ s.e.: DIFFERS" \
  "$KENYON" rl metarl test --model "$T/ind100/model.safetensors" --episodes 1500 --quiet
python3 - "$T/ind100/test/summary.json" <<'PY' || fail "bandit summary.json reference flags"
import json, sys
a = json.load(open(sys.argv[1]))["agents"]
assert a["eps-greedy"]["agrees_with_reference"] is False, a["eps-greedy"]
assert a["eps-greedy"]["regret_reference_z"] < -3, a["eps-greedy"]
assert a["eps-greedy"]["untried_arm_value"] == 0.5
assert "reference_note" in a["eps-greedy"]
for k in ("thompson", "ucb1", "random"):
    assert a[k]["agrees_with_reference"] is True, (k, a[k])
PY
# 10-trial episodes have no reference
grep -q '"regret_reference":[[:space:]]*null' "$T/independent/test/summary.json" ||
  fail "a 10-trial test compared with the 100-trial references"

# same seed, same numbers
cp "$T/independent/test/episodes.csv" "$T/episodes1.csv"
"$KENYON" rl metarl test --model "$T/independent/model.safetensors" --episodes 30 --quiet >/dev/null 2>&1
cmp -s "$T/episodes1.csv" "$T/independent/test/episodes.csv" || fail "testing is not reproducible"

expect_err "unknown task" "--task 'bogus'" "$KENYON" rl metarl train --task bogus --out "$T/x"
expect_err "bad learning rate" "learning rate" "$KENYON" rl metarl train --lr -1 --out "$T/x"
expect_err "missing model option" "--model is required" "$KENYON" rl metarl test
expect_err "missing model file" "$T/nope.safetensors" \
  "$KENYON" rl metarl test --model "$T/nope.safetensors"
printf 'not a model' >"$T/junk.safetensors"
expect_err "junk model file" "junk.safetensors" "$KENYON" rl metarl test --model "$T/junk.safetensors"

kt_finish "all metarl CLI tests passed"
