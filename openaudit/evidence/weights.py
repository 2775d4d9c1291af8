"""Weights: what was published, in which formats, how large, how many parameters.

Everything comes from the API (siblings with sizes, `safetensors`, `gguf`, `config`); no weight
file is ever downloaded.
"""

from __future__ import annotations

import re
from collections import defaultdict
from functools import cache
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from openaudit.evidence import EvidenceContext
from openaudit.evidence._util import human_bytes, human_count
from openaudit.evidence.kinds import emits
from openaudit.evidence.model import EvidenceList
from openaudit.locate import criteria_dir
from openaudit.snapshot import is_text_file_of_interest as _TEXT_OF_INTEREST
from openaudit.yamlfile import load_model


class _FormatRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: str
    suffixes: list[str]
    contains: str = ""
    quantised: bool = False


class WeightFormats(BaseModel):
    """criteria/weight-formats.yaml: which files are weights, and in which format."""

    model_config = ConfigDict(extra="forbid")

    version: str
    min_bytes: int = Field(ge=0)
    unknown_binary_min_bytes: int = Field(ge=1)
    formats: list[_FormatRule]
    not_weights: list[str] = Field(default_factory=list)

    def format_of(self, lower: str) -> _FormatRule | None:
        for rule in self.formats:
            if (not rule.contains or rule.contains in lower) and lower.endswith(tuple(rule.suffixes)):
                return rule
        return None


@cache
def load_formats() -> WeightFormats:
    return load_model(criteria_dir() / "weight-formats.yaml", WeightFormats)


def quantised_formats() -> set[str]:
    return {r.format for r in load_formats().formats if r.quantised}


# Post-training quantisation methods: weights in these are a derivative of a full-precision model.
# FP8 / MXFP4 and the like can be a model's native training precision (DeepSeek-V3/R1), so they are not.
_DERIVATIVE_QUANT = {"gptq", "awq", "bitsandbytes", "exl2", "aqlm", "hqq", "eetq", "quanto", "compressed-tensors",
                     "gguf", "marlin", "squeezellm"}
_NOT_WEIGHTS = re.compile(r"(^|/)(training_args|optimizer|scheduler|rng_state[^/]*|scaler)\.(bin|pt|pth)$")
_INTERMEDIATE_RE = (
    r"(intermediate|training)\s+checkpoints?|checkpoints?\s+(are|is)\s+(available|hosted|provided|released)"
    r"|\bckpt_\d+|revision=\W?(step|ckpt)|\bstep\d+(-tokens\d+B)?\b|branches?\b.*\bcheckpoints?"
    r"|checkpoints?.*\b(branch|branches|revisions?)\b"
)


