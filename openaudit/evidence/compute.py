"""Training compute estimated as 6 x parameters x tokens, only when both are disclosed (EU AI Act Art. 51(2))."""

from __future__ import annotations

from openaudit.evidence import EvidenceContext
from openaudit.evidence.model import EvidenceList

SYSTEMIC_RISK_FLOP = 1e25


def extract(ctx: EvidenceContext, out: EvidenceList) -> None:
    params = next((e for e in out.items if e.kind == "weights.parameters"), None)
    tokens = next((e for e in out.items if e.kind == "data.tokens"), None)
    if params is None or tokens is None:
        missing = " and ".join(n for n, e in (("parameter count", params), ("training tokens", tokens)) if e is None)
        out.add("compute.undisclosed", {"missing": missing}, source="api", pointer="safetensors.total / card",
                confidence="inferred", summary=f"Training compute cannot be estimated: {missing} not disclosed.")
        return
    flops = 6.0 * float(params.value["total"]) * float(tokens.value["tokens"])
    out.add("compute.estimate", {"flops": flops, "params": params.value["total"], "tokens": tokens.value["tokens"],
                                 "above_threshold": flops >= SYSTEMIC_RISK_FLOP},
            source="api", pointer=f"{params.pointer} x {tokens.pointer}", confidence="inferred",
            summary=f"Estimated training compute 6·N·D ≈ {flops:.2e} FLOP "
            + ("(above" if flops >= SYSTEMIC_RISK_FLOP else "(below") + " the 10^25 FLOP systemic-risk presumption).")
