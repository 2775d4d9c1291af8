"""Synthetic Hub dumps in exactly the public dumps' schemas, for `openaudit census` tests and benchmarks.

* `write_models(path, n)`: cfahlgren1/hub-stats `models.parquet` — id, author, createdAt, lastModified,
  downloads, downloadsAllTime, likes, trendingScore, pipeline_tag, library_name, tags (list),
  baseModels (struct: relation, models[{_id, id}]), safetensors (struct incl. total), cardData (JSON
  string), siblings (file names only), config, gguf. No sha, no private, no gated.
* `write_cards(path, ...)`: librarian-bots/model_cards_with_metadata — modelId, author, last_modified,
  downloads, likes, library_name, tags, pipeline_tag, createdAt, card (the README, front matter included).

Rows follow patterns seen on the Hub (reference/model-facts.md): base models with their own licences
(Llama 3.1 community licence, Apache-2.0, MIT, Gemma), fine-tunes that keep or drop the base's
licence, cards that name a base in prose only, non-commercial and OpenRAIL licences, models with no
card. Card prose is our own. Deterministic for a seed.
"""

from __future__ import annotations

import hashlib
import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

# Base models every dump holds (ids and licences as on the Hub).
BASES: list[dict[str, Any]] = [
    {"id": "meta-llama/Llama-3.1-8B", "license": "llama3.1", "params": 8_030_261_248, "lib": "transformers",
     "files": ["LICENSE", "USE_POLICY.md", "README.md", "config.json", "model-00001-of-00004.safetensors",
               "model-00002-of-00004.safetensors", "generation_config.json", "tokenizer.json"],
     "downloads": 6_100_000},
    {"id": "mistralai/Mistral-7B-v0.1", "license": "apache-2.0", "params": 7_241_732_096, "lib": "transformers",
     "files": ["README.md", "config.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors",
               "tokenizer.json"], "downloads": 420_000},
    {"id": "allenai/OLMo-2-1124-7B", "license": "apache-2.0", "params": 7_298_011_136, "lib": "transformers",
     "files": ["README.md", "LICENSE", "config.json", "model-00001-of-00003.safetensors", "tokenizer.json"],
     "downloads": 35_000, "datasets": ["allenai/olmo-mix-1124"]},
    {"id": "google/gemma-2-2b", "license": "gemma", "params": 2_614_341_888, "lib": "transformers",
     "files": ["README.md", "config.json", "model.safetensors", "tokenizer.json"], "downloads": 290_000},
    {"id": "deepseek-ai/DeepSeek-R1", "license": "mit", "params": 684_531_386_000, "lib": "transformers",
     "files": ["README.md", "LICENSE", "config.json", "model-00001-of-000163.safetensors"], "downloads": 1_900_000},
]

ORGS = ["acme-ai", "northwind-labs", "quill-research", "tinyllm", "opendata-collective", "vector-forge",
        "blue-heron", "sapling-nlp", "kestrel-ml", "lumen-works", "marlin-ai", "civic-models"]
DATASETS = ["allenai/olmo-mix-1124", "HuggingFaceFW/fineweb-edu", "tatsu-lab/alpaca", "openai/gsm8k",
            "Open-Orca/OpenOrca", "teknium/OpenHermes-2.5"]
PIPELINES = ["text-generation", "text-classification", "token-classification", "feature-extraction",
             "automatic-speech-recognition", "image-classification"]

MODEL_SCHEMA_FIELDS = ["id", "author", "createdAt", "lastModified", "downloads", "downloadsAllTime", "likes",
                       "trendingScore", "pipeline_tag", "library_name", "tags", "baseModels", "safetensors",
                       "cardData", "siblings", "config", "gguf"]


def model_schema() -> Any:
    import pyarrow as pa

    ts = pa.timestamp("us", tz="UTC")
    return pa.schema([
        ("id", pa.string()), ("author", pa.string()), ("createdAt", ts), ("lastModified", ts),
        ("downloads", pa.int64()), ("downloadsAllTime", pa.int64()), ("likes", pa.int64()),
        ("trendingScore", pa.float64()), ("pipeline_tag", pa.string()), ("library_name", pa.string()),
        ("tags", pa.list_(pa.string())),
        ("baseModels", pa.struct([("relation", pa.string()),
                                  ("models", pa.list_(pa.struct([("_id", pa.string()), ("id", pa.string())])))])),
        ("safetensors", pa.struct([("parameters", pa.struct([("BF16", pa.int64()), ("F32", pa.int64()),
                                                              ("F16", pa.int64())])), ("total", pa.int64())])),
        ("cardData", pa.string()), ("siblings", pa.list_(pa.struct([("rfilename", pa.string())]))),
        ("config", pa.string()), ("gguf", pa.string()),
    ])


