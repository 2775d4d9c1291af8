"""Licence evidence: the tag, the licence files, the card's licence prose, and what governs the weights.

Runs after the lineage extractor: `lineage.base_model` items already in `out.items` say which
base models the bundle holds, and a base's licence is compared with what the derivative declares.

Kinds emitted, each declared with `@emits` on the function that adds it (values are small mappings):
  license.tag              {raw, license, license_name, license_link, key, category, known, reason}
  license.file             {path, key, confidence, method, category, scope[, reason]}
  license.file-unreadable  {path, reason}
  license.card             {key, scope, text}
  license.effective        exactly one: {key, name, category, osi_approved, fsf_libre, open_data,
                           restrictions, user_cap, from, scope, path}
  license.code             {key, name, category, from, path}
  license.restriction      {restriction, key, inherited, base}
  license.mismatch         {tag, file, card, path, detail}
  license.inherited        {base, base_license, declared, via, category, restrictions}
  license.base-unchecked   {bases, reasons}: a third party's base whose licence could bind this model was
                           not read (not checked: offline, network, rate limit, budget, access, not in a
                           replayed store) or was read with no identifiable licence; criteria that read
                           the base's licence are undetermined, never open from the tag alone
  license.file-missing     {tag}
  license.unknown          {reason}
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from typing import Any

from openaudit.card import Sentence, parse_card
from openaudit.evidence import EvidenceContext
from openaudit.evidence.kinds import emits
from openaudit.evidence.model import Evidence, EvidenceList
from openaudit.licenses.describe import describe, restriction_phrase
from openaudit.licenses.identify import Identification, identify_with_reason
from openaudit.licenses.kb import LicenseFacts, facts_for, load_kb, more_restrictive, spdx_id
from openaudit.licenses.normalize import TagResolution, resolve_tag
from openaudit.repoid import shown as shown_reason
from openaudit.snapshot import RepoSnapshot

MIN_FILE_CONFIDENCE = 0.5
MAX_CARD_STATEMENTS = 8
_LICENSE_TEXT_RE = re.compile(r"^(?:licen[cs]e|copying)", re.IGNORECASE)
_LICENSE_ANY_RE = re.compile(r"^(?:licen[cs]e|copying|use_policy|notice)", re.IGNORECASE)
_SECTION_RE = r"licen[cs]|terms of use|usage terms"
_STATEMENT_RE = (r"licen[cs]ed under|\bunder (?:the |a |an )?[\w .\-]*licen[cs]e|subject to|governed by|"
                 r"originally licensed|\blicen[cs]e\b")
_BASE_RE = re.compile(r"\b(?:derived from|based on|fine-?tuned (?:from|on)|originally licensed|built (?:on|upon)|"
                      r"distilled from)\b", re.IGNORECASE)
_CODE_RE = re.compile(r"\b(?:code|repository|source|scripts?|software)\b", re.IGNORECASE)
_WEIGHTS_RE = re.compile(r"\b(?:models?|weights?|checkpoints?|parameters)\b", re.IGNORECASE)
_THIS_MODEL_RE = re.compile(r"\b(?:this|our) (?:model|checkpoint|repo(?:sitory)?)\b", re.IGNORECASE)
_BASE_NAME_RE = re.compile(r"\b(?:derived from|based on|fine-?tuned from|distilled from)\s+(?:the\s+)?([\w./\-]+)",
                           re.IGNORECASE)


_SCOPE_WORDS = {"weights": "weights'", "code": "code's", "all": "repo's", "base": "base model's"}


@dataclass(frozen=True)
class _File:
    path: str
    scope: str
    ident: Identification | None
    facts: LicenseFacts | None
    evidence: Evidence

    @property
    def usable(self) -> bool:
        return self.ident is not None and self.ident.confidence >= MIN_FILE_CONFIDENCE and self.facts is not None

    @property
    def is_text(self) -> bool:
        return bool(_LICENSE_TEXT_RE.match(posixpath.basename(self.path)))


@dataclass(frozen=True)
class _Statement:
    key: str
    scope: str  # weights | code | all | base
    facts: LicenseFacts
    sentence: Sentence
    base_name: str | None
    evidence: Evidence


def file_scope(path: str) -> str:
    """weights | code | all | policy, from a licence file's name (LICENSE-MODEL, LICENSE-CODE, USE_POLICY.md)."""
    name = posixpath.basename(path).lower()
    if name.startswith("use_policy"):
        return "policy"
    if _LICENSE_TEXT_RE.match(name):
        rest = re.sub(r"^(?:licen[cs]e|copying)", "", name)
        if re.search(r"model|weight", rest):
            return "weights"
        if re.search(r"code|software|source", rest):
            return "code"
    return "all"


