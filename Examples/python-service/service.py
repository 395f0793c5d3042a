#!/usr/bin/env python3
"""A small RAG service with knobs of its own, written with Python's standard library only.

It answers SciFact claims (a BEIR folder) from a BM25 index over fixed-size chunks of the
corpus, with two answer strategies. Its knobs (KNOBS) are not the tuner's built-in ones:

  answer_model   categorical  small: one extracted sentence; large: two, chosen with term
                              weights, at several times the latency and cost
  chunk_words    integer      words per indexed chunk
  top_k          integer      chunks put in the answer's context
  rewrite_query  bernoulli    expand the query with terms of a first retrieval (an extra call)

It speaks RAG Tuner's evaluator protocol (docs/openapi.yaml in the tuner's repository):
GET /tuner/evaluator describes its questions, gates and knobs; POST /tuner/evaluate answers a
configuration on named questions or a seeded batch with its own judging (relevancy: the rank of
the first chunk from a relevant document, as in nDCG; faithfulness: the share of the answer's
sentences taken from relevant documents). POST /query answers a user's question with the
configuration the tuner's POST /decide chooses for its category, and with the defaults when the
tuner does not answer in time: a fault on the tuner's side never reaches a user. A configuration
in the X-RAG-Configuration header overrides both (what `tuner shadow` and `tuner canary` send),
and an answer to one of the dataset's judged questions carries its judgement, so the tuner's
proxies can compare answers beside production.

No language model is called: latency and cost are modelled per answer from the tokens each
strategy reads (deterministic per question and configuration), so runs can be compared.
"""

import argparse
import hashlib
import json
import math
import random
import re
import signal
import sys
import threading
import urllib.request
from collections import Counter, defaultdict, deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

KNOBS = [
    {"name": "answer_model", "kind": "categorical", "choices": ["small", "large"], "default": "small"},
    {"name": "chunk_words", "kind": "integer", "min": 32, "max": 256, "grid": [32, 64, 128, 256], "default": 128},
    {"name": "top_k", "kind": "integer", "min": 1, "max": 10, "grid": [1, 3, 5, 8], "default": 3},
    {"name": "rewrite_query", "kind": "bernoulli", "default": True},
]
# What the service's owners hold every configuration to.
GATES = {"faithfulness_min": 0.25, "relevancy_min": 0.35, "latency_p95_max_ms": 1500, "error_rate_max": 0.01}
# Modelled answer strategies: fixed latency, latency and price per context token.
MODELS = {
    "small": {"latency_ms": 90.0, "ms_per_token": 0.04, "usd_per_token": 0.15e-6},
    "large": {"latency_ms": 260.0, "ms_per_token": 0.12, "usd_per_token": 1.0e-6},
}
REWRITE = {"latency_ms": 140.0, "usd": 0.00004}
MAX_BATCH = 5000
MAX_BODY = 256 * 1024
STOPWORDS = set("""a an and are as at be by for from has have in is it its of on or that the to was were with this
these those which who whom than then there their not no can may also between into during after before""".split())


class Unprocessable(Exception):
    """A well-formed configuration the knobs refuse: a 422 naming the knob."""


def words(text):
    return re.findall(r"[a-z0-9]+", text.lower())


def terms(text):
    return [w for w in words(text) if w not in STOPWORDS and len(w) > 1]


class Index:
    """BM25 over the corpus cut into chunks of `size` words."""

    def __init__(self, documents, size):
        self.chunks = []  # (document id, text)
        for doc_id, text in documents:
            tokens = text.split()
            for start in range(0, max(len(tokens), 1), size):
                self.chunks.append((doc_id, " ".join(tokens[start:start + size])))
        self.postings = defaultdict(list)
        self.lengths = []
        for i, (_, text) in enumerate(self.chunks):
            counts = Counter(terms(text))
            self.lengths.append(sum(counts.values()))
            for term, n in counts.items():
                self.postings[term].append((i, n))
        self.average = sum(self.lengths) / max(len(self.lengths), 1)
        n = len(self.chunks)
        self.idf = {t: math.log(1 + (n - len(p) + 0.5) / (len(p) + 0.5)) for t, p in self.postings.items()}

    def search(self, query_terms, k):
        scores = self.scores(query_terms)
        return sorted(scores, key=lambda i: (-scores[i], i))[:k]

    def scores(self, query_terms):
        scores = defaultdict(float)
        for term, weight in Counter(query_terms).items():
            idf = self.idf.get(term)
            if idf is None:
                continue
            for i, n in self.postings[term]:
                scores[i] += weight * idf * n * 2.2 / (n + 1.2 * (0.25 + 0.75 * self.lengths[i] / self.average))
        return scores


