"""Why a framework result is what it is, and how every number is made: read from the profiles.

`framework_story` gives a framework card its first line (the reason: what blocks MOF Class III,
which parameters drove the OSAI Index percentage, which OSAID components fail) and the points
under it, so that no card contradicts itself (a Class I model listing a closed component says why
that component does not count). `methodology` is the "How this is scored" text of every report
and the site's methodology page, generated from the same profile files that do the scoring.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from openaudit.render.prose import humanize, join_list
from openaudit.vocab import DECIDED

_OUTCOME_WORDS = {"open": "open", "partial": "partly open", "closed": "closed", "unknown": "undetermined",
                  "not-applicable": "not applicable"}


@cache
def builtin_profile(profile_id: str) -> Any:
    """A built-in profile by id, or None (a profile given as a file is explained by its result alone)."""
    try:
        from openaudit.criteria import available_profiles, load_profile

        return load_profile(profile_id) if profile_id in available_profiles() else None
    except Exception:
        return None


@dataclass
class Story:
    lead: str
    points: list[str] = field(default_factory=list)


def _title(profile: Any, cid: str) -> str:
    c = profile.criterion(cid) if profile is not None else None
    return c.title if c is not None else cid


def _class_words(cid: str) -> str:
    return f"Class {cid}"


def framework_story(fid: str, fr: Any, names: dict[str, str] | None = None) -> Story:
    profile = builtin_profile(fid)
    if profile is not None and profile.version != fr.version:
        profile = None  # a report made with another version of the profile: say only what it says
    method = profile.scoring.method if profile is not None else None
    if fid == "mof" or method == "mof-classes":
        return _mof(fr, profile, names)
    if method == "mean" or (profile is None and fr.score is not None and fid == "osai-index"):
        return _mean(fr, profile, names)
    return _verdict_rules(fr, profile, names)


def _mof(fr: Any, profile: Any, names: dict[str, str] | None) -> Story:
    classes = [c.id for c in profile.scoring.classes] if profile is not None else list(fr.progress)
    reached = fr.mof_class if fr.mof_class and fr.mof_class != "none" else None
    points: list[str] = []
    if reached is None:
        first = classes[0] if classes else "III"
        blockers = fr.missing.get(first, [])
        if blockers:
            lead = f"No MOF class: {_class_words(first)} is blocked by {_names_and(blockers)}."
            points += _why_groups(blockers)
        else:
            lead = "No MOF class: the components Class III requires could not all be decided."
    else:
        lead = f"{_class_words(reached)} reached: every component it requires is published under an open licence."
        later = classes[classes.index(reached) + 1:] if reached in classes else []
        if later and fr.missing.get(later[0]):
            points.append(f"{_class_words(later[0])} is blocked by {_names_and(fr.missing[later[0]])}.")
            points += _why_groups(fr.missing[later[0]])
    if profile is not None:
        points += _not_counted(fr, profile, reached)
    for w in fr.warnings:
        points.append(f"{humanize(w, names)} (a warning only: MOF still counts the component).")
    for r in fr.reasons:
        text = humanize(r, names)
        if text.startswith("Strict reading"):
            verdict = text.rpartition(":")[2].strip().rstrip(".")
            text = (f"With licences of the type MOF recommends required (--strict), the result would be: "
                    f"{'no class' if verdict == 'none' else verdict}.")
        points.append(text)
    return Story(lead, points)


def _split(item: str) -> tuple[str, str]:
    """"Model card (included, licence not open)" -> ("Model card", "included, licence not open")."""
    name, sep, why = item.rpartition(" (")
    return (name, why.rstrip(")")) if sep and item.endswith(")") else (item, "")


def _names_and(items: list[str]) -> str:
    names = [_split(i)[0] for i in items]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _why_groups(items: list[str]) -> list[str]:
    """The blockers grouped by why: "Included, licence not open: Model architecture, Model card."."""
    groups: dict[str, list[str]] = {}
    for i in items:
        name, why = _split(i)
        groups.setdefault(why or "not decided", []).append(name)
    return [f"{why[:1].upper()}{why[1:]}: {', '.join(names)}." for why, names in groups.items()]


def _not_counted(fr: Any, profile: Any, reached: str | None) -> list[str]:
    """Components that are not open yet do not hold the result back: why each does not count."""
    classes = profile.scoring.classes
    upto = [c for c in classes] if reached is None else classes[: [c.id for c in classes].index(reached) + 1]
    required = {r for c in upto for r in c.requires}
    optional = {o for c in classes for o in c.optional}
    stands_in = profile.scoring.stands_in
    out = []
    for cid, outcome in fr.components.items():
        if outcome == "open":
            continue
        what = f"{_title(profile, cid)} ({_OUTCOME_WORDS.get(outcome, outcome)})"
        if cid in optional:
            out.append(f"{what}: optional for every class, so it does not count.")
        elif cid in stands_in and cid in required and fr.components.get(stands_in[cid]) == "open":
            out.append(f"{what}: the {_title(profile, stands_in[cid]).lower()} stands in for it, as MOF allows.")
    return out


def _mean(fr: Any, profile: Any, names: dict[str, str] | None) -> Story:
    groups: dict[str, list[str]] = {}
    for cid, outcome in fr.components.items():
        groups.setdefault(outcome, []).append(_title(profile, cid))
    decided = sum(len(groups.get(k, [])) for k in DECIDED)
    total = decided + len(groups.get("unknown", []))
    values = profile.scoring.values if profile is not None else {"open": 1.0, "partial": 0.5, "closed": 0.0}
    if fr.score is None:
        lead = "Undetermined: no parameter could be decided from the Hub."
    else:
        lead = (f"{fr.score:.0f}%: the mean of {decided} decided parameter{'s' if decided != 1 else ''} of {total} "
                f"(open {values['open']:g}, partly open {values['partial']:g}, closed {values['closed']:g}).")
    points = []
    for outcome in DECIDED:
        if groups.get(outcome):
            n = len(groups[outcome])
            points.append(f"{_OUTCOME_WORDS[outcome].capitalize()} ({n}): {join_list(groups[outcome], sep=', ')}.")
    if groups.get("unknown"):
        points.append(f"Left out of the mean, undetermined ({len(groups['unknown'])}): "
                      f"{join_list(groups['unknown'], sep=', ')}.")
    points += [humanize(r, names) for r in fr.reasons]
    return Story(lead, points)


_SENTENCE = re.compile(r"(?<=[A-Za-z)])\.\s+(?=[A-Z])")  # "met. Training" ends a sentence, "Art. 53" does not


def _outcome_tests(pred: Any) -> list[tuple[str, list[str]]]:
    """(criterion, outcomes) of every `outcome:` test in a verdict rule's condition."""
    if not isinstance(pred, dict):
        return []
    out: list[tuple[str, list[str]]] = []
    for name, arg in pred.items():
        if name == "outcome" and isinstance(arg, dict):
            allowed = arg.get("in", [arg.get("is")] if "is" in arg else [])
            out.append((str(arg.get("criterion")), [str(x) for x in allowed]))
        elif name in ("all", "any") and isinstance(arg, list):
            for p in arg:
                out += _outcome_tests(p)
    return out