def weight_files(siblings: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Weight files by format (criteria/weight-formats.yaml)."""
    kb = load_formats()
    by_format: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for s in siblings:
        lower = s["rfilename"].lower()
        rule = kb.format_of(lower)
        if rule is None or _NOT_WEIGHTS.search(lower):
            continue
        size = s.get("size")
        if isinstance(size, int) and size < kb.min_bytes:
            continue
        by_format[rule.format].append(s)
    return dict(by_format)


def unrecognised_binaries(siblings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Large files of no known weight format and no known non-weight type: they may be weights."""
    kb = load_formats()
    out = []
    for s in siblings:
        lower = s["rfilename"].lower()
        size = s.get("size")
        if not isinstance(size, int) or size < kb.unknown_binary_min_bytes:
            continue
        if kb.format_of(lower) is not None or _NOT_WEIGHTS.search(lower):
            continue
        if any(lower.endswith(x) for x in kb.not_weights):
            continue
        out.append(s)
    return out


def extract(ctx: EvidenceContext, out: EvidenceList) -> None:
    by_format = _formats(ctx, out)
    _published(ctx, out, set(by_format))
    _parameters(ctx, out)
    _architecture(ctx, out)
    _unreadable(ctx, out)
    _intermediate(ctx, out)


@emits("weights.format")
def _formats(ctx: EvidenceContext, out: EvidenceList) -> dict[str, list[dict[str, Any]]]:
    """One item per weight format, with its files, size and folders; returns the files by format."""
    snap = ctx.snap
    by_format = weight_files(snap.siblings())
    quantised = quantised_formats()
    for fmt, files in sorted(by_format.items()):
        sizes: list[int] = [f["size"] for f in files if isinstance(f.get("size"), int)]
        total = sum(sizes) if sizes else None
        folders = sorted({f["rfilename"].rsplit("/", 1)[0] for f in files if "/" in f["rfilename"]})
        first = files[0]["rfilename"]
        size_txt = f", {human_bytes(total)}" if total else ""
        out.add(
            "weights.format",
            {"format": fmt, "files": len(files), "bytes": total, "folders": folders,
             "names": [f["rfilename"] for f in files[:8]], "quantised": fmt in quantised},
            source="api", pointer=f"siblings[{first}]",
            summary=f"{len(files)} {fmt} file{'s' if len(files) != 1 else ''}{size_txt}"
            + (f" (in {', '.join(folders)}/)" if folders else ""),
            url=snap.file_url(first),
        )
    return by_format


@emits("weights.published", "weights.unrecognised", "weights.none")
def _published(ctx: EvidenceContext, out: EvidenceList, formats: set[str]) -> None:
    """Exactly one item: weights published (only quantised?), large files of unknown type, or none."""
    snap = ctx.snap
    quant_cfg = (snap.info.get("config") or {}).get("quantization_config") if isinstance(
        snap.info.get("config"), dict) else None
    if formats:
        full = formats - quantised_formats()
        method = str(quant_cfg.get("quant_method", "")).lower() if isinstance(quant_cfg, dict) else ""
        relation = ctx.metadata.get("base_model_relation")
        # `base_model_relation: quantized` is the publisher saying so, whatever the container (.pte, .sbs).
        quantised_only = not full or method in _DERIVATIVE_QUANT or relation == "quantized"
        out.add(
            "weights.published",
            {"formats": sorted(formats), "full_precision": not quantised_only,
             "quantisation": (quant_cfg or {}).get("quant_method") if isinstance(quant_cfg, dict) else None},
            source="api", pointer="siblings",
            summary=("Weights are published" + (" only in a quantised form" if quantised_only else "")
                     + f" ({', '.join(sorted(formats))})."),
            url=snap.repo_url(),
        )
    elif unknown := unrecognised_binaries(snap.siblings()):
        # Not recognised is not absent: a format this tool does not know yet must not read as "closed".
        names = [f["rfilename"] for f in unknown]
        total = sum(f["size"] for f in unknown)
        shown = ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")
        out.add("weights.unrecognised", {"names": names[:8], "files": len(names), "bytes": total},
                source="api", pointer=f"siblings[{names[0]}]", confidence="inferred", url=snap.file_url(names[0]),
                summary=f"No file in a known weight format, but {len(names)} large file"
                f"{'s' if len(names) != 1 else ''} of unrecognised type ({shown}; {human_bytes(total)}) "
                "may hold the weights.")
    else:
        n = len(snap.siblings())
        where = "in the folder" if snap.source == "localdir" else "listed in the repository"
        out.add("weights.none", True, source="api", pointer="siblings",
                summary=f"None of the {n} file{'s' if n != 1 else ''} {where} is a weight file "
                "(no known weight format, no large binary).", url=snap.repo_url())


@emits("weights.parameters")
def _parameters(ctx: EvidenceContext, out: EvidenceList) -> None:
    """The parameter count, from the safetensors index, else from the GGUF header."""
    snap = ctx.snap
    st = snap.info.get("safetensors")
    gg = snap.info.get("gguf")
    if isinstance(st, dict) and isinstance(st.get("total"), int):
        out.add("weights.parameters", {"total": st["total"], "by_dtype": st.get("parameters") or {},
                                       "from": "safetensors"},
                source="api", pointer="safetensors.total",
                summary=f"{human_count(st['total'])} parameters ({', '.join((st.get('parameters') or {}).keys())}).",
                url=snap.repo_url())
    elif isinstance(gg, dict) and isinstance(gg.get("total"), int):
        out.add("weights.parameters", {"total": gg["total"], "by_dtype": {}, "from": "gguf"},
                source="api", pointer="gguf.total", summary=f"{human_count(gg['total'])} parameters (GGUF header).",
                url=snap.repo_url())


@emits("weights.architecture")
def _architecture(ctx: EvidenceContext, out: EvidenceList) -> None:
    snap = ctx.snap
    cfg = snap.info.get("config")
    if isinstance(cfg, dict) and (cfg.get("architectures") or cfg.get("model_type")):
        arch = cfg.get("architectures") or [cfg.get("model_type")]
        out.add("weights.architecture", {"architectures": arch, "model_type": cfg.get("model_type")},
                source="api", pointer="config.architectures",
                summary=f"Architecture published in config.json: {', '.join(map(str, arch))}.",
                url=snap.file_url("config.json"))


@emits("weights.file-unreadable")
def _unreadable(ctx: EvidenceContext, out: EvidenceList) -> None:
    for path, u in sorted(ctx.snap.unreadable.items()):  # a local folder's weights header, config, odd names
        if u.reason.value == "error" and not _TEXT_OF_INTEREST(path):
            out.add("weights.file-unreadable", {"path": path, "reason": u.reason.value, "detail": u.detail},
                    source="file", pointer=path, summary=f"{path} could not be read: {u.detail}.",
                    confidence="detected")


@emits("weights.intermediate")
def _intermediate(ctx: EvidenceContext, out: EvidenceList) -> None:
    """The first card sentence that says intermediate checkpoints are published."""
    for s in ctx.card.sentences(_INTERMEDIATE_RE):
        out.add("weights.intermediate", {"text": s.text}, source="card.body",
                pointer=ctx.body_pointer(s.section.heading, s.line),
                summary=f"Intermediate checkpoints: “{s.text[:160]}”", confidence="detected",
                url=ctx.line_url(s.line))
        break