def card_schema() -> Any:
    import pyarrow as pa

    ts = pa.timestamp("us", tz="UTC")
    return pa.schema([("modelId", pa.string()), ("author", pa.string()), ("last_modified", ts),
                      ("downloads", pa.int64()), ("likes", pa.int64()), ("library_name", pa.string()),
                      ("tags", pa.list_(pa.string())), ("pipeline_tag", pa.string()), ("createdAt", ts),
                      ("card", pa.string())])


def _card_text(name: str, meta: dict[str, Any], body: str) -> str:
    front = yaml.safe_dump(meta, sort_keys=False).strip() if meta else ""
    head = f"---\n{front}\n---\n" if front else ""
    return f"{head}\n# {name}\n\n{body}"


_BODY_DATA = ("## Training data\n\nWe trained on a filtered mix of public web text and the instruction sets listed "
              "in the metadata, about 2T tokens in total. The filtering scripts are published with the code.\n\n")
_BODY_NO_DATA = "## Training\n\nDetails of the training run will follow in a later release.\n\n"
_BODY_TAIL = ("## Evaluation\n\n| task | score |\n|------|-------|\n| mmlu | 61.2 |\n| gsm8k | 48.0 |\n\n"
              "## Limitations\n\nThe model can state false things with confidence and reflects biases of its data.\n")


def fixture_bodies() -> list[str]:
    """Card bodies (front matter cut) of the fixture cards in tests/store_build/texts/cards: longer and
    more varied than the made-up ones (the benchmark's --real-cards)."""
    out = []
    for p in sorted((Path(__file__).parent / "store_build" / "texts" / "cards").glob("*.md")):
        text = p.read_text(encoding="utf-8")
        if text.startswith("---"):
            end = text.find("\n---", 3)
            text = text[end + 4:] if end > 0 else text
        out.append(text)
    return out


def _row(rng: random.Random, i: int, now: datetime,
         bodies: list[str] | None = None) -> tuple[dict[str, Any], str | None]:
    """One model row of hub-stats and its card (None: the model has no card)."""
    org = ORGS[i % len(ORGS)] if rng.random() < 0.8 else f"user{rng.randrange(5000)}"
    name = f"{rng.choice(['nova', 'atlas', 'ember', 'lyra', 'orbit', 'sprout', 'delta'])}-{i}"
    rid = f"{org}/{name}"
    base = rng.choice(BASES) if rng.random() < 0.6 else None
    kind = rng.random()
    meta: dict[str, Any] = {}
    tags: list[str] = []
    files = ["README.md", "config.json", "model.safetensors", ".gitattributes"]
    body = ""
    base_models = None
    if base is not None:
        relation = "quantized" if kind < 0.15 else "adapter" if kind < 0.3 else "finetune"
        if kind < 0.15:
            files = ["README.md", f"{name}.Q4_K_M.gguf", ".gitattributes"]
        elif kind < 0.3:
            files = ["README.md", "adapter_config.json", "adapter_model.safetensors"]
        style = rng.random()
        if style < 0.55:  # declares its base and keeps its licence
            meta.update(license=base["license"], base_model=base["id"])
        elif style < 0.75:  # declares its base, tags something looser (a Llama fine-tune tagged MIT)
            meta.update(license=rng.choice(["mit", "apache-2.0"]), base_model=base["id"])
        else:  # names its base in prose only
            meta.update(license=rng.choice(["apache-2.0", base["license"], "mit"]))
            body += f"This model is fine-tuned from {base['id']} on our own instruction data.\n\n"
        if "base_model" in meta:
            tags += [f"base_model:{base['id']}", f"base_model:{relation}:{base['id']}"]
            base_models = {"relation": relation, "models": [{"_id": hashlib.sha1(base["id"].encode()).hexdigest()[:24],
                                                             "id": base["id"]}]}
    else:
        meta["license"] = rng.choice(["apache-2.0", "mit", "cc-by-nc-4.0", "openrail", "creativeml-openrail-m",
                                      "bigscience-openrail-m", "cc-by-4.0", "other", "llama3.1", None])
        if meta["license"] is None:
            del meta["license"]
        elif meta["license"] == "other":
            meta["license_name"] = "custom-research-license"
    if rng.random() < 0.35:
        ds = rng.sample(DATASETS, rng.randint(1, 2))
        meta["datasets"] = ds
        tags += [f"dataset:{d}" for d in ds]
        body += _BODY_DATA
    else:
        body += _BODY_NO_DATA
    if rng.random() < 0.3:
        files.append("LICENSE")
    if rng.random() < 0.2:
        body += "The training code is at https://github.com/example-org/trainer under Apache-2.0.\n\n"
    body += _BODY_TAIL
    if bodies:
        body += "\n" + rng.choice(bodies)
    pipeline = rng.choice(PIPELINES)
    meta["pipeline_tag"] = pipeline
    meta["library_name"] = "transformers" if "model.safetensors" in files else "peft" if kind < 0.3 else "gguf"
    if "license" in meta:
        tags.append(f"license:{meta['license']}")
    tags += [meta["library_name"], pipeline, "safetensors" if "model.safetensors" in files else "gguf",
             "region:us"]
    created = now - timedelta(days=rng.randrange(1, 900), seconds=rng.randrange(86400))
    modified = created + timedelta(days=rng.randrange(0, 60))
    downloads = int(rng.paretovariate(1.1) * 10) if rng.random() < 0.7 else 0
    total = rng.choice([124_439_808, 1_235_814_400, 7_241_732_096, 8_030_261_248])
    row = {
        "id": rid, "author": org, "createdAt": created, "lastModified": modified, "downloads": downloads,
        "downloadsAllTime": downloads * rng.randint(1, 20), "likes": int(rng.paretovariate(1.5)) - 1,
        "trendingScore": round(rng.random() * 3, 3), "pipeline_tag": pipeline,
        "library_name": meta["library_name"], "tags": tags, "baseModels": base_models,
        "safetensors": {"parameters": {"BF16": total, "F32": None, "F16": None}, "total": total}
        if "model.safetensors" in files else None,
        "cardData": json.dumps(meta) if meta else None,
        "siblings": [{"rfilename": f} for f in files],
        "config": json.dumps({"model_type": "llama", "architectures": ["LlamaForCausalLM"]}),
        "gguf": json.dumps({"total": total, "architecture": "llama"}) if any(f.endswith(".gguf") for f in files)
        else None,
    }
    has_card = rng.random() < 0.85
    return row, _card_text(name, meta, body) if has_card else None