def is_license_path(path: str) -> bool:
    parts = path.split("/")
    return len(parts) <= 2 and bool(_LICENSE_ANY_RE.match(parts[-1]))


def _same_key(a: str | None, b: str | None) -> bool:
    if a is None or b is None:
        return False
    if a == b:
        return True

    def base(k: str) -> str:
        return re.sub(r"-(?:only|or-later)$", "", (spdx_id(k) or k).lower())

    if base(a) == base(b):
        return True
    fa, fb = facts_for(a), facts_for(b)
    return bool((fa and b in fa.members) or (fb and a in fb.members))


# ------------------------------------------------------------------------------------------ tag
@emits("license.tag")
def _tag(ctx: EvidenceContext, out: EvidenceList) -> tuple[TagResolution, Evidence | None]:
    md = ctx.metadata
    lic = md.get("license")
    source, pointer, url = ctx.meta_source(), ctx.meta_pointer("license"), ctx.meta_url("license")
    if lic is None:
        tagged = [t.split(":", 1)[1] for t in ctx.snap.tags() if t.startswith("license:")]
        if tagged:
            lic = tagged[0] if len(tagged) == 1 else tagged
            source, pointer, url = "api", "tags[license:*]", ctx.snap.repo_url()
    res = resolve_tag(lic, md.get("license_name"), md.get("license_link"))
    if res.status == "absent":
        return res, None
    facts = res.facts
    value = {
        "raw": res.raw,
        "license": res.raw.strip().lower() if isinstance(res.raw, str) else res.raw,
        "license_name": res.license_name,
        "license_link": res.license_link,
        "key": res.key,
        "category": facts.category if facts else "unknown",
        "known": res.known,
        "reason": res.reason,
    }
    shown = res.raw if isinstance(res.raw, str) else str(res.raw)
    if res.license_name:
        shown += f" / {res.license_name}"
    summary = (f"Licence tag '{shown[:80]}' → {res.key} ({facts.category})." if res.known and facts
               else f"Licence tag '{shown[:80]}' not decided: {res.reason}.")
    ev = out.add("license.tag", value, source=source, pointer=pointer, url=url, summary=summary)
    return res, ev


# ---------------------------------------------------------------------------------------- files
@emits("license.file", "license.file-unreadable")
def _files(ctx: EvidenceContext, out: EvidenceList) -> tuple[list[_File], bool]:
    """Identify each readable licence file; record unreadable ones. Returns (files, any listed)."""
    snap = ctx.snap
    found: list[_File] = []
    listed = False
    for path in sorted(snap.files):
        if not is_license_path(path):
            continue
        listed = True
        tf = snap.files[path]
        ident, why = identify_with_reason(tf.text, path)
        facts = facts_for(ident.key) if ident else None
        scope = file_scope(path)
        value: dict[str, Any] = {
            "path": path,
            "key": ident.key if ident else None,
            "confidence": ident.confidence if ident else 0.0,
            "method": ident.method if ident else None,
            "category": facts.category if facts else "unknown",
            "scope": scope,
        }
        if ident is None:
            value["reason"] = why
            summary = f"{path} ({scope}): licence not recognised — {why}."
        else:
            summary = (f"{path} ({scope}) reads as {ident.key} ({value['category']}, {ident.method}, "
                       f"confidence {ident.confidence:.2f}).")
        ev = out.add("license.file", value, source="file", pointer=ctx.file_pointer(path),
                     url=snap.file_url(path), summary=summary, confidence="detected")
        found.append(_File(path, scope, ident, facts, ev))
    for path in sorted(snap.unreadable):
        if not is_license_path(path):
            continue
        listed = True
        u = snap.unreadable[path]
        out.add("license.file-unreadable", {"path": path, "reason": str(u.reason.value)}, source="file",
                pointer=ctx.file_pointer(path), url=snap.file_url(path), confidence="detected",
                summary=f"{path} is listed but could not be read ({u.reason.value}).")
    for path in sorted(snap.sibling_names()):
        if is_license_path(path) and path not in snap.files and path not in snap.unreadable:
            listed = True
            out.add("license.file-unreadable", {"path": path, "reason": "not-read"}, source="api",
                    pointer=ctx.file_pointer(path), url=snap.file_url(path), confidence="detected",
                    summary=f"{path} is listed but its text was not in the snapshot.")
    return found, listed


