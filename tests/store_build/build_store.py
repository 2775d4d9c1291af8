#!/usr/bin/env python3
"""Build the realistic snapshot store under tests/store/ (see /work/shared/DESIGN.md §2).

    python tests/store_build/build_store.py            # (re)writes tests/store/
    python tests/store_build/build_store.py --out DIR  # writes the same tree elsewhere

The output is deterministic: running it twice gives byte-identical files. Inputs are the repo
specifications in ``repos.py`` and the texts under ``texts/`` (cards with their YAML front matter,
licence texts, dataset cards). ``cardData`` in every info.json is the card's front matter parsed
with ``yaml.safe_load`` (``{}`` when it does not parse, as on the Hub), so the two always agree.

blobIds are git blob sha1s: of the stored bytes for text files we store, of the LFS pointer file
for LFS files, and of a deterministic stand-in for small files we list but do not store
(config.json, tokenizer files). Weights are never stored.
"""

from __future__ import annotations

import argparse
import calendar
import hashlib
import json
import re
import shutil
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
TEXTS = HERE / "texts"
DEFAULT_OUT = HERE.parent / "store"

sys.path.insert(0, str(HERE))
import external_records  # noqa: E402
import repos  # noqa: E402

# Extensions the Hub's default .gitattributes routes to LFS, plus binary files that the Hub
# refuses to store without LFS/Xet.
LFS_EXTENSIONS = (
    ".safetensors",
    ".bin",
    ".pth",
    ".pt",
    ".ckpt",
    ".msgpack",
    ".h5",
    ".onnx",
    ".onnx_data",
    ".gguf",
    ".model",
    ".v3",
    ".pdf",
    ".png",
    ".jpg",
    ".jpeg",
    ".parquet",
    ".arrow",
    ".zst",
    ".gz",
    ".npy",
    ".tflite",
    ".ot",
)
LFS_THRESHOLD = 10 * 1024 * 1024
TGI_MODEL_TYPES = {
    "llama",
    "mistral",
    "mixtral",
    "qwen2",
    "gemma2",
    "phi",
    "falcon",
    "gpt_neox",
    "bloom",
    "olmo2",
    "granite",
    "deepseek_v3",
}
REPO_ID_RE = re.compile(r"^(?:[A-Za-z0-9][\w.-]*/)?[A-Za-z0-9][\w.-]*$")
ARXIV_RE = re.compile(r"(?:arxiv\.org/(?:abs|pdf)/|arXiv:)(\d{4}\.\d{4,5})", re.IGNORECASE)
FRONT_MATTER_RE = re.compile(r"\A---\n(.*?)\n---\n", re.DOTALL)
INCLUDE_RE = re.compile(r"^(?P<indent>[ ]*)(?P<key>[\w-]+): @@INCLUDE:(?P<paths>\S+)@@$", re.MULTILINE)


# --------------------------------------------------------------------------- hashing helpers
def git_blob_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def commit_sha(repo_id: str, version: str) -> str:
    return hashlib.sha1(f"openaudit-fixture-commit:{repo_id}@{version}".encode()).hexdigest()


def mongo_id(repo_id: str, created: str, kind: str) -> str:
    ts = calendar.timegm(datetime.strptime(created, "%Y-%m-%dT%H:%M:%S.000Z").timetuple())
    tail = hashlib.sha1(f"openaudit-fixture-id:{kind}:{repo_id}".encode()).hexdigest()[:16]
    return f"{ts:08x}{tail}"


def lfs_pointer(sha256: str, size: int) -> bytes:
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {size}\n".encode()


def is_lfs(path: str, size: int) -> bool:
    return path.lower().endswith(LFS_EXTENSIONS) or size >= LFS_THRESHOLD


# --------------------------------------------------------------------------- texts
def read_text(rel: str) -> str:
    return (TEXTS / rel).read_text(encoding="utf-8")


