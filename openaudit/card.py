"""Model and dataset cards: YAML front matter and Markdown sections, parsed defensively.

Cards are written by strangers. The front matter is split with the same regex the Hub uses
(huggingface_hub's REGEX_YAML_BLOCK), parsed with PyYAML's SafeLoader after a bounded pass over
the event stream (aliases, nesting, size), and a bad block never stops the body being read. The
body is parsed with markdown-it-py into sections by heading; every text block and link keeps its
line number in the file, so evidence can point at the exact line.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import yaml
from markdown_it import MarkdownIt

from openaudit.needles import fold as _fold
from openaudit.needles import needles as _needles
from openaudit.textsafe import scrub

MAX_FRONT_MATTER_BYTES = 256 * 1024
MAX_YAML_ALIASES = 200
MAX_YAML_DEPTH = 50
MAX_YAML_NODES = 50_000
MAX_BODY_CHARS = 1_000_000

# huggingface_hub.repocard.REGEX_YAML_BLOCK, the Hub's own front-matter split, copied because importing
# repocard pulls in hf_api and file_download (~0.3 s of start-up an organisation audit never needs);
# tests/unit/test_card.py checks the copy is identical.
REGEX_YAML_BLOCK = re.compile(r"^(\s*---(?:\r\n|\r|\n))([\S\s]*?)((?:\r\n|\r|\n)---[ \t]*(\r\n|\n|$))")
_URL_RE = re.compile(r"https?://[^\s<>()\[\]\"'`]+[^\s<>()\[\]\"'`.,;:!?]")
_SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(\[])")


@dataclass(frozen=True)
class Section:
    heading: str
    level: int
    line: int  # 1-based line of the heading in the file (0 for the preamble before any heading)
    path: tuple[str, ...]  # headings from the top down to this one


@dataclass(frozen=True)
class Block:
    """A paragraph, list item or table cell of plain text, with its line and section."""

    text: str
    line: int
    section: Section


@dataclass(frozen=True)
class Link:
    url: str
    text: str
    line: int
    section: Section


@dataclass(frozen=True)
class Table:
    """A Markdown table: header cells and body rows as plain text, with the links of each body cell."""

    line: int
    section: Section
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    row_lines: tuple[int, ...]
    links: tuple[tuple[tuple[Link, ...], ...], ...]  # links[row][col]


@dataclass(frozen=True)
class Fence:
    """A fenced or indented code block (BibTeX citations live in these)."""

    text: str
    line: int
    section: Section


@dataclass(frozen=True)
class Sentence:
    text: str
    line: int
    section: Section


_Structure = tuple[list[Section], list[Block], list[Link], list[Table], list[Fence]]


@dataclass
class ParsedCard:
    """A parsed card. The front matter is parsed at once; the Markdown body on first use of
    `sections`, `blocks` or `links` (linking a model to its datasets and bases needs the metadata
    only, and the body is most of a card's parsing cost)."""

    present: bool = False
    metadata: dict[str, Any] = field(default_factory=dict)
    metadata_error: str | None = None
    metadata_start_line: int = 0
    key_lines: dict[str, int] = field(default_factory=dict)  # top-level YAML key -> 1-based line in file
    truncated: bool = False
    _body: tuple[str, int] | None = field(default=None, repr=False, compare=False)  # (text, line offset)
    _parsed: _Structure | None = field(default=None, repr=False, compare=False)
    _split: list[tuple[str, Block]] | None = field(default=None, repr=False, compare=False)
    _joined: str | None = field(default=None, repr=False, compare=False)
    _folded: tuple[str, list[int]] | None = field(default=None, repr=False, compare=False)
    _inside: dict[str, dict[int, bool]] = field(default_factory=dict, repr=False, compare=False)

    def _structure(self) -> _Structure:
        # Parsed cards are shared between threads (cached by text); two threads may both parse a body
        # the first time, and both get the same result: no lock is needed for correctness.
        if self._parsed is None:
            self._parsed = _parse_body(*self._body) if self._body is not None else ([], [], [], [], [])
        return self._parsed

    @property
    def sections(self) -> list[Section]:
        return self._structure()[0]

    @property
    def blocks(self) -> list[Block]:
        return self._structure()[1]

    @property
    def links(self) -> list[Link]:
        return self._structure()[2]

    @property
    def tables(self) -> list[Table]:
        return self._structure()[3]

    @property
    def fences(self) -> list[Fence]:
        return self._structure()[4]

    def _sentences(self) -> list[tuple[str, Block]]:
        """Every sentence of the card with its block, split once (criteria ask many questions of it)."""
        if self._split is None:
            self._split = [(s.strip(), b) for b in self.blocks for s in _SENTENCE_SPLIT.split(b.text)]
        return self._split

    def sections_matching(self, pattern: str) -> list[Section]:
        rx = re.compile(pattern, re.IGNORECASE)
        return [s for s in self.sections if rx.search(s.heading)]

    def _in_sections(self, pattern: str) -> dict[int, bool]:
        """Whether each section's heading, or an ancestor's, matches (asked once per section, not per
        block, and once per card for each pattern: extractors ask the same ones). Keyed by the section's
        id: a Section's hash walks its fields, and a card's sections are distinct objects."""
        got = self._inside.get(pattern)
        if got is None:
            rx = re.compile(pattern, re.IGNORECASE)
            got = {}
            for b in self.blocks:
                key = id(b.section)
                if key not in got:
                    got[key] = any(rx.search(h) for h in b.section.path)
            self._inside[pattern] = got
        return got

    def blocks_in(self, pattern: str) -> list[Block]:
        """Blocks inside any section whose heading (or an ancestor heading) matches."""
        inside = self._in_sections(pattern)
        return [b for b in self.blocks if inside[id(b.section)]]

    def sentences(self, pattern: str, within: str | None = None) -> list[Sentence]:
        """Sentences matching a regex, optionally only inside sections matching `within`."""
        needles = _needles(pattern)
        picked: Sequence[int]
        if needles is not None:
            picked = self._candidates(needles)
        else:
            # One search over all the card's sentences first: most questions match no sentence of
            # most cards. Joined by newlines and searched with MULTILINE, a sentence that matches
            # alone also matches here (^ and $ hold at the joins, and a newline is no word
            # character), so a miss here is a miss everywhere; a hit is then looked for sentence
            # by sentence.
            if self._joined is None:
                self._joined = "\n".join(s for s, _ in self._sentences())
            if not re.search(pattern, self._joined, re.IGNORECASE | re.MULTILINE):
                return []
            picked = range(len(self._sentences()))
        if not picked:
            return []
        rx = re.compile(pattern, re.IGNORECASE)
        inside = self._in_sections(within) if within else None
        split = self._sentences()
        out: list[Sentence] = []
        for k in picked:
            s, b = split[k]
            if inside is not None and not inside[id(b.section)]:
                continue
            if rx.search(s):
                out.append(Sentence(text=s[:400], line=b.line, section=b.section))
        return out

    def _candidates(self, needles: frozenset[str]) -> list[int]:
        """Indexes, in order, of the sentences that contain one of `needles` case-folded (see _needles):
        every sentence the pattern matches is among them. One `str.find` scan of the card per needle."""
        if self._folded is None:
            split = self._sentences()
            starts: list[int] = []
            at = 0
            for s, _ in split:
                starts.append(at)
                at += len(s) + 1
            self._folded = (_fold("\n".join(s for s, _ in split)), starts)
        folded, starts = self._folded
        found: set[int] = set()
        for needle in needles:
            i = folded.find(needle)
            while i >= 0:
                k = bisect_right(starts, i) - 1
                found.add(k)
                if k + 1 >= len(starts):
                    break
                i = folded.find(needle, starts[k + 1])  # this sentence is in: on to the next one
        return sorted(found)

    def text(self) -> str:
        return "\n".join(b.text for b in self.blocks)


# libyaml's parser with PyYAML's safe constructors when available (several times faster on the
# hundreds of cards of an organisation audit); the pure-Python SafeLoader otherwise.
SafeLoader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _BoundedLoader(SafeLoader):
    """SafeLoader; the bounds are checked on the event stream before construction."""


def _check_yaml_bounds(text: str) -> None:
    aliases = depth = nodes = 0
    for event in yaml.parse(text, Loader=_BoundedLoader):
        if isinstance(event, yaml.AliasEvent):
            aliases += 1
            if aliases > MAX_YAML_ALIASES:
                raise ValueError(f"more than {MAX_YAML_ALIASES} YAML aliases (possible alias bomb)")
        elif isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_YAML_DEPTH:
                raise ValueError(f"YAML nested deeper than {MAX_YAML_DEPTH} levels")
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
        if isinstance(event, yaml.NodeEvent):
            nodes += 1
            if nodes > MAX_YAML_NODES:
                raise ValueError(f"YAML has more than {MAX_YAML_NODES} nodes")


def _expanded_size(obj: Any, budget: int) -> int:
    """Count nodes as JSON would see them (aliases expanded), stopping past the budget."""
    stack = [obj]
    n = 0
    while stack:
        cur = stack.pop()
        n += 1
        if n > budget:
            return n
        if isinstance(cur, dict):
            stack.extend(cur.keys())
            stack.extend(cur.values())
        elif isinstance(cur, list):
            stack.extend(cur)
    return n


def _jsonable(obj: Any) -> Any:
    """YAML can yield dates, sets and non-string keys; reports are JSON."""
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set)):
        return [_jsonable(v) for v in obj]
    if obj is None or isinstance(obj, (str, int, float, bool)):
        return obj
    return str(obj)