# ----------------------------------------------------------------------------------------- card
def _mention_patterns() -> list[tuple[re.Pattern[str], str]]:
    kb = load_kb()
    pats: list[tuple[re.Pattern[str], str]] = []
    for e in kb.entries:
        if e.key:
            pats.extend((re.compile(m, re.IGNORECASE), e.key) for m in e.mentions)
    return pats


_MENTIONS: list[tuple[re.Pattern[str], str]] | None = None


def _mentioned_key(text: str) -> str | None:
    global _MENTIONS
    if _MENTIONS is None:
        _MENTIONS = _mention_patterns()
    trigger = re.search(r"licen[cs]ed under|subject to|governed by|under the", text, re.IGNORECASE)
    start = trigger.end() if trigger else 0
    best: tuple[int, int, str] | None = None
    for rx, key in _MENTIONS:
        for m in rx.finditer(text):
            after = m.start() >= start
            cand = (0 if after else 1, m.start() if after else -m.start(), key)
            # prefer the first mention after the trigger; longest match breaks ties at one position
            if best is None or cand[:2] < best[:2]:
                best = cand
            break
    return best[2] if best else None


def _names_subject(text: str, repo_id: str) -> bool:
    name = repo_id.split("/")[-1]
    return bool(re.search(rf"(?<![\w.-]){re.escape(name)}(?![\w-]|\.\w)", text, re.IGNORECASE))


@emits("license.card")
def _statements(ctx: EvidenceContext, out: EvidenceList, files: list[_File]) -> list[_Statement]:
    card = ctx.card
    if not card.present:
        return []
    by_path = {f.path.lower(): f for f in files}
    links_by_line: dict[int, list[tuple[str, str]]] = {}
    for link in card.links:
        links_by_line.setdefault(link.line, []).append((link.text, link.url))
    sentences = card.sentences(_STATEMENT_RE, within=_SECTION_RE)
    seen_lines = {(s.line, s.text) for s in sentences}
    sentences += [s for s in card.sentences(r"licen[cs]ed under|originally licensed|subject to the .*licen[cs]e")
                  if (s.line, s.text) not in seen_lines]
    result: list[_Statement] = []
    seen: set[tuple[str, str]] = set()
    for s in sentences:
        text = s.text
        bm = _BASE_RE.search(text)
        is_base = bm is not None
        if bm is not None:
            before = text[: bm.start()]  # the model the sentence is about comes before "derived from"
            if not (_names_subject(before, ctx.snap.repo_id) or _THIS_MODEL_RE.search(before)):
                continue  # about another model (e.g. the distill list in DeepSeek-R1's card)
        key = _mentioned_key(text)
        if key is None:
            for ltext, url in links_by_line.get(s.line, []):
                if not ltext or ltext not in text:
                    continue  # a link of another sentence in the same paragraph
                target = _repo_path(url, ctx.snap.repo_id)
                f = by_path.get(target.lower()) if target else None
                if f is not None and f.usable and f.ident:
                    key = f.ident.key
                    break
        if key is None:
            continue
        facts = facts_for(key)
        if facts is None:
            continue
        if is_base:
            scope = "base"
        else:
            code, weights = bool(_CODE_RE.search(text)), bool(_WEIGHTS_RE.search(text))
            scope = "all" if code == weights else ("code" if code else "weights")
        if (key, scope) in seen:
            continue
        seen.add((key, scope))
        m = _BASE_NAME_RE.search(text)
        base_name = m.group(1).rstrip(".,;") if (is_base and m) else None
        ev = out.add("license.card", {"key": key, "scope": scope, "text": text[:400]}, source="card.body",
                     pointer=ctx.body_pointer(s.section.heading, s.line), url=ctx.line_url(s.line),
                     confidence="detected",
                     summary=f"The card names {key} as the {_SCOPE_WORDS[scope]} licence: “{text[:120]}”")
        result.append(_Statement(key, scope, facts, s, base_name, ev))
        if len(result) >= MAX_CARD_STATEMENTS:
            break
    return result


def _repo_path(url: str, repo_id: str) -> str | None:
    """A link to a file in this repo (relative, or huggingface.co/<repo>/blob|resolve/<rev>/<path>)."""
    if not re.match(r"^[a-z]+://", url):
        return url.lstrip("./").split("#")[0] or None
    m = re.match(rf"^https?://(?:www\.)?(?:huggingface\.co|hf\.co)/{re.escape(repo_id)}/(?:blob|resolve)/[^/]+/(.+)$",
                 url, re.IGNORECASE)
    return m.group(1).split("#")[0] if m else None


