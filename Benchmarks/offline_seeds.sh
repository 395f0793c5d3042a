#!/usr/bin/env bash
# The offline-training figures of docs/benchmarks.md: each dataset (and the mixed domain) over
# seeds, one line per run. Usage: bash Benchmarks/offline_seeds.sh [SEEDS] [STEPS] [NAMES]
# (default seeds "1 2 3 4 5", 100,000 steps, names "scifact cranfield squad-dev mixed").
# Needs ../shared/datasets and a release build.
set -euo pipefail
cd "$(dirname "$0")/.."
seeds=${1:-"1 2 3 4 5"}
steps=${2:-100000}
names=${3:-"scifact cranfield squad-dev mixed"}
tuner=.build/release/tuner
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
shared=../shared/datasets
declare -A sets=(
    [scifact]="--dataset $shared/scifact"
    [cranfield]="--dataset $shared/cranfield"
    [squad-dev]="--dataset $shared/squad-dev"
    [mixed]="--dataset $shared/scifact --dataset $shared/squad-dev --dataset $shared/cranfield"
)
for name in $names; do
    for seed in $seeds; do
        # shellcheck disable=SC2086
        "$tuner" train --mode offline ${sets[$name]} --steps "$steps" --seed "$seed" --out "$out" --json > "$out/report.json"
        python3 - "$name" "$seed" "$out/report.json" <<'PY'
import json, sys
name, seed, path = sys.argv[1], sys.argv[2], sys.argv[3]
r = json.load(open(path))
t = r["test"]
g = t["gain_vs_best_static"]; d = t["gain_vs_default"]
rel = (t["policy_reward"] - t["best_static_reward"]) / abs(t["best_static_reward"])
own = sorted(c for c, e in (t.get("specialisation") or {}).items() if e["specialised"])
print(f"{name:10s} seed {seed}: policy {t['policy_reward']:.4f}  best static {t['best_static_reward']:.4f} ({100*rel:+.2f}%)  "
      f"vs best {g['mean']:+.4f} [{g['ci_low']:+.4f}, {g['ci_high']:+.4f}]  vs default {d['mean']:+.4f} [{d['ci_low']:+.4f}, {d['ci_high']:+.4f}]  "
      f"breaches {t['gate_violations']}  infeasible {t.get('gates_unattainable')}  own {own}  wall {r['wall_seconds']:.0f} s")
PY
    done
done
