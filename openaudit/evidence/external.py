"""What the card's links outside the Hub hold, read by sources/external.py (issue 25).

- code repositories (GitHub): the commit read, archived state, the host's licence detection and the
  LICENSE text through openaudit's own identification, and which kinds of code the file tree holds
  (training, fine-tuning, evaluation, data-processing, inference), each with the file at the commit;
- papers (arXiv): title, authors, licence, and whether the paper is the model's own (its title or
  abstract names the model or its family);
- data records (Zenodo): existence and licence.

`repo_facts` is also used by evidence/code.py, which lets what a repository holds correct what the
card says of it (a "training code" link to a README-only repository is not training code).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from openaudit.evidence import EvidenceContext
from openaudit.evidence.kinds import emits
from openaudit.evidence.model import EvidenceList
from openaudit.snapshot import ExternalSnapshot


def _tokens(*words: str) -> str:
    """Words of a path delimited by /, _, -, . or the path's ends: "ppo" in "ppo_trainer.py", never in
    "support.py"; "eval" prefixes match ("evaluate", "eval_utils"), so they are given as prefixes."""
    return r"(?:^|[/_.-])(?:" + "|".join(words) + r")(?=[/_.-]|$)"


@dataclass(frozen=True)
class _TreePatterns:
    code_ext: re.Pattern[str]
    kinds: list[tuple[str, re.Pattern[str]]]
    config_ext: re.Pattern[str]
    vendored: re.Pattern[str]
    not_pipeline: re.Pattern[str]
    docs_only: re.Pattern[str]


@cache
def _tree_patterns() -> _TreePatterns:
    """Compiled on the first repository's tree, not at import (most audits read no GitHub repository;
    ~3 ms of a cold start)."""
    code_ext = re.compile(r"\.(py|ipynb|sh|bash|c|cc|cpp|cu|cuh|h|hpp|rs|go|js|ts|java|jl|scala|lua|r|swift|kt|m|mm)$",
                           re.IGNORECASE)
    d = r"(^|/)"
    # Kinds of code recognised in a file tree, by path (checked on code files, and on configs for training).
    kinds: list[tuple[str, re.Pattern[str]]] = [
        ("training", re.compile(d + r"(pre-?train\w*|train(ing|er)?|launch_train\w*)(/|[\w-]*\.\w+$)"
                                r"|" + d + r"(train|training|pretrain)[\w-]*\.(py|sh|ya?ml|json|toml)$", re.I)),
        ("fine-tuning", re.compile(_tokens(r"finetun\w*", r"fine[_-]tun\w*", "sft", "dpo", "rlhf", "ppo", "grpo",
                                           "q?lora", "peft", r"post_?train\w*", r"instruct_tun\w*"), re.I)),
        ("evaluation", re.compile(_tokens(r"evals?", r"evaluat\w*", r"eval_\w*", r"benchmarks?", r"run_eval\w*"),
                                  re.I)),
        ("data-processing", re.compile(d + r"[\w-]*(data_?prep|preprocess|prepare_data|dedup|tokeni[sz]e_data|"
                                       r"data_?processing|filter_data|build_dataset|data_pipeline)[\w-]*(/|\.\w+$)",
                                       re.I)),
        ("inference", re.compile(_tokens(r"infer\w*", r"generat\w*", "serve", "server", "serving", "demo", "chat",
                                         r"predict\w*", "sample", "sampling", "app") + r".*\.(py|sh|ipynb|js|ts)$",
                                 re.I)),
    ]
    config_ext = re.compile(r"\.(ya?ml|json|toml)$", re.I)
    vendored = re.compile(r"(^|/)(third_party|vendor|vendored|dependencies|site-packages|node_modules)/", re.I)
    not_pipeline = re.compile(r"(^|/)(examples?|recipes|use_cases|3p_integrations|tests?|docs?|notebooks?)/", re.I)
    # Files that are not code by any reading: a repository holding only these holds no code. Anything else
    # (configs, a Dockerfile, a Makefile, an unknown extension) keeps a repository from being called empty.
    docs_only = re.compile(r"(^|/)(\.github/.*|\.git\w*|LICEN[CS]E[\w.-]*|COPYING[\w.-]*|NOTICE[\w.-]*|CITATION[\w.-]*|"
                            r"AUTHORS[\w.-]*|CHANGELOG[\w.-]*|CODE_OF_CONDUCT[\w.-]*|CONTRIBUTING[\w.-]*|SECURITY[\w.-]*|"
                            r"[^/]*\.(md|markdown|rst|txt|pdf|png|jpe?g|gif|svg|webp|bib|cff|html?))$", re.I)
    return _TreePatterns(code_ext, kinds, config_ext, vendored, not_pipeline, docs_only)


def repo_facts(ext: ExternalSnapshot) -> dict[str, Any]:
    """What a GitHub repository holds at the commit read: code files, kinds of code with one file each."""
    t = _tree_patterns()
    tree = [e for e in ext.info.get("tree") or [] if isinstance(e, dict) and e.get("type") == "blob"
            and isinstance(e.get("path"), str)]
    paths = [e["path"] for e in tree]
    code = [p for p in paths if t.code_ext.search(p)]
    # Kinds are judged on the repository's own pipeline: not vendored code, examples, recipes or tests.
    own = [p for p in paths if not t.vendored.search(p) and not t.not_pipeline.search(p)]
    kinds: dict[str, str] = {}
    for kind, rx in t.kinds:
        if kind == "training":  # configs count for training; a tokenizer's training is not the model's
            hits = [p for p in own if (t.code_ext.search(p) or t.config_ext.search(p)) and rx.search(p)
                    and not re.search(r"tokeni[sz]er", p, re.I)]
        else:
            hits = [p for p in own if t.code_ext.search(p) and rx.search(p)]
        if hits:  # the shallowest file of each kind stands for it (a top-level train.py)
            kinds[kind] = min(hits, key=lambda p: (p.count("/"), not t.code_ext.search(p), p))
    repo = _as_dict(ext.info.get("repo"))
    readme = next((p for p in ext.files if p.lower().startswith("readme")), None)
    holds_code = bool(code) or bool(kinds) or bool(ext.info.get("truncated")) or any(
        not t.docs_only.search(p) for p in paths)
    return {"files": len(paths), "code_files": len(code), "holds_code": holds_code,
            "first_code": code[0] if code else None,
            "kinds": kinds, "archived": bool(repo.get("archived")), "disabled": bool(repo.get("disabled")),
            "readme": readme, "truncated": bool(ext.info.get("truncated")), "sample": paths[:6]}


def _as_dict(v: Any) -> dict[str, Any]:
    return v if isinstance(v, dict) else {}


def find_external(ctx: EvidenceContext, host: str, rid: str) -> ExternalSnapshot | None:
    low = f"{host}:{rid}".lower()
    for key, ext in ctx.bundle.external.items():
        if key.lower() == low or (ext.host == host and ext.id.lower() == rid.lower()):
            return ext
    return None


def _license_text(ext: ExternalSnapshot) -> tuple[str | None, str | None]:
    """(licence key by openaudit's identification, the file) of the repository's LICENSE text."""
    from openaudit.licenses.identify import identify_text

    for path, f in sorted(ext.files.items()):
        if re.match(r"(licen[cs]e|copying)", path, re.I):
            ident = identify_text(f.text, path)
            return (ident.key if ident else None), path
    return None, None


def _short(sha: str | None) -> str:
    return sha[:12] if sha else "?"


_DATA_WORDS = re.compile(r"\b(data ?sets?|corpus|corpora|training data|pre-?training data|"
                         r"data (dump|release|files?))\b", re.IGNORECASE)
_READ_OR_HUB = re.compile(r"^https?://(?:www\.)?(huggingface\.co|hf\.co|arxiv\.org|zenodo\.org|doi\.org/10\.5281)",
                          re.IGNORECASE)
_HOST = re.compile(r"^https?://([^/?#]+)", re.IGNORECASE)


@emits("data.external")
def _unverified_data_links(ctx: EvidenceContext, out: EvidenceList) -> None:
    """Training data linked on a host that is not read (a project site, a cloud bucket, a GitHub release):
    named as "linked, not verified" — neither found nor missing."""
    from openaudit.sources.external import external_ref

    blocks = {(b.line, b.section): b.text for b in ctx.card.blocks}
    seen: set[str] = set()
    for link in ctx.card.links:
        url = link.url
        release = re.match(r"^https?://(?:www\.)?github\.com/[^/]+/[^/]+/releases\b", url, re.I)
        if url in seen or _READ_OR_HUB.match(url) or (external_ref(url) is not None and not release):
            continue
        host = _HOST.match(url)
        if host is None:
            continue
        block = blocks.get((link.line, link.section), "")
        sentence = next((x for x in re.split(r"(?<=[.!?])\s+", block) if (link.text or url) in x), block)
        if not (_DATA_WORDS.search(link.text) or _DATA_WORDS.search(sentence[:400])):
            continue
        seen.add(url)
        out.add("data.external", {"host": host.group(1).lower()[:100], "url": url[:300], "exists": None,
                                  "license": None, "dataset": False, "verified": False},
                source="card.body", pointer=ctx.body_pointer(link.section.heading, link.line),
                url=ctx.line_url(link.line), confidence="detected",
                summary=f"The card links data at {host.group(1).lower()[:80]} ({url[:120]}): linked, not verified "
                        "(openaudit does not read that host).")
        if len(seen) >= 10:
            break


@emits("external.unread")
def extract(ctx: EvidenceContext, out: EvidenceList) -> None:
    if not ctx.bundle.external and not ctx.bundle.external_errors:
        return
    for key, ext in sorted(ctx.bundle.external.items()):
        if ext.host in ("github", "gitlab"):
            _repo(ctx, out, ext)
        elif ext.host == "arxiv":
            _arxiv(ctx, out, ext)
        elif ext.host == "zenodo":
            _zenodo(out, ext, key)
    _unverified_data_links(ctx, out)
    for key, why in sorted(ctx.bundle.external_errors.items()):
        out.add("external.unread", {"link": key, "reason": why[:300]}, source="linked-repo", pointer=key,
                confidence="inferred",
                summary=f"{key} was linked but " + ("not checked" if why.startswith("capped:") else "could not be read")
                + f" ({why[:160]}); verdicts that depend on it rest on the card's words.")


@emits("code.repo", "code.docs")
def _repo(ctx: EvidenceContext, out: EvidenceList, ext: ExternalSnapshot) -> None:
    if ext.status != "ok":
        return  # evidence/code.py reports it on the link itself (code.link role not-found / unavailable)
    facts = repo_facts(ext)
    repo = _as_dict(ext.info.get("repo"))
    host_lic = _as_dict(repo.get("license"))
    spdx = host_lic.get("spdx_id") if isinstance(host_lic.get("spdx_id"), str) else None
    spdx = None if spdx in ("NOASSERTION", "") else spdx
    if spdx is None and isinstance(host_lic.get("key"), str):  # GitLab names a licence by its key only
        from openaudit.licenses.kb import spdx_id

        spdx = spdx_id(host_lic["key"])
    ours, lic_path = _license_text(ext)
    kinds = facts["kinds"]
    parts = [f"{ext.id} at {_short(ext.revision)}"]
    if facts["archived"]:
        parts.append("archived")
    if not facts["holds_code"]:
        parts.append("holds no code" + (f" (only {', '.join(facts['sample'][:4])})" if facts["sample"] else
                                        " (empty)"))
    else:
        found = ", ".join(f"{k} code ({v})" for k, v in kinds.items())
        parts.append(f"{facts['code_files']} code files; "
                     + (found or "no training, evaluation or data-processing code recognised"))
    lic_words = []
    if spdx:
        lic_words.append(f"GitHub detects {spdx}")
    if lic_path:
        lic_words.append(f"{lic_path} reads as {ours}" if ours else f"{lic_path} not recognised")
    host_name = "GitHub" if ext.host == "github" else "GitLab"
    lic_words = [w.replace("GitHub", host_name) for w in lic_words]
    if lic_words:
        parts.append("licence: " + ", ".join(lic_words))
    else:
        parts.append("no licence file")
    first = next(iter(kinds.values()), None) or facts["first_code"] or lic_path or facts["readme"]
    out.add("code.repo", {"repo": ext.id, "host": ext.host, "commit": ext.revision, "archived": facts["archived"],
                          "license_host": spdx, "license_text": ours, "license_file": lic_path,
                          "code_files": facts["code_files"], "kinds": sorted(kinds), "readme": bool(facts["readme"]),
                          "truncated": facts["truncated"]},
            source="linked-repo", pointer=f"{ext.host}:{ext.id}@{_short(ext.revision)}",
            confidence="detected", url=ext.file_url(first) if first else ext.url(),
            summary="Linked repository " + "; ".join(parts) + ".")
    from openaudit.evidence.code import is_developer_repo

    # Documentation of the model's code: the developer's own repositories only (a third party's README
    # documents that party's code).
    if facts["readme"] and facts["holds_code"] and is_developer_repo(f"{ext.host}.com/{ext.id}", ctx.snap.repo_id):
        readme = ext.files[facts["readme"]]
        words = len(readme.text.split())
        out.add("code.docs", {"repo": ext.id, "file": facts["readme"], "words": words,
                              "sections": len(re.findall(r"(?m)^#{1,3} ", readme.text))},
                source="linked-repo", pointer=f"{ext.host}:{ext.id}@{_short(ext.revision)}:{facts['readme']}",
                confidence="detected", url=ext.file_url(facts["readme"]),
                summary=f"The code repository {ext.id} documents its code in {facts['readme']} ({words} words).")


def _names_model(text: str, ctx: EvidenceContext) -> bool:
    from openaudit.evidence.code import family_stem

    name = ctx.snap.repo_id.split("/")[-1]
    stem = family_stem(name)
    low = text.lower()
    norm = re.sub(r"[^a-z0-9]", "", low)
    if len(re.sub(r"[^a-z0-9]", "", name.lower())) >= 4 and re.sub(r"[^a-z0-9]", "", name.lower()) in norm:
        return True
    return len(stem) >= 3 and re.search(rf"\b{re.escape(stem)}", low) is not None


@emits("docs.paper", "docs.paper-meta", "docs.paper-missing", "docs.paper-published")
def _arxiv(ctx: EvidenceContext, out: EvidenceList, ext: ExternalSnapshot) -> None:
    if ext.status != "ok":
        out.add("docs.paper-missing", {"arxiv": ext.id, "detail": ext.detail}, source="linked-repo",
                pointer=f"arxiv:{ext.id}", url=ext.url(), confidence="detected",
                summary=f"The card links arXiv {ext.id}, which arXiv does not know ({ext.detail}).")
        return
    title = str(ext.info.get("title") or "")
    authors = [a for a in ext.info.get("authors") or [] if isinstance(a, str)]
    lic = ext.info.get("license") if isinstance(ext.info.get("license"), str) else None
    own = _names_model(title, ctx) or _names_model(str(ext.info.get("abstract") or "")[:3000], ctx)
    who = ", ".join(authors[:3]) + (" et al." if len(authors) > 3 else "")
    journal = ext.info.get("journal_ref") if isinstance(ext.info.get("journal_ref"), str) else None
    doi = ext.info.get("doi") if isinstance(ext.info.get("doi"), str) else None
    value = {"arxiv": ext.id, "title": title[:300], "authors": authors[:50], "license": lic, "own": own,
             "journal_ref": journal, "doi": doi}
    summary = (f"arXiv {ext.id}: “{title[:120]}” ({who or 'authors not given'}); licence "
               f"{lic or 'not stated (arXiv’s default, non-exclusive distribution)'}; "
               + ("its title or abstract names the model or its family: the model's own paper." if own else
                  "it does not name the model: a reference."))
    out.add("docs.paper-meta", value, source="linked-repo", pointer=f"arxiv:{ext.id}", url=ext.url(),
            confidence="detected", summary=summary)
    already = {str(e.value.get("arxiv")) for e in out.items if e.kind == "docs.paper" and isinstance(e.value, dict)}
    if own and (journal or doi):
        where = journal or f"DOI {doi}"
        out.add("docs.paper-published", {"arxiv": ext.id, "journal_ref": journal, "doi": doi},
                source="linked-repo", pointer=f"arxiv:{ext.id}", url=ext.url(), confidence="detected",
                summary=f"arXiv records the model's paper {ext.id} as published: {where[:160]} (its authors' "
                        "journal reference).")
    if own and ext.id not in already:
        out.add("docs.paper", {"arxiv": ext.id, "url": None, "via": "arxiv", "why": "arXiv's metadata names the model"},
                source="linked-repo", pointer=f"arxiv:{ext.id}", url=ext.url(), confidence="detected",
                summary=f"The model's paper: arXiv {ext.id}, “{title[:120]}” (arXiv's title or abstract names the "
                        "model or its family).")


@emits("data.external")
def _zenodo(out: EvidenceList, ext: ExternalSnapshot, key: str) -> None:
    if ext.status != "ok":
        out.add("data.external", {"host": "zenodo", "id": ext.id, "exists": False, "license": None},
                source="linked-repo", pointer=key, url=ext.url(), confidence="detected",
                summary=f"The card links Zenodo record {ext.id}, which Zenodo does not serve ({ext.detail}).")
        return
    lic = ext.info.get("license") if isinstance(ext.info.get("license"), str) else None
    files = [f for f in ext.info.get("files") or [] if isinstance(f, dict)]
    total = sum(f["size"] for f in files if isinstance(f.get("size"), int))
    from openaudit.evidence._util import human_bytes

    kind = ext.info.get("resource_type") if isinstance(ext.info.get("resource_type"), str) else None
    out.add("data.external", {"host": "zenodo", "id": ext.id, "exists": True, "license": lic,
                              "title": str(ext.info.get("title") or "")[:200], "files": len(files),
                              "access": ext.info.get("access_right"), "type": kind,
                              "dataset": kind == "dataset" and ext.info.get("access_right") in (None, "open")},
            source="linked-repo", pointer=key, url=ext.url(), confidence="detected",
            summary=(f"Zenodo {kind or 'record'} {ext.id} “{str(ext.info.get('title') or '')[:100]}” exists: "
                     f"{len(files)} "
                     f"file(s), {human_bytes(total)}; licence {lic or 'not stated'}"
                     + (f"; access {ext.info.get('access_right')}" if ext.info.get("access_right") else "") + "."))