# ------------------------------------------------------------------------------------ lineage
def _snapshot_license(snap: RepoSnapshot) -> tuple[LicenseFacts | None, str]:
    """A base model's licence: cardData / README front matter / license: tags, else its licence files."""
    meta = snap.card_data()
    if meta.get("license") is None:
        readme = snap.readme()
        if readme is not None:
            parsed = parse_card(readme.text)
            if parsed.metadata_error is None and parsed.metadata:
                meta = parsed.metadata
    lic = meta.get("license")
    if lic is None:
        tagged = [t.split(":", 1)[1] for t in snap.tags() if t.startswith("license:")]
        lic = tagged[0] if len(tagged) == 1 else (tagged or None)
    res = resolve_tag(lic, meta.get("license_name"), meta.get("license_link"))
    if res.known and res.facts:
        return res.facts, "tag"
    for path in sorted(snap.files):
        if is_license_path(path) and file_scope(path) in ("weights", "all") and _LICENSE_TEXT_RE.match(
            posixpath.basename(path)
        ):
            ident, _ = identify_with_reason(snap.files[path].text, path)
            if ident and ident.confidence >= MIN_FILE_CONFIDENCE:
                f = facts_for(ident.key)
                if f:
                    return f, "file"
    return None, ""


def _bases(ctx: EvidenceContext, out: EvidenceList) -> list[tuple[str, LicenseFacts, str, Evidence]]:
    found: list[tuple[str, LicenseFacts, str, Evidence]] = []
    for ev in list(out.items):
        if ev.kind != "lineage.base_model" or not isinstance(ev.value, dict) or not ev.value.get("found"):
            continue
        bid = ev.value.get("id")
        if not isinstance(bid, str):
            continue
        snap = ctx.bundle.get("model", bid)
        canonical = ev.value.get("canonical_id")
        if snap is None and isinstance(canonical, str):
            snap = ctx.bundle.get("model", canonical)
        if snap is None:
            continue
        facts, _ = _snapshot_license(snap)
        if facts is not None:
            found.append((bid, facts, str(ev.value.get("via") or "metadata"), ev))
    return found


def _same_publisher(ctx: EvidenceContext, base_id: str, ev: Evidence) -> bool:
    """The base is published under the audited model's own owner (or, renamed, its canonical id is):
    its licence does not bind a derivative its own rights holder licensed. A local folder has no owner."""
    if ctx.snap.source == "localdir" or "/" not in ctx.snap.repo_id:
        return False
    owner = ctx.snap.repo_id.split("/", 1)[0].lower()
    canonical = ev.value.get("canonical_id") if isinstance(ev.value, dict) else None
    ids = [base_id] + ([canonical] if isinstance(canonical, str) else [])
    return any("/" in i and i.split("/", 1)[0].lower() == owner for i in ids)


# ------------------------------------------------------------------------------------- extract
@dataclass
class _Read:
    """What the tag, the licence files and the card say, and which licence governs the weights:
    read once by `extract`, then each kind of conclusion is drawn from it by its own function."""

    res: TagResolution
    tag_ev: Evidence | None
    files: list[_File]
    files_listed: bool
    statements: list[_Statement]
    # The licence that governs the weights, where it was found, and the evidence it rests on.
    eff: LicenseFacts | None = None
    origin: str = "none"
    scope: str = "all"
    path: str | None = None
    eff_ev: Evidence | None = None
    from_base: tuple[str, LicenseFacts, str, Evidence] | None = None

    @property
    def tag_facts(self) -> LicenseFacts | None:
        return self.res.facts if self.res.known else None

    @property
    def weights_files(self) -> list[_File]:
        return [f for f in self.files if f.scope == "weights" and f.usable]

    @property
    def all_files(self) -> list[_File]:
        return [f for f in self.files if f.scope == "all" and f.is_text and f.usable]

    @property
    def code_files(self) -> list[_File]:
        return [f for f in self.files if f.scope == "code" and f.usable]

    @property
    def card_weights(self) -> list[_Statement]:
        return [s for s in self.statements if s.scope in ("weights", "all")]

    @property
    def card_code(self) -> list[_Statement]:
        return [s for s in self.statements if s.scope == "code"]

    @property
    def anything(self) -> bool:
        return self.tag_ev is not None or self.files_listed or bool(self.statements)


