"""Issue 25's mixed-domain comparison against one `tuner serve --dataset A --dataset B …` process
(category = dataset, each with its own gates): `tuner train --evaluator URL --budget-queries N`
against Optuna TPE with the same budget (trials of 100 seeded train questions), both judged on
every test question. The objective TPE maximises is the one the tuner's search does: each
category's reward under its own gates, weighted by its share of the batch. The gain is the
paired per-question reward difference (the tuner's verdict's measure) with a percentile
bootstrap interval over questions; the category-weighted gated reward is printed beside it.

  python Benchmarks/BudgetSearch/mixed.py --url http://127.0.0.1:8094 --out ../budget-results/mixed --seeds 1,2,3
"""
import argparse
import json
import os
import random
import subprocess
import sys
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "shared", "peers", "optuna"))
import evalapi  # noqa: E402

VARIANTS = ["bm25", "dense", "hybrid", "rrf"]
TEMPLATES = ["ranked", "truncated", "budgeted", "sandwich"]
W = evalapi.WEIGHTS


def post(url, body):
    request = urllib.request.Request(url + "/tuner/evaluate", data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    return json.load(urllib.request.urlopen(request, timeout=600))


def query_reward(r):
    """PolicyConfiguration.RewardWeights.queryReward: the reward without its batch-level terms."""
    return (W["alpha"] * r["faithfulness"] + W["beta"] * r["relevancy"] - W["gamma"] * min(r["latency_ms"] / W["latency_target"], W["cap"])
            - W["delta"] * min(r["cost_usd"] / W["cost_ref"], W["cap"]))


def metrics(records):
    n = len(records)
    latencies = sorted(r["latency_ms"] for r in records)
    position = 0.95 * (n - 1)
    lower = int(position)
    quality = [0.5 * r["faithfulness"] + 0.5 * r["relevancy"] for r in records]
    mean_quality = sum(quality) / n
    return dict(faithfulness=sum(r["faithfulness"] for r in records) / n, relevancy=sum(r["relevancy"] for r in records) / n,
                latency_p95_ms=latencies[lower] + (latencies[min(lower + 1, n - 1)] - latencies[lower]) * (position - lower),
                cost_usd=sum(r["cost_usd"] for r in records) / n, error_rate=sum(1 for r in records if r["error"]) / n,
                violation_rate=sum(1 for r in records if r.get("violation")) / n,
                quality_spread=max(sum(q * q for q in quality) / n - mean_quality ** 2, 0) ** 0.5)


def gated(records, gates_of):
    """Each category's reward under its own gates, weighted by its share of the records."""
    by = {}
    for r in records:
        by.setdefault(r["category"], []).append(r)
    return sum(len(rs) * evalapi.reward(metrics(rs), gates_of(c))[0] for c, rs in by.items()) / len(records)


def test_records(url, description, configuration_of):
    out = []
    for category, ids in sorted(description["splits"]["test"].items()):
        for start in range(0, len(ids), description.get("max_batch_size", 5000)):
            out += post(url, dict(configuration=configuration_of(category), questions=dict(split="test", ids=ids[start:start + 5000])))["queries"]
    return out


def tpe(url, gates_of, seed, trials):
    import optuna
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed))
    for t in range(trials):
        trial = study.ask()
        variant = trial.suggest_categorical("variant", VARIANTS)
        c = dict(variant=variant, k=trial.suggest_int("k", 3, 32), rerank=trial.suggest_categorical("rerank", [False, True]),
                 fusion_weight=trial.suggest_float("fusion_weight", 0.0, 1.0) if variant in ("hybrid", "rrf") else 0.5,
                 template=trial.suggest_categorical("template", TEMPLATES))
        records = post(url, dict(configuration=c, batch=dict(size=100, split="train", seed=seed * 1_000_000 + t)))["queries"]
        study.tell(trial, gated(records, gates_of))
    p = study.best_trial.params
    return dict(variant=p["variant"], k=p["k"], rerank=p["rerank"], fusion_weight=p.get("fusion_weight", 0.5), template=p["template"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--budget", type=int, default=20_000)
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument("--corpus-documents", type=int, default=8650)
    ap.add_argument("--tuner", default=".build/release/tuner")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    description = json.load(urllib.request.urlopen(a.url + "/tuner/evaluator"))
    gates_of = lambda c: description.get("category_gates", {}).get(c, description["gates"])  # noqa: E731
    rows = []
    for seed in [int(s) for s in a.seeds.split(",") if s]:
        run = json.loads(subprocess.run(
            [a.tuner, "train", "--mode", "offline", "--evaluator", a.url, "--budget-queries", str(a.budget), "--corpus-documents",
             str(a.corpus_documents), "--seed", str(seed), "--out", os.path.join(a.out, f"tuner-s{seed}"), "--json"],
            check=True, capture_output=True, text=True).stdout)
        configs = run["policy_configs"]
        static = tpe(a.url, gates_of, seed, a.budget // 100)
        policy = test_records(a.url, description, lambda c: configs[c])
        baseline = test_records(a.url, description, lambda c: static)
        assert [r["id"] for r in policy] == [r["id"] for r in baseline]
        differences = [query_reward(p) - query_reward(b) for p, b in zip(policy, baseline)]
        rng = random.Random(seed)
        means = sorted(sum(rng.choice(differences) for _ in differences) / len(differences) for _ in range(2000))
        row = dict(seed=seed, tuner_query_evaluations=run["query_evaluations"], tuner_configs=configs, tpe_config=static,
                   gain_per_query=sum(differences) / len(differences), ci=[means[49], means[1949]],
                   tuner_gated_reward=gated(policy, gates_of), tpe_gated_reward=gated(baseline, gates_of))
        rows.append(row)
        print(json.dumps(row), flush=True)
    json.dump(rows, open(os.path.join(a.out, "mixed.json"), "w"), indent=1)


if __name__ == "__main__":
    main()
