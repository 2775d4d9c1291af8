#!/usr/bin/env python3
"""Organisation audit benchmark (issue 7): openaudit `org` cold and warm versus the naive way.

    python benchmarks/org_audit.py --models 200 --latency-ms 50
    python benchmarks/org_audit.py --models 200 --latency-ms 50 --rate-limit 100/10
    python benchmarks/org_audit.py --models 2000 --latency-ms 50 --skip-naive

It generates a synthetic organisation of N models into a temporary snapshot store (cards, licence
texts and dataset cards taken from tests/store_build/texts when present; licences, gating, datasets,
shared base models and shared LICENSE blobs varied per model), serves it with tests/fakehub.py at
the given latency, and runs, each as a child process of this one:

  (a) cold   `openaudit org ORG` with an empty cache
  (b) warm   the same command again (unchanged repos)
  (c) naive  sequential `model_info` + `hf_hub_download` of README.md and LICENSE + `dataset_info`
             per declared dataset, per model (huggingface_hub 2.x, a fresh HF cache)
  with --audit, also `openaudit audit ID...` with every id of the organisation, cold (an empty
  --cache-dir of its own) and warm: the same models without the listing

With --format F each openaudit run also writes the report as F (`-f json -o ... -f F -o ...`).

Requests are counted from the fake hub's log (bucket api = /api/..., resolvers = /resolve/);
peak RSS is the child's own ru_maxrss (os.wait4). No internet is used.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TEXTS = ROOT / "tests" / "store_build" / "texts"
FAKEHUB = ROOT / "tests" / "fakehub.py"
ORG = "synth-org"
UPSTREAM = "upstream-lab/Base-7B"


def _blob(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _text(rel: str, fallback: str) -> str:
    p = TEXTS / rel
    return p.read_text(encoding="utf-8") if p.is_file() else fallback


def _body(card: str) -> str:
    if card.startswith("---\n"):
        end = card.find("\n---\n", 4)
        if end > 0:
            return card[end + 5:]
    return card


def write_repo(store: Path, kind: str, repo_id: str, info: dict[str, Any], files: dict[str, bytes],
               extra_siblings: list[tuple[str, int]]) -> None:
    d = store / f"{kind}s" / repo_id
    sibs = [{"rfilename": p, "size": len(b), "blobId": _blob(b)} for p, b in files.items()]
    sibs += [{"rfilename": p, "size": n, "blobId": hashlib.sha1(f"{repo_id}/{p}".encode()).hexdigest()}
             for p, n in extra_siblings]
    info = {"_id": hashlib.sha1(repo_id.encode()).hexdigest()[:24], "id": repo_id, "author": repo_id.split("/")[0],
            **info, "siblings": sorted(sibs, key=lambda s: s["rfilename"])}
    for p, b in files.items():
        (d / "files" / p).parent.mkdir(parents=True, exist_ok=True)
        (d / "files" / p).write_bytes(b)
    (d / "info.json").write_text(json.dumps(info), encoding="utf-8")


def generate(store: Path, n: int, seed: int = 7) -> dict[str, Any]:
    """A synthetic organisation of `n` models (and the datasets and external base model they name)."""
    rng = random.Random(seed)
    cards = sorted((TEXTS / "cards").glob("*.md")) if (TEXTS / "cards").is_dir() else []
    bodies = [_body(p.read_text(encoding="utf-8")) for p in cards] or ["# Model\n\n## Training\n\nWeb text.\n"]
    lic = {
        "apache-2.0": _text("licenses/apache-2.0.txt", "Apache License\nVersion 2.0, January 2004\n"),
        "mit": _text("licenses/mit.txt", "MIT License\n\nPermission is hereby granted, free of charge...\n"),
        "llama3.1": _text("licenses/llama3.1.txt", "LLAMA 3.1 COMMUNITY LICENSE AGREEMENT\n"),
        "deepseek": _text("licenses/deepseek-license.txt", "DEEPSEEK LICENSE AGREEMENT\n"),
    }
    policy = _text("licenses/use_policy_llama3.1.md", "# Llama 3.1 Acceptable Use Policy\n")
    ds_cards = sorted((TEXTS / "datasets").glob("*.md")) if (TEXTS / "datasets").is_dir() else []
    datasets = [f"synth-data/corpus-{k}" for k in range(8)]
    for k, did in enumerate(datasets):
        card = ds_cards[k % len(ds_cards)].read_text(encoding="utf-8") if ds_cards else "# corpus\n"
        write_repo(store, "dataset", did, {"sha": _blob(did.encode()), "gated": False, "private": False,
                                           "tags": ["license:odc-by"], "cardData": {"license": "odc-by"},
                                           "lastModified": "2024-01-01T00:00:00.000Z"},
                   {"README.md": ("---\nlicense: odc-by\n---\n" + _body(card)).encode()}, [])
    write_repo(store, "model", UPSTREAM, {"sha": _blob(UPSTREAM.encode()), "gated": False, "private": False,
                                          "tags": ["license:apache-2.0"], "cardData": {"license": "apache-2.0"},
                                          "safetensors": {"parameters": {"BF16": 7 * 10**9}, "total": 7 * 10**9}},
               {"README.md": b"---\nlicense: apache-2.0\n---\n# Base-7B\n\n## Training\n\nWeb text.\n",
                "LICENSE": lic["apache-2.0"].encode()}, [("model.safetensors", 14_000_000_000)])
    counts = {"gated": 0, "license_files": 0, "readmes": 0, "bin_only": 0}
    for i in range(n):
        rid = f"{ORG}/model-{i:04d}"
        r = rng.random()
        if r < 0.40:
            license_id, lfile = "apache-2.0", lic["apache-2.0"]
        elif r < 0.55:
            license_id, lfile = "mit", lic["mit"]
        elif r < 0.70:
            license_id, lfile = "llama3.1", lic["llama3.1"]
        elif r < 0.80:
            license_id, lfile = "other", lic["deepseek"]
        else:
            license_id, lfile = rng.choice(["cc-by-nc-4.0", "openrail"]), None
        gated: str | bool = False
        if (license_id == "llama3.1" and rng.random() < 0.8) or rng.random() < 0.03:
            gated = rng.choice(["manual", "auto"])
        named = rng.sample(datasets, rng.choice([0, 0, 1, 1, 2]))
        base = None
        if i >= 3:
            b = rng.random()
            base = f"{ORG}/model-{rng.randrange(3):04d}" if b < 0.3 else (UPSTREAM if b < 0.4 else None)
        meta = [f"license: {license_id}"] + (["license_name: deepseek"] if license_id == "other" else [])
        meta += ["library_name: transformers", "pipeline_tag: text-generation"]
        if named:
            meta.append("datasets:\n" + "\n".join(f"- {d}" for d in named))
        if base:
            meta.append(f"base_model: {base}")
        readme = "---\n" + "\n".join(meta) + f"\n---\n# {rid}\n\n" + bodies[i % len(bodies)]
        files = {"README.md": readme.encode()}
        if lfile is not None:
            files["LICENSE"] = lfile.encode()
            if license_id == "llama3.1":
                files["USE_POLICY.md"] = policy.encode()
        bin_only = rng.random() < 0.05
        weights = [("pytorch_model.bin", 2_000_000_000)] if bin_only else [("model.safetensors", 2_000_000_000)]
        card_data: dict[str, Any] = {"license": license_id, "library_name": "transformers"}
        if named:
            card_data["datasets"] = named
        if base:
            card_data["base_model"] = base
        tags = ["transformers", "text-generation", f"license:{license_id}", *(f"dataset:{d}" for d in named)]
        if base:
            tags.append(f"base_model:finetune:{base}")
        day = 1 + i % 28
        info: dict[str, Any] = {
            "sha": _blob(f"{rid}@1".encode()), "gated": gated, "private": False, "disabled": False,
            "tags": tags, "library_name": "transformers", "pipeline_tag": "text-generation",
            "createdAt": f"2024-{1 + i % 12:02d}-{day:02d}T00:00:00.000Z",
            "lastModified": f"2025-{1 + i % 12:02d}-{day:02d}T00:00:00.000Z",
            "cardData": card_data, "config": {"architectures": ["LlamaForCausalLM"], "model_type": "llama"},
        }
        if not bin_only:
            info["safetensors"] = {"parameters": {"BF16": 1_000_000_000}, "total": 1_000_000_000}
        write_repo(store, "model", rid, info, files,
                   [(".gitattributes", 1519), ("config.json", 700), ("tokenizer.json", 9_000_000), *weights])
        counts["gated"] += bool(gated)
        counts["bin_only"] += bin_only
        if not gated:
            counts["readmes"] += 1
            counts["license_files"] += len(files) - 1
    return counts


class Hub:
    def __init__(self, store: Path, log: Path, latency_ms: float, rate_limit: str | None):
        args = [sys.executable, str(FAKEHUB), "--store", str(store), "--port", "0", "--log", str(log),
                "--latency-ms", str(latency_ms)]
        if rate_limit:
            args += ["--rate-limit", rate_limit]
        self.log = log
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        assert self.proc.stdout is not None
        self.url = self.proc.stdout.readline().strip()

    def lines(self) -> list[dict[str, Any]]:
        if not self.log.exists():
            return []
        return [json.loads(x) for x in self.log.read_text().splitlines() if x.strip()]

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()


COUNT_KEPT = r"""
import json, sys
subjects = json.load(open(sys.argv[1], encoding="utf-8"))["subjects"]
print(sum(not (s.get("reason") or "").startswith(("budget", "rate")) for s in subjects))
"""


def kept_subjects(report: Path) -> int:
    """Subjects not lost to the budget or the rate limit, counted in a child process: parsed here, a
    2,000-model report (~90 MB) would grow this process by ~500 MB, and Linux carries a parent's
    peak RSS into the `ru_maxrss` of every child it starts afterwards (vfork + exec)."""
    if not report.exists():
        return 0
    out = subprocess.run([sys.executable, "-c", COUNT_KEPT, str(report)], capture_output=True, text=True, check=True)
    return int(out.stdout.strip())


def run_child(args: list[str], env: dict[str, str], cwd: Path | None = None) -> tuple[float, float, int, float]:
    """Run a child; wall seconds, its peak RSS in MB (os.wait4: the largest of it and the worker processes
    it waited for), exit code, CPU seconds (user + system, its workers included)."""
    t0 = time.perf_counter()
    p = subprocess.Popen(args, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.stderr is not None:
        err = p.stderr.read().decode(errors="replace")
        if err.strip():
            print(err.strip()[-600:], file=sys.stderr)
        p.stderr.close()
    return wall, usage.ru_maxrss / 1024, p.returncode, usage.ru_utime + usage.ru_stime


NAIVE = r"""
import json, sys
from huggingface_hub import HfApi
api = HfApi(endpoint=sys.argv[1], token=False)
ids = json.load(open(sys.argv[2]))
lost = 0
for rid in ids:
    try:
        info = api.model_info(rid, timeout=10)
    except Exception:
        lost += 1
        continue
    names = {s.rfilename for s in info.siblings or []}
    for f in ("README.md", "LICENSE"):
        if f in names:
            try:
                api.hf_hub_download(rid, f)
            except Exception:
                pass
    ds = (info.card_data or {}).get("datasets") if info.card_data else None
    for d in ds or []:
        try:
            api.dataset_info(d, timeout=10)
        except Exception:
            pass
