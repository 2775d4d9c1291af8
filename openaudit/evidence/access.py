"""Access: gating, privacy and whether the repo is disabled (from the API, never guessed)."""

from __future__ import annotations

from openaudit.evidence import EvidenceContext
from openaudit.evidence.kinds import emits
from openaudit.evidence.model import EvidenceList

# Gate form fields that collect personal data (EU AI Act recitals: access for personal data is a price).
_PERSONAL_FIELDS = ("name", "email", "date of birth", "country", "affiliation", "job", "phone", "address")


@emits("access.gated", "access.personal-data", "access.private", "access.disabled")
def extract(ctx: EvidenceContext, out: EvidenceList) -> None:
    snap = ctx.snap
    gated = snap.gated()
    url = snap.repo_url()
    if snap.source != "localdir":
        label = {False: "not gated", "auto": "gated (access granted automatically on request)",
                 "manual": "gated (the authors approve each request)"}.get(gated, f"gated ({gated})")
        out.add("access.gated", gated if isinstance(gated, str) else False, source="api", pointer="gated",
                summary=f"Download is {label}.", url=url)
    for key in ("private", "disabled"):
        # A local folder is not a private repo: it is judged from its files, as they would be once published.
        if snap.info.get(key) is True and snap.source != "localdir":
            out.add(f"access.{key}", True, source="api", pointer=key, summary=f"The repository is {key}.", url=url)
    fields = ctx.metadata.get("extra_gated_fields")
    if isinstance(fields, dict) and gated:
        personal = [str(k) for k in fields if any(p in str(k).lower() for p in _PERSONAL_FIELDS)]
        if personal:
            out.add("access.personal-data", personal, source=ctx.meta_source(),
                    pointer=ctx.meta_pointer("extra_gated_fields"),
                    summary=f"The access form asks for personal data: {', '.join(personal[:6])}.",
                    url=ctx.meta_url("extra_gated_fields"))
