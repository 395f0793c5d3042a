#!/usr/bin/env python3
"""Writes datasets/demo: a small product knowledge base in the BEIR layout, made for the
tuner's main command to run on a fresh clone in seconds.

60 fictional products, 8 passages each (overview, specifications, troubleshooting, warranty,
compatibility, maintenance, accessories, safety): 480 passages. Three kinds of question, as categories, where different
configurations win:
  - error_code: "What does error E4127 mean on the Zephyr X200?" — one relevant passage that
    contains the rare code; exact lexical match finds it, so BM25 with a small k is enough.
  - overview:   "Tell me about the Zephyr X200." — all eight passages of the product are
    relevant; relevancy needs recall, so a larger k pays for its cost.
  - warranty:   "How long is the guarantee for the Zephyr X200?" — phrased with words the passage
    does not use (guarantee/cover vs warranty), so lexical and latent matching must be combined.
Products with an even number form the train split, odd ones the test split. Seeded: the same
files every run. Run from the repository root: python3 tools/make_demo_dataset.py
"""
import json
import os
import random

random.seed(7)
brands = ["Zephyr", "Aurora", "Quasar", "Nimbus", "Vertex", "Helios", "Cobalt", "Orion", "Lumen", "Tundra",
          "Solace", "Kestrel"]
kinds = [("air purifier", "filters the air"), ("espresso machine", "brews coffee"), ("robot vacuum", "cleans floors"),
         ("smart thermostat", "controls heating"), ("e-bike", "assists pedalling")]
faults = ["the fan is blocked", "the water tank is empty", "the battery is overheating", "a sensor lost calibration",
          "the firmware update failed", "the motor drew too much current", "the filter must be replaced",
          "the wireless module cannot reach the router"]
fixes = ["clean the intake and restart", "refill and press reset for five seconds", "let it cool for thirty minutes",
         "run the calibration routine from the settings menu", "reinstall the firmware over USB",
         "contact service to inspect the motor", "fit a new filter cartridge", "move it closer to the router"]
apps = ["HomeLink", "SmartHub", "OpenHome", "Matter bridges", "VoiceMate"]

corpus, queries, train, test = [], [], [], []
for p in range(60):
    brand = brands[p % len(brands)]
    model = f"{random.choice('XRQTKM')}{random.randint(100, 999)}"
    kind, purpose = kinds[p % len(kinds)]
    name = f"{brand} {model}"
    code = f"E{random.randint(1000, 9999)}"
    fault = random.randrange(len(faults))
    years = random.choice([1, 2, 3, 5])
    watts = random.randint(20, 1800)
    weight = round(random.uniform(1.5, 25), 1)
    app = random.choice(apps)
    ids = [f"p{p:02d}-{part}" for part in ("overview", "specs", "trouble", "warranty", "compat", "care", "extras", "safety")]
    texts = [
        (f"{name} overview", f"The {name} is a {kind} that {purpose} quietly and efficiently. It is designed for homes and small offices, "
                             f"and the {brand} range is known for simple controls and long service life."),
        (f"{name} specifications", f"The {name} draws {watts} watts at full power and weighs {weight} kilograms. "
                                   f"It has a two-year design life for wear parts and ships with a quick start guide."),
        (f"{name} troubleshooting", f"If the {name} shows error {code}, {faults[fault]}. To fix it, {fixes[fault]}. "
                                    f"Other codes are listed in the full manual."),
        (f"{name} warranty", f"The manufacturer's warranty for the {name} lasts {years} years from the date of purchase. "
                             f"Repairs under warranty require the receipt and the serial number."),
        (f"{name} compatibility", f"The {name} works with the {app} app and with voice assistants that support it. "
                                  f"Firmware updates arrive over the air every quarter."),
        (f"{name} maintenance", f"Clean the {name} once a month with a dry cloth and check the vents. "
                                f"A service kit for the {brand} range includes brushes and seals."),
        (f"{name} accessories", f"Optional accessories for the {name} include a travel case, a spare cable and a wall mount. "
                                f"All {brand} accessories are sold separately."),
        (f"{name} safety", f"Keep the {name} away from water and children, and unplug it before cleaning. "
                           f"It meets the applicable electrical safety standards."),
    ]
    for doc_id, (title, text) in zip(ids, texts):
        corpus.append({"_id": doc_id, "title": title, "text": text})
    split = train if p % 2 == 0 else test
    asks = [
        ("error_code", f"What does error {code} mean on the {name}?", [ids[2]]),
        ("overview", f"Tell me everything about the {name}.", ids),
        ("warranty", f"How long is the guarantee that covers a {name} after I buy it?", [ids[3]]),
    ]
    for n, (category, text, relevant) in enumerate(asks):
        query_id = f"q{p:02d}-{n}"
        queries.append({"_id": query_id, "text": text, "category": category})
        for doc_id in relevant:
            split.append(f"{query_id}\t{doc_id}\t1")

root = "datasets/demo"
os.makedirs(f"{root}/qrels", exist_ok=True)
with open(f"{root}/corpus.jsonl", "w") as f:
    f.writelines(json.dumps(d) + "\n" for d in corpus)
with open(f"{root}/queries.jsonl", "w") as f:
    f.writelines(json.dumps(q) + "\n" for q in queries)
for name, rows in (("train", train), ("test", test)):
    with open(f"{root}/qrels/{name}.tsv", "w") as f:
        f.write("query-id\tcorpus-id\tscore\n" + "\n".join(rows) + "\n")
print(f"wrote {len(corpus)} passages, {len(queries)} queries to {root}")
