"""Training compute estimated as 6 x parameters x tokens, only when both are disclosed (EU AI Act Art. 51(2))."""

from __future__ import annotations

from typing import Any

from openaudit.evidence import EvidenceContext
from openaudit.evidence.model import EvidenceList

SYSTEMIC_RISK_FLOP = 1e25
# Config keys that mark a mixture-of-experts model: compute follows the ACTIVE parameters, which the
# API does not report, so 6 x total x tokens is only an upper bound.
_MOE_KEYS = ("num_local_experts", "n_routed_experts", "num_experts", "moe_num_experts")
_MOE_TYPES = ("mixtral", "deepseek_v2", "deepseek_v3", "qwen2_moe", "qwen3_moe", "dbrx", "jamba", "olmoe", "gpt_oss")


def extract(ctx: EvidenceContext, out: EvidenceList) -> None:
    params = next((e for e in out.items if e.kind == "weights.parameters"), None)
    tokens = next((e for e in out.items if e.kind == "data.tokens"), None)
    if params is None or tokens is None:
        missing = " and ".join(n for n, e in (("parameter count", params), ("training tokens", tokens)) if e is None)
        out.add("compute.undisclosed", {"missing": missing}, source="api", pointer="safetensors.total / card",
                confidence="inferred", summary=f"Training compute cannot be estimated: {missing} not disclosed.")
        return
    flops = 6.0 * float(params.value["total"]) * float(tokens.value["tokens"])
    raw_cfg = ctx.snap.info.get("config")
    cfg: dict[str, Any] = raw_cfg if isinstance(raw_cfg, dict) else {}
    moe = any(k in cfg for k in _MOE_KEYS) or str(cfg.get("model_type", "")) in _MOE_TYPES
    above = flops >= SYSTEMIC_RISK_FLOP
    if moe and above:
        # An upper bound above the line decides nothing: the true (active-parameter) figure may be far below.
        out.add("compute.undisclosed", {"missing": "active parameters (mixture-of-experts)", "upper_bound": flops},
                source="api", pointer=f"{params.pointer} x {tokens.pointer}", confidence="inferred",
                summary=f"Mixture-of-experts: 6 x total parameters x tokens ≈ {flops:.2e} FLOP is only an upper bound; "
                "the active parameter count needed for the 10^25 FLOP test is not disclosed in the API.")
        return
    qualifier = " (upper bound: mixture-of-experts)" if moe else ""
    out.add("compute.estimate", {"flops": flops, "params": params.value["total"], "tokens": tokens.value["tokens"],
                                 "above_threshold": above, "moe": moe},
            source="api", pointer=f"{params.pointer} x {tokens.pointer}", confidence="inferred",
            summary=f"Estimated training compute 6·N·D ≈ {flops:.2e} FLOP{qualifier} "
            + ("(above" if above else "(below") + " the 10^25 FLOP systemic-risk presumption).")
