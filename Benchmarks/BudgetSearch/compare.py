"""Issue 25's comparison, in one run against one `tuner serve` process: the best static
configuration (every grid configuration on the whole train and test splits, through the same
server, so latency is measured by the same process that answers the tuners), `tuner train
--evaluator URL --budget-queries N` for each tuner seed, and Optuna TPE through the peer driver
(../shared/peers/optuna/optuna_driver.py) at twice the budget for each TPE seed. Each returned
policy is judged on the whole test split; the target is the best static configuration's test
reward less 2% of its magnitude. Each returned policy's reward on the whole train split is
reported beside it: what a tuner can know when it chooses.

  python Benchmarks/BudgetSearch/compare.py --url http://127.0.0.1:8091 --dataset scifact \
      --corpus-documents 5183 --out ../budget-results/scifact
Needs optuna (../shared/peers/optuna/README.md) for the TPE runs; --tpe-seeds "" skips them.
"""
import argparse
import json
import os
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
PEER = os.path.join(HERE, "..", "..", "..", "shared", "peers", "optuna")
sys.path.insert(0, PEER)
import evalapi  # noqa: E402  (the reward and gates the peer drivers use)

VARIANTS = ["bm25", "dense", "hybrid", "rrf"]
TEMPLATES = ["ranked", "truncated", "budgeted", "sandwich"]
TOP_K = [3, 5, 8, 10, 16, 24, 32]
FUSION = [0, 0.25, 0.5, 0.75, 1]


def grid():
    for v in VARIANTS:
        for k in TOP_K:
            for rerank in (False, True):
                for w in (FUSION if v in ("hybrid", "rrf") else [0.5]):
                    for t in TEMPLATES:
                        yield dict(variant=v, k=k, rerank=rerank, fusion_weight=w, template=t)