def extract(ctx: EvidenceContext, out: EvidenceList) -> None:
    res, tag_ev = _tag(ctx, out)
    files, files_listed = _files(ctx, out)
    r = _Read(res, tag_ev, files, files_listed, _statements(ctx, out, files))
    _governing(ctx, out, r)
    _effective(ctx, out, r)
    _unverified(out, r)
    _code(out, r)
    _own_restrictions(out, r)
    _mismatches(out, r)
    _inherited(ctx, out, r)
    _base_unchecked(ctx, out, r)
    _file_missing(ctx, out, r)
    _undecided(ctx, out, r)


def _governing(ctx: EvidenceContext, out: EvidenceList, r: _Read) -> None:
    """Which licence governs the weights: a weights licence file, else the tag (or a stricter text
    beside it), else a repository-wide licence file, else the card's prose; one that cannot be
    decided on its own (a re-upload tagged `other` with no text) takes the licence of the base model
    it declares or names, when that one is known."""
    weights_files, all_files, tag_facts = r.weights_files, r.all_files, r.tag_facts
    if weights_files:
        f = weights_files[0]
        r.eff, r.origin, r.scope, r.path, r.eff_ev = f.facts, "file", "weights", f.path, f.evidence
    elif tag_facts is not None:
        r.eff, r.origin, r.eff_ev = tag_facts, "tag", r.tag_ev
        stricter = [f for f in all_files if f.facts and not _same_key(f.ident.key if f.ident else None, r.res.key)
                    and more_restrictive(f.facts, tag_facts)]
        if stricter:  # the legal text binds more than the tag claims: report the stricter one
            f = stricter[0]
            r.eff, r.origin, r.path, r.eff_ev = f.facts, "file", f.path, f.evidence
    elif all_files:
        f = all_files[0]
        r.eff, r.origin, r.path, r.eff_ev = f.facts, "file", f.path, f.evidence
    elif r.card_weights:
        s = r.card_weights[0]
        r.eff, r.origin, r.scope, r.eff_ev = s.facts, "card", ("weights" if s.scope == "weights" else "all"), s.evidence
    own_unknown = r.eff is None or r.eff.category == "unknown"
    if own_unknown and r.anything:
        r.from_base = next(iter(_bases(ctx, out)), None)
        if r.from_base is not None:
            r.eff, r.origin, r.scope, r.path, r.eff_ev = r.from_base[1], "base", "weights", None, r.from_base[3]


@emits("license.effective")
def _effective(ctx: EvidenceContext, out: EvidenceList, r: _Read) -> None:
    """Exactly one item: the licence that governs the weights, or that none could be decided."""
    eff, from_base = r.eff, r.from_base
    if from_base is not None and eff is not None:
        value: dict[str, Any] = {**eff.as_value(), "from": "base", "scope": r.scope, "path": None,
                                 "base": from_base[0]}
        summary = (f"Weights licence (taken from the base model {from_base[0]}, because this repository's own "
                   f"licence could not be decided): {describe(eff)}.")
    elif eff is not None:
        value = {**eff.as_value(), "from": r.origin, "scope": r.scope, "path": r.path}
        summary = f"Weights licence ({r.origin}): {describe(eff)}."
    else:
        anything = r.anything
        value = {"key": None, "name": None, "category": "unknown" if anything else "none", "osi_approved": False,
                 "fsf_libre": False, "open_data": False, "restrictions": [], "user_cap": None, "from": "none",
                 "scope": "all", "path": None}
        summary = ("No licence could be decided for the weights." if anything
                   else "No licence declared: no license tag, no licence file, no licence statement in the card.")
    eff_ev = r.eff_ev
    if eff_ev is not None:
        out.add("license.effective", value, source=eff_ev.source, pointer=eff_ev.pointer, url=eff_ev.url,
                summary=summary, confidence=eff_ev.confidence)
    else:
        out.add("license.effective", value, source=ctx.meta_source(), pointer=ctx.meta_pointer("license"),
                url=ctx.meta_url("license"), summary=summary, confidence="inferred")


@emits("license.unverified")
def _unverified(out: EvidenceList, r: _Read) -> None:
    """The licence text could not be read: what the tag or the card says is not verified by it."""
    eff, origin = r.eff, r.origin
    unread = [e for e in out.items if e.kind == "license.file-unreadable" and isinstance(e.value, dict)
              and e.value.get("reason") != "not-read"
              and _LICENSE_TEXT_RE.match(posixpath.basename(str(e.value.get("path", ""))))]
    if unread and origin != "file":
        u = unread[0].value
        said = (f"the {origin} says {eff.key}" if eff is not None and origin in ("tag", "card")
                else "nothing else decides it")
        out.add("license.unverified", {"path": u["path"], "reason": u["reason"], "declared": eff.key if eff else None,
                                       "from": origin},
                source="file", pointer=unread[0].pointer, url=unread[0].url, confidence="detected",
                summary=f"The licence file {u['path']} could not be read ({u['reason']}"
                + ("; no access token" if u["reason"] == "gated" else "") + f"), and {said}: the terms that bind the "
                "weights are undetermined.")


