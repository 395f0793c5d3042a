"""How hard issue 25's budget target is: successive halving over the grid with common random
numbers, against `tuner serve`'s named-question protocol, counting every new (configuration,
question) pair paid for. Prints the returned configuration's whole-test-split reward (read from
`tuner evaluate --grid --split test --json`) against the target from reference.py.

Rungs (default): every grid configuration on the same 6 train questions, the best 112 on 18,
28 on 60, 7 on 260, 2 on all 809 (SciFact), ~9,050 query-evaluations. The questions are a
seeded, category-interleaved order of the train split; every configuration of a rung is scored
on the same ones.

--anchor N: score each configuration by a reference configuration's metrics on N questions plus
the configuration's paired difference from it on the rung's questions (instead of the rung's
questions alone); --gate-sigma Z: judge the gates at Z standard errors of that difference;
--smooth-gates: replace each gate's penalty by its normal-approximation breach probability.

  python3 successive_halving.py --url http://127.0.0.1:8091 --train grid-train.json --test grid-test.json --reference ref.json --seed 1
"""
import argparse
import json
import random
import sys
import urllib.request
from math import erf, sqrt

sys.path.insert(0, "../shared/peers/optuna")
import evalapi  # noqa: E402  (the shared reward and gates of the peer drivers)


def key(c):
    return (c["variant"], c["k"], c["rerank"], round(c["fusion_weight"], 6) if c["variant"] in ("hybrid", "rrf") else None, c["template"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--train", required=True, help="tuner evaluate --grid --split train --json")
    ap.add_argument("--test", required=True, help="tuner evaluate --grid --split test --json")
    ap.add_argument("--reference", required=True, help="reference.py's output")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--rungs", default="[[6,112],[18,28],[60,7],[260,2],[809,1]]", help="[[questions, kept], ...]")
    ap.add_argument("--anchor", type=int, default=0)
    ap.add_argument("--gate-sigma", type=float, default=0.0)
    ap.add_argument("--smooth-gates", action="store_true")
    a = ap.parse_args()
    train, test, ref = (json.load(open(f)) for f in (a.train, a.test, a.reference))
    test_by = {key(e["config"]): e for e in test["configs"]}
    description = json.load(urllib.request.urlopen(a.url + "/tuner/evaluator"))
    gates, categories = description["gates"], description["splits"]["train"]

    rng = random.Random(a.seed)
    pools = {c: rng.sample(ids, len(ids)) for c, ids in categories.items()}
    total = sum(len(v) for v in pools.values())
    order = []
    while any(pools.values()):
        for c in sorted(pools):
            for _ in range(max(1, round(len(categories[c]) / total * 6))):
                if pools[c]:
                    order.append(pools[c].pop())

    paid, kept = set(), {}

    def results(c, n):
        """The per-question records of c on the first n questions, paying only for new ones."""
        name = json.dumps(c, sort_keys=True)
        have = kept.get(name, [])
        if len(have) < n:
            ids = order[len(have):n]
            body = json.dumps({"configuration": c, "questions": {"split": "train", "ids": ids}}).encode()
            request = urllib.request.Request(a.url + "/tuner/evaluate", data=body, headers={"Content-Type": "application/json"})
            have = have + json.load(urllib.request.urlopen(request))["queries"]
            kept[name] = have
            paid.update((name, q) for q in ids)
        return have[:n]

    def column(records, field):
        return [float(r[field]) for r in records]

    def mean(v):
        return sum(v) / len(v)

    def sd(v):
        m = mean(v)
        return sqrt(sum((x - m) ** 2 for x in v) / max(len(v) - 1, 1))

    def p95(v):
        s = sorted(v)
        return s[min(len(s) - 1, int(round(0.95 * (len(s) - 1))))]

    reference = {"variant": "hybrid", "k": 8, "rerank": False, "fusion_weight": 0.5, "template": "ranked"}
    anchor = results(reference, a.anchor) if a.anchor else None

    def score(c, n):
        mine = results(c, n)
        if not anchor or n >= a.anchor:
            # The rung's questions alone: what the server's aggregates say of them.
            body = json.dumps({"configuration": c, "questions": {"split": "train", "ids": order[:n]}}).encode()
            request = urllib.request.Request(a.url + "/tuner/evaluate", data=body, headers={"Content-Type": "application/json"})
            return evalapi.reward(json.load(urllib.request.urlopen(request))["overall"], gates)[0]
        base = results(reference, n)
        diff = {f: [x - y for x, y in zip(column(mine, f), column(base, f))] for f in ("faithfulness", "relevancy", "latency_ms", "cost_usd")}
        se = {f: sd(d) / sqrt(n) for f, d in diff.items()}
        z = a.gate_sigma
        m = dict(faithfulness=mean(column(anchor, "faithfulness")) + mean(diff["faithfulness"]) - z * se["faithfulness"],
                 relevancy=mean(column(anchor, "relevancy")) + mean(diff["relevancy"]) - z * se["relevancy"],
                 latency_p95_ms=p95(column(anchor, "latency_ms")) + mean(diff["latency_ms"]) + z * se["latency_ms"],
                 cost_usd=mean(column(anchor, "cost_usd")) + mean(diff["cost_usd"]),
                 error_rate=mean([1.0 if r["error"] else 0.0 for r in mine]))
        r, breached = evalapi.reward(m, gates)
        if not a.smooth_gates:
            return r
        phi = lambda x: 0.5 * (1 + erf(x / sqrt(2)))  # noqa: E731
        s = lambda f: max(se[f], 1e-6)  # noqa: E731
        probability = (phi((gates["faithfulness_min"] - m["faithfulness"]) / s("faithfulness"))
                       + phi((gates["relevancy_min"] - m["relevancy"]) / s("relevancy"))
                       + phi((m["latency_p95_ms"] - gates["latency_p95_max_ms"]) / s("latency_ms")))
        return r + len(breached) - probability

    alive = [e["config"] for e in train["configs"]]
    for n, keep in json.loads(a.rungs):
        alive = sorted(alive, key=lambda c: -score(c, n))[:keep]
    chosen = alive[0]
    reward = test_by[key(chosen)]["reward"]
    print(json.dumps(dict(seed=a.seed, query_evaluations=len(paid), chosen=chosen, test_reward=round(reward, 4),
                          target=round(ref["target_test_reward"], 4), within_2_percent=reward >= ref["target_test_reward"])))


if __name__ == "__main__":
    main()