def _base_rows(now: datetime) -> list[tuple[dict[str, Any], str]]:
    out = []
    for b in BASES:
        meta: dict[str, Any] = {"license": b["license"], "library_name": b["lib"], "pipeline_tag": "text-generation"}
        if "datasets" in b:
            meta["datasets"] = b["datasets"]
        tags = [b["lib"], "safetensors", "text-generation", f"license:{b['license']}", "region:us"]
        row = {"id": b["id"], "author": b["id"].split("/")[0], "createdAt": now - timedelta(days=400),
               "lastModified": now - timedelta(days=100), "downloads": b["downloads"],
               "downloadsAllTime": b["downloads"] * 30, "likes": 1500, "trendingScore": 12.0,
               "pipeline_tag": "text-generation", "library_name": b["lib"], "tags": tags, "baseModels": None,
               "safetensors": {"parameters": {"BF16": b["params"], "F32": None, "F16": None}, "total": b["params"]},
               "cardData": json.dumps(meta), "siblings": [{"rfilename": f} for f in b["files"]],
               "config": json.dumps({"model_type": "llama"}), "gguf": None}
        body = _BODY_DATA + _BODY_TAIL if "datasets" in b else _BODY_NO_DATA + _BODY_TAIL
        out.append((row, _card_text(b["id"].split("/")[1], meta, body)))
    return out


def rows(n: int, seed: int = 7, real_cards: bool = False) -> list[tuple[dict[str, Any], str | None]]:
    """The base models first, then n - len(BASES) made-up models (at least the bases). With
    `real_cards`, each made-up card also carries the body of a fixture card (~4.7 KB on average)."""
    rng = random.Random(seed)
    now = datetime(2026, 11, 30, tzinfo=UTC)
    bodies = fixture_bodies() if real_cards else None
    out: list[tuple[dict[str, Any], str | None]] = list(_base_rows(now))
    out += [_row(rng, i, now, bodies) for i in range(max(0, n - len(out)))]
    return out


def write_models(path: Path, data: list[tuple[dict[str, Any], str | None]], row_group_size: int = 1000) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pylist([r for r, _ in data], schema=model_schema())
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path, row_group_size=row_group_size)
    return path


def write_cards(path: Path, data: list[tuple[dict[str, Any], str | None]], row_group_size: int = 1000,
                seed: int = 11) -> Path:
    """The card dump: one row per model with a card, in another order than the metadata dump."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    out = []
    for r, card in data:
        if card is None:
            continue
        out.append({"modelId": r["id"], "author": r["author"], "last_modified": r["lastModified"],
                    "downloads": r["downloads"], "likes": r["likes"], "library_name": r["library_name"],
                    "tags": r["tags"], "pipeline_tag": r["pipeline_tag"], "createdAt": r["createdAt"], "card": card})
    random.Random(seed).shuffle(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(out, schema=card_schema()), path, row_group_size=row_group_size)
    return path


def write_dumps(folder: Path, n: int, row_group_size: int = 1000, seed: int = 7,
                real_cards: bool = False) -> tuple[Path, Path]:
    data = rows(n, seed, real_cards)
    return (write_models(folder / "models.parquet", data, row_group_size),
            write_cards(folder / "cards.parquet", data, row_group_size))


if __name__ == "__main__":  # python tests/census_dumps.py OUTDIR N
    import sys

    m, c = write_dumps(Path(sys.argv[1]), int(sys.argv[2]))
    print(m, c)
