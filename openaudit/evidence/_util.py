"""Small helpers shared by the extractors."""

from __future__ import annotations

import re
from typing import Any

_HF_URL_RE = re.compile(
    r"^https?://(?:www\.)?(?:huggingface\.co|hf\.co)/(datasets/|spaces/)?([A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*)"
)
_ARXIV_RE = re.compile(r"arxiv\.org/(?:abs|pdf)/(\d{4}\.\d{4,5})", re.IGNORECASE)
_GIT_HOST_RE = re.compile(
    r"^https?://(?:www\.)?(github\.com|gitlab\.com|codeberg\.org|bitbucket\.org)/([\w.-]+/[\w.-]+)", re.IGNORECASE
)


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def hf_link(url: str) -> tuple[str, str] | None:
    """('model'|'dataset', 'owner/name') for a huggingface.co URL, else None."""
    m = _HF_URL_RE.match(url)
    if not m:
        return None
    kind = "dataset" if m.group(1) == "datasets/" else ("space" if m.group(1) else "model")
    name = m.group(2)
    if kind == "model" and name.split("/")[0] in {"docs", "blog", "papers", "spaces", "datasets", "models", "login"}:
        return None
    return kind, name.removesuffix(".git")


def arxiv_id(url: str) -> str | None:
    m = _ARXIV_RE.search(url)
    return m.group(1) if m else None


def git_repo(url: str) -> str | None:
    m = _GIT_HOST_RE.match(url)
    if not m:
        return None
    return f"{m.group(1).lower()}/{m.group(2).removesuffix('.git')}"


def human_bytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if size < 1000 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{n} B"


def human_count(n: float) -> str:
    for div, unit in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if n >= div:
            return f"{n / div:.2f}".rstrip("0").rstrip(".") + unit
    return str(int(n))