def render_text(src: Any) -> bytes:
    """A text spec is a path under texts/ or a (path, {placeholder: value}, strip_final_newline) tuple."""
    if isinstance(src, str):
        return read_text(src).encode("utf-8")
    rel, subst, strip_nl = src
    text = read_text(rel)
    for k, v in subst.items():
        text = text.replace(k, v)
    if strip_nl:
        text = text.rstrip("\n")
    return text.encode("utf-8")


def render_card(rel: str) -> str:
    """Expand `key: @@INCLUDE:a+b@@` lines into YAML literal blocks holding those texts."""
    text = read_text(rel)

    def expand(m: re.Match[str]) -> str:
        indent = m.group("indent")
        body = "\n".join(read_text(p).rstrip("\n") for p in m.group("paths").split("+"))
        pad = indent + "  "
        lines = [pad + line if line.strip() else "" for line in body.split("\n")]
        return f"{indent}{m.group('key')}: |\n" + "\n".join(lines)

    return INCLUDE_RE.sub(expand, text)


def split_card(text: str) -> tuple[dict[str, Any], str, bool]:
    """(cardData, body, parsed_ok) the way the Hub sees a README."""
    m = FRONT_MATTER_RE.match(text)
    if not m:
        return {}, text, True
    body = text[m.end() :]
    try:
        data = yaml.safe_load(m.group(1))
    except yaml.YAMLError:
        return {}, body, False
    return (data if isinstance(data, dict) else {}), body, True


def as_list(v: Any) -> list[Any]:
    if v is None:
        return []
    return list(v) if isinstance(v, list) else [v]


def arxiv_ids(body: str) -> list[str]:
    out: list[str] = []
    for m in ARXIV_RE.finditer(body):
        if m.group(1) not in out:
            out.append(m.group(1))
    return out


def plain_description(body: str, limit: int = 600) -> str:
    """Rough plain-text rendering of a card body, like the Hub's dataset `description`."""
    t = re.sub(r"```.*?```", " ", body, flags=re.DOTALL)
    t = re.sub(r"<!--.*?-->", " ", t, flags=re.DOTALL)
    t = re.sub(r"<[^>]+>", " ", t)
    t = re.sub(r"!\[[^\]]*\]\([^)]*\)", " ", t)
    t = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", t)
    t = re.sub(r"[#*|`>]+", " ", t)
    t = re.sub(r"-{3,}", " ", t)
    t = re.sub(r"\s+", " ", t).strip()
    return t if len(t) <= limit else t[:limit].rstrip() + "..."


def dedupe(seq: list[str]) -> list[str]:
    out: list[str] = []
    for s in seq:
        if s not in out:
            out.append(s)
    return out


# --------------------------------------------------------------------------- siblings
def build_siblings(spec: dict[str, Any], stored: dict[str, bytes]) -> list[dict[str, Any]]:
    rid = spec["id"]
    wkey = spec.get("weights_key", spec["version"])
    sibs: dict[str, dict[str, Any]] = {}
    gitattributes = read_text("gitattributes.txt").encode()
    sibs[".gitattributes"] = {
        "rfilename": ".gitattributes",
        "blobId": git_blob_sha1(gitattributes),
        "size": len(gitattributes),
    }
    for path, data in stored.items():
        sibs[path] = {"rfilename": path, "blobId": git_blob_sha1(data), "size": len(data)}
    for path, size in spec.get("files", []):
        if path in sibs:
            raise ValueError(f"{rid}: {path} listed twice")
        if is_lfs(path, size):
            sha256 = hashlib.sha256(f"openaudit-fixture-lfs:{rid}:{path}:{wkey}".encode()).hexdigest()
            ptr = lfs_pointer(sha256, size)
            sibs[path] = {
                "rfilename": path,
                "blobId": git_blob_sha1(ptr),
                "size": size,
                "lfs": {"sha256": sha256, "size": size, "pointerSize": len(ptr)},
            }
        else:
            stand_in = f"openaudit-fixture-blob:{rid}:{path}:{wkey}\n".encode()
            sibs[path] = {"rfilename": path, "blobId": git_blob_sha1(stand_in), "size": size}
    return [sibs[k] for k in sorted(sibs)]