def parse_front_matter(yaml_text: str) -> tuple[dict[str, Any], str | None]:
    """Parse a YAML block safely. Returns (mapping, error); the mapping is {} on any error."""
    if len(yaml_text.encode("utf-8", errors="replace")) > MAX_FRONT_MATTER_BYTES:
        return {}, f"front matter larger than {MAX_FRONT_MATTER_BYTES} bytes"
    try:
        _check_yaml_bounds(yaml_text)
        data = yaml.load(yaml_text, Loader=_BoundedLoader)
    except ValueError as e:
        return {}, str(e)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        return {}, f"malformed YAML{where}: {problem}"
    except RecursionError:
        return {}, "YAML nested too deeply"
    if data is None:
        return {}, None
    if not isinstance(data, dict):
        return {}, f"front matter is a YAML {type(data).__name__}, not a mapping"
    if _expanded_size(data, MAX_YAML_NODES) > MAX_YAML_NODES:
        return {}, "front matter expands to too many nodes (alias expansion)"
    # A YAML "\ud800" escape decodes to a lone surrogate, which no UTF-8 output can hold.
    return scrub(_jsonable(data)), None


def _key_lines(yaml_text: str, first_line: int) -> dict[str, int]:
    out: dict[str, int] = {}
    for i, line in enumerate(yaml_text.splitlines()):
        m = re.match(r"^([A-Za-z0-9_\-]+)\s*:", line)
        if m and m.group(1) not in out:
            out[m.group(1)] = first_line + i
    return out