def _deciding(profile: Any, fr: Any) -> list[str] | None:
    """The components the verdict rule that decided this result tested and found (None: unknown)."""
    if profile is None or not profile.scoring.verdicts:
        return None
    try:
        from openaudit.predicates import Env, holds

        env = Env(by_kind={}, outcomes=dict(fr.components))
        for rule in profile.scoring.verdicts:
            if holds(rule.when, env)[0] if rule.when is not None else True:
                if rule.verdict != fr.verdict:
                    return None  # the profile changed since: say only what the result says
                hits = [c for c, allowed in _outcome_tests(rule.when) if fr.components.get(c) in allowed]
                return list(dict.fromkeys(hits))
    except Exception:
        return None
    return None


def _verdict_rules(fr: Any, profile: Any, names: dict[str, str] | None) -> Story:
    verdict = str(fr.verdict)
    words = verdict.replace("-", " ")
    reasons = [humanize(r, names) for r in fr.reasons]
    has_rule_reason = bool(profile is not None and profile.scoring.verdicts and reasons)
    general, specific = (reasons[0], reasons[1:]) if has_rule_reason else ("", reasons)
    deciding = _deciding(profile, fr)
    not_open = [c for c, o in fr.components.items() if o != "open"]
    negative = verdict in ("likely-fails", "likely-not-exempt", "fails", "not-exempt")
    if deciding is None:  # no profile to ask: the result's own words
        failing = fr.missing.get(verdict, []) if negative else []
        if failing:
            return Story(f"{words.capitalize()}. Not met: {join_list(failing, sep='; ')}.", reasons)
        return Story(f"{words.capitalize()}: {reasons[0].strip()}" if reasons else words.capitalize(), reasons[1:])
    titles = {c: _title(profile, c) for c in fr.components}
    if deciding and verdict != "undetermined" and negative:
        lead = f"{words.capitalize()}. Not met: {join_list([titles[c] for c in deciding], sep='; ')}."
    elif deciding and verdict == "undetermined":
        lead = (f"Undetermined: {join_list([titles[c] for c in deciding], sep='; ')} could not be decided "
                "from the Hub.")
    else:  # the rule's first sentence leads; the rest of it (caveats, "not legal advice") follows
        head, _, tail = _SENTENCE.split(general.strip(), maxsplit=1)[0], None, general.strip()
        lead = f"{words.capitalize()}: {head.rstrip('.')}." if general else words.capitalize()
        general = tail[len(head):].lstrip(". ").strip() if general else ""
    # The deciding components' reasons first, then the others, said not to change the result.
    first = [r for r in specific if any(r.startswith(titles[c] + ":") for c in deciding)]
    rest = [r for r in specific if r not in first]
    points = first + ([general] if general else [])
    others = [c for c in not_open if c not in deciding]
    if others:
        points.append(f"Partly met or undecided, without changing the result: "
                      f"{join_list([titles[c] for c in others], sep='; ')}.")
    return Story(lead, points + rest)