# --------------------------------------------------------------------------- models
def model_tags(
    spec: dict[str, Any], card: dict[str, Any], body: str, names: list[str], library: str | None, pipeline: str | None
) -> list[str]:
    tags: list[str] = []
    if library:
        tags.append(library)
    if any(n.endswith(".safetensors") for n in names):
        tags.append("safetensors")
    if any(n.endswith(".bin") and "pytorch_model" in n for n in names):
        tags.append("pytorch")
    if any(n.endswith(".msgpack") for n in names):
        tags.append("jax")
    if any(n.endswith(".onnx") for n in names):
        tags.append("onnx")
    if any(n.endswith(".gguf") for n in names):
        tags.append("gguf")
    model_type = (spec.get("config") or {}).get("model_type")
    if model_type:
        tags.append(model_type)
    if pipeline:
        tags.append(pipeline)
    tags += [t for t in as_list(card.get("tags")) if isinstance(t, str)]
    tags += [lang for lang in as_list(card.get("language")) if isinstance(lang, str)]
    tags += [f"dataset:{d}" for d in as_list(card.get("datasets")) if isinstance(d, str) and REPO_ID_RE.match(d)]
    tags += [f"arxiv:{a}" for a in arxiv_ids(body)]
    relation = card.get("base_model_relation") or "finetune"
    for base in as_list(card.get("base_model")):
        canonical = repos.REDIRECTS.get(base, base)
        if canonical in repos.KNOWN_MODEL_IDS:
            tags += [f"base_model:{canonical}", f"base_model:{relation}:{canonical}"]
    tags += [f"license:{lic}" for lic in as_list(card.get("license")) if isinstance(lic, str)]
    if card.get("model-index"):
        tags.append("model-index")
    if (spec.get("config") or {}).get("auto_map"):
        tags.append("custom_code")
    tags += spec.get("extra_tags", [])
    if library == "transformers" and pipeline == "text-generation":
        tags.append("autotrain_compatible")
        if model_type in TGI_MODEL_TYPES:
            tags.append("text-generation-inference")
    if library in ("transformers", "gguf"):
        tags.append("endpoints_compatible")
    tags.append("region:us")
    return dedupe(tags)


def build_model(spec: dict[str, Any]) -> tuple[dict[str, Any], dict[str, bytes]]:
    rid = spec["id"]
    stored: dict[str, bytes] = {}
    card: dict[str, Any] = {}
    body = ""
    has_card = spec.get("card") is not None
    if has_card:
        readme = render_card(spec["card"])
        stored["README.md"] = readme.encode("utf-8")
        card, body, _ok = split_card(readme)
    for path, src in spec.get("texts", {}).items():
        stored[path] = render_text(src)
    siblings = build_siblings(spec, stored)
    names = [s["rfilename"] for s in siblings]
    # Listed but not stored: what a recorder without access (no token on a gated repo) could not read.
    for path in spec.get("not_stored", []):
        del stored[path]

    library = card.get("library_name") or spec.get("library_name")
    pipeline = card.get("pipeline_tag") or spec.get("pipeline_tag")
    owner = rid.split("/")[0]
    info: dict[str, Any] = {
        "_id": mongo_id(rid, spec["created"], "model"),
        "id": rid,
        "modelId": rid,
        "author": owner,
        "sha": commit_sha(rid, spec["version"]),
        "lastModified": spec["modified"],
        "private": False,
        "gated": spec.get("gated", False),
        "disabled": False,
        "downloads": spec.get("downloads", 0),
        "likes": spec.get("likes", 0),
    }
    if library:
        info["library_name"] = library
    if pipeline:
        info["pipeline_tag"] = pipeline
    info["tags"] = model_tags(spec, card, body, names, library, pipeline)
    info["config"] = spec.get("config") or {}
    if has_card:
        info["cardData"] = card
    if card.get("model-index") is not None:
        info["model-index"] = card["model-index"]
    if spec.get("transformers_info"):
        info["transformersInfo"] = spec["transformers_info"]
    elif library == "transformers" and pipeline == "text-generation":
        info["transformersInfo"] = {
            "auto_model": "AutoModelForCausalLM",
            "pipeline_tag": "text-generation",
            "processor": "AutoTokenizer",
        }
    if spec.get("gguf"):
        info["gguf"] = spec["gguf"]
    if spec.get("params"):
        params = spec["params"]
        info["safetensors"] = {"parameters": params, "total": sum(params.values())}
    info["siblings"] = siblings
    info["spaces"] = []
    info["createdAt"] = spec["created"]
    info["usedStorage"] = spec.get("used_storage") or sum(s["size"] for s in siblings)
    return info, stored


