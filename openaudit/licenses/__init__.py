"""Licence intelligence: the knowledge base, tag resolution, text identification, descriptions."""

from openaudit.licenses.describe import describe, restriction_phrase
from openaudit.licenses.history import license_changes
from openaudit.licenses.identify import Identification, identify_text, identify_with_reason
from openaudit.licenses.kb import (
    CATEGORIES,
    RESTRICTIONS,
    KnowledgeBase,
    LicenseFacts,
    facts_for,
    load_kb,
    load_kb_file,
    more_restrictive,
)
from openaudit.licenses.normalize import TagResolution, resolve_tag

__all__ = [
    "CATEGORIES",
    "RESTRICTIONS",
    "Identification",
    "KnowledgeBase",
    "LicenseFacts",
    "TagResolution",
    "describe",
    "facts_for",
    "identify_text",
    "identify_with_reason",
    "license_changes",
    "load_kb",
    "load_kb_file",
    "more_restrictive",
    "resolve_tag",
    "restriction_phrase",
]
