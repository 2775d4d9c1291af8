"""The card parser: front matter read like the Hub reads it, hostile YAML contained, sections and lines exact."""

from __future__ import annotations

from openaudit.card import parse_card

CARD = """---
license: mit
library_name: transformers
base_model:
  - meta-llama/Llama-3.1-8B
---
# My Model

See the [paper](https://arxiv.org/abs/2501.12948) and https://github.com/org/train-repo.

## Training Data

It was trained on a new mix of publicly available online data, 15 trillion tokens in all.

## Evaluation

| Benchmark | Score |
|---|---|
| MMLU | 66.7 |
"""


def test_front_matter_keys_and_lines_are_kept() -> None:
    card = parse_card(CARD)
    assert card.metadata == {"license": "mit", "library_name": "transformers",
                             "base_model": ["meta-llama/Llama-3.1-8B"]}
    assert card.metadata_error is None
    # Lines are file lines (1-based), so evidence can link to README.md#L2.
    assert card.key_lines["license"] == 2
    assert card.key_lines["base_model"] == 4


def test_sections_blocks_and_links_carry_file_lines() -> None:
    card = parse_card(CARD)
    assert [s.heading for s in card.sections] == ["My Model", "Training Data", "Evaluation"]
    training = card.sections_matching("training data")[0]
    assert training.line == 11 and training.path == ("My Model", "Training Data")
    sentences = card.sentences("publicly available", within="training")
    assert sentences and sentences[0].line == 13
    urls = {link.url for link in card.links}
    assert "https://arxiv.org/abs/2501.12948" in urls
    assert "https://github.com/org/train-repo" in urls  # bare URLs count as links too
    assert any(b.text == "66.7" for b in card.blocks_in("evaluation"))


def test_no_readme_is_a_fact_not_an_error() -> None:
    card = parse_card(None)
    assert not card.present and card.metadata == {} and card.sections == []


def test_malformed_yaml_is_reported_and_body_still_read() -> None:
    card = parse_card("---\nlicense: [mit\n---\n# Title\n\nBody text.\n")
    assert card.metadata == {}
    assert card.metadata_error and "malformed YAML" in card.metadata_error
    assert [s.heading for s in card.sections] == ["Title"]


def test_non_mapping_front_matter() -> None:
    card = parse_card("---\n- a\n- b\n---\ntext\n")
    assert card.metadata == {} and "not a mapping" in (card.metadata_error or "")


def test_billion_laughs_is_refused_without_expanding() -> None:
    lines = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    prev = "a"
    for name in "bcdefghi":
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
        prev = name
    card = parse_card("---\n" + "\n".join(lines) + "\n---\n# Body\n")
    assert card.metadata == {}
    assert "alias" in (card.metadata_error or "")
    assert [s.heading for s in card.sections] == ["Body"]


def test_deep_nesting_is_refused() -> None:
    deep = "k: " + "[" * 200 + "]" * 200
    card = parse_card(f"---\n{deep}\n---\ntext\n")
    assert card.metadata == {} and card.metadata_error


def test_unclosed_front_matter() -> None:
    card = parse_card("---\nlicense: mit\n# Title\n")
    assert card.metadata_error and "never closed" in card.metadata_error


def test_yaml_dates_and_odd_keys_become_json() -> None:
    card = parse_card("---\ndate: 2024-01-01\n1: one\n---\n")
    assert card.metadata == {"date": "2024-01-01", "1": "one"}


def test_front_matter_split_is_the_hubs_own() -> None:
    """card.py keeps a copy of huggingface_hub's regex (importing repocard costs ~0.3 s of start-up)."""
    from huggingface_hub.repocard import REGEX_YAML_BLOCK as HUB

    from openaudit.card import REGEX_YAML_BLOCK

    assert (REGEX_YAML_BLOCK.pattern, REGEX_YAML_BLOCK.flags) == (HUB.pattern, HUB.flags)