# --------------------------------------------------------------------------- datasets
def build_dataset(spec: dict[str, Any]) -> tuple[dict[str, Any], dict[str, bytes]]:
    rid = spec["id"]
    readme = render_card(spec["card"])
    stored = {"README.md": readme.encode("utf-8")}
    card, body, _ok = split_card(readme)
    siblings = build_siblings(spec, stored)
    tags: list[str] = []
    for key, prefix in (
        ("task_categories", "task_categories"),
        ("language", "language"),
        ("license", "license"),
        ("size_categories", "size_categories"),
    ):
        tags += [f"{prefix}:{v}" for v in as_list(card.get(key)) if isinstance(v, str)]
    tags += [t for t in as_list(card.get("tags")) if isinstance(t, str)]
    tags += spec.get("extra_tags", [])
    tags += [f"arxiv:{a}" for a in arxiv_ids(body)]
    tags.append("region:us")
    info: dict[str, Any] = {
        "_id": mongo_id(rid, spec["created"], "dataset"),
        "id": rid,
        "author": rid.split("/")[0],
        "sha": commit_sha(rid, spec["version"]),
        "lastModified": spec["modified"],
        "private": False,
        "gated": spec.get("gated", False),
        "disabled": False,
        "downloads": spec.get("downloads", 0),
        "likes": spec.get("likes", 0),
        "tags": dedupe(tags),
        "cardData": card,
        "siblings": siblings,
        "createdAt": spec["created"],
        "description": plain_description(body),
        "usedStorage": sum(s["size"] for s in siblings),
    }
    if spec.get("citation"):
        info["citation"] = spec["citation"]
    return info, stored