def parse_card(text: str | None) -> ParsedCard:
    """Parse a README.md. `None` (no README) gives a card with present=False.

    Cached by text: a card is read by the bundle fetch, the evidence extractors and the lineage
    walk, and family cards recur across an organisation. Callers must not mutate the result.
    """
    return _parse_card_cached(text)


@lru_cache(maxsize=64)
def _parse_card_cached(text: str | None) -> ParsedCard:
    card = ParsedCard()
    if text is None:
        return card
    card.present = True
    if len(text) > MAX_BODY_CHARS:
        text = text[:MAX_BODY_CHARS]
        card.truncated = True
    body_offset = 0
    m = REGEX_YAML_BLOCK.search(text)
    if m and text[: m.start()].strip() == "":
        yaml_text = m.group(2)
        fm_first_line = text[: m.start(2)].count("\n") + 1
        card.metadata_start_line = fm_first_line
        card.metadata, card.metadata_error = parse_front_matter(yaml_text)
        card.key_lines = _key_lines(yaml_text, fm_first_line)
        body_offset = text[: m.end()].count("\n")
        body = text[m.end() :]
    elif text.lstrip().startswith("---"):
        card.metadata_error = "front matter opened with '---' but never closed"
        body = text
    else:
        body = text
    card._body = (body, body_offset)
    return card