print(lost, file=sys.stderr)
"""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", type=int, default=200)
    ap.add_argument("--latency-ms", type=float, default=50.0)
    ap.add_argument("--rate-limit", default=None, help="N/SECONDS per bucket, passed to fakehub")
    ap.add_argument("--jobs", type=int, default=None,
                    help="passed to openaudit as --jobs N; by default not passed (each tree's own default)")
    ap.add_argument("--depth", default="full", choices=["metadata", "card", "full"])
    ap.add_argument("--skip-naive", action="store_true")
    ap.add_argument("--format", dest="also", default=None, metavar="F",
                    help="also write the report as F (terminal, sarif, html, md, ...) beside the JSON, as a user "
                         "asking for it would: what rendering F costs an organisation's run")
    ap.add_argument("--audit", action="store_true",
                    help="also run `openaudit audit` with every id of the organisation, cold and warm (its own cache)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    ap.add_argument("--against", type=Path, default=None, metavar="DIR",
                    help="a checkout of another revision (e.g. `git worktree add /tmp/base REV`): its cold and "
                         "warm runs are interleaved with this tree's, against the same fake Hub, and reported "
                         "beside them (the fair comparison on a host whose speed drifts)")
    ap.add_argument("--repeat", type=int, default=1,
                    help="run cold and warm this many times each and report the median wall time (a shared "
                         "VM's CPU speed varies by tens of percent between runs); naive runs once")
    a = ap.parse_args(argv)
    # Byte-compile openaudit as an installed wheel would be: with PYTHONDONTWRITEBYTECODE set (as on
    # some CI machines) every run would otherwise recompile its modules from source.
    trees = [("openaudit", ROOT)]
    if a.against is not None:
        if not (a.against / "openaudit" / "__init__.py").is_file():
            ap.error(f"--against {a.against}: not a checkout of openaudit")
        trees.insert(0, ("baseline", a.against.resolve()))
    for _, tree in trees:
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(tree / "openaudit")], check=False)

    tmp = Path(tempfile.mkdtemp(prefix="openaudit-bench-"))
    store = tmp / "store"
    t0 = time.perf_counter()
    counts = generate(store, a.models)
    print(f"generated {a.models} models in {time.perf_counter() - t0:.1f} s: {counts}", file=sys.stderr)
    hub = Hub(store, tmp / "hub.jsonl", a.latency_ms, a.rate_limit)
    env = {**os.environ, "HF_ENDPOINT": hub.url, "HF_HOME": str(tmp / "hf-home"), "HF_HUB_DISABLE_TELEMETRY": "1",
           "HF_HUB_DISABLE_PROGRESS_BARS": "1", "PYTHONPATH": str(ROOT)}
    env.pop("HF_TOKEN", None)
    rows: list[dict[str, Any]] = []
    try:
        ids = sorted(f"{ORG}/{p.name}" for p in (store / "models" / ORG).iterdir())
        commands = [("org", [ORG])] + ([("audit", ids)] if a.audit else [])
        for k in range(max(1, a.repeat)):
            for label, tree in trees:
                for command, targets in commands:
                    cache = tmp / f"cache-{label}-{command}"
                    shutil.rmtree(cache, ignore_errors=True)
                    for phase in ("cold", "warm"):
                        before = len(hub.lines())
                        out = tmp / f"{label}-{command}-{phase}.json"
                        cmd = [sys.executable, "-m", "openaudit", command, *targets, "--cache-dir", str(cache),
                               *(["--jobs", str(a.jobs)] if a.jobs is not None else []),
                               "--depth", a.depth, "-q", "-f", "json", "-o", str(out)]
                        if a.also:
                            cmd += ["-f", a.also, "-o", str(out.with_suffix(f".{a.also}"))]
                        # From the temp dir: `python -m` puts the working directory first on sys.path.
                        wall, rss, code, cpu = run_child(cmd, {**env, "PYTHONPATH": str(tree)}, cwd=tmp)
                        reqs = hub.lines()[before:]
                        lost = a.models - kept_subjects(out)
                        rows.append({"run": f"{label} {command} ({phase})", "reqs": reqs, "wall": wall, "rss": rss,
                                     "exit": code, "cpu": cpu, "lost": lost, "try": k + 1})
                        print(f"  {label} {command} {phase} #{k + 1}: {wall:.2f} s, {rss:.0f} MB, exit {code}",
                              file=sys.stderr)
        if not a.skip_naive:
            (tmp / "ids.json").write_text(json.dumps(ids))
            before = len(hub.lines())
            env_n = {**env, "HF_HOME": str(tmp / "hf-home-naive")}
            t0 = time.perf_counter()
            p = subprocess.Popen([sys.executable, "-c", NAIVE, hub.url, str(tmp / "ids.json")], env=env_n,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            _, status, usage = os.wait4(p.pid, 0)
            wall = time.perf_counter() - t0
            err = p.stderr.read().decode() if p.stderr else ""
            lost_line = err.strip().splitlines()[-1] if err.strip() else "?"
            rows.append({"run": "naive (sequential)", "reqs": hub.lines()[before:], "wall": wall,
                         "rss": usage.ru_maxrss / 1024, "exit": os.waitstatus_to_exitcode(status),
                         "cpu": usage.ru_utime + usage.ru_stime,
                         "lost": int(lost_line) if lost_line.isdigit() else lost_line})
    finally:
        hub.stop()
    naive = next((r for r in rows if r["run"].startswith("naive")), None)
    n = a.models
    if a.repeat > 1:  # one row per phase: the median run by wall time (requests are the same every run)
        merged = []
        for label, command, phase in [(label, c, phase) for label, _ in trees for c, _ in commands
                                      for phase in ("cold", "warm")]:
            runs = sorted((r for r in rows if r["run"] == f"{label} {command} ({phase})"), key=lambda r: r["wall"])
            med = dict(runs[len(runs) // 2])
            walls = ", ".join(f"{r['wall']:.1f}" for r in runs)
            med["run"] += f", median of {len(runs)}: {walls} s"
            med["rss"] = max(r["rss"] for r in runs)
            merged.append(med)
        rows = merged + [r for r in rows if r["run"].startswith("naive")]
    title = (f"N={n} models, latency {a.latency_ms:g} ms, rate limit {a.rate_limit or 'none'}, "
             f"--jobs {a.jobs or 'default'}, --depth {a.depth}" + (f", also -f {a.also}" if a.also else ""))
    print(f"\n{title}\n")
    print("| run | API req/model | file req/model | total req/model | 429s | wall s | speed-up vs naive "
          "| CPU s | peak RSS MB | models lost | exit |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        reqs = [x for x in r["reqs"] if x["path"] != "/api/agent-harnesses"]
        api_n = sum(x["bucket"] == "api" for x in reqs)
        file_n = sum(x["bucket"] == "resolvers" for x in reqs)
        lim = sum(x["status"] == 429 for x in reqs)
        ratio = f"{naive['wall'] / r['wall']:.1f}×" if naive else "n/a"
        print(f"| {r['run']} | {api_n / n:.3f} | {file_n / n:.3f} | {(api_n + file_n) / n:.3f} | {lim} "
              f"| {r['wall']:.1f} | {ratio} | {r['cpu']:.1f} | {r['rss']:.0f} | {r['lost']} | {r['exit']} |")
    if a.keep:
        print(f"\nkept {tmp}", file=sys.stderr)
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
