"""The report envelope (DESIGN §6): versioned pydantic models and the JSON Schema generated from them.

Additive changes keep the major version of SCHEMA_VERSION; renames or removals bump it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_serializer

from openaudit import __version__
from openaudit.evaluate import Finding
from openaudit.evidence.model import Evidence
from openaudit.flags import Flag
from openaudit.vocab import Status as Status
from openaudit.vocab import Verdict

SCHEMA_VERSION = "1.1"  # 1.1: the policy block has a schema (PolicyResult); Subject.reason_kind
SCHEMA_PATH = Path(__file__).parent / "schema" / "report.v1.json"
# A saved report read back (`report`, `diff`, --baseline): an organisation of 10,000 models is ~400 MB.
MAX_REPORT_BYTES = 1024 * 1024 * 1024


class DimensionResult(BaseModel):
    verdict: Verdict
    score: float | None = Field(None, description="0-1; None when every criterion was unknown.")
    rationale: str
    evidence: list[str] = Field(default_factory=list)
    criteria: list[str] = Field(default_factory=list)


class FrameworkResult(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    profile: str
    title: str
    version: str
    verdict: str = Field(description="mof: the class label or 'none'; osaid: likely-meets|likely-fails|"
                         "undetermined; eu-ai-act: likely-exempt|likely-not-exempt|undetermined; "
                         "osai-index: the score as a percentage.")
    mof_class: str | None = Field(None, alias="class", serialization_alias="class")
    score: float | None = None
    coverage: float | None = None
    progress: dict[str, float] = Field(default_factory=dict)
    missing: dict[str, list[str]] = Field(default_factory=dict,
                                          description="Per class or verdict, what is missing or blocking.")
    reasons: list[str] = Field(default_factory=list)
    components: dict[str, str] = Field(default_factory=dict, description="criterion id -> outcome")
    warnings: list[str] = Field(default_factory=list)


class LicenseSummary(BaseModel):
    key: str | None = None
    name: str | None = None
    category: str = "unknown"
    restrictions: list[str] = Field(default_factory=list)
    description: str = ""
    source: str = "none"


class LineageEntry(BaseModel):
    id: str
    canonical_id: str | None = None
    relation: str | None = None
    via: str
    depth: int
    found: bool
    child: str | None = None


class Subject(BaseModel):
    repo_id: str
    revision: str | None = None
    requested_revision: str | None = None
    source: str
    status: Status
    reason: str | None = None
    reason_kind: str | None = Field(
        None, description="Why the subject is not `audited`, as a code to group or branch on (the `reason` is "
        "for people): a fetch error's kind (not-found, revision-not-found, access-denied, rate-limited, network, "
        "budget, limit, refused, offline, not-recorded (absent from the snapshot store replayed), error), "
        "`unreadable` (its card or licence files could not be read), "
        "or `links-lost` (linked repos it names were not fetched). null when audited, and in reports of schema "
        "1.0, whose reasons start with the kind (`budget: ...`).")
    taken_at: datetime | None = None
    cache: Literal["verified", "unverified", "refetched"] | None = Field(
        None, description="Where the snapshots the verdicts rest on came from, when the snapshot cache gave "
        "them: verified (each cached file checked against the blob id the Hub listed in this run, or the "
        "entry sealed with this user's cache key when it was written), unverified (neither could be "
        "checked: --offline with an entry not sealed with this user's key, or no key at all), refetched (a "
        "cached entry did not match the Hub's blob ids or this user's seal and was read again). The linked "
        "code repositories outside the Hub (the cache's external/) count too, by their seal. null: read "
        "from the source itself.")
    score: float | None = Field(None, description="openaudit profile score, 0-100.")
    coverage: float | None = Field(None, description="Share of criteria that could be decided, 0-1.")
    dimensions: dict[str, DimensionResult] = Field(default_factory=dict)
    frameworks: dict[str, FrameworkResult] = Field(default_factory=dict)
    license: LicenseSummary | None = None
    flags: list[Flag] = Field(default_factory=list)
    findings: list[Finding] = Field(default_factory=list)
    evidence: list[Evidence] = Field(default_factory=list)
    lineage: list[LineageEntry] = Field(default_factory=list)


class ToolInfo(BaseModel):
    name: str = "openaudit"
    version: str = __version__


class ProfileRef(BaseModel):
    id: str
    version: str
    sha256: str


class _KeyAccess(BaseModel):
    """Readable by key as well as by attribute (`p["passed"]`, `p.get("violations", [])`): the policy
    block was a plain mapping in schema 1.0, and library users and the CI renderers read it so."""

    def __getitem__(self, key: str) -> Any:
        if key not in type(self).model_fields:
            raise KeyError(key)
        return getattr(self, key)

    def get(self, key: str, default: Any = None) -> Any:
        return getattr(self, key) if key in type(self).model_fields else default

    def keys(self) -> Any:
        return type(self).model_fields.keys()

    def __contains__(self, key: object) -> bool:
        return key in type(self).model_fields


class WaiverRef(_KeyAccess):
    """The waiver that covers a violation (by its place in the policy's `waivers`)."""

    index: int
    reason: str
    note: str
    expires: str = Field(description="ISO date.")


class Violation(_KeyAccess):
    """One rule one model fails. It fails the run unless `waived_by` or `baselined`."""

    repo_id: str
    rule: str = Field(description="min_score, min_verdict.DIM, min_mof_class, osaid, eu_ai_act, criteria.ID, "
                      "flag:ID, incomplete or regression.FIELD.")
    detail: str
    waived_by: WaiverRef | None = None
    baselined: bool = Field(False, description="The baseline report already failed this rule, no better.")


class WaiverEntry(_KeyAccess):
    index: int
    models: str
    target: str
    reason: str
    expires: str = Field(description="ISO date.")
    note: str


class UnusedWaiver(_KeyAccess):
    index: int
    models: str
    target: str


class PolicyResult(_KeyAccess):
    """What a policy (`.openaudit.yaml`) decided for this report (openaudit.policy.apply_policy)."""

    file: str = Field(description="The policy file, relative to the working directory when inside it.")
    passed: bool = Field(description="No violation that is neither waived nor baselined (exit code 1 if not).")
    strict_failed: bool = Field(description="A waiver has expired: the run fails with --strict.")
    failed: int
    violations: list[Violation]
    waived: int
    baselined: int
    expired_waivers: list[WaiverEntry]
    expiring_waivers: list[WaiverEntry]
    unused_waivers: list[UnusedWaiver]
    checked: dict[str, list[str]] = Field(description="repo id -> the rules checked for it.")
    out_of_scope: list[str]
    fail_on_incomplete: bool
    baseline: str | None = Field(None, description="generated_at of the baseline report, if one was given.")
    today: str = Field(description="ISO date waivers were checked against.")


class Report(BaseModel):
    schema_version: str = SCHEMA_VERSION
    tool: ToolInfo = Field(default_factory=ToolInfo)
    profiles: list[ProfileRef] = Field(default_factory=list)
    generated_at: datetime
    subjects: Sequence[Subject] = Field(default_factory=list)
    policy: PolicyResult | None = None

    @field_serializer("subjects")
    def _subjects(self, value: Any) -> list[Subject]:
        # An organisation's report holds a packed store (openaudit.subjects), not a list.
        return value if isinstance(value, list) else list(value)

    def to_json(self) -> str:
        """The report as indented JSON text (see to_json_bytes)."""
        return self.to_json_bytes().decode("utf-8")

    def to_json_bytes(self) -> bytes:
        """The report as indented UTF-8 JSON, byte for byte what `model_dump_json(indent=2)` gives."""
        return b"".join(self.iter_json_bytes())

    def iter_json_bytes(self) -> Iterator[bytes]:
        """The JSON report in chunks, one subject at a time (what `--format json` writes).

        Subjects are serialised one at a time, straight to UTF-8, and spliced into the envelope;
        a packed store (openaudit.subjects) gives its stored bytes without decoding anything.
        Serialising a whole organisation as one `str` holds several copies of the document, and
        card text with emoji makes Python store it at 4 bytes a character: at 2,000 models an
        89 MB report peaked at 1.1 GB that way.
        """
        from openaudit.subjects import as_packed, subject_json

        dump = type(self).__pydantic_serializer__.to_json
        if not self.subjects:
            yield dump(self, indent=2, by_alias=True) + b"\n"
            return
        envelope = dump(self.model_copy(update={"subjects": []}), indent=2, by_alias=True)
        marker = b'\n  "subjects": [],'
        if envelope.count(marker) != 1:  # pragma: no cover - the envelope's shape is fixed by this model
            raise AssertionError("report envelope without a subjects list")
        head, tail = envelope.split(marker)
        yield head + b'\n  "subjects": [\n'
        n = len(self.subjects)
        for i, subject in enumerate(as_packed(self.subjects)):
            body = subject_json(subject)
            # JSON strings never hold raw newlines, so re-indenting is a byte replacement.
            yield b"    " + body.replace(b"\n", b"\n    ") + (b",\n" if i < n - 1 else b"\n")
        yield b"  ]," + tail + b"\n"


def json_schema() -> dict[str, Any]:
    schema = Report.model_json_schema(by_alias=True, mode="serialization")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://openaudit.dev/schema/report.v1.json"
    return schema


def write_schema(path: Path = SCHEMA_PATH) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(json_schema(), indent=2, sort_keys=True) + "\n", encoding="utf-8")


def load_report(path: Path) -> Report:
    """Read a saved report; a report of another major schema version is a usage error."""
    from openaudit.errors import ConfigFileError
    from openaudit.userfiles import loads_json, read_capped

    # Capped by the bytes read (not by stat: /dev/zero says 0), a regular file only, nesting bounded.
    data = loads_json(read_capped(path, MAX_REPORT_BYTES, what="report"), str(path))
    if not isinstance(data, dict):
        raise ConfigFileError(str(path), "not an openaudit report (expected a JSON object)")
    version = str(data.get("schema_version", ""))
    if version.split(".")[0] != SCHEMA_VERSION.split(".")[0]:
        raise ConfigFileError(str(path), f"report schema_version {version or '?'} is not supported "
                              f"(this openaudit reads {SCHEMA_VERSION.split('.')[0]}.x)", field="schema_version")
    try:
        return Report.model_validate(data)
    except RecursionError:
        raise ConfigFileError(str(path), "invalid report: nested too deeply") from None
    except Exception as e:
        raise ConfigFileError(str(path), f"invalid report: {str(e).splitlines()[0]}") from None