# Configured once and shared: parse() keeps its state per call. The first parse fills the rule
# caches, done here so that threads never race to fill them. The block pass runs without inline
# parsing, which is half of markdown-it's time: most blocks of a card hold none of the characters
# an inline rule of this preset starts on, and their plain text is their lines joined. Only the
# others are parsed inline, with the block pass's env (it holds the link reference definitions).
_MD = MarkdownIt("commonmark", {"html": True}).enable("table")
_MD_BLOCKS = MarkdownIt("commonmark", {"html": True}).enable("table").disable("inline")
_WARM_UP = "# h\n\n*a* [b](c)\n\n| x |\n|---|\n| y |\n"
_MD.parse(_WARM_UP)
_MD_BLOCKS.parse(_WARM_UP)
# The commonmark preset's inline rules start on: escape, backticks, emphasis (* _), entity,
# autolink and html_inline (<), link and image ([). Without these, inline parsing yields only
# text, softbreaks and hardbreaks; tests/unit/test_card.py checks that claim against the full parse.
_NEEDS_INLINE = re.compile(r"[\\`*_&<\[]")
_LINE_BREAK = re.compile(r"(?<! ) *\n[ \t]*")  # from the first space of a run only: linear


# The token types _parse_body reads; the others (paragraph, list, blockquote, hr, html_block ...) only
# wrap an inline token or say nothing a block keeps.
_WALKED = frozenset({"heading_open", "fence", "code_block", "table_open", "thead_open", "thead_close", "tr_open",
                     "table_close", "inline"})


class _TableDraft:
    """A table being read: its cells arrive one inline token at a time, the header's first. A cell
    before any body row (or in the head) is a header cell; an empty cell still keeps its column."""

    __slots__ = ("header", "line", "links", "row_lines", "rows")

    def __init__(self, line: int) -> None:
        self.line = line
        self.header: list[str] = []
        self.rows: list[list[str]] = []
        self.row_lines: list[int] = []
        self.links: list[list[tuple[Link, ...]]] = []  # per body cell, the links found in it

    def new_row(self, line: int) -> None:
        self.rows.append([])
        self.row_lines.append(line)
        self.links.append([])

    def add_cell(self, text: str, in_head: bool, links: list[Link], before: int) -> None:
        """A cell's text; a body cell also keeps the links added to `links` from index `before` on."""
        if in_head or not self.rows:
            self.header.append(text)
        else:
            self.rows[-1].append(text)
            self.links[-1].append(tuple(links[before:]))

    def done(self, section: Section) -> Table:
        return Table(line=self.line, section=section, header=tuple(self.header),
                     rows=tuple(tuple(r) for r in self.rows), row_lines=tuple(self.row_lines),
                     links=tuple(tuple(r) for r in self.links))


def _table_event(kind: str, line: int, table: _TableDraft | None, in_head: bool, tables: list[Table],
                 section: Section) -> tuple[_TableDraft | None, bool]:
    """A table's structure token (open, head, row, close): the table being read and whether its head is."""
    if kind == "table_open":
        return _TableDraft(line), in_head
    if kind == "thead_open":
        return table, True
    if kind == "thead_close":
        return table, False
    if kind == "tr_open" and table is not None and not in_head:
        table.new_row(line)
    elif kind == "table_close" and table is not None:
        tables.append(table.done(section))
        return None, in_head
    return table, in_head


def _enter_section(stack: list[Section], level: int, line: int, heading: str) -> Section:
    """The section a heading opens: its path is the headings above it of a lower level (`stack`, kept)."""
    while stack and stack[-1].level >= level:
        stack.pop()
    section = Section(heading=heading, level=level, line=line, path=(*(s.heading for s in stack), heading))
    stack.append(section)
    return section