# --------------------------------------------------------------------------- writing
def dump_json(obj: Any) -> bytes:
    return (json.dumps(obj, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def write_repo(root: Path, info: dict[str, Any], stored: dict[str, bytes]) -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / "info.json").write_bytes(dump_json(info))
    for path, data in sorted(stored.items()):
        dest = root / "files" / path
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(data)


# --------------------------------------------------------------------------- hosts outside the Hub
EXTERNAL_HOSTS = ("github", "gitlab", "arxiv", "zenodo")


def build_external(spec: dict[str, Any]) -> tuple[dict[str, Any], dict[str, bytes]]:
    """(info.json, {name: bytes}) of one record, as openaudit.sources.external.write_external writes it."""
    stored = {name: render_text(src) for name, src in spec.get("files", {}).items()}
    info: dict[str, Any]
    if "contents" in spec:  # a synthetic fixture: every file given, the README and LICENSE stored
        contents: dict[str, str] = spec["contents"]
        stored = {p: contents[p].encode("utf-8") for p in sorted(contents) if "/" not in p
                  and re.match(r"(?i)^(readme|licen[cs]e)", p)}
        dirs = {p.rsplit("/", 1)[0] for p in contents if "/" in p}
        dirs |= {d.rsplit("/", i)[0] for d in list(dirs) for i in range(1, d.count("/") + 1)}
        tree = sorted([{"path": p, "type": "blob", "size": len(s.encode("utf-8"))} for p, s in contents.items()]
                      + [{"path": d, "type": "tree", "size": None} for d in dirs], key=lambda e: e["path"])
        info = {"repo": spec["repo"], "requested": spec["id"], "tree": tree, "truncated": False,
                "empty": not contents}
    elif spec["host"] in ("github", "gitlab"):
        blobs: dict[str, int | None] = {}
        if spec.get("tree"):
            for row in read_text(spec["tree"]).splitlines():
                path, _, size = row.partition("\t")
                blobs[path] = int(size) if size.isdigit() else None
        for name, data in stored.items():  # the texts stored are ours: the tree gives their size
            blobs[name] = len(data)
        dirs = {p.rsplit("/", 1)[0] for p in blobs if "/" in p}
        dirs |= {d.rsplit("/", i)[0] for d in list(dirs) for i in range(1, d.count("/") + 1)}
        tree = sorted([{"path": p, "type": "blob", "size": s} for p, s in blobs.items()]
                      + [{"path": d, "type": "tree", "size": None} for d in dirs], key=lambda e: e["path"])
        info = {"repo": spec["repo"], "requested": spec["id"], "tree": tree, "truncated": False,
                "empty": not blobs}
    else:
        info = spec["info"]
    doc = {"host": spec["host"], "id": spec["id"], "revision": spec.get("commit"),
           "status": spec.get("status", "ok"), "detail": spec.get("detail", ""), "taken_at": spec["taken"],
           "info": info, "files": sorted(stored)}
    return doc, stored


def build(out: Path) -> dict[str, str]:
    """Write the whole store under `out`; return {"model:id" / "dataset:id": sha}."""
    for sub in ("models", "datasets", *EXTERNAL_HOSTS):
        if (out / sub).exists():
            shutil.rmtree(out / sub)
    shas: dict[str, str] = {}
    for spec in repos.MODELS:
        info, stored = build_model(spec)
        old_storage = 0
        for old in spec.get("revisions", []):
            old_info, old_stored = build_model(old)
            write_repo(out / "models" / spec["id"] / "revisions" / old_info["sha"], old_info, old_stored)
            shas[f"model:{spec['id']}@{old['version']}"] = old_info["sha"]
            current_blobs = {s["blobId"] for s in info["siblings"]}
            old_storage += sum(s["size"] for s in old_info["siblings"] if s["blobId"] not in current_blobs)
        if old_storage:
            info["usedStorage"] += old_storage
        write_repo(out / "models" / spec["id"], info, stored)
        shas[f"model:{spec['id']}"] = info["sha"]
        for alias in spec.get("aliases", []):
            # The Hub answers an old (renamed) repo id with the canonical repo's JSON.
            write_repo(out / "models" / alias, info, stored)
            for old in spec.get("revisions", []):
                old_info, old_stored = build_model(old)
                write_repo(out / "models" / alias / "revisions" / old_info["sha"], old_info, old_stored)
    for spec in repos.DATASETS:
        info, stored = build_dataset(spec)
        write_repo(out / "datasets" / spec["id"], info, stored)
        shas[f"dataset:{spec['id']}"] = info["sha"]
    for kind, rid in repos.NOT_FOUND:  # what `openaudit snapshot` writes for a linked repo the Hub 404s
        (out / f"{kind}s" / rid).mkdir(parents=True, exist_ok=True)
        (out / f"{kind}s" / rid / "not-found.json").write_bytes(dump_json(
            {"id": rid, "taken_at": "2025-06-01T00:00:00Z", "reason": f"not-found: {kind} '{rid}' does not exist"}))
    for spec in external_records.RECORDS + external_records.FIXTURES:
        doc, stored = build_external(spec)
        write_repo(out / spec["host"] / spec["id"], doc, stored)
        if spec.get("commit"):
            shas[f"{spec['host']}:{spec['id']}"] = spec["commit"]
    return shas


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="store directory (default: tests/store)")
    ap.add_argument("--print-shas", action="store_true", help="print each repo's sha")
    args = ap.parse_args(argv)
    shas = build(args.out)
    if args.print_shas:
        for k, v in shas.items():
            print(f"{v}  {k}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