@emits("license.code")
def _code(out: EvidenceList, r: _Read) -> None:
    """Code licensed separately (a code licence file, or the card's prose about the code)."""
    code_files, card_code, eff = r.code_files, r.card_code, r.eff
    code_src: tuple[LicenseFacts, str, str | None, Evidence] | None = None
    if code_files and code_files[0].facts:
        code_src = (code_files[0].facts, "file", code_files[0].path, code_files[0].evidence)
    elif card_code and not (eff and _same_key(card_code[0].key, eff.key)):
        code_src = (card_code[0].facts, "card", None, card_code[0].evidence)
    if code_src is None:
        code_src = _linked_code_licence(out)
    if code_src is not None:
        cf, corigin, cpath, cev = code_src
        out.add("license.code", {"key": cf.key, "name": cf.name, "category": cf.category, "from": corigin,
                                 "path": cpath}, source=cev.source, pointer=cev.pointer, url=cev.url,
                confidence=cev.confidence, summary=f"Code is licensed separately: {describe(cf)}"
                + (f" (the licence of {cev.value.get('repo')}, the training code the card links, as read)."
                   if corigin == "linked-repo" and isinstance(cev.value, dict) else "."))


@emits("license.restriction")
def _own_restrictions(out: EvidenceList, r: _Read) -> None:
    """The restrictions of the licence that governs the weights."""
    eff, eff_ev = r.eff, r.eff_ev
    if eff is not None:
        for x in eff.restrictions:
            out.add("license.restriction", {"restriction": x, "key": eff.key, "inherited": False, "base": None},
                    source=(eff_ev.source if eff_ev else "api"), pointer=(eff_ev.pointer if eff_ev else "license"),
                    url=eff_ev.url if eff_ev else None, confidence=eff_ev.confidence if eff_ev else "inferred",
                    summary=f"{eff.key}: {restriction_phrase(x, eff)}.")


@emits("license.mismatch")
def _mismatches(out: EvidenceList, r: _Read) -> None:
    """The tag, a licence file and the card's prose disagree about the weights' licence."""
    res, tag_facts, card_weights = r.res, r.tag_facts, r.card_weights
    weights_files, all_files = r.weights_files, r.all_files
    code_keys = [f.ident.key for f in r.code_files if f.ident] + [s.key for s in r.card_code]
    tag_is_code_licence = tag_facts is not None and any(_same_key(res.key, k) for k in code_keys)
    if tag_facts is not None and not tag_is_code_licence:
        for f in [*weights_files, *all_files]:
            fkey = f.ident.key if f.ident else None
            if not _same_key(res.key, fkey):
                out.add("license.mismatch", {"tag": res.key, "file": fkey, "card": None, "path": f.path,
                                             "detail": f"the tag says {res.key} but {f.path} is {fkey}"},
                        source="file", pointer=f.evidence.pointer, url=f.evidence.url, confidence="detected",
                        summary=f"Licence mismatch: tag {res.key} vs {f.path} ({fkey}).")
        for s in card_weights:
            if not _same_key(res.key, s.key):
                out.add("license.mismatch", {"tag": res.key, "file": None, "card": s.key, "path": s.evidence.pointer,
                                             "detail": f"the tag says {res.key} but the card says {s.key}"},
                        source="card.body", pointer=s.evidence.pointer, url=s.evidence.url, confidence="detected",
                        summary=f"Licence mismatch: tag {res.key} vs card prose ({s.key}).")
    elif tag_facts is None:
        for f in [*weights_files, *all_files][:1]:
            fkey = f.ident.key if f.ident else None
            for s in card_weights:
                if not _same_key(fkey, s.key):
                    out.add("license.mismatch", {"tag": None, "file": fkey, "card": s.key, "path": f.path,
                                                 "detail": f"{f.path} is {fkey} but the card says {s.key}"},
                            source="card.body", pointer=s.evidence.pointer, url=s.evidence.url,
                            confidence="detected", summary=f"Licence mismatch: {f.path} ({fkey}) vs card ({s.key}).")