def _block_tokens(body: str, env: dict[str, Any]) -> list[Any]:
    """markdown-it's block tokens (no inline pass); a card nested past Python's recursion limit has none."""
    try:
        return _MD_BLOCKS.parse(body, env)
    except RecursionError:
        return []


def _parse_body(body: str, offset: int) -> _Structure:
    """The body's sections, text blocks, links, tables and fences, in one walk over its block tokens;
    only the blocks that need it are parsed inline (see _inline_children)."""
    sections: list[Section] = []
    blocks: list[Block] = []
    links: list[Link] = []
    tables: list[Table] = []
    fences: list[Fence] = []
    env: dict[str, Any] = {}
    current = Section(heading="", level=0, line=0, path=())  # the preamble, before any heading
    stack: list[Section] = []
    pending_heading: tuple[int, int] | None = None
    table: _TableDraft | None = None  # the table being read, and whether its head is
    in_head = False
    for tok in _block_tokens(body, env):
        kind = tok.type
        if kind not in _WALKED:  # paragraphs, lists, blockquotes, hr, html blocks: nothing to keep
            continue
        line = (tok.map[0] + 1 + offset) if tok.map else 0
        if kind == "heading_open":
            pending_heading = (int(tok.tag[1]), line)
            continue
        if kind in ("fence", "code_block"):
            fences.append(Fence(text=tok.content[:20_000], line=line, section=current))
            continue
        if kind != "inline":
            table, in_head = _table_event(kind, line, table, in_head, tables, current)
            continue
        content = tok.content.strip()
        if not content and pending_heading is None:
            if table is not None:  # an empty cell keeps its column
                table.add_cell("", in_head, links, len(links))
            continue
        children = _inline_children(tok.content, env)
        if pending_heading is not None:
            level, hline = pending_heading
            pending_heading = None
            current = _enter_section(stack, level, hline, _plain(children, tok.content))
            sections.append(current)
            _collect_links(links, children, tok.content, line, current)
            continue
        text = _plain(children, tok.content)
        blocks.append(Block(text=text, line=line, section=current))
        before = len(links)
        _collect_links(links, children, tok.content, line, current)
        if table is not None:
            table.add_cell(text, in_head, links, before)
    return sections, blocks, links, tables, fences


def _inline_children(content: str, env: dict[str, Any]) -> list[Any] | None:
    """The inline tokens of a block, or None when the content is plain text (see _NEEDS_INLINE)."""
    if not _NEEDS_INLINE.search(content):
        return None
    children: list[Any] = []
    try:
        # The inline parser alone: the core chain around it (normalize, text_join) has nothing
        # to do for a block's content, except text_join's turning of escapes and entities
        # (text_special) into text, which _plain accepts as they are.
        _MD.inline.parse(content, _MD, env, children)
    except RecursionError:
        return []
    return children


def _plain(children: list[Any] | None, content: str) -> str:
    if children is None:
        # What markdown-it's newline rule does: trailing spaces dropped, the next line's leading
        # spaces and tabs skipped, the break itself a space.
        return _LINE_BREAK.sub(" ", content).strip() or content.strip()
    parts: list[str] = []
    for child in children:
        if child.type in ("text", "text_special", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
    return "".join(parts).strip() or content.strip()


def _collect_links(
    links: list[Link], children: list[Any] | None, content: str, line: int, section: Section
) -> None:
    children = children or []
    seen: set[str] = set()
    for i, child in enumerate(children):
        if child.type == "link_open":
            href = str(child.attrs.get("href", ""))
            text_parts = []
            for nxt in children[i + 1 :]:
                if nxt.type == "link_close":
                    break
                text_parts.append(nxt.content)
            links.append(Link(url=href, text="".join(text_parts).strip(), line=line, section=section))
            seen.add(href)
    for m in _URL_RE.finditer(content) if "http" in content else ():  # the pattern starts with http
        url = m.group(0)
        if url not in seen and not any(url in s for s in seen):
            links.append(Link(url=url, text=url, line=line, section=section))
            seen.add(url)
