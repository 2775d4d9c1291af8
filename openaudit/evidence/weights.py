"""Weights: what was published, in which formats, how large, how many parameters.

Everything comes from the API (siblings with sizes, `safetensors`, `gguf`, `config`); no weight
file is ever downloaded.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

from openaudit.evidence import EvidenceContext
from openaudit.evidence._util import human_bytes, human_count
from openaudit.evidence.model import EvidenceList
from openaudit.snapshot import is_text_file_of_interest as _TEXT_OF_INTEREST

# Extension -> format. Order matters only for readability.
_FORMATS: dict[str, str] = {
    ".safetensors": "safetensors",
    ".bin": "pytorch",
    ".pt": "pytorch",
    ".pth": "pytorch",
    ".ckpt": "checkpoint",
    ".gguf": "gguf",
    ".ggml": "ggml",
    ".onnx": "onnx",
    ".msgpack": "flax",
    ".h5": "tensorflow",
    ".tflite": "tflite",
    ".mlmodel": "coreml",
    ".nemo": "nemo",
    ".npz": "numpy",
}
_QUANTISED_FORMATS = {"gguf", "ggml"}
# Post-training quantisation methods: weights in these are a derivative of a full-precision model.
# FP8 / MXFP4 and the like can be a model's native training precision (DeepSeek-V3/R1), so they are not.
_DERIVATIVE_QUANT = {"gptq", "awq", "bitsandbytes", "exl2", "aqlm", "hqq", "eetq", "quanto", "compressed-tensors",
                     "gguf", "marlin", "squeezellm"}
_NOT_WEIGHTS = re.compile(r"(^|/)(training_args|optimizer|scheduler|rng_state[^/]*|scaler)\.(bin|pt|pth)$")
_SMALL = 1_000_000  # files under 1 MB with a weight extension are configs or stubs, not weights
_INTERMEDIATE_RE = (
    r"(intermediate|training)\s+checkpoints?|checkpoints?\s+(are|is)\s+(available|hosted|provided|released)"
    r"|\bckpt_\d+|revision=\W?(step|ckpt)|\bstep\d+(-tokens\d+B)?\b|branches?\b.*\bcheckpoints?"
    r"|checkpoints?.*\b(branch|branches|revisions?)\b"
)


def weight_files(siblings: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    by_format: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for s in siblings:
        name = s["rfilename"]
        lower = name.lower()
        ext = next((e for e in _FORMATS if lower.endswith(e)), None)
        if ext is None or _NOT_WEIGHTS.search(lower):
            continue
        size = s.get("size")
        if isinstance(size, int) and size < _SMALL:
            continue
        by_format[_FORMATS[ext]].append(s)
    return dict(by_format)


def extract(ctx: EvidenceContext, out: EvidenceList) -> None:
    snap = ctx.snap
    by_format = weight_files(snap.siblings())
    for fmt, files in sorted(by_format.items()):
        sizes: list[int] = [f["size"] for f in files if isinstance(f.get("size"), int)]
        total = sum(sizes) if sizes else None
        folders = sorted({f["rfilename"].rsplit("/", 1)[0] for f in files if "/" in f["rfilename"]})
        first = files[0]["rfilename"]
        size_txt = f", {human_bytes(total)}" if total else ""
        out.add(
            "weights.format",
            {"format": fmt, "files": len(files), "bytes": total, "folders": folders,
             "names": [f["rfilename"] for f in files[:8]], "quantised": fmt in _QUANTISED_FORMATS},
            source="api", pointer=f"siblings[{first}]",
            summary=f"{len(files)} {fmt} file{'s' if len(files) != 1 else ''}{size_txt}"
            + (f" (in {', '.join(folders)}/)" if folders else ""),
            url=snap.file_url(first),
        )
    formats = set(by_format)
    quant_cfg = (snap.info.get("config") or {}).get("quantization_config") if isinstance(
        snap.info.get("config"), dict) else None
    if formats:
        full = formats - _QUANTISED_FORMATS
        method = str(quant_cfg.get("quant_method", "")).lower() if isinstance(quant_cfg, dict) else ""
        relation = ctx.metadata.get("base_model_relation")
        quantised_only = not full or method in _DERIVATIVE_QUANT or (bool(quant_cfg) and relation == "quantized")
        out.add(
            "weights.published",
            {"formats": sorted(formats), "full_precision": not quantised_only,
             "quantisation": (quant_cfg or {}).get("quant_method") if isinstance(quant_cfg, dict) else None},
            source="api", pointer="siblings",
            summary=("Weights are published" + (" only in a quantised form" if quantised_only else "")
                     + f" ({', '.join(sorted(formats))})."),
            url=snap.repo_url(),
        )
    else:
        out.add("weights.none", True, source="api", pointer="siblings",
                summary="No weight files are listed in the repository.", url=snap.repo_url())

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

    cfg = snap.info.get("config")
    if isinstance(cfg, dict) and (cfg.get("architectures") or cfg.get("model_type")):
        arch = cfg.get("architectures") or [cfg.get("model_type")]
        out.add("weights.architecture", {"architectures": arch, "model_type": cfg.get("model_type")},
                source="api", pointer="config.architectures",
                summary=f"Architecture published in config.json: {', '.join(map(str, arch))}.",
                url=snap.file_url("config.json"))

    for path, u in sorted(snap.unreadable.items()):  # a local folder's weights header, config, odd names
        if u.reason.value == "error" and not _TEXT_OF_INTEREST(path):
            out.add("weights.file-unreadable", {"path": path, "reason": u.reason.value, "detail": u.detail},
                    source="file", pointer=path, summary=f"{path} could not be read: {u.detail}.",
                    confidence="detected")

    for s in ctx.card.sentences(_INTERMEDIATE_RE):
        out.add("weights.intermediate", {"text": s.text}, source="card.body",
                pointer=ctx.body_pointer(s.section.heading, s.line),
                summary=f"Intermediate checkpoints: “{s.text[:160]}”", confidence="detected",
                url=ctx.line_url(s.line))
        break