def post(url, body):
    request = urllib.request.Request(url + "/tuner/evaluate", data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    return json.load(urllib.request.urlopen(request, timeout=600))


def whole_split(url, description, configuration, split):
    """(reward, breached gates) of the configuration on every question of the split (all categories), as the tuner computes it."""
    ids = [i for c in sorted(description["splits"][split]) for i in description["splits"][split][c]]
    size = description.get("max_batch_size", 5000)
    if len(ids) <= size:
        return evalapi.reward(post(url, dict(configuration=configuration, questions=dict(split=split, ids=ids)))["overall"], description["gates"])
    return evalapi.reward(summary(answers(url, description, configuration, split, ids)), description["gates"])


def answers(url, description, configuration, split, ids):
    """The per-question records of the configuration on `ids`, asked in chunks the evaluator accepts."""
    size = description.get("max_batch_size", 5000)
    records = []
    for start in range(0, len(ids), size):
        records += post(url, dict(configuration=configuration, questions=dict(split=split, ids=ids[start:start + size])))["queries"]
    return records


def summary(records):
    """The aggregate metrics of per-question records, as the tuner computes them."""
    n = len(records)
    latencies = sorted(r["latency_ms"] for r in records)
    position = 0.95 * (n - 1)
    lower = int(position)
    p95 = latencies[lower] + (latencies[min(lower + 1, n - 1)] - latencies[lower]) * (position - lower)
    quality = [0.5 * r["faithfulness"] + 0.5 * r["relevancy"] for r in records]
    mean_quality = sum(quality) / n
    return dict(faithfulness=sum(r["faithfulness"] for r in records) / n, relevancy=sum(r["relevancy"] for r in records) / n,
                latency_p95_ms=p95, cost_usd=sum(r["cost_usd"] for r in records) / n,
                error_rate=sum(1 for r in records if r["error"]) / n, violation_rate=sum(1 for r in records if r.get("violation")) / n,
                quality_spread=max(sum(q * q for q in quality) / n - mean_quality ** 2, 0) ** 0.5)


def policy_reward(url, description, configurations, split):
    """(reward, breached gates) on every question of the split, each category's questions answered under its configuration."""
    if len({json.dumps(c, sort_keys=True) for c in configurations.values()}) == 1:
        return whole_split(url, description, next(iter(configurations.values())), split)
    records = []
    for category, ids in sorted(description["splits"][split].items()):
        records += answers(url, description, configurations[category], split, ids)
    return evalapi.reward(summary(records), description["gates"])


def served(run):
    """Category → configuration for every train category: each search unit's choice (the verdict's
    `policy_configs` names only the categories the test split has)."""
    return {category: unit["chosen"] for unit in run["search"] for category in unit["categories"]}


def reference(url, description):
    """The best static configuration: the highest train reward among those passing the gates on train."""
    rows = [(*whole_split(url, description, c, "train"), c) for c in grid()]
    passing = [r for r in rows if not r[1]] or rows
    best = max(passing, key=lambda r: r[0])
    best_test = whole_split(url, description, best[2], "test")[0]
    return dict(best_static=best[2], best_train_reward=best[0], best_test_reward=best_test, target=best_test - 0.02 * abs(best_test))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--dataset", required=True, help="datasets/manifests/NAME.yaml names the gates the peer driver uses")
    ap.add_argument("--corpus-documents", type=int, required=True)
    ap.add_argument("--budget", type=int, default=10_000)
    ap.add_argument("--tpe-budget", type=int, default=20_000)
    ap.add_argument("--tuner-seeds", default="1,2,3,4,5")
    ap.add_argument("--tpe-seeds", default="1,2,3")
    ap.add_argument("--tuner", default=".build/release/tuner")
    ap.add_argument("--python", default=sys.executable, help="a Python with optuna for the TPE runs")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    description = json.load(urllib.request.urlopen(a.url + "/tuner/evaluator"))
    ref = reference(a.url, description)
    print(json.dumps(dict(reference=ref)), flush=True)
    results = dict(reference=ref, tuner=[], tpe=[])
    for seed in [int(s) for s in a.tuner_seeds.split(",") if s]:
        store = os.path.join(a.out, f"tuner-s{seed}")
        started = time.time()
        out = subprocess.run([a.tuner, "train", "--mode", "offline", "--evaluator", a.url, "--budget-queries", str(a.budget),
                              "--corpus-documents", str(a.corpus_documents), "--seed", str(seed), "--out", store, "--json"],
                             check=True, capture_output=True, text=True).stdout
        run = json.loads(out)
        row = dict(seed=seed, query_evaluations=run["query_evaluations"], verdict_query_evaluations=run["verdict_query_evaluations"],
                   test_reward=run["test"]["policy_reward"], within_2_percent=run["test"]["policy_reward"] >= ref["target"],
                   train_reward=policy_reward(a.url, description, served(run), "train")[0],
                   policy_configs=run["policy_configs"], gate_violations=run["test"]["gate_violations"], wall_seconds=round(time.time() - started, 1))
        results["tuner"].append(row)
        print(json.dumps(dict(tuner=row)), flush=True)
    trials = a.tpe_budget // 100
    for seed in [int(s) for s in a.tpe_seeds.split(",") if s]:
        path = os.path.join(a.out, f"tpe-s{seed}.json")
        subprocess.run([a.python, os.path.join(PEER, "optuna_driver.py"), "--url", a.url, "--dataset", a.dataset, "--sampler", "tpe",
                        "--seed", str(seed), "--trials", str(trials), "--batch-size", "100", "--target", str(ref["target"]), "--out", path],
                       check=True, capture_output=True, text=True, env=dict(os.environ, RAGTUNER_MAIN=os.getcwd()))
        summary = json.load(open(path))["summary"]
        best = summary["checkpoints"][str(trials)]
        row = dict(seed=seed, query_evaluations=trials * 100, config=best["best_config"], test_reward=best["best_test_reward"],
                   within_2_percent=best["best_test_reward"] >= ref["target"],
                   train_reward=whole_split(a.url, description, best["best_config"], "train")[0])
        results["tpe"].append(row)
        print(json.dumps(dict(tpe=row)), flush=True)
    mean = lambda rows, key="test_reward": sum(r[key] for r in rows) / len(rows) if rows else float("nan")  # noqa: E731
    results["summary"] = dict(
        tuner_within=f'{sum(r["within_2_percent"] for r in results["tuner"])} of {len(results["tuner"])}', tuner_mean=mean(results["tuner"]),
        tpe_within=f'{sum(r["within_2_percent"] for r in results["tpe"])} of {len(results["tpe"])}', tpe_mean=mean(results["tpe"]),
        tuner_train_mean=mean(results["tuner"], "train_reward"), tpe_train_mean=mean(results["tpe"], "train_reward"))
    json.dump(results, open(os.path.join(a.out, "comparison.json"), "w"), indent=1)
    print(json.dumps(results["summary"]))


if __name__ == "__main__":
    main()