@emits("license.inherited", "license.restriction")
def _inherited(ctx: EvidenceContext, out: EvidenceList, r: _Read) -> None:
    """Obligations inherited from base models, each followed by the restrictions it adds. What the
    repository declares (its tag) is compared, not what its licence file says: a tag looser than the
    base's licence is the open-washing pattern even when LICENSE already carries the base's text."""
    eff, from_base = r.eff, r.from_base
    declared = r.tag_facts if r.tag_facts is not None else eff
    inherited_keys: set[str] = set()
    # A base its own publisher released: the rights holder licenses the derivative as it declares
    # (DeepSeek-R1 under MIT, built on DeepSeek's V3-Base). Third parties' bases further up still bind.
    candidates = [c for c in _bases(ctx, out) if not _same_publisher(ctx, c[0], c[3])]
    for s in r.statements:
        if s.scope == "base":
            candidates.append((s.base_name or "upstream model", s.facts, "card", s.evidence))
    for base_id, bfacts, via, bev in candidates:
        if bfacts.key is None or bfacts.key in inherited_keys or bfacts.category == "unknown":
            continue
        if from_base is not None:
            break  # the base's licence is the effective one already
        if declared is not None and (_same_key(bfacts.key, declared.key) or not more_restrictive(bfacts, declared)):
            continue
        inherited_keys.add(bfacts.key)
        in_file = eff is not None and declared is not eff and _same_key(eff.key, bfacts.key)
        out.add("license.inherited", {"base": base_id, "base_license": bfacts.key,
                                      "declared": declared.key if declared else None, "via": via,
                                      "category": bfacts.category, "restrictions": list(bfacts.restrictions)},
                source="linked-repo" if via != "card" else "card.body", pointer=bev.pointer, url=bev.url,
                confidence="inferred" if via != "card" else "detected",
                summary=(f"Built on {base_id} under {bfacts.key}: its obligations bind this model, which declares "
                         f"{declared.key if declared else 'no licence'}"
                         + (f" in its metadata (its licence file already carries {bfacts.key})" if in_file else "")
                         + f" ({describe(bfacts)})."))
        for x in bfacts.restrictions:
            if eff is None or x not in eff.restrictions:
                out.add("license.restriction", {"restriction": x, "key": bfacts.key, "inherited": True,
                                                 "base": base_id},
                        source="linked-repo" if via != "card" else "card.body", pointer=bev.pointer, url=bev.url,
                        confidence="inferred", summary=f"Inherited from {base_id} ({bfacts.key}): "
                                                       f"{restriction_phrase(x, bfacts)}.")


@emits("license.base-unchecked")
def _base_unchecked(ctx: EvidenceContext, out: EvidenceList, r: _Read) -> None:
    """A third party's base whose licence could bind this model was not read, or was read and declares
    no licence this tool identifies: missing access (or an unreadable licence) is not evidence, so
    whether its terms bind this model stays undetermined (unless a base's licence already did)."""
    if r.from_base is not None or any(ev.kind == "license.inherited" for ev in out.items):
        return
    lost: dict[str, str] = {}
    first: Evidence | None = None
    for ev in out.items:
        if ev.kind != "lineage.base_model" or not isinstance(ev.value, dict) or not isinstance(ev.value.get("id"), str):
            continue
        bid = str(ev.value["id"])
        if bid in lost or _same_publisher(ctx, bid, ev):
            continue
        why: str | None = None
        if ev.value.get("checked") is False:
            why = "was not checked (" + str(ctx.bundle.related_errors.get(f"model:{bid}", "not checked"))[:300] + ")"
        elif ev.value.get("found"):
            why = _unidentified(ctx, bid, ev)
        if why is None:
            continue  # identified (license.inherited decides), or looked up and not there: binds nothing
        lost[bid] = why
        first = first or ev
    if not lost or first is None:
        return
    declared = r.tag_facts if r.tag_facts is not None else r.eff
    ids = list(lost)[:8]
    own = (f"{declared.key} " if declared is not None and declared.key else "")
    out.add("license.base-unchecked", {"bases": ids, "reasons": {b: lost[b] for b in ids}}, source=ctx.meta_source(),
            pointer=first.pointer, url=first.url, confidence="inferred",
            summary=f"The licence of the base model {shown_reason(ids[0], 200)} {shown_reason(lost[ids[0]], 320)}"
            + (f" (and {len(ids) - 1} more base{'s' if len(ids) > 2 else ''})" if len(ids) > 1 else "")
            + f", so whether its terms bind this model's {own}licence is undetermined.")


