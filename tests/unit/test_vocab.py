"""openaudit.vocab: one set of words and ranks, so policy, diff, census and the pages compare alike."""

from __future__ import annotations

from datetime import UTC, date, datetime

from openaudit.criteria import load_profile
from openaudit.policy import Policy, apply_policy
from openaudit.report import Report, Subject
from openaudit.run.targets import id_matches
from openaudit.vocab import CATEGORY_RANK, CATEGORY_TONE, LICENSE_RANK, MOF_RANK, mof_classes


def test_mof_rank_follows_the_classes_in_mof_yaml() -> None:
    classes = [c.id for c in load_profile("mof").scoring.classes]
    assert mof_classes() == tuple(classes) == ("III", "II", "I")
    assert dict(MOF_RANK) == {"none": 0, "III": 1, "II": 2, "I": 3}
    assert MOF_RANK["I"] > MOF_RANK["III"] > MOF_RANK["none"]


def test_licence_ranks_agree_on_which_category_is_more_open() -> None:
    # diff's "more open" and the knowledge base's "more closed" are one order, read both ways.
    for a, ra in LICENSE_RANK.items():
        for b, rb in LICENSE_RANK.items():
            if ra > rb:
                assert CATEGORY_RANK[a] < CATEGORY_RANK[b], (a, b)
    assert set(CATEGORY_TONE) == set(CATEGORY_RANK)


def test_one_glob_rule_for_include_and_policy_scope() -> None:
    assert id_matches("Org/Llama-3-8B", ["org/llama-*"])  # case is ignored
    assert id_matches("org/Llama-3-8B-GGUF", ["*-gguf"])  # the name alone
    assert not id_matches("org/Llama-3-8B", ["other/*"])
    subjects = [Subject(repo_id="Org/Tiny-GGUF", source="hub", status="audited"),
                Subject(repo_id="org/tiny", source="hub", status="audited")]
    report = Report(generated_at=datetime(2025, 1, 1, tzinfo=UTC), subjects=subjects)
    # A policy's scope matches as --include does: a name-only glob leaves out the GGUF export.
    pol = Policy.model_validate({"version": 1, "scope": {"exclude": ["tiny-gguf"]}})
    p = apply_policy(report, pol, date(2025, 1, 1)).policy
    assert p is not None and p["out_of_scope"] == ["Org/Tiny-GGUF"]