# The body is parsed in two passes: blocks without inline rules, then inline parsing only for a
# block holding a character an inline rule starts on. These tests hold that shortcut to what the
# full markdown-it parse (inline rules and the whole core chain) gives for the same content.

def _full_parse_view(content: str, env: dict) -> tuple[str, list[tuple[str, str]]]:
    from markdown_it import MarkdownIt

    from openaudit import card as card_module

    full = MarkdownIt("commonmark", {"html": True}).enable("table")
    children = full.parseInline(content, env)[0].children or []
    links: list = []
    section = card_module.Section(heading="", level=0, line=0, path=())
    card_module._collect_links(links, children, content, 1, section)
    parts = [c.content if c.type in ("text", "code_inline") else " "
             for c in children if c.type in ("text", "code_inline", "softbreak", "hardbreak")]
    return "".join(parts).strip() or content.strip(), [(lk.url, lk.text) for lk in links]


def _shortcut_view(content: str, env: dict) -> tuple[str, list[tuple[str, str]]]:
    from openaudit import card as card_module

    children = card_module._inline_children(content, env)
    links: list = []
    section = card_module.Section(heading="", level=0, line=0, path=())
    card_module._collect_links(links, children, content, 1, section)
    return card_module._plain(children, content), [(lk.url, lk.text) for lk in links]


def test_two_pass_parse_matches_the_full_parse_on_every_fixture_card() -> None:
    from pathlib import Path

    from openaudit import card as card_module

    texts = Path(__file__).parents[1] / "store_build" / "texts"
    contents = 0
    for path in sorted(texts.rglob("*.md")):
        env: dict = {}
        for tok in card_module._MD_BLOCKS.parse(path.read_text(encoding="utf-8"), env):
            if tok.type == "inline":
                contents += 1
                assert _shortcut_view(tok.content, env) == _full_parse_view(tok.content, env), (
                    path.name, tok.content)
    assert contents > 1000  # the fixture cards really were walked


def test_reference_links_resolve_across_the_two_passes() -> None:
    card = parse_card("See [the paper][p] and [code].\n\n[p]: https://arxiv.org/abs/1\n"
                      "[code]: https://github.com/o/r\n")
    assert [(lk.url, lk.text) for lk in card.links] == [
        ("https://arxiv.org/abs/1", "the paper"), ("https://github.com/o/r", "code")]
    assert card.blocks[0].text == "See the paper and code."


def test_plain_blocks_keep_markdowns_line_joining() -> None:
    # Trailing spaces (a hard break at two) and the next line's indent vanish; tabs before the
    # break stay, as markdown-it keeps them. Escapes and entities still go through inline rules.
    card = parse_card("one  \n   two \n\tthree\t\nfour\n\nfish \\& chips\n\nsalt &amp; vinegar\n")
    assert [b.text for b in card.blocks] == ["one two three\t four", "fish & chips", "salt & vinegar"]


# The sentence questions are answered through a prefilter (card._needles, card._fold): needles drawn
# from the parsed pattern, looked for in the case-folded card. These tests hold it to the plain
# answer: the pattern searched, case-blind, in every sentence.