class Service:
    def __init__(self, folder):
        self.documents = []
        with open(f"{folder}/corpus.jsonl", encoding="utf-8") as f:
            for line in f:
                d = json.loads(line)
                self.documents.append((d["_id"], (d.get("title", "") + ". " + d.get("text", "")).strip()))
        self.questions = {}
        with open(f"{folder}/queries.jsonl", encoding="utf-8") as f:
            for line in f:
                q = json.loads(line)
                self.questions[q["_id"]] = (q["text"], q.get("category", "default"))
        self.relevant = defaultdict(set)
        self.splits = {}
        for split in ("train", "test"):
            ids = defaultdict(set)
            with open(f"{folder}/qrels/{split}.tsv", encoding="utf-8") as f:
                next(f)
                for line in f:
                    qid, doc, score = line.rstrip("\n").split("\t")
                    if int(score) > 0 and qid in self.questions:
                        self.relevant[qid].add(doc)
                        ids[self.questions[qid][1]].add(qid)
            self.splits[split] = {c: sorted(v) for c, v in ids.items()}
        self.document_position = {doc: i for i, (doc, _) in enumerate(self.documents)}
        # Judged questions by their text: /query judges its answers to these as evaluate does.
        self.judged = {}
        for qid in sorted(self.relevant):
            self.judged.setdefault(self.questions[qid][0], qid)
        self.indexes = {}
        self.index_lock = threading.Lock()
        self.retrievals = {}
        digest = hashlib.sha256(json.dumps([KNOBS, GATES, MODELS, REWRITE, len(self.documents)]).encode()).hexdigest()
        self.description = {
            "dataset": "scifact-python-service", "version": digest[:16], "splits": self.splits, "gates": GATES,
            "category_gates": {}, "max_batch_size": MAX_BATCH, "knobs": KNOBS,
        }
        self.evaluated = 0
        # (latency, cost) of the last answered user questions: the signals /decide is sent.
        self.recent = deque(maxlen=100)

    # Configurations

    def configuration(self, given):
        """The configuration as applied, or Unprocessable naming the knob."""
        if not isinstance(given, dict):
            raise Unprocessable("field 'configuration' must be an object of knobs")
        declared = {k["name"]: k for k in KNOBS}
        for name in sorted(given):
            if name not in declared:
                raise Unprocessable(f"knob '{name}' is not declared (declared: {', '.join(declared)})")
        applied = {}
        for name, knob in declared.items():
            value = given.get(name, knob["default"])
            kind = knob["kind"]
            if kind == "categorical" and value not in knob["choices"]:
                raise Unprocessable(f"knob '{name}' is {value!r}, expected one of {', '.join(knob['choices'])}")
            if kind == "integer" and (isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value)
                                      or not knob["min"] <= value <= knob["max"]):
                raise Unprocessable(f"knob '{name}' is {value!r}, expected an integer in {knob['min']}...{knob['max']}")
            if kind == "bernoulli" and not isinstance(value, bool):
                raise Unprocessable(f"knob '{name}' is {value!r}, expected true or false")
            applied[name] = int(value) if kind == "integer" else value
        return applied

    # Answering

    def document_index(self):
        """BM25 over whole documents, what the large model reads a chunk's document with."""
        return self.index(10**9)

    def index(self, size):
        with self.index_lock:
            if size not in self.indexes:
                self.indexes[size] = Index(self.documents, size)
            return self.indexes[size]

    def retrieve(self, question, size, rewrite):
        key = (question, size, rewrite)
        with self.index_lock:
            if key in self.retrievals:
                return self.retrievals[key]
        index = self.index(size)
        query = terms(question)
        if rewrite:
            # Pseudo-relevance feedback: the first retrieval's most frequent terms join the query.
            feedback = Counter(t for i in index.search(query, 3) for t in terms(index.chunks[i][1]) if t not in query)
            query = query + query + [t for t, _ in feedback.most_common(3)]
        ranked = index.search(query, 10)
        with self.index_lock:
            self.retrievals[key] = (index, ranked, query)
        return index, ranked, query

    def answer(self, question, c):
        """The answer's sentence and the document it came from, the context's documents in the order
        the answer model read them, latency and cost."""
        index, ranked, query = self.retrieve(question, c["chunk_words"], c["rewrite_query"])
        chunks = ranked[:c["top_k"]]
        wanted = set(query)
        if c["answer_model"] == "large":
            # The large model reads each chunk's whole document: it re-orders the context by how
            # well the document (title and abstract) matches the question before answering.
            documents = self.document_index()
            scores = documents.scores(query)
            coverage = {i: scores.get(self.document_position[index.chunks[i][0]], 0.0) for i in chunks}
            chunks = sorted(chunks, key=lambda i: (-coverage[i], chunks.index(i)))
        best = None
        for rank, i in enumerate(chunks):
            doc, text = index.chunks[i]
            for sentence in re.split(r"(?<=[.!?])\s+", text):
                score = len(set(terms(sentence)) & wanted) - rank
                if best is None or score > best[0]:
                    best = (score, doc, sentence)
        model = MODELS[c["answer_model"]]
        tokens = sum(len(index.chunks[i][1].split()) for i in chunks) + len(question.split())
        # Deterministic per question and configuration: ±15% around the modelled latency.
        jitter = int(hashlib.sha256(json.dumps([question, c], sort_keys=True).encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
        latency = (model["latency_ms"] + model["ms_per_token"] * tokens) * (0.85 + 0.3 * jitter)
        cost = model["usd_per_token"] * tokens
        if c["rewrite_query"]:
            latency += REWRITE["latency_ms"]
            cost += REWRITE["usd"]
        return best and best[1:], [index.chunks[i][0] for i in chunks], latency, cost

    def scores(self, qid, answer, docs):
        """Faithfulness and relevancy of an answer to a judged question."""
        relevant = self.relevant[qid]
        first = next((rank for rank, d in enumerate(docs) if d in relevant), None)
        relevancy = 0.0 if first is None else 1 / math.log2(first + 2)
        faithfulness = 1.0 if answer and answer[0] in relevant else 0.0
        return faithfulness, relevancy

    def judge(self, qid, c):
        text, category = self.questions[qid]
        answer, docs, latency, cost = self.answer(text, c)
        faithfulness, relevancy = self.scores(qid, answer, docs)
        return {"id": qid, "category": category, "faithfulness": faithfulness, "relevancy": relevancy,
                "latency_ms": round(latency, 3), "cost_usd": cost, "error": answer is None}

    # The protocol

    def evaluate(self, body):
        c = self.configuration(body.get("configuration"))
        questions, batch = body.get("questions"), body.get("batch")
        if (questions is None) == (batch is None):
            raise LookupError("the request names both questions and a batch, or neither: send exactly one")
        if questions is not None:
            split, ids = questions.get("split"), questions.get("ids")
            if split not in self.splits:
                raise LookupError(f"questions.split '{split}' is not judged here; available: {', '.join(self.splits)}")
            known = {q for qs in self.splits[split].values() for q in qs}
            if not isinstance(ids, list) or not 1 <= len(ids) <= MAX_BATCH or len(set(ids)) != len(ids):
                raise LookupError(f"questions.ids must hold 1 to {MAX_BATCH} distinct ids")
            unknown = next((q for q in ids if q not in known), None)
            if unknown is not None:
                raise LookupError(f"questions.ids: '{unknown}' is not a question of split '{split}'")
        else:
            split, size, seed = batch.get("split"), batch.get("size"), batch.get("seed")
            if split not in self.splits:
                raise LookupError(f"batch.split '{split}' is not judged here; available: {', '.join(self.splits)}")
            if not isinstance(size, int) or not 1 <= size <= MAX_BATCH or not isinstance(seed, int) or seed < 0:
                raise LookupError(f"batch.size must be 1...{MAX_BATCH} and batch.seed a whole number ≥ 0")
            pool = sorted(q for cat, qs in self.splits[split].items() if batch.get("category") in (None, cat) for q in qs)
            random.Random(seed).shuffle(pool)
            ids = pool[:size]
        records = [self.judge(q, c) for q in ids]
        self.evaluated += len(records)
        by_category = defaultdict(list)
        for r in records:
            by_category[r["category"]].append(r)
        return {"configuration": c, "overall": metrics(records),
                "per_category": {k: metrics(v) for k, v in by_category.items()}, "queries": records}

    def query(self, body, tuner, timeout, override=None):
        question, category = body.get("question"), body.get("category", "default")
        if not isinstance(question, str) or not question.strip():
            raise LookupError("field 'question' must be a non-empty string")
        c, source, decision = self.configuration({}), "default", None
        if override is not None:
            try:
                given = json.loads(override)
            except ValueError:
                raise LookupError("X-RAG-Configuration is not a JSON object of knobs")
            c, source = self.configuration(given), "override"
        elif tuner:
            # The context is the service's own recent behaviour; /query has no judge, so quality
            # is reported as unknown-but-typical (0.5), which a table-serving tuner ignores.
            with self.index_lock:
                recent = list(self.recent)
            latencies = sorted(r[0] for r in recent) or [0.0]
            context = {"category": category, "faithfulness": 0.5, "relevancy": 0.5,
                       "latency_p50_ms": latencies[len(latencies) // 2], "latency_p95_ms": latencies[int(0.95 * (len(latencies) - 1))],
                       "cost_usd": sum(r[1] for r in recent) / len(recent) if recent else 0.0,
                       "corpus_documents": len(self.documents), "current": c}
            try:
                request = urllib.request.Request(f"{tuner}/decide", data=json.dumps(context).encode(),
                                                 headers={"Content-Type": "application/json"})
                with urllib.request.urlopen(request, timeout=timeout) as reply:
                    decision = json.loads(reply.read(MAX_BODY))
                c, source = self.configuration(decision["configuration"]), "tuner"
            except Exception as error:  # the tuner's fault costs a default answer, never an error
                print(f"decide failed, answering with the defaults: {error}", file=sys.stderr)
        answer, docs, latency, cost = self.answer(question, c)
        with self.index_lock:
            self.recent.append((latency, cost))
        reply = {"answer": answer[1] if answer else "", "documents": docs, "configuration": c, "source": source,
                 "decision_id": decision and decision.get("decision_id"), "latency_ms": latency, "cost_usd": cost}
        qid = self.judged.get(question)
        if qid is not None:
            faithfulness, relevancy = self.scores(qid, answer, docs)
            reply["judgement"] = {"judge": "qrels", "faithfulness": faithfulness, "relevancy": relevancy}
        return reply


def metrics(records):
    n = len(records)
    latencies = sorted(r["latency_ms"] for r in records)

    def percentile(p):
        rank = p / 100 * (n - 1)
        low = math.floor(rank)
        return latencies[low] + (latencies[min(low + 1, n - 1)] - latencies[low]) * (rank - low)

    return {"n": n, "faithfulness": sum(r["faithfulness"] for r in records) / n, "relevancy": sum(r["relevancy"] for r in records) / n,
            "latency_p50_ms": percentile(50), "latency_p95_ms": percentile(95), "cost_usd": sum(r["cost_usd"] for r in records) / n,
            "error_rate": sum(r["error"] for r in records) / n}


def serve(service, host, port, tuner, timeout):
    class Handler(BaseHTTPRequestHandler):
        # HTTP/1.1 keeps connections open between a client's requests (every reply has a length).
        protocol_version = "HTTP/1.1"

        def reply(self, status, body):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            if self.path == "/tuner/evaluator":
                self.reply(200, service.description)
            elif self.path == "/health":
                self.reply(200, {"status": "ok", "evaluated_queries": service.evaluated})
            else:
                self.reply(404, {"error": {"message": f"no route {self.path}"}})

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                return self.reply(413, {"error": {"message": f"the body exceeds {MAX_BODY} bytes"}})
            try:
                body = json.loads(self.rfile.read(length) or b"null")
                if not isinstance(body, dict):
                    raise LookupError("the body must be a JSON object")
                if self.path == "/tuner/evaluate":
                    self.reply(200, service.evaluate(body))
                elif self.path == "/query":
                    self.reply(200, service.query(body, tuner, timeout, self.headers.get("X-RAG-Configuration")))
                else:
                    self.reply(404, {"error": {"message": f"no route {self.path}"}})
            except Unprocessable as error:
                self.reply(422, {"error": {"message": str(error)}})
            except (LookupError, ValueError, AttributeError, TypeError) as error:
                self.reply(400, {"error": {"message": str(error)}})

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer((host, port), Handler)
    # A parent may hand down SIGTERM blocked or ignored; this service stops on it.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    # The port line is what a test or a script waits for.
    print(json.dumps({"listening": f"http://{host}:{server.server_address[1]}"}), flush=True)
    server.serve_forever()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", required=True, help="a BEIR folder with corpus.jsonl, queries.jsonl (with categories), qrels/train.tsv and qrels/test.tsv")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090, help="0 picks a free port")
    parser.add_argument("--tuner", help="the tuner's URL (tuner serve --checkpoint): POST /query asks it for each decision")
    parser.add_argument("--decide-timeout", type=float, default=0.2, help="seconds to wait for a decision before answering with the defaults")
    args = parser.parse_args()
    serve(Service(args.dataset), args.host, args.port, args.tuner and args.tuner.rstrip("/"), args.decide_timeout)


if __name__ == "__main__":
    main()
