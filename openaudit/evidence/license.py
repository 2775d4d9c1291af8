"""TEMPORARY stub until the licence module lands (helper-3 replaces this file)."""

from openaudit.evidence import EvidenceContext
from openaudit.evidence.model import EvidenceList


def extract(ctx: EvidenceContext, out: EvidenceList) -> None:
    lic = ctx.metadata.get("license")
    cat = {"mit": "permissive", "apache-2.0": "permissive", "llama3.1": "custom-community"}.get(str(lic), "unknown")
    out.add("license.effective", {"key": lic, "category": cat, "restrictions": [], "from": "tag"},
            source="card.metadata", pointer="license", summary=f"Licence {lic} ({cat}).")