def _every_code_point() -> list[str]:
    import sys

    return [chr(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c < 0xE000]


def test_case_folding_keeps_every_case_blind_match_of_ascii() -> None:
    """A character that re.IGNORECASE matches to an ASCII character folds to that character's lower case."""
    import re

    from openaudit.card import _fold

    ascii_any = re.compile(r"[\x00-\x7f]", re.IGNORECASE)
    for ch in _every_code_point():
        folded = _fold(ch)
        assert len(folded) == 1, hex(ord(ch))  # offsets in the folded card are offsets in the card
        if folded.isascii():
            assert re.fullmatch(re.escape(folded), ch, re.IGNORECASE), hex(ord(ch))
        else:
            assert not ascii_any.fullmatch(ch), hex(ord(ch))
    odd = {ch: _fold(ch) for ch in "\u0130\u0131\u017f\u212a"}  # İ ı ſ and the Kelvin sign
    assert odd == {"\u0130": "i", "\u0131": "i", "\u017f": "s", "\u212a": "k"}


def _asked_questions() -> list[tuple[str, str | None]]:
    """Every (pattern, within) the extractors ask of a card, over the audits of every fixture model."""
    from pathlib import Path

    from openaudit import card as card_module
    from openaudit.evidence import collect_evidence
    from openaudit.snapshot import SnapshotBundle
    from openaudit.sources.store import StoreSource

    store = Path(__file__).parents[1] / "store"
    src = StoreSource(store)
    asked: list[tuple[str, str | None]] = []
    original = card_module.ParsedCard.sentences

    def spy(self, pattern, within=None):  # type: ignore[no-untyped-def]
        asked.append((pattern, within))
        return original(self, pattern, within)

    card_module.ParsedCard.sentences = spy  # type: ignore[method-assign]
    try:
        for d in sorted(p.parent for p in (store / "models").glob("*/*/info.json")):
            collect_evidence(SnapshotBundle(subject=src.model(f"{d.parent.name}/{d.name}")))
    finally:
        card_module.ParsedCard.sentences = original  # type: ignore[method-assign]
    return list(dict.fromkeys(asked))


def _plain_answer(card, pattern: str, within: str | None) -> list[tuple[str, int, str]]:  # type: ignore[no-untyped-def]
    import re

    from openaudit.card import _SENTENCE_SPLIT

    rx, win = re.compile(pattern, re.IGNORECASE), re.compile(within, re.IGNORECASE) if within else None
    out = []
    for b in card.blocks:
        if win is not None and not any(win.search(h) for h in b.section.path):
            continue
        out += [(s.strip()[:400], b.line, b.section.heading) for s in _SENTENCE_SPLIT.split(b.text)
                if rx.search(s.strip())]
    return out


HOSTILE_CASES = """# LİCENSE

Thiſ model iſ ſubject to the LICENSE; it was fine-tuned from Meta's model on 8 H100 GPUs.

## Traİning data

It waſ trained on a new mıx of publicly avaılable data, 2 TRİLLİON tokens. Not released. The paper is comİng soon.
"""


def test_sentence_prefilter_gives_the_plain_answer_on_every_fixture_card() -> None:
    from pathlib import Path

    from openaudit.card import _needles

    questions = _asked_questions()
    assert len(questions) > 10
    assert sum(_needles(p) is not None for p, _ in questions) > len(questions) // 2  # the prefilter is used
    here = Path(__file__).parents[1]
    texts = [p.read_text(encoding="utf-8") for p in sorted((here / "store_build" / "texts").rglob("*.md"))]
    texts += [p.read_text(encoding="utf-8", errors="replace") for p in sorted((here / "store").rglob("README.md"))]
    texts.append(HOSTILE_CASES)
    hits = 0
    for text in texts:
        card = parse_card(text)
        for pattern, within in questions:
            got = [(s.text, s.line, s.section.heading) for s in card.sentences(pattern, within)]
            assert got == _plain_answer(card, pattern, within), (pattern, within, text[:80])
            hits += len(got)
    assert hits > 500


def test_sentence_questions_see_through_odd_letter_cases() -> None:
    card = parse_card(HOSTILE_CASES)
    assert [s.text for s in card.sentences(r"subject to|licen[cs]ed under")] == [
        "Thiſ model iſ ſubject to the LICENSE; it was fine-tuned from Meta's model on 8 H100 GPUs."]
    assert len(card.sentences(r"publicly available (online )?data", within="training")) == 1
    assert card.sentences(r"trillion tokens")
    assert card.sentences(r"\bpaper\b[^.\n]{0,30}\b(coming soon|forthcoming)")