# ---------------------------------------------------------------------------------------- methodology

WHAT_IS_READ = [
    "The Hub's metadata for the repository (gating, private or disabled, tags, the declared licence, "
    "base models and datasets), at the commit it names.",
    "The repository's file list (weight files and their sizes, code, configuration, licence files).",
    "The model card (README.md): its YAML metadata and its sections, sentence by sentence.",
    "Licence files (LICENSE, USE_POLICY and the like), matched against known licence texts.",
    "The cards of declared training datasets and base models (at depth full, the default).",
]
NOT_CHECKED = [
    "Repositories the card links to (GitHub code, papers): their existence is noted, their content "
    "and licences are not read.",
    "Whether a paper was peer reviewed, and how good code documentation is.",
    "The content of the training data, and whether the data information suffices to rebuild the model.",
    "Anything not in the repository at the audited commit (blog posts, press releases, later changes).",
    "Legal advice: each verdict is an assessment of what was published, not a legal opinion.",
]
VERDICT_MEANINGS = [
    ("open", "published, and under terms that allow use, study, modification and sharing"),
    ("partial", "published in part, or behind a gate, or under terms with restrictions"),
    ("closed", "not published, or published under terms that do not allow open use"),
    ("unknown", "could not be determined from what the Hub serves; left out of the score and counted in "
                "\"decidable\""),
]


@dataclass
class Method:
    """Everything the "How this is scored" section says, computed from the built-in profiles."""

    values: dict[str, float]
    dimensions: list[tuple[str, str, float, list[tuple[str, str, float]]]]  # id, title, weight, criteria
    evidence: dict[str, list[str]]  # dimension id -> the evidence kinds its criteria read
    frameworks: list[tuple[str, str, str, list[str]]]  # id, title, version, how it is decided
    verdicts: list[tuple[str, str]]
    read: list[str]
    not_checked: list[str]
    profiles: list[tuple[str, str, str]]  # id, version, sha256 (to cite)


@cache
def methodology() -> Method | None:
    main = builtin_profile("openaudit")
    if main is None:
        return None
    dims = []
    for did, d in main.dimensions.items():
        crit = [(c.id, c.title, c.weight) for c in main.criteria if c.dimension == did]
        dims.append((did, d.title, d.weight, crit))
    fws = []
    for fid in ("mof", "osaid", "osai-index", "eu-ai-act"):
        p = builtin_profile(fid)
        if p is None:
            continue
        how: list[str] = []
        if p.scoring.method == "mof-classes":
            for c in p.scoring.classes:
                req = ", ".join(_title(p, r) for r in c.requires)
                opt = ", ".join(_title(p, r) for r in c.optional)
                how.append(f"{c.label}: needs {req} (and every component of the classes before it) published "
                           f"under an open licence" + (f"; optional: {opt}" if opt else "") + ".")
            for a, b in p.scoring.stands_in.items():
                how.append(f"The {_title(p, b).lower()} stands in for a missing {_title(p, a).lower()}.")
            how.append("A licence that is open but not the type MOF recommends is a warning; with --strict it blocks.")
        elif p.scoring.method == "mean":
            v = p.scoring.values
            how.append(f"The unweighted mean of {len(p.criteria)} parameters (open {v['open']:g}, partly open "
                       f"{v['partial']:g}, closed {v['closed']:g}): "
                       + ", ".join(c.title for c in p.criteria) + ".")
            how.append("A parameter the Hub cannot decide is left out of the mean; the share decided is shown "
                       "(the published index counts it as 0).")
        elif p.scoring.method == "verdict-rules":
            comps = ", ".join(c.title for c in p.criteria)
            how.append(f"Checks {comps}.")
            for r in p.scoring.verdicts:
                if r.because:
                    how.append(f"{r.verdict.replace('-', ' ').capitalize()}: {' '.join(r.because.split())}")
        fws.append((fid, p.title, p.version, how))
    profiles = [(p.id, p.version, p.sha256[:12]) for p in
                (builtin_profile(i) for i in ("openaudit", "mof", "osaid", "osai-index", "eu-ai-act")) if p is not None]
    evidence = {did: sorted({k for c in main.criteria if c.dimension == did for k in c.evidence})
                for did in main.dimensions}
    return Method(values=dict(main.scoring.values), dimensions=dims, evidence=evidence, frameworks=fws,
                  verdicts=VERDICT_MEANINGS, read=WHAT_IS_READ, not_checked=NOT_CHECKED, profiles=profiles)