def _unidentified(ctx: EvidenceContext, bid: str, ev: Evidence) -> str | None:
    """Why a base that was read has no licence identified ("could not be identified (...)"), or None."""
    canonical = ev.value.get("canonical_id") if isinstance(ev.value, dict) else None
    snap = ctx.bundle.get("model", bid) or (ctx.bundle.get("model", canonical) if isinstance(canonical, str) else None)
    if snap is None:
        return None
    facts, _ = _snapshot_license(snap)
    if facts is not None and facts.key is not None and facts.category != "unknown":
        return None
    unread = [p for p in snap.unreadable if is_license_path(p)]
    said = snap.card_data().get("license")
    what = f"its card declares '{shown_reason(str(said), 60)}'" if said is not None else "its card declares no licence"
    return (f"could not be identified ({what}"
            + (f"; {', '.join(sorted(unread)[:3])} could not be read" if unread else "") + ")")


@emits("license.file-missing")
def _file_missing(ctx: EvidenceContext, out: EvidenceList, r: _Read) -> None:
    """A licence is declared but the repository has no licence file."""
    res = r.res
    if r.tag_ev is not None and res.status not in ("unknown", "invalid"):
        known_paths = set(ctx.snap.files) | set(ctx.snap.unreadable) | set(ctx.snap.sibling_names())
        has_text = any(is_license_path(p) and _LICENSE_TEXT_RE.match(posixpath.basename(p)) for p in known_paths)
        if known_paths and not has_text:
            shown = res.key or (res.raw if isinstance(res.raw, str) else str(res.raw))
            # A standard SPDX licence's terms can be looked up by its id; a custom or `other` one's cannot.
            standard = bool(res.keys) and all(spdx_id(k) for k in res.keys) and res.raw != "other"
            out.add("license.file-missing", {"tag": shown, "standard": standard}, source="api", pointer="siblings",
                    url=ctx.snap.repo_url(), confidence="detected",
                    summary=f"The card declares {shown} but the repo has no LICENSE/COPYING file"
                    + (f" (its standard text is at spdx.org/licenses/{spdx_id(res.keys[0])})." if standard and
                       len(res.keys) == 1 else "; its terms cannot be read from the repository." if not standard
                       else "."))


@emits("license.unknown")
def _undecided(ctx: EvidenceContext, out: EvidenceList, r: _Read) -> None:
    """Nothing decides the licence: why, from every source that was tried."""
    eff, res = r.eff, r.res
    if r.from_base is None and ((eff is None and r.anything) or (eff is not None and eff.category == "unknown")):
        reasons: list[str] = []
        if r.tag_ev is not None and not res.known:
            reasons.append(res.reason)
        if eff is not None and eff.category == "unknown":
            reasons.append(f"{eff.key}: {eff.notes or 'category not known'}")
        for ev in out.items:
            if ev.kind == "license.file-unreadable" and isinstance(ev.value, dict):
                reasons.append(f"{ev.value['path']} unreadable ({ev.value['reason']})")
        reasons += [f"{f.path}: {f.evidence.value.get('reason', 'low confidence')}" for f in r.files
                    if not f.usable and f.scope != "policy"]
        reason = "; ".join(reasons) or "no licence text or tag could be read"
        out.add("license.unknown", {"reason": reason[:500]}, source=ctx.meta_source(),
                pointer=ctx.meta_pointer("license"), url=ctx.meta_url("license"), confidence="inferred",
                summary=f"Licence undetermined: {reason[:160]}.")


def _linked_code_licence(out: EvidenceList) -> tuple[LicenseFacts, str, str | None, Evidence] | None:
    """The licence of the developer's own training code as its repository was read (issue 25): the
    LICENSE text by openaudit's identification, else the host's detection. A code licence the release
    does not state, read where the code is (Bright-3B: Apache-2.0 code, research-only weights)."""
    repos = {str(e.value.get("repo", "")).lower(): e for e in out.items
             if e.kind == "code.repo" and isinstance(e.value, dict)}
    for link in out.items:
        v = link.value if isinstance(link.value, dict) else {}
        if link.kind != "code.link" or v.get("role") != "training" or not v.get("developer") \
                or v.get("checked") != "ok":
            continue
        repo = repos.get(str(v.get("repo", "")).split("/", 1)[-1].lower())
        if repo is None:
            continue
        key = repo.value.get("license_text") or repo.value.get("license_host")
        facts = facts_for(key) if isinstance(key, str) else None
        if facts is not None:
            path = repo.value.get("license_file") if repo.value.get("license_text") else None
            return facts, "linked-repo", path, repo
    return None
