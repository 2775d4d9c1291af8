"""Report objects for the renderer tests: a rich synthetic comparison (frameworks, flags, lineage,
gated access, an incomplete and a skipped subject) and a hostile card, independent of the fixture store."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from openaudit.evaluate import Finding
from openaudit.evidence.model import Evidence
from openaudit.flags import Flag
from openaudit.report import (
    DimensionResult,
    FrameworkResult,
    LicenseSummary,
    LineageEntry,
    ProfileRef,
    Report,
    Subject,
)

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
SHA = "0123456789abcdef0123456789abcdef01234567"
HOSTILE = ("<script>window.__pwned=1;alert(1)</script> <img src=x onerror=\"window.__pwned=2;alert(2)\"> "
           "[x](javascript:window.__pwned=3) <!-- hidden --> @octocat | *bold* `tick`")


def _ev(repo: str, eid: str, summary: str, pointer: str, path: str | None = None, url: str | None = None,
        value: object = None) -> Evidence:
    kind = eid.split("#")[0]
    if url is None and path is not None:
        url = f"https://huggingface.co/{repo}/blob/{SHA}/{path}"
    return Evidence(id=eid, kind=kind, value=value, summary=summary, source="file" if path else "api",
                    pointer=pointer, url=url)


def _frameworks(mof_class: str | None, osaid: str, index: float, eu: str) -> dict[str, FrameworkResult]:
    return {
        "mof": FrameworkResult(profile="mof", title="Model Openness Framework", version="1.0",
                               verdict=f"Class {mof_class}" if mof_class else "none", mof_class=mof_class or "none",
                               progress={"Class III": 80.0 if mof_class else 40.0, "Class II": 50.0, "Class I": 20.0},
                               missing={"Class III": ["Model architecture documentation"]}),
        "osaid": FrameworkResult(profile="osaid", title="Open Source AI Definition", version="1.0", verdict=osaid,
                                 missing={"likely-meets": ["training data information"]}),
        "osai-index": FrameworkResult(profile="osai-index", title="OSAI Index", version="2025",
                                      verdict=f"{index:.0f}%", score=index, coverage=0.8),
        "eu-ai-act": FrameworkResult(profile="eu-ai-act", title="EU AI Act open-source exemption", version="2024",
                                     verdict=eu, reasons=["Weights public under a licence allowing use and change"
                                                          if eu == "likely-exempt" else
                                                          "The licence restricts use (not free and open-source)"]),
    }


def _subject(repo: str, verdicts: dict[str, str], score: float, lic: LicenseSummary, gated: str | bool,
             flags: list[Flag], fw: dict[str, FrameworkResult], lineage: list[LineageEntry] | None = None,
             extra_summary: str = "") -> Subject:
    evidence = [
        _ev(repo, "access.gated#1", "Download is gated (manual approval)." if gated else "Download is not gated.",
            "gated", url=f"https://huggingface.co/{repo}", value=gated),
        _ev(repo, "weights.published#1", "Weights are published (safetensors).", "siblings",
            "model.safetensors"),
        _ev(repo, "license.effective#1", f"Licence {lic.key} ({lic.category}).{extra_summary}",
            "README.md:L3 (license)", "README.md#L3"),
        _ev(repo, "docs.section#1", "Card section on training: “Training”.", "README.md#Training:L20",
            "README.md#L20"),
        _ev(repo, "code.modeling#1", "Modelling code in the repository.", "siblings[modeling.py]", "modeling.py"),
    ]
    rationale = {"weights": "Weights are published." + (" Gated." if gated else " No gate."),
                 "code": "Only code to run the model is published.",
                 "data": "The card names no training data and declares no datasets.",
                 "license": f"Licence {lic.key} ({lic.category}).",
                 "documentation": "The card has sections on training and evaluation."}
    ids = {"weights": ["weights.published#1", "access.gated#1"], "code": ["code.modeling#1"], "data": [],
           "license": ["license.effective#1"], "documentation": ["docs.section#1"]}
    dims = {d: DimensionResult(verdict=v, score={"open": 1.0, "partial": 0.5}.get(v, 0.0),  # type: ignore[arg-type]
                               rationale=rationale[d], evidence=ids[d]) for d, v in verdicts.items()}
    findings = [Finding(profile="openaudit", criterion=f"OA-{d[:3].upper()}-001", slug=f"{d}-x",
                        title=f"{d.capitalize()} is published", dimension=d, outcome=v,  # type: ignore[arg-type]
                        rationale=rationale[d], evidence=ids[d]) for d, v in verdicts.items()]
    return Subject(repo_id=repo, revision=SHA, source="store", status="audited", taken_at=NOW, score=score,
                   coverage=0.9, dimensions=dims, frameworks=fw, license=lic, flags=flags, findings=findings,
                   evidence=evidence, lineage=lineage or [])


def sample_report() -> Report:
    llama = _subject(
        "meta-llama/Llama-3.1-8B",
        {"weights": "partial", "code": "partial", "data": "closed", "license": "closed", "documentation": "open"},
        38.0, LicenseSummary(key="llama3.1", name="Llama 3.1 Community License", category="proprietary-free",
                             restrictions=["acceptable use policy", "700M monthly users"], source="tag"),
        "manual",
        [Flag(id="gated-access", title="Download requires accepting a gate", severity="warning",
              message="Download is gated (manual approval).", evidence=["access.gated#1"]),
         Flag(id="use-restrictions", title="Licence restricts use", severity="warning",
              message="The Llama 3.1 licence has an acceptable use policy.", evidence=["license.effective#1"])],
        _frameworks(None, "likely-fails", 41.0, "likely-not-exempt"))
    mistral = _subject(
        "mistralai/Mistral-7B-v0.1",
        {"weights": "open", "code": "partial", "data": "closed", "license": "open", "documentation": "partial"},
        55.0, LicenseSummary(key="apache-2.0", name="Apache License 2.0", category="permissive", source="tag"),
        False, [], _frameworks("III", "undetermined", 52.0, "likely-exempt"))
    derived = _subject(
        "someone/llama-finetune",
        {"weights": "open", "code": "unknown", "data": "unknown", "license": "closed", "documentation": "partial"},
        30.0, LicenseSummary(key="mit", name="MIT", category="permissive", source="tag"), False,
        [Flag(id="license-inherited", title="Bound by a base model's more restrictive licence", severity="error",
              message="Tagged MIT, but bound by the Llama 3.1 licence of its base model meta-llama/Llama-3.1-8B.",
              evidence=["license.effective#1"])],
        _frameworks(None, "likely-fails", 20.0, "undetermined"),
        lineage=[LineageEntry(id="meta-llama/Llama-3.1-8B-Instruct", relation="finetune", via="metadata", depth=1,
                              found=True, child="someone/llama-finetune"),
                 LineageEntry(id="meta-llama/Llama-3.1-8B", relation="finetune", via="metadata", depth=2,
                              found=False, child="meta-llama/Llama-3.1-8B-Instruct")])
    derived = derived.model_copy(update={"status": "incomplete",
                                         "reason": "README.md could not be read (gated); verdicts rest on metadata"})
    skipped = Subject(repo_id="ghost/missing-model", source="store", status="skipped",
                      reason="not-found: no such repository in the store")
    return Report(profiles=[ProfileRef(id="openaudit", version="1.0.0", sha256="0" * 64)], generated_at=NOW,
                  subjects=[llama, mistral, derived, skipped])


def hostile_report() -> Report:
    """Card-derived strings carrying script, an event handler, a javascript: link and an HTML comment."""
    repo = "evil/hostile-card"
    lic = LicenseSummary(key="other", name=HOSTILE, category="unknown", restrictions=[HOSTILE], description=HOSTILE)
    s = _subject(repo, {"weights": "open", "code": "unknown", "data": "closed", "license": "unknown",
                        "documentation": "partial"}, 40.0, lic, False,
                 [Flag(id="card-metadata-invalid", title="Model card metadata is invalid", severity="error",
                       message=HOSTILE, evidence=["docs.section#1"])],
                 _frameworks(None, "undetermined", 10.0, "undetermined"), extra_summary=" " + HOSTILE)
    evil = Evidence(id="docs.section#2", kind="docs.section", summary=HOSTILE, source="card.body",
                    pointer="README.md#<script>alert(1)</script>:L1", url="javascript:window.__pwned=4")
    evil2 = Evidence(id="docs.section#3", kind="docs.section", summary="a data: link", source="card.body",
                     pointer="README.md:L2", url="data:text/html,<script>window.__pwned=5</script>")
    dims = dict(s.dimensions)
    dims["documentation"] = dims["documentation"].model_copy(
        update={"rationale": HOSTILE, "evidence": ["docs.section#1", "docs.section#2", "docs.section#3"]})
    s = s.model_copy(update={"evidence": [*s.evidence, evil, evil2], "dimensions": dims,
                             "lineage": [LineageEntry(id="x/<script>alert(1)</script>", relation=HOSTILE,
                                                      via="card.body", depth=1, found=False)]})
    return Report(generated_at=NOW, subjects=[s])


def write_fixture_json(path: Path) -> None:
    path.write_text(sample_report().to_json(), encoding="utf-8")


def test_fixtures_are_valid_reports() -> None:
    for r in (sample_report(), hostile_report()):
        assert Report.model_validate_json(r.to_json()) == Report.model_validate_json(r.to_json())
