"""Hostile content (issue 26): one model never takes the run down; ids anchored; block scalars in
declared ids; lone surrogates; every output channel neutralises repository strings; the listing's
items. In process where the behaviour is the library's, through the CLI where it is the output's."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from ci_helpers import STORE, run
from hostilehub import TOKEN, HostileHub, Request, info, serve_file

from openaudit import api, audit
from openaudit.errors import InvalidRepoId
from openaudit.run import commands, linker

A, B = "openaudit-fixtures/no-card", "openaudit-fixtures/gguf-only"


# ---- 0. one model never takes the run down ------------------------------------------------------------
def _boom(*_a: Any, **_k: Any) -> Any:
    raise RuntimeError("injected failure")


@pytest.mark.parametrize("stage", ["reading", "linking", "auditing"])
def test_a_failure_in_one_models_stage_is_that_models_incomplete(stage: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from openaudit.sources.store import StoreSource

    if stage == "reading":
        real = StoreSource.model
        monkeypatch.setattr(StoreSource, "model", lambda self, rid, rev=None: _boom() if rid == A
                            else real(self, rid, rev))
    elif stage == "linking":
        real_fb = linker.fetch_bundle
        monkeypatch.setattr(commands, "fetch_bundle", lambda src, snap, *a, **k: _boom() if snap.repo_id == A
                            else real_fb(src, snap, *a, **k))
    else:
        real_ab = audit.audit_bundle
        monkeypatch.setattr(audit, "audit_bundle", lambda bundle, *a, **k: _boom() if bundle.subject.repo_id == A
                            else real_ab(bundle, *a, **k))
    report = api.audit_models([A, B], snapshots=STORE, processes=0)
    by_id = {s.repo_id: s for s in report.subjects}
    assert by_id[A].status == "incomplete"
    assert by_id[A].reason is not None and "RuntimeError" in by_id[A].reason and "injected failure" in by_id[A].reason
    assert by_id[B].status == "audited"


def test_a_failure_in_one_org_models_audit_is_that_models_incomplete(monkeypatch: pytest.MonkeyPatch) -> None:
    before = {s.repo_id: s.status for s in
              api.audit_org("openaudit-fixtures", snapshots=STORE, processes=0, depth="card").subjects}
    real_ab = audit.audit_bundle
    monkeypatch.setattr(audit, "audit_bundle", lambda bundle, *a, **k: _boom() if bundle.subject.repo_id == A
                        else real_ab(bundle, *a, **k))
    report = api.audit_org("openaudit-fixtures", snapshots=STORE, processes=0, depth="card")
    by_id = {s.repo_id: s for s in report.subjects}
    assert before[A] == "audited"
    assert by_id[A].status == "incomplete" and "injected failure" in (by_id[A].reason or "")
    # Every other model is in the report as it was without the failure.
    assert {k: s.status for k, s in by_id.items() if k != A} == {k: v for k, v in before.items() if k != A}


def test_a_renderer_failing_on_one_model_makes_it_incomplete(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import openaudit.render.markdown as md

    real = md.render
    # fails on what the audit found for A (its evidence), as a renderer bug on hostile content would
    monkeypatch.setattr(md, "render", lambda report: _boom() if any(s.repo_id == A and s.evidence
                                                                     for s in report.subjects) else real(report))
    out_md, out_json = tmp_path / "r.md", tmp_path / "r.json"
    res = run("audit", A, B, "--snapshots", str(STORE), "-q", "--format", "md", "--output", str(out_md),
              "--format", "json", "--output", str(out_json))
    assert res.exit_code == 3, res.output
    subjects = {s["repo_id"]: s for s in json.loads(out_json.read_text(encoding="utf-8"))["subjects"]}
    assert subjects[A]["status"] == "incomplete" and "while rendering md" in subjects[A]["reason"]
    assert subjects[B]["status"] == "audited"
    assert B in out_md.read_text(encoding="utf-8")


# ---- 5. ids: anchored -----------------------------------------------------------------------------------
@pytest.mark.parametrize("bad", ["owner/name\n", "owner/name\r\n", "owner\n/name", "owner/name@main\n", "\nowner/name"])
def test_an_id_with_a_newline_is_refused_everywhere(bad: str) -> None:
    from openaudit.evidence.data import valid_dataset_id
    from openaudit.repoid import parse_ref, validate_dataset_id, validate_owner, validate_repo_id
    from openaudit.snapshot import SHA_RE

    with pytest.raises(InvalidRepoId):
        parse_ref(bad)
    if "@" not in bad:
        for check in (validate_repo_id, validate_dataset_id):
            with pytest.raises(InvalidRepoId):
                check(bad)
        assert not valid_dataset_id(bad)
    with pytest.raises(InvalidRepoId):
        validate_owner("owner\n")
    assert not SHA_RE.match("a" * 40 + "\n")


def test_an_id_with_a_newline_on_the_command_line_exits_2() -> None:
    res = run("audit", "owner/name\n", "--snapshots", str(STORE), "-q")
    assert res.exit_code == 2 and "owner/name\\n" in res.output


# ---- 9. block scalars in declared ids -----------------------------------------------------------------
def test_a_block_scalar_base_model_is_evidence_never_a_request() -> None:
    from datetime import UTC, datetime

    from openaudit.snapshot import RepoSnapshot, TextFile

    card = "---\nbase_model: |\n  other/base\ndatasets:\n- |\n  some/data\nlicense: mit\n---\n# Card\n"
    snap = RepoSnapshot(repo_id="o/m", repo_type="model", source="store", taken_at=datetime.now(UTC),
                        info={"id": "o/m", "siblings": [{"rfilename": "README.md"}]},
                        files={"README.md": TextFile(path="README.md", text=card, size=len(card))})

    class NoRequests:
        name = "hub"

        def __init__(self) -> None:
            self.asked: list[str] = []

        def model(self, repo_id: str, revision: str | None = None) -> Any:
            self.asked.append(repo_id)
            raise AssertionError("a request for an invalid id")

        dataset = model

    src = NoRequests()
    bundle = api.fetch_bundle(src, snap)
    assert src.asked == []
    subject = api.audit_bundle(bundle, api.default_profiles())
    kinds = {e.kind for e in subject.evidence}
    assert {"lineage.invalid-base", "data.dataset-invalid"} <= kinds
    assert "card-metadata-invalid" in {f.id for f in subject.flags}


# ---- 4 and 8: a hostile model through every output channel ---------------------------------------------
INJECT = "\n::error title=pwned::injected\n::stop-commands::x\n"
NAME = "LICENSE-\\x" + INJECT + "\ud800"  # a backslash: not fetched, and named in the subject's reason
EVIL_CARD = ("---\nlicense: mit\nbase_model: a/b" + "\\n" + "\n---\n# Card\n\n"
             "![track](https://evil.example/pixel.png) [click](https://evil.example) <img src=x>\n")


def _evil_route(req: Request, h: Any, hub: HostileHub) -> None:
    if req.path.startswith("/api/models/h/evil"):
        data = info("h/evil", files={"README.md": EVIL_CARD.encode()})
        data["siblings"].append({"rfilename": NAME, "size": 10})
        data["tags"].append("tag\ud800" + INJECT)
        data["cardData"] = {"license": "mit", "model_name": "x\ud800" + INJECT,
                            "base_model": "a/b\n::error::base", "datasets": ["d/e\n::warning::data"]}
        body = json.dumps(data)  # ensure_ascii: the surrogate travels as a \ud800 escape, as on the wire
        return h.send(200, body.encode(), {"Content-Type": "application/json"})
    if serve_file(req, h, {"README.md": EVIL_CARD.encode()}):
        return None
    return h.send(404, b"{}", {"X-Error-Code": "RepoNotFound"})


FORMATS = ["json", "md", "html", "sarif", "junit", "github", "mof-yaml", "terminal"]


def test_hostile_strings_are_neutralised_in_every_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    summary = tmp_path / "summary.md"
    with HostileHub(_evil_route) as hub:
        args = ["audit", "h/evil", "--cache-dir", str(tmp_path / "cache")]
        for f in FORMATS:
            args += ["--format", f, "--output", str(tmp_path / f"out.{f}")]
        res = run(*args, env={"HF_ENDPOINT": hub.url, "HF_TOKEN": TOKEN, "GITHUB_STEP_SUMMARY": str(summary)})
    assert res.exit_code in (0, 1, 3), res.output
    outputs = {f: (tmp_path / f"out.{f}").read_bytes() for f in FORMATS}
    outputs["stderr"] = res.output.encode()
    outputs["summary"] = summary.read_bytes()
    for name, raw in outputs.items():
        text = raw.decode("utf-8")  # every output is valid UTF-8
        if name in ("json", "sarif", "junit", "html"):  # structured files, escaped by their own syntax
            continue
        for ln in text.splitlines():  # a line-oriented channel: nothing starts a workflow command
            assert not ln.lstrip().startswith(("::stop-commands", "::error title=pwned", "::error::base",
                                               "::warning::data")), (name, ln)
    gh = outputs["github"].decode()
    assert all(ln.startswith(("::error ", "::warning ", "::notice ", "openaudit: ")) for ln in gh.splitlines())
    summ = outputs["summary"].decode()
    assert "](https://evil" not in summ and "<img" not in summ
    docs = list(yaml.safe_load_all(outputs["mof-yaml"].decode()))
    for doc in docs:
        assert set(doc) <= {"framework", "release"}, set(doc)
    report = json.loads(outputs["json"])
    assert report["subjects"][0]["repo_id"] == "h/evil"
    assert report["subjects"][0]["status"] == "incomplete" and "::stop-commands" in report["subjects"][0]["reason"]
    assert res.exit_code == 3 and "stop-commands" in res.output and "stop-commands" in gh  # shown, escaped


def test_a_lone_surrogate_in_the_hub_json_is_replaced_on_the_way_in() -> None:
    from openaudit import textsafe

    data = json.loads('{"a": "x\\ud800", "k\\udfff": ["\\ud83d\\ude00", 1]}')
    clean = textsafe.scrub(data)
    assert clean == {"a": "x\ufffd", "k\ufffd": ["\U0001F600", 1]}
    json.dumps(clean, ensure_ascii=False).encode("utf-8")
    assert textsafe.has_surrogate_escape(b'"\\uD800"') and not textsafe.has_surrogate_escape(b'"\\u00e9"')


@pytest.mark.parametrize("text", ["a\nb", "a\r::error::x", "\x1b[31mred", "a\u202eb", "a\u2028b", "\ud800", "a\x00b",
                                  "a\x85b"])
def test_line_never_holds_a_line_break_or_a_control(text: str) -> None:
    from openaudit.textsafe import line

    out = line(text)
    assert out.isprintable() and len(out.splitlines()) == 1
    out.encode("utf-8")


def test_markdown_and_code_spans_hold_hostile_text_as_text() -> None:
    from markdown_it import MarkdownIt

    from openaudit.textsafe import code, markdown

    md = MarkdownIt("commonmark").enable("table")
    for hostile in ["![x](https://evil.example/p.png)", "[a](https://evil.example)", "<img src=x onerror=1>",
                    "a | b\n| c", "`x` ``y``", "**bold** _em_ # head", "@someone"]:
        html = md.render(f"| h |\n|---|\n| {markdown(hostile)} |\n\n{code(hostile)}\n")
        assert "<img" not in html and "<a " not in html and "<strong>" not in html and "<em>" not in html
        assert html.count("<td>") == 1
        assert re.search(r"<code>.*</code>", html)


def test_a_token_never_follows_a_redirect_off_origin_in_process() -> None:
    """The bounded GET strips the token on a followed cross-origin redirect and refuses one for JSON."""
    from openaudit.sources import http

    def route(req: Request, h: Any, hub: HostileHub) -> None:
        if req.path == "/json":
            return h.send(302, b"", {"Location": hub.other.url + "/api/models/x/y"})
        return h.send(302, b"", {"Location": hub.other.url + "/file"})

    with HostileHub(route) as hub:
        hdrs = {"authorization": f"Bearer {TOKEN}"}
        with pytest.raises(http.RedirectRefused, match="another origin"):
            http.get(hub.url + "/json", headers=hdrs, timeout=5, max_bytes=1 << 20, home=hub.url)
        assert hub.other.log == []
        r = http.get(hub.url + "/file", headers=hdrs, timeout=5, max_bytes=1 << 20, home=hub.url, cross_origin=True)
        assert r.status_code == 200 and [x["auth"] for x in hub.other.log] == [None]
        assert [x["auth"] for x in hub.log] == [f"Bearer {TOKEN}"] * 2


# ---- 10. patterns and card work linear in the worst case ----------------------------------------------
N = 100_000
ADVERSARIAL = {
    "digits": "trained on " + "9" * N + " tokenz", "digit-commas": "1," * (N // 2), "digit-dots": "1." * (N // 2),
    "spaces": " " * N + "x", "newlines": " \n" * (N // 2), "letters": "a" * N, "dotted": "a." * (N // 2),
    "dashes": "a-" * (N // 2), "words": "licensed under the " * (N // 19),
    "heading-words": "Training data: " * (N // 15), "url": "https://" + "a/" * (N // 2), "slashes": "a/b " * (N // 4),
    "punct": "*_[(|#" * (N // 6), "tokens": "1T tokens of " * (N // 13),
}


def _cpu(rx: re.Pattern[str], text: str) -> float:
    import time

    t = time.process_time()
    for _m in rx.finditer(text):
        pass
    return time.process_time() - t


def superlinear(rx: re.Pattern[str], text: str, limit: float = 0.1) -> bool:
    """More than 1 s of CPU on `text`, or (past `limit` s) 8 times, not ~4, the time of its first quarter."""
    big = _cpu(rx, text)
    if big < limit:
        return False
    return big > 1.0 or big > 8 * max(_cpu(rx, text[: len(text) // 4]), 1e-3)
CARD = audit._WARM_UP_CARD + (
    "\n## License\n\nLicensed under the Apache License 2.0; see LICENSE and the use policy.\n\n## Training data\n\n"
    "We trained on 2T tokens of The Pile, C4 and Common Crawl. Fine-tuned from meta-llama/Llama-2-7b.\n")


def _bundle(card: str, licence: str = "Apache License\nVersion 2.0, January 2004\n") -> Any:
    from datetime import UTC, datetime

    from openaudit.snapshot import RepoSnapshot, SnapshotBundle, TextFile

    sibs = [{"rfilename": "README.md"}, {"rfilename": "LICENSE"}, {"rfilename": "model.safetensors", "size": 10**9}]
    snap = RepoSnapshot(repo_id="o/m", repo_type="model", source="store", taken_at=datetime.now(UTC),
                        info={"id": "o/m", "cardData": {"license": "apache-2.0"}, "tags": [], "siblings": sibs},
                        files={"README.md": TextFile(path="README.md", text=card, size=len(card)),
                               "LICENSE": TextFile(path="LICENSE", text=licence, size=len(licence))})
    return SnapshotBundle(subject=snap)


def _card_patterns() -> dict[tuple[str, int], re.Pattern[str]]:
    """Every pattern openaudit compiles at module level, and every one its code asks `re` for while
    auditing a card and a licence (criteria included)."""
    import importlib
    import os
    import pkgutil
    import sys

    import openaudit
    from openaudit.criteria import load_profile

    found: dict[tuple[str, int], re.Pattern[str]] = {}
    for mod in pkgutil.walk_packages(openaudit.__path__, "openaudit."):
        for value in vars(importlib.import_module(mod.name)).values():
            for p in value if isinstance(value, (list, tuple)) else [value]:
                if isinstance(p, re.Pattern) and isinstance(p.pattern, str):
                    found[(p.pattern, p.flags)] = p
    real = re._compile  # type: ignore[attr-defined]

    def hook(pattern: Any, flags: Any) -> Any:
        got = real(pattern, flags)
        f = sys._getframe(1)
        while f is not None and f"{os.sep}re{os.sep}" in f.f_code.co_filename:
            f = f.f_back
        if isinstance(pattern, str) and f is not None and f.f_code.co_filename.startswith(openaudit.__path__[0]):
            found[(pattern, got.flags)] = got
        return got

    re._compile = hook  # type: ignore[attr-defined]
    try:
        profiles = [load_profile.__wrapped__(n) if hasattr(load_profile, "__wrapped__") else load_profile(n)
                    for n in ("openaudit", "mof", "osaid", "osai-index", "eu-ai-act")]
        api.audit_bundle(_bundle(CARD), profiles)
    finally:
        re._compile = real  # type: ignore[attr-defined]
    return found


@pytest.mark.slow
def test_every_pattern_on_card_or_licence_text_is_linear() -> None:
    patterns = _card_patterns()
    assert len(patterns) > 50  # the recording saw the audit's patterns
    slow = [f"{name}: {source[:120]}" for (source, _flags), rx in patterns.items()
            for name, text in ADVERSARIAL.items() if superlinear(rx, text)]
    assert not slow, slow


@pytest.mark.slow
@pytest.mark.parametrize(("before", "text", "size"), [
    # the patterns issue 26 found superlinear, as they were, on a few KB (on 100 KB: minutes to hours)
    (r"(\d[\d,.]*)\s*(trillion|billion|million|[TBM]\b)?\+?\s*(?:(?:unique|training|pre-?training|high-quality|"
     r"diverse|and|text|web|code|of)\s+){0,4}tokens", "digits", 6_000),
    (r"\b[A-Za-z][\w.]*-[\w.-]*\d[\w.-]*", "dotted", 40_000),
    (r" *\n[ \t]*", "spaces", 40_000),
])
def test_the_linearity_check_catches_a_quadratic_pattern(before: str, text: str, size: int) -> None:
    assert superlinear(re.compile(before, re.IGNORECASE), ADVERSARIAL[text][:size], limit=0.05)


@pytest.mark.parametrize(("case", "card"), [
    ("20 KB table", "# C\n\n## Training data\n\n| a | b |\n|---|---|\n" + "| data | 5 tokens |\n" * 1200),
    ("8,000 data headings", "# C\n\n" + "## Training data\n\nWe used data.\n\n" * 8000),
    ("10,000 bullets", "# C\n\n## Datasets\n\n" + "- dataset\n" * 10000),
    ("20 KB of digits", "# C\n\n## Training data\n\ntrained on " + "9" * 20000 + " tokenz\n"),
    ("160 KB licence words", "# C\n\n## License\n\n" + "licensed under the terms " * 6400),
])
def test_card_work_is_linear_in_the_worst_case(case: str, card: str) -> None:
    import time

    profiles = api.default_profiles()
    t = time.process_time()
    api.audit_bundle(_bundle(card, "Apache License " * 10000), profiles)
    assert time.process_time() - t < 10, case  # quadratic work took 12-96 s on these


def test_a_model_over_the_cpu_budget_is_incomplete(monkeypatch: pytest.MonkeyPatch) -> None:
    import openaudit.evidence as ev

    monkeypatch.setattr(ev, "MAX_AUDIT_CPU_SECONDS", -1.0)  # every audit is over it at its first check
    report = api.audit_models([A], snapshots=STORE, processes=0)
    s = report.subjects[0]
    assert s.status == "incomplete" and (s.reason or "").startswith("limit: the audit took more than")
